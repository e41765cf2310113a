"""Raw detector frames → `Track`s: the layout a joint count means, pixels, masking, which person
to follow when a frame holds several, or every person (docs/tracks.md, "Several people")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mpm_backend.skeleton import BLAZEPOSE33, BODY25, COCO17, LAYOUTS, Layout
from mpm_backend.tracks import association
from mpm_backend.tracks.common import Raw, ReadOptions
from mpm_backend.tracks.track import Track, TrackError

# Person choice (docs/tracks.md): a joint counts towards a person's box when its confidence is
# at least BOX_CONFIDENCE (all present joints when fewer than two are that confident). The
# tracked person's box centre may move GATE_BASE + GATE_PER_FRAME * (frames since last seen) box
# sizes; a nearest candidate beyond that is someone else, and the frame is masked. Box size is
# the larger side of the largest box seen for the tracked person, at least MIN_BOX_SIZE_PX.
GATE_BASE = 0.5
GATE_PER_FRAME = 0.1
MIN_BOX_SIZE_PX = 50.0

# Several people (assemble_people): a person seen in fewer frames than MIN_PERSON_SECONDS is a
# spurious detection and dropped; one unseen for up to MAX_GAP_SECONDS is still the same person.
# Without an fps (file or caller), ASSUMED_FPS converts these to frames.
MIN_PERSON_SECONDS = 0.5
MAX_GAP_SECONDS = 0.5
ASSUMED_FPS = 30.0

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


@dataclass
class _Detections:
    """Every person of every frame in one array, cleaned; frames hold row indices into it."""

    layout: Layout
    size: tuple[int, int] | None
    frames: dict[int, list[int]]
    keypoints: np.ndarray  # (N, J, 2) pixels, NaN where masked
    scores: np.ndarray  # (N, J)
    ids: list[int | None]  # (N,) the file's person id of each row, None where it gives none
    first: int
    span: int


def assemble(path: Path, raw: Raw, options: ReadOptions) -> Track:
    """One person's track from a detector reader's raw frames; options override the file.

    person None follows the most prominent person; person k is person k of `assemble_people`."""
    if options.person is not None:
        people = assemble_people(path, raw, options)
        if options.person >= len(people):
            raise TrackError(
                f"{path}: person {options.person} was asked for but the file has "
                f"{len(people)} {'person' if len(people) == 1 else 'people'} "
                f'(indices 0..{len(people) - 1}; docs/tracks.md, "Several people")'
            )
        return people[options.person]
    found = _detections(path, raw, options)
    chosen = _pick_prominent(found.frames, found.keypoints, found.scores)
    track = _track(path, raw, options, found, chosen)
    _refuse_empty(path, [track], found.size)
    return track


def assemble_people(
    path: Path,
    raw: Raw,
    options: ReadOptions,
    min_seconds: float = MIN_PERSON_SECONDS,
    max_gap_seconds: float = MAX_GAP_SECONDS,
) -> list[Track]:
    """Every person of a detector file, each over the file's whole span of frames, ordered by
    first appearance (ties left to right). The file's ids when every person has one, else
    association.py. People seen in fewer frames than min_seconds are dropped (unless nobody is
    seen longer); a person unseen for up to max_gap_seconds is still the same person."""
    found = _detections(path, raw, options)
    fps = options.fps or raw.fps or ASSUMED_FPS
    min_frames = max(1, math.ceil(min_seconds * fps - 1e-9))
    by_id = _people_by_id(found)
    if by_id is not None:
        shortest = min(min_frames, max(len(p) for p in by_id.values())) if by_id else 0
        kept = {pid: p for pid, p in by_id.items() if len(p) >= shortest}
        order = sorted(kept, key=lambda pid: _first_seen(found, kept[pid]))
        people = [(pid, kept[pid]) for pid in order]
    else:
        max_gap = max(0, round(max_gap_seconds * fps))
        chosen = association.associate(
            found.frames, found.keypoints, found.scores, max_gap, min_frames
        )
        people = list(enumerate(chosen))
    tracks = [_track(path, raw, options, found, rows, pid) for pid, rows in people]
    _refuse_empty(path, tracks, found.size)
    return tracks


def _people_by_id(found: _Detections) -> dict[int, dict[int, int]] | None:
    """{id: {frame: row}} from the file's ids; None when a person lacks one or an id repeats
    within a frame (then the file's ids cannot be trusted and people are associated)."""
    people: dict[int, dict[int, int]] = {}
    for number, rows in found.frames.items():
        for row in rows:
            if not (found.scores[row] > 0).any():
                continue  # nobody there after masking
            pid = found.ids[row]
            if pid is None:
                return None
            if number in people.setdefault(pid, {}):
                return None
            people[pid][number] = row
    return people


def _first_seen(found: _Detections, rows: dict[int, int]) -> tuple[int, float]:
    """Sort key of a person: first frame, then box centre x there (left first)."""
    number = min(rows)
    points = found.keypoints[rows[number], :, 0]
    finite = points[np.isfinite(points)]
    return number, float((finite.min() + finite.max()) / 2) if finite.size else 0.0


def _detections(path: Path, raw: Raw, options: ReadOptions) -> _Detections:
    """The raw frames as one cleaned array, the layout resolved, the frame span checked."""
    joint_count = _joint_count(path, raw)
    requested = options.layout or raw.layout
    layout, take = _resolve_layout(path, raw.family, joint_count, requested)
    size = options.image_size or raw.image_size
    if raw.normalised and size is None:
        raise TrackError(
            f"{path}: the landmarks are normalised to [0, 1] and the file does not give the "
            "image size; give the image size (width, height in pixels), e.g. "
            "read_track(path, image_size=(1920, 1080)), or add image_width/image_height to the file"
        )
    frames: dict[int, list[int]] = {}
    rows_kp, rows_sc, ids = [], [], []
    for number, people in raw.frames.items():
        frames[number] = list(range(len(rows_kp), len(rows_kp) + len(people)))
        rows_kp.extend(keypoints for keypoints, _ in people)
        rows_sc.extend(scores for _, scores in people)
        given = raw.ids.get(number, [])
        ids.extend(given[i] if i < len(given) else None for i in range(len(people)))
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
    return _Detections(layout, size, frames, all_kp, all_sc, ids, first, span)


def _track(
    path: Path,
    raw: Raw,
    options: ReadOptions,
    found: _Detections,
    chosen: dict[int, int],
    person_id: int | None = None,
) -> Track:
    """The track of the rows chosen per frame number, masked elsewhere over the whole span."""
    keypoints = np.full((found.span, found.layout.num_joints, 2), np.nan)
    confidence = np.zeros((found.span, found.layout.num_joints))
    if chosen:
        numbers = np.fromiter(chosen, dtype=np.int64, count=len(chosen))
        rows = np.fromiter(chosen.values(), dtype=np.int64, count=len(chosen))
        at = numbers - found.first
        keypoints[at], confidence[at] = found.keypoints[rows], found.scores[rows]
    return Track(
        keypoints=keypoints,
        confidence=confidence,
        layout=found.layout.name,
        fps=options.fps if options.fps is not None else raw.fps,
        image_size=found.size,
        source=str(path),
        format=raw.format,
        first_frame=found.first,
        person_id=person_id,
    )


def _refuse_empty(path: Path, tracks: list[Track], size: tuple[int, int] | None) -> None:
    if not any((track.confidence > 0).any() for track in tracks):
        raise TrackError(
            f"{path}: no joint of any person is inside the image with a confidence above 0"
            + (f" (image size {size[0]}x{size[1]})" if size else "")
            + "; check the image size and the detector output"
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
    low, high, valid = association.boxes(keypoints, scores)
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
