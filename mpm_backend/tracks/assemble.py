"""Raw detector frames → one person's `Track`: the layout a joint count means, pixels, masking,
and which person to follow when a frame holds several (docs/tracks.md, "Several people")."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mpm_backend.skeleton import BLAZEPOSE33, BODY25, COCO17, LAYOUTS, Layout
from mpm_backend.tracks.common import Raw, ReadOptions
from mpm_backend.tracks.track import Track, TrackError

# Person choice (docs/tracks.md): a joint counts towards a person's box when its confidence is
# at least BOX_CONFIDENCE (all present joints when fewer than two are that confident). The
# tracked person's box centre may move GATE_BASE + GATE_PER_FRAME * (frames since last seen) box
# sizes; a nearest candidate beyond that is someone else, and the frame is masked. Box size is
# the larger side of the largest box seen for the tracked person, at least MIN_BOX_SIZE_PX.
BOX_CONFIDENCE = 0.3
GATE_BASE = 0.5
GATE_PER_FRAME = 0.1
MIN_BOX_SIZE_PX = 50.0

# A span of frame numbers this much longer than the records it holds is not a video's frames
# (COCO image ids of unrelated photos, for instance); refuse it rather than allocate it.
_MAX_SPARSE_SPAN = 100_000

# OpenPose's COCO-18 output order (`--model_pose COCO`) is BODY_25's first 19 keypoints without
# mid_hip. Not a layout of ours: it is only read and renamed to COCO-17 (its neck is dropped;
# thorax is made from the shoulders anyway).
_OPENPOSE_COCO18 = tuple(name for name in BODY25.joints[:19] if name != "mid_hip")
_COCO18_TO_COCO17 = np.array([_OPENPOSE_COCO18.index(name) for name in COCO17.joints])

# Detector outputs whose first 17 keypoints are COCO-17 in COCO order, read as COCO-17.
_COCO_SUPERSETS = {26: "Halpe-26", 133: "COCO-WholeBody-133"}


def assemble(path: Path, raw: Raw, options: ReadOptions) -> Track:
    """One person's track from a detector reader's raw frames; options override the file."""
    joint_count = _joint_count(path, raw)
    person = options.person
    requested = options.layout or raw.layout
    layout, take = _resolve_layout(path, raw.family, joint_count, requested)
    size = options.image_size or raw.image_size
    if raw.normalised and size is None:
        raise TrackError(
            f"{path}: the landmarks are normalised to [0, 1] and the file does not give the "
            "image size; give the image size (width, height in pixels), e.g. "
            "read_track(path, image_size=(1920, 1080)), or add image_width/image_height to the file"
        )
    # All people of all frames in one array; frames hold row indices into it.
    frames: dict[int, list[int]] = {}
    rows_kp, rows_sc = [], []
    for number, people in raw.frames.items():
        frames[number] = list(range(len(rows_kp), len(rows_kp) + len(people)))
        rows_kp.extend(keypoints for keypoints, _ in people)
        rows_sc.extend(scores for _, scores in people)
    all_kp, all_sc = np.stack(rows_kp), np.stack(rows_sc)
    if take is not None:
        all_kp, all_sc = all_kp[:, take], all_sc[:, take]
    all_kp, all_sc = _clean(all_kp, all_sc, size, raw.normalised)

    first, last = min(frames), max(frames)
    span = last - first + 1
    if span > _MAX_SPARSE_SPAN and span > 100 * len(frames):
        raise TrackError(
            f"{path}: frame numbers run from {first} to {last} but only {len(frames)} frames "
            "have records; these look like ids of unrelated images, not video frames. Number "
            "the frames of one video consecutively"
        )
    if person is not None:
        most = max(len(people) for people in frames.values())
        if person >= most:
            raise TrackError(
                f"{path}: person {person} was asked for but no frame has more than {most} "
                f"people (indices 0..{most - 1})"
            )
        chosen = {n: rows[person] for n, rows in frames.items() if person < len(rows)}
    else:
        chosen = _pick_prominent(frames, all_kp, all_sc)
    keypoints = np.full((span, layout.num_joints, 2), np.nan)
    confidence = np.zeros((span, layout.num_joints))
    if chosen:
        numbers = np.fromiter(chosen, dtype=np.int64, count=len(chosen))
        rows = np.fromiter(chosen.values(), dtype=np.int64, count=len(chosen))
        keypoints[numbers - first], confidence[numbers - first] = all_kp[rows], all_sc[rows]
    if not (confidence > 0).any():
        raise TrackError(
            f"{path}: no joint of any person is inside the image with a confidence above 0"
            + (f" (image size {size[0]}x{size[1]})" if size else "")
            + "; check the image size and the detector output"
        )
    return Track(
        keypoints=keypoints,
        confidence=confidence,
        layout=layout.name,
        fps=options.fps if options.fps is not None else raw.fps,
        image_size=size,
        source=str(path),
        format=raw.format,
        first_frame=first,
    )


def _joint_count(path: Path, raw: Raw) -> int:
    """The one joint count all people of all frames share; a mix is two detector models."""
    if not raw.frames:
        raise TrackError(f"{path}: no frames in the file; is it the whole detector output?")
    counts = {p[0].shape[0] for people in raw.frames.values() for p in people}
    if not counts:
        raise TrackError(
            f"{path}: no person in any frame ({len(raw.frames)} frames, all empty); "
            "the detector found nobody, check the video or the detector's threshold"
        )
    if len(counts) > 1:
        first = {}
        for number in sorted(raw.frames):
            for keypoints, _ in raw.frames[number]:
                first.setdefault(keypoints.shape[0], number)
        detail = ", ".join(f"{j} joints first in frame {n}" for j, n in sorted(first.items()))
        raise TrackError(
            f"{path}: joint counts differ between people or frames ({detail}); a track needs "
            "one detector model throughout, re-run it with one model"
        )
    return counts.pop()


def _resolve_layout(
    path: Path, family: str, joint_count: int, requested: Layout | None
) -> tuple[Layout, np.ndarray | None]:
    """The layout a file's joint count stands for, and which joints to take (None: all)."""
    take: np.ndarray | None = None
    if family == "openpose":
        if joint_count == BODY25.num_joints:
            natural = BODY25
        elif joint_count == len(_OPENPOSE_COCO18):
            natural, take = COCO17, _COCO18_TO_COCO17
        else:
            raise TrackError(
                f"{path}: OpenPose people have {joint_count} keypoints ({3 * joint_count} values "
                "in pose_keypoints_2d); supported are BODY_25 (75 values) and COCO-18 (54 "
                "values). Re-run OpenPose with --model_pose BODY_25"
            )
    elif family == "mediapipe":
        if joint_count != BLAZEPOSE33.num_joints:
            raise TrackError(
                f"{path}: MediaPipe pose has 33 landmarks; this file has {joint_count} per frame"
            )
        natural = BLAZEPOSE33
    else:
        by_count = {17: COCO17, 25: BODY25, 33: BLAZEPOSE33}
        if joint_count in _COCO_SUPERSETS:
            natural, take = COCO17, np.arange(COCO17.num_joints)
        elif joint_count in by_count:
            natural = by_count[joint_count]
        else:
            known = ", ".join(f"{layout.name}: {layout.num_joints}" for layout in LAYOUTS.values())
            raise TrackError(
                f"{path}: people have {joint_count} keypoints, which is no known layout "
                f"({known}; also Halpe-26 and COCO-WholeBody-133, read as their COCO-17 body)"
            )
    if requested is None or requested == natural:
        return natural, take
    if take is None and requested.num_joints == joint_count:
        return requested, None  # e.g. 17 joints that are H36M-17, not COCO-17
    raise TrackError(
        f"{path}: layout {requested.name!r} ({requested.num_joints} joints) was asked for, but "
        f"the file has {joint_count} keypoints per person ({natural.name}); leave the layout "
        "out or give one with that many joints"
    )


def _clean(
    keypoints: np.ndarray,
    scores: np.ndarray,
    size: tuple[int, int] | None,
    normalised: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, J, 2), (N, J) → pixels, scores clipped to [0, 1], missing and outside joints masked."""
    keypoints = keypoints.astype(np.float64, copy=True)
    scores = np.clip(np.nan_to_num(scores.astype(np.float64), nan=0.0), 0.0, 1.0)
    if normalised:
        assert size is not None
        keypoints *= np.array(size, dtype=np.float64)
    missing = (scores <= 0) | ~np.isfinite(keypoints).all(axis=-1)
    if size is not None:
        with np.errstate(invalid="ignore"):
            outside = (keypoints < 0).any(axis=-1) | (keypoints > np.array(size)).any(axis=-1)
        missing |= outside
    keypoints[missing] = np.nan
    scores[missing] = 0.0
    return keypoints, scores


def _boxes(keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per person (N): box centre (N, 2), area, larger side, and whether there is a box.

    The box is around the joints with confidence >= BOX_CONFIDENCE, or around all present joints
    for a person with fewer than two that confident.
    """
    use = scores >= BOX_CONFIDENCE
    few = use.sum(axis=1) < 2
    use[few] = scores[few] > 0
    valid = use.any(axis=1)
    low = np.where(use[..., None], keypoints, np.inf).min(axis=1)
    high = np.where(use[..., None], keypoints, -np.inf).max(axis=1)
    low[~valid], high[~valid] = 0.0, 0.0
    extent = high - low
    return (low + high) / 2, extent[:, 0] * extent[:, 1], extent.max(axis=1), valid


def _pick_prominent(
    frames: dict[int, list[int]], keypoints: np.ndarray, scores: np.ndarray
) -> dict[int, int]:
    """Follow one person (frame number → row): the largest box in the first frame with anyone,
    then the box centre nearest to where they were last seen, if within the gate (GATE_BASE)."""
    centres, areas, sides, valid = _boxes(keypoints, scores)
    total = scores.sum(axis=1)
    chosen: dict[int, int] = {}
    centre: np.ndarray | None = None
    size = MIN_BOX_SIZE_PX
    seen = 0
    for number in sorted(frames):
        rows = [row for row in frames[number] if valid[row]]
        if not rows:
            continue
        if centre is None:
            # Largest box; ties go to the more confident person, then the first listed.
            row = max(rows, key=lambda r: (areas[r], total[r], -r))
        else:
            distances = np.linalg.norm(centres[rows] - centre, axis=1)
            best = int(np.argmin(distances))
            if distances[best] > size * (GATE_BASE + GATE_PER_FRAME * (number - seen)):
                continue  # the tracked person is not in this frame; someone else is
            row = rows[best]
        chosen[number] = row
        centre, seen, size = centres[row], number, max(size, float(sides[row]))
    return chosen
