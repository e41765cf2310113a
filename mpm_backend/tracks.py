"""2D keypoint track files: read what video pose detectors write, read and write our own format.

A `Track` is one person's 2D keypoints over time, in pixels, in one joint layout of
`mpm_backend.skeleton`. `read_track` detects the format from the path (a folder is OpenPose
per-frame JSON; a `.json` file is sniffed; `.csv` is MediaPipe; `.npz` is our own format) and
`write_track` writes our own format. docs/tracks.md describes every format, the detection rules,
how one person is picked when a frame holds several, and the own format in full.

Rules every reader follows:
- Frames keep their timing: the track covers every frame number from the first record to the
  last; frames without a record (gaps, missing files) or without the person are masked.
- Masked means NaN keypoints with confidence 0, never a guess. A joint whose confidence is 0 is
  masked, a masked joint has confidence 0. Scores are clipped to [0, 1].
- Joints outside the image are masked when the image size is known (detector formats only; our
  own format is read as written).
- Arguments given to `read_track` (layout, fps, image size, person) override what the file says.
- A bad file raises `TrackError` (a ValueError) naming the file, the frame or field, and what to do.

Torch-free and bpy-free: the Blender add-on imports this module.
"""

from __future__ import annotations

import csv
import json
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mpm_backend.skeleton import (
    BLAZEPOSE33,
    BODY25,
    COCO17,
    LAYOUTS,
    Layout,
    get_layout,
    to_h36m17,
)

FORMAT_NAME = "mpm-lift-track"
FORMAT_VERSION = 1

# What read_track understands, for error messages.
SUPPORTED_FORMATS = (
    "COCO / MMPose JSON (per-frame records with 'instances' or 'people' holding 'keypoints' and "
    "'keypoint_scores', or COCO results: one record per person with 'image_id' and flat "
    "[x, y, v, ...] 'keypoints'); an OpenPose folder of per-frame *_keypoints.json files "
    "(BODY_25 or COCO-18); MediaPipe pose landmarks as JSON (frames of 33 landmarks with x, y, "
    "visibility) or CSV (columns frame, landmark, x, y, z, visibility, or wide x0, y0, z0, v0, ...); "
    f"and the project's own '{FORMAT_NAME}' .json / .npz (docs/tracks.md)"
)

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

# MediaPipe's own landmark names where they differ from ours (skeleton.py renames the mouth).
_MEDIAPIPE_NAMES = {"mouth_left": "left_mouth", "mouth_right": "right_mouth"}

_FRAME_KEYS = ("frame_id", "frame", "frame_index", "frame_idx", "frame_number", "image_id")
_LANDMARK_KEYS = ("pose_landmarks", "landmarks", "landmark")
_SCORE_KEYS = ("keypoint_scores", "keypoints_scores", "scores", "confidence")


class TrackError(ValueError):
    """A track file that cannot be read; the message says what was wrong and what to do."""


@dataclass
class Track:
    """One person's 2D keypoints over time.

    keypoints: (T, J, 2) float32 pixels, NaN where the joint or the person is missing.
    confidence: (T, J) float32 in [0, 1], 0 exactly where keypoints are NaN.
    layout: canonical layout name (`mpm_backend.skeleton.LAYOUTS`).
    fps: frames per second, None when neither the file nor the caller says.
    image_size: (width, height) in pixels, None when unknown.
    source: the file or folder it was read from ("" when made in memory).
    format: the format it was read as (see FORMATS in docs/tracks.md), "" when made in memory.
    first_frame: the frame number of keypoints[0]; frame t is first_frame + t.
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    layout: str  # a Layout or any alias is accepted and stored as the canonical name
    fps: float | None = None
    image_size: tuple[int, int] | None = None
    source: str = ""
    format: str = ""
    first_frame: int = 0

    def __post_init__(self) -> None:
        layout = get_layout(self.layout.name if isinstance(self.layout, Layout) else self.layout)
        self.layout = layout.name
        keypoints = np.array(self.keypoints, dtype=np.float32)
        confidence = np.array(self.confidence, dtype=np.float32)
        j = layout.num_joints
        if keypoints.ndim != 3 or keypoints.shape[1:] != (j, 2):
            raise ValueError(
                f"Track keypoints for layout {layout.name!r} must have shape (T, {j}, 2); "
                f"got {keypoints.shape}"
            )
        if confidence.shape != keypoints.shape[:2]:
            raise ValueError(
                f"Track confidence must have shape {keypoints.shape[:2]}; got {confidence.shape}"
            )
        confidence[~np.isfinite(confidence)] = 0
        if (confidence < 0).any() or (confidence > 1).any():
            raise ValueError("Track confidence must lie in [0, 1]")
        missing = (confidence <= 0) | ~np.isfinite(keypoints).all(axis=-1)
        keypoints[missing] = np.nan
        confidence[missing] = 0
        self.keypoints, self.confidence = keypoints, confidence
        if self.fps is not None:
            self.fps = float(self.fps)
            if not math.isfinite(self.fps) or self.fps <= 0:
                raise ValueError(f"Track fps must be a positive number or None; got {self.fps}")
        if self.image_size is not None:
            self.image_size = _checked_image_size(self.image_size)
        self.first_frame = int(self.first_frame)
        self.source = str(self.source)

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def num_joints(self) -> int:
        return int(self.keypoints.shape[1])

    @property
    def frame_numbers(self) -> np.ndarray:
        """(T,) int64: the frame number of each row (consecutive, from first_frame)."""
        return self.first_frame + np.arange(self.num_frames, dtype=np.int64)

    @property
    def present(self) -> np.ndarray:
        """(T, J) bool: where a joint was detected."""
        return self.confidence > 0

    def to_h36m17(self) -> tuple[np.ndarray, np.ndarray]:
        """(keypoints (T, 17, 2), confidence (T, 17)) in the model's H36M-17 order."""
        return to_h36m17(self.keypoints, self.layout, self.confidence)


def _checked_image_size(size: Any) -> tuple[int, int]:
    try:
        width, height = (float(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"image size must be (width, height); got {size!r}") from None
    if not (math.isfinite(width) and math.isfinite(height) and width > 0 and height > 0):
        raise ValueError(f"image size must be two positive numbers (width, height); got {size!r}")
    if width != round(width) or height != round(height):
        raise ValueError(f"image size must be whole pixels (width, height); got {size!r}")
    return int(width), int(height)


# --------------------------------------------------------------------------------------------
# Reading: the public entry point
# --------------------------------------------------------------------------------------------


def read_track(
    path: str | Path,
    layout: str | None = None,
    fps: float | None = None,
    person: int | None = None,
    image_size: tuple[int, int] | None = None,
) -> Track:
    """Read a 2D track file or OpenPose folder; arguments override what the file says.

    layout: the joint layout (needed only to read 17-joint detector files as H36M-17 rather than
        COCO-17); must match the file's joint count.
    fps: the frame rate, when the file does not say or says wrong.
    person: index of the person in each frame's list, as the file orders them; None tracks the
        most prominent person (docs/tracks.md, "Several people").
    image_size: (width, height) in pixels; needed for normalised MediaPipe coordinates when the
        file does not give it; joints outside the image are masked.
    """
    path = Path(path)
    if fps is not None:
        fps = _checked_fps(fps, path, "the fps argument")
    if image_size is not None:
        try:
            image_size = _checked_image_size(image_size)
        except ValueError as error:
            raise TrackError(f"{path}: the image_size argument: {error}") from None
    if person is not None and (
        isinstance(person, bool) or not isinstance(person, int | np.integer)
    ):
        raise TrackError(f"{path}: person must be a whole number (an index), got {person!r}")
    if person is not None and person < 0:
        raise TrackError(f"{path}: person must be 0 or more (an index into each frame's people)")
    requested = None
    if layout is not None:
        try:
            requested = get_layout(layout)
        except (ValueError, TypeError) as error:
            raise TrackError(f"{path}: the layout argument: {error}") from None

    if not path.exists():
        raise TrackError(f"{path}: no such file or folder; check the path")
    own_person = (
        f"{path}: person {person} was asked for, but an {FORMAT_NAME} file holds one person "
        "(index 0); leave person out"
    )
    if path.is_dir():
        raw = _read_openpose_folder(path)
    else:
        suffix = path.suffix.lower()
        if suffix == ".npz":
            if person:
                raise TrackError(own_person)
            return _read_own_npz(path, requested, fps, image_size)
        if suffix == ".csv":
            raw = _read_mediapipe_csv(path)
        elif suffix == ".json":
            data = _load_json(path)
            if isinstance(data, dict) and data.get("format") == FORMAT_NAME:
                if person:
                    raise TrackError(own_person)
                return _own_from_json(path, data, requested, fps, image_size)
            raw = _parse_detector_json(path, data)
        else:
            raise TrackError(
                f"{path}: unknown track file type {path.suffix!r}; supported: a folder of "
                f"OpenPose JSON, .json, .csv or .npz. Formats: {SUPPORTED_FORMATS}"
            )
    return _assemble(path, raw, requested, fps, person, image_size)


def _checked_fps(value: Any, path: Path, where: str) -> float:
    try:
        fps = float(value)
    except (TypeError, ValueError):
        raise TrackError(
            f"{path}: {where} must be a number of frames per second, got {value!r}"
        ) from None
    if not math.isfinite(fps) or fps <= 0:
        raise TrackError(
            f"{path}: {where} is {value!r}; the frame rate must be a positive number "
            "(give the video's frame rate, e.g. fps=30)"
        )
    return fps


# --------------------------------------------------------------------------------------------
# Detector formats → a common raw form → one person's track
# --------------------------------------------------------------------------------------------

Person = tuple[np.ndarray, np.ndarray]  # (J, 2) float64 keypoints, (J,) float64 scores


@dataclass
class _Raw:
    """What a detector-format reader found, before a person is picked."""

    format: str
    family: str  # "coco", "openpose" or "mediapipe": decides the layout a joint count means
    frames: dict[int, list[Person]]
    fps: float | None = None
    image_size: tuple[int, int] | None = None
    normalised: bool = False
    layout: Layout | None = None  # a "layout" the file names; the caller's layout overrides it


def _assemble(
    path: Path,
    raw: _Raw,
    requested: Layout | None,
    fps: float | None,
    person: int | None,
    image_size: tuple[int, int] | None,
) -> Track:
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
    joint_count = counts.pop()
    layout, take = _resolve_layout(path, raw.family, joint_count, requested or raw.layout)

    size = image_size or raw.image_size
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
        fps=fps if fps is not None else raw.fps,
        image_size=size,
        source=str(path),
        format=raw.format,
        first_frame=first,
    )


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


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------


def _load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise TrackError(f"{path}: not a text file ({error}); is it really JSON?") from None
    except OSError as error:
        raise TrackError(f"{path}: cannot read the file: {error}") from None
    if not text.strip():
        raise TrackError(f"{path}: the file is empty; re-export the track")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise TrackError(
            f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            "the file may be truncated or not JSON, re-export it"
        ) from None


def _unknown_structure(path: Path, found: str) -> TrackError:
    return TrackError(f"{path}: unknown track structure ({found}). Supported: {SUPPORTED_FORMATS}")


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(repr(k) for k in list(value)[:8])
        return f"an object with keys {keys}" if keys else "an empty object"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return "a number" if isinstance(value, int | float) else "a string"


def _meta_sources(data: dict) -> list[dict]:
    sources = [data]
    for key in ("meta_info", "meta", "metadata", "video_info", "info", "video"):
        if isinstance(data.get(key), dict):
            sources.append(data[key])
    return sources


def _json_fps(path: Path, sources: list[dict]) -> float | None:
    for source in sources:
        for key in ("fps", "frame_rate", "framerate"):
            if source.get(key) is not None:
                return _checked_fps(source[key], path, f"the file's {key!r}")
    return None


def _json_image_size(path: Path, sources: list[dict]) -> tuple[int, int] | None:
    for source in sources:
        if source.get("image_size") is not None:
            value = source["image_size"]
        elif source.get("image_width") is not None or source.get("image_height") is not None:
            value = (source.get("image_width"), source.get("image_height"))
        elif source.get("width") is not None or source.get("height") is not None:
            value = (source.get("width"), source.get("height"))
        else:
            continue
        try:
            return _checked_image_size(value)
        except ValueError as error:
            raise TrackError(f"{path}: the file's image size: {error}") from None
    return None


def _parse_detector_json(path: Path, data: Any) -> _Raw:
    sources: list[dict] = []
    images: dict[Any, tuple[int, tuple[int, int] | None]] | None = None
    if isinstance(data, dict):
        if "format" in data and isinstance(data["format"], str) and "mpm" in data["format"]:
            raise TrackError(
                f"{path}: format {data['format']!r} is not {FORMAT_NAME!r}; fix the format field"
            )
        sources = _meta_sources(data)
        for key in ("frames", "instance_info", "predictions", "annotations", "results"):
            if isinstance(data.get(key), list):
                records = data[key]
                break
        else:
            if any(k in data for k in ("people", "instances", *_LANDMARK_KEYS)):
                records = [data]  # one frame on its own (e.g. one OpenPose file)
            else:
                raise _unknown_structure(path, _describe(data))
        if isinstance(data.get("images"), list) and "annotations" in data:
            images = _coco_images(path, data["images"])
    elif isinstance(data, list):
        records = data
    else:
        raise _unknown_structure(path, _describe(data))

    kind = _record_kind(path, records)
    if kind == "person":
        raw = _coco_results(path, records, images)
    elif kind == "mediapipe":
        raw = _mediapipe_frames(path, records, data if isinstance(data, dict) else {})
    else:
        raw = _people_frames(path, records)
    raw.fps = _json_fps(path, sources)
    for source in sources:
        if source.get("layout") is not None:
            try:
                raw.layout = get_layout(str(source["layout"]))
            except ValueError as error:
                raise TrackError(f"{path}: the file's 'layout': {error}") from None
            break
    if raw.image_size is None:
        raw.image_size = _json_image_size(path, sources)
    return raw


def _is_landmark(value: Any) -> bool:
    return isinstance(value, dict) and "x" in value and "y" in value


def _record_kind(path: Path, records: list) -> str:
    """How the records are built, from the first one that tells."""
    for record in records:
        if isinstance(record, dict):
            if "instances" in record or "people" in record:
                return "frame"
            if any(k in record for k in _LANDMARK_KEYS):
                return "mediapipe"
            if "keypoints" in record or "pose_keypoints_2d" in record:
                return "person"
            raise _unknown_structure(path, f"records are {_describe(record)}")
        if isinstance(record, list):
            item = next((v for v in record if v is not None), None)
            if item is None:
                continue
            if _is_landmark(item) or (isinstance(item, list) and item and _is_landmark(item[0])):
                return "mediapipe"
            if isinstance(item, dict) and ("keypoints" in item or "pose_keypoints_2d" in item):
                return "frame-list"
            raise _unknown_structure(path, f"frames are lists of {_describe(item)}")
        if record is None:
            continue
        raise _unknown_structure(path, f"records are {_describe(record)}")
    raise TrackError(f"{path}: no frames with people in the file; nothing to read")


def _frame_number(path: Path, record: Any, position: int, keyed: bool) -> int:
    if not keyed:
        return position
    if not isinstance(record, dict):
        raise TrackError(
            f"{path}: record {position} has no frame number while the others do; "
            f"give every record one of {', '.join(_FRAME_KEYS)}"
        )
    for key in _FRAME_KEYS:
        if key in record:
            return _whole_number(path, record[key], f"record {position}, field {key!r}")
    raise TrackError(
        f"{path}: record {position} has no frame number while the others do; "
        f"give every record one of {', '.join(_FRAME_KEYS)}"
    )


def _whole_number(path: Path, value: Any, where: str) -> int:
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TrackError(f"{path}: {where} must be a whole frame number, got {value!r}")


def _has_frame_key(record: Any) -> bool:
    return isinstance(record, dict) and any(k in record for k in _FRAME_KEYS)


def _people_frames(path: Path, records: list) -> _Raw:
    """MMPose predictions: [{"frame_id", "instances": [...]}], or frames with "people", or bare
    lists of instances per frame."""
    keyed = _has_frame_key(records[0]) if records else False
    frames: dict[int, list[Person]] = {}
    fmt = "mmpose-json"
    openpose = False
    for position, record in enumerate(records):
        number = _frame_number(path, record, position, keyed)
        if record is None:
            people = []
        elif isinstance(record, list):
            people = record
        elif isinstance(record, dict):
            people = record.get("instances", record.get("people"))
            if people is None:
                people = []
            if "people" in record and "instances" not in record:
                fmt = "people-json"
        else:
            raise TrackError(f"{path}: record {position} is {_describe(record)}, not a frame")
        if not isinstance(people, list):
            raise TrackError(
                f"{path}: frame {number}: 'instances'/'people' must be a list, "
                f"got {_describe(people)}"
            )
        parsed = []
        for i, entry in enumerate(people):
            one = _parse_person(path, entry, f"frame {number}, person {i}")
            if one is not None:
                parsed.append(one)
            if isinstance(entry, dict) and "pose_keypoints_2d" in entry:
                openpose = True
        frames.setdefault(number, []).extend(parsed)
    family = "coco"
    if openpose:
        family, fmt = "openpose", "openpose-json"
    return _Raw(format=fmt, family=family, frames=frames)


def _coco_images(path: Path, images: list) -> dict[Any, tuple[int, tuple[int, int] | None]]:
    """COCO-style 'images': id → (frame number, size); frame number from 'frame_id' or order."""
    out = {}
    for position, image in enumerate(images):
        if not isinstance(image, dict) or "id" not in image:
            raise TrackError(f"{path}: images[{position}] has no 'id'")
        if any(k in image for k in ("frame_id", "frame_index", "frame")):
            key = next(k for k in ("frame_id", "frame_index", "frame") if k in image)
            number = _whole_number(path, image[key], f"images[{position}], field {key!r}")
        else:
            number = position
        size = None
        if image.get("width") is not None and image.get("height") is not None:
            try:
                size = _checked_image_size((image["width"], image["height"]))
            except ValueError as error:
                raise TrackError(f"{path}: images[{position}]: {error}") from None
        out[image["id"]] = (number, size)
    return out


def _coco_results(path: Path, records: list, images: dict | None) -> _Raw:
    """COCO results / annotations: one record per person, grouped by image_id (or frame_id)."""
    frames: dict[int, list[Person]] = {}
    sizes = set()
    keyed = _has_frame_key(records[0]) if records else False
    if images is not None:
        for number, size in images.values():
            frames.setdefault(number, [])
            if size is not None:
                sizes.add(size)
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            raise TrackError(f"{path}: record {position} is {_describe(record)}, not a person")
        if images is not None:
            if record.get("image_id") not in images:
                raise TrackError(
                    f"{path}: annotation {position} has image_id {record.get('image_id')!r}, "
                    "which is not in 'images'"
                )
            number = images[record["image_id"]][0]
        else:
            number = _frame_number(path, record, position, keyed)
        one = _parse_person(path, record, f"frame {number} (record {position})")
        people = frames.setdefault(number, [])
        if one is not None:
            people.append(one)
    if len(sizes) > 1:
        raise TrackError(
            f"{path}: the images have different sizes {sorted(sizes)}; a track is one video"
        )
    return _Raw(
        format="coco-json",
        family="coco",
        frames=frames,
        image_size=sizes.pop() if sizes else None,
    )


_KNOWN_COUNTS = {17, 18, 25, 26, 33, 133}


def _as_float_array(path: Path, value: Any, where: str) -> np.ndarray:
    """Numbers (null → NaN) as a float64 array."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TrackError(f"{path}: {where} must hold numbers, got {str(value)[:80]}") from None


def _parse_person(path: Path, obj: Any, where: str) -> Person | None:
    """One person's keypoints (J, 2) and scores (J,) from a COCO/MMPose/OpenPose object; None
    when the object has no keypoints at all."""
    if not isinstance(obj, dict):
        raise TrackError(f"{path}: {where} is {_describe(obj)}, not a person with 'keypoints'")
    if "pose_keypoints_2d" in obj:
        field, value = "pose_keypoints_2d", obj["pose_keypoints_2d"]
    elif "keypoints" in obj:
        field, value = "keypoints", obj["keypoints"]
    else:
        raise TrackError(f"{path}: {where} has no 'keypoints' (keys: {', '.join(map(str, obj))})")
    if value is None or (isinstance(value, list) and not value):
        return None  # a record without keypoints: nobody
    values = _as_float_array(path, value, f"{where}, field {field!r}")
    scores = None
    score_field = next((k for k in _SCORE_KEYS if obj.get(k) is not None), None)
    if score_field is not None:
        scores = _as_float_array(path, obj[score_field], f"{where}, field {score_field!r}")
        scores = scores.reshape(-1)
    if values.ndim == 2 and values.shape[1] in (2, 3):
        keypoints = values[:, :2]
        if scores is None:
            scores = values[:, 2] if values.shape[1] == 3 else np.ones(len(values))
    elif values.ndim == 1:
        n = values.size
        if scores is not None and n == 2 * scores.size:
            step = 2
        elif scores is not None and n == 3 * scores.size:
            step = 3
        elif n % 3 == 0 and (n // 3 in _KNOWN_COUNTS or n % 2):
            step = 3
        elif n % 2 == 0:
            step = 2
        else:
            raise TrackError(
                f"{path}: {where}, field {field!r}: {n} numbers are neither x, y pairs nor "
                "x, y, score triples"
            )
        triples = values.reshape(-1, step)
        keypoints = triples[:, :2]
        if scores is None:
            scores = triples[:, 2] if step == 3 else np.ones(len(triples))
    else:
        raise TrackError(
            f"{path}: {where}, field {field!r} must be [[x, y], ...] or a flat [x, y, v, ...] "
            f"list; got shape {values.shape}"
        )
    if scores.shape[0] != keypoints.shape[0]:
        raise TrackError(
            f"{path}: {where}: {keypoints.shape[0]} keypoints but {scores.shape[0]} scores; "
            "they must match"
        )
    return keypoints, scores


# --------------------------------------------------------------------------------------------
# OpenPose folder
# --------------------------------------------------------------------------------------------

_OPENPOSE_NUMBER = re.compile(r"(\d+)(?:_keypoints)?$")


def _read_openpose_folder(path: Path) -> _Raw:
    files = sorted(path.glob("*_keypoints.json")) or sorted(path.glob("*.json"))
    if not files:
        raise TrackError(
            f"{path}: the folder holds no .json files; an OpenPose track is a folder of "
            "per-frame *_keypoints.json files (openpose --write_json FOLDER)"
        )
    frames: dict[int, list[Person]] = {}
    owner: dict[int, Path] = {}
    for file in files:
        match = _OPENPOSE_NUMBER.search(file.stem)
        if match is None:
            raise TrackError(
                f"{file}: no frame number at the end of the file name; OpenPose names its "
                "files <video>_<frame number>_keypoints.json"
            )
        number = int(match.group(1))
        if number in owner:
            raise TrackError(
                f"{path}: files {owner[number].name} and {file.name} are both frame {number}; "
                "keep one video's files per folder"
            )
        owner[number] = file
        data = _load_json(file)
        if not isinstance(data, dict) or not isinstance(data.get("people"), list):
            raise TrackError(
                f"{file}: not an OpenPose frame (expected an object with a 'people' list; "
                f"found {_describe(data)})"
            )
        people = []
        for i, entry in enumerate(data["people"]):
            if not isinstance(entry, dict) or "pose_keypoints_2d" not in entry:
                raise TrackError(
                    f"{file}: people[{i}] has no 'pose_keypoints_2d'; run OpenPose with body "
                    "keypoints enabled"
                )
            values = _as_float_array(file, entry["pose_keypoints_2d"], f"people[{i}]")
            if values.ndim != 1 or values.size % 3:
                raise TrackError(
                    f"{file}: people[{i}].pose_keypoints_2d has {values.size} numbers; it must "
                    "be flat x, y, confidence triples"
                )
            triples = values.reshape(-1, 3)
            people.append((triples[:, :2], triples[:, 2]))
        frames[number] = people
    return _Raw(format="openpose", family="openpose", frames=frames)


# --------------------------------------------------------------------------------------------
# MediaPipe JSON and CSV
# --------------------------------------------------------------------------------------------


def _landmark_index(path: Path, value: Any, where: str) -> int:
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        name = value.strip().lower()
        name = _MEDIAPIPE_NAMES.get(name, name)
        if name in BLAZEPOSE33.joints:
            return BLAZEPOSE33.index(name)
        raise TrackError(f"{path}: {where}: unknown MediaPipe landmark {value!r}")
    index = _whole_number(path, value, where)
    if not 0 <= index < BLAZEPOSE33.num_joints:
        raise TrackError(f"{path}: {where}: landmark {index} is not in 0..32 (MediaPipe pose)")
    return index


def _landmark(path: Path, item: Any, where: str) -> tuple[float, float, float]:
    """(x, y, confidence) of one landmark dict {x, y, z, visibility} or list [x, y, z, vis]."""
    if item is None:
        return math.nan, math.nan, 0.0
    if isinstance(item, dict):
        if "x" not in item or "y" not in item:
            raise TrackError(f"{path}: {where} has no x and y")
        conf = next(
            (item[k] for k in ("visibility", "score", "confidence", "presence") if k in item),
            1.0,
        )
        values = (item["x"], item["y"], conf)
    elif isinstance(item, list) and len(item) in (2, 3, 4, 5):
        values = (item[0], item[1], item[3] if len(item) >= 4 else 1.0)
    else:
        raise TrackError(
            f"{path}: {where} must be {{x, y, z, visibility}} or [x, y, z, visibility]; "
            f"got {str(item)[:80]}"
        )
    try:
        return tuple(math.nan if v is None else float(v) for v in values)  # type: ignore[return-value]
    except (TypeError, ValueError):
        raise TrackError(f"{path}: {where} must hold numbers; got {str(item)[:80]}") from None


def _mediapipe_person(path: Path, landmarks: list, where: str) -> Person:
    if len(landmarks) != BLAZEPOSE33.num_joints:
        raise TrackError(
            f"{path}: {where} has {len(landmarks)} landmarks; MediaPipe pose has 33 "
            "(give all 33, null for a missing one)"
        )
    rows = [_landmark(path, item, f"{where}, landmark {i}") for i, item in enumerate(landmarks)]
    array = np.array(rows, dtype=np.float64)
    return array[:, :2], array[:, 2]


def _is_people_list(landmarks: list) -> bool:
    """A list of people (each a list of landmarks), rather than one person's landmarks?

    A landmark is {x, y, ...} or [x, y, z, visibility] (numbers), so a list whose items are
    lists of dicts or of lists is a list of people.
    """
    for item in landmarks:
        if item is None:
            continue
        if not isinstance(item, list):
            return False
        inner = next((v for v in item if v is not None), None)
        if inner is None:
            continue
        return isinstance(inner, dict | list)
    return False


def _mediapipe_frames(path: Path, records: list, top: dict) -> _Raw:
    keyed = _has_frame_key(records[0]) if records else False
    frames: dict[int, list[Person]] = {}
    for position, record in enumerate(records):
        number = _frame_number(path, record, position, keyed)
        where = f"frame {number}"
        if isinstance(record, dict):
            key = next((k for k in _LANDMARK_KEYS if k in record), None)
            landmarks = record[key] if key else None
        else:
            landmarks = record
        if landmarks is None or landmarks == []:
            people = []
        elif not isinstance(landmarks, list):
            raise TrackError(
                f"{path}: {where}: landmarks must be a list, got {_describe(landmarks)}"
            )
        elif _is_people_list(landmarks):
            people = [
                _mediapipe_person(path, p, f"{where}, person {i}") for i, p in enumerate(landmarks)
            ]
        else:
            people = [_mediapipe_person(path, landmarks, where)]
        frames.setdefault(number, []).extend(people)
    normalised = top.get("normalized", top.get("normalised", True))
    if not isinstance(normalised, bool):
        raise TrackError(f"{path}: 'normalized' must be true or false, got {normalised!r}")
    return _Raw(format="mediapipe-json", family="mediapipe", frames=frames, normalised=normalised)


_WIDE_COLUMN = re.compile(r"^(x|y|z|v|vis|visibility|presence)_?(\d+)$")
_CSV_FRAME = ("frame", "frame_id", "frame_index", "frame_idx", "frame_number")
_CSV_LANDMARK = ("landmark", "landmark_id", "landmark_index", "joint", "keypoint")
_CSV_VISIBILITY = ("visibility", "vis", "v")
_CSV_PERSON = ("person", "person_id", "pose", "pose_index")


def _read_mediapipe_csv(path: Path) -> _Raw:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(line for line in f if not line.startswith("#")))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise TrackError(f"{path}: cannot read the CSV: {error}") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise TrackError(f"{path}: the CSV is empty; it needs a header row and data rows")
    header = [cell.strip().lower() for cell in rows[0]]
    data = rows[1:]
    column = {name: i for i, name in enumerate(header)}

    def pick(names: tuple[str, ...]) -> int | None:
        return next((column[n] for n in names if n in column), None)

    def number(row_index: int, row: list[str], col: int, name: str) -> float:
        cell = row[col].strip() if col < len(row) else ""
        if cell == "" or cell.lower() in ("nan", "null", "none"):
            return math.nan
        try:
            return float(cell)
        except ValueError:
            raise TrackError(
                f"{path}: row {row_index + 2}, column {name!r}: {cell!r} is not a number"
            ) from None

    frame_col, person_col = pick(_CSV_FRAME), pick(_CSV_PERSON)
    landmark_col = pick(_CSV_LANDMARK)
    wide = {}
    for i, name in enumerate(header):
        match = _WIDE_COLUMN.match(name)
        if match:
            wide[(match.group(1), int(match.group(2)))] = i
    if landmark_col is None and not wide:
        raise TrackError(
            f"{path}: unknown CSV columns ({', '.join(header[:10])}); a MediaPipe CSV has "
            "columns frame, landmark, x, y, z, visibility (one row per landmark) or frame, "
            "x0, y0, z0, v0, ..., x32, y32, z32, v32 (one row per frame)"
        )
    frames: dict[int, dict[int, Person]] = {}

    def frame_of(row_index: int, row: list[str]) -> int:
        if frame_col is None:
            return row_index
        value = number(row_index, row, frame_col, header[frame_col])
        if not math.isfinite(value) or not value.is_integer():
            raise TrackError(
                f"{path}: row {row_index + 2}, column {header[frame_col]!r}: frame must be a "
                "whole number"
            )
        return int(value)

    def person_of(row_index: int, row: list[str]) -> int:
        if person_col is None:
            return 0
        value = number(row_index, row, person_col, header[person_col])
        if not math.isfinite(value) or not value.is_integer() or value < 0:
            raise TrackError(f"{path}: row {row_index + 2}: person must be 0 or more")
        return int(value)

    def slot(frame: int, person: int) -> Person:
        people = frames.setdefault(frame, {})
        if person not in people:
            people[person] = (np.full((33, 2), np.nan), np.zeros(33))
        return people[person]

    if landmark_col is not None:
        x_col, y_col = pick(("x",)), pick(("y",))
        if x_col is None or y_col is None:
            raise TrackError(f"{path}: the CSV needs columns x and y (found {', '.join(header)})")
        if frame_col is None:
            raise TrackError(f"{path}: a one-row-per-landmark CSV needs a 'frame' column")
        vis_col, presence_col = pick(_CSV_VISIBILITY), pick(("presence",))
        seen = set()
        for row_index, row in enumerate(data):
            frame, person = frame_of(row_index, row), person_of(row_index, row)
            cell = row[landmark_col] if landmark_col < len(row) else ""
            landmark = _landmark_index(
                path, cell, f"row {row_index + 2}, column {header[landmark_col]!r}"
            )
            if (frame, person, landmark) in seen:
                raise TrackError(
                    f"{path}: row {row_index + 2}: frame {frame}, landmark {landmark} appears twice"
                )
            seen.add((frame, person, landmark))
            keypoints, scores = slot(frame, person)
            keypoints[landmark] = (
                number(row_index, row, x_col, "x"),
                number(row_index, row, y_col, "y"),
            )
            conf_col = vis_col if vis_col is not None else presence_col
            scores[landmark] = (
                1.0 if conf_col is None else number(row_index, row, conf_col, header[conf_col])
            )
    else:
        indices = sorted({i for (_, i) in wide})
        if indices[-1] >= 33:
            raise TrackError(f"{path}: column for landmark {indices[-1]}; MediaPipe has 0..32")
        for i in indices:
            if ("x", i) not in wide or ("y", i) not in wide:
                raise TrackError(f"{path}: landmark {i} needs both x{i} and y{i} columns")
        seen_frames = set()
        for row_index, row in enumerate(data):
            frame, person = frame_of(row_index, row), person_of(row_index, row)
            if (frame, person) in seen_frames:
                raise TrackError(f"{path}: row {row_index + 2}: frame {frame} appears twice")
            seen_frames.add((frame, person))
            keypoints, scores = slot(frame, person)
            for i in indices:
                keypoints[i] = (
                    number(row_index, row, wide[("x", i)], header[wide[("x", i)]]),
                    number(row_index, row, wide[("y", i)], header[wide[("y", i)]]),
                )
                conf = next(
                    (
                        wide[(k, i)]
                        for k in ("v", "vis", "visibility", "presence")
                        if (k, i) in wide
                    ),
                    None,
                )
                scores[i] = 1.0 if conf is None else number(row_index, row, conf, header[conf])

    constants: dict[str, float | None] = {}
    for names in (("image_width", "width"), ("image_height", "height"), ("fps",)):
        col = pick(names)
        values = (
            {number(r, row, col, header[col]) for r, row in enumerate(data)}
            if col is not None
            else set()
        )
        values = {v for v in values if math.isfinite(v)}
        if len(values) > 1:
            raise TrackError(
                f"{path}: column {header[col]!r} changes between rows ({sorted(values)[:4]}); "
                "it must be the same in every row"
            )
        constants[names[0]] = values.pop() if values else None
    image_size = None
    if constants["image_width"] is not None or constants["image_height"] is not None:
        try:
            image_size = _checked_image_size((constants["image_width"], constants["image_height"]))
        except ValueError as error:
            raise TrackError(f"{path}: image_width/image_height columns: {error}") from None
    fps = None
    if constants["fps"] is not None:
        fps = _checked_fps(constants["fps"], path, "the 'fps' column")
    if not frames:
        raise TrackError(f"{path}: the CSV has a header but no data rows")
    ordered = {frame: [people[p] for p in sorted(people)] for frame, people in frames.items()}
    return _Raw(
        format="mediapipe-csv",
        family="mediapipe",
        frames=ordered,
        fps=fps,
        image_size=image_size,
        normalised=True,
    )


# --------------------------------------------------------------------------------------------
# The own format: mpm-lift-track, .npz and .json
# --------------------------------------------------------------------------------------------


def _own_layout(path: Path, value: Any, requested: Layout | None, joints: int) -> Layout:
    if value is None and requested is None:
        raise TrackError(f"{path}: the track has no 'layout'; add it (e.g. 'coco17')")
    try:
        layout = requested or get_layout(str(value))
    except ValueError as error:
        raise TrackError(f"{path}: field 'layout': {error}") from None
    if layout.num_joints != joints:
        raise TrackError(
            f"{path}: layout {layout.name!r} has {layout.num_joints} joints but the keypoints "
            f"have {joints}; fix the 'layout' field or the keypoints"
        )
    return layout


def _own_version(path: Path, value: Any) -> None:
    if value is None:
        raise TrackError(
            f"{path}: no 'version'; {FORMAT_NAME} files carry version {FORMAT_VERSION}"
        )
    try:
        version = int(value)
    except (TypeError, ValueError):
        raise TrackError(f"{path}: field 'version' must be a whole number, got {value!r}") from None
    if version != FORMAT_VERSION:
        raise TrackError(
            f"{path}: {FORMAT_NAME} version {version}; this reader knows version "
            f"{FORMAT_VERSION}"
            + (" (update MPM Lift to read newer files)" if version > FORMAT_VERSION else "")
        )


def _own_finish(
    path: Path,
    fmt: str,
    keypoints: np.ndarray,
    confidence: np.ndarray,
    layout: Layout,
    file_fps: Any,
    file_size: Any,
    first_frame: Any,
    fps: float | None,
    image_size: tuple[int, int] | None,
) -> Track:
    if keypoints.ndim != 3 or keypoints.shape[2] != 2 or keypoints.shape[0] == 0:
        raise TrackError(
            f"{path}: field 'keypoints' must have shape (T, J, 2) with T > 0; got {keypoints.shape}"
        )
    if confidence.shape != keypoints.shape[:2]:
        raise TrackError(
            f"{path}: field 'confidence' must have shape {keypoints.shape[:2]} (T, J); "
            f"got {confidence.shape}"
        )
    finite = confidence[np.isfinite(confidence)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        raise TrackError(
            f"{path}: field 'confidence' must lie in [0, 1]; found values from "
            f"{finite.min():g} to {finite.max():g}"
        )
    if fps is None and file_fps is not None:
        fps = _checked_fps(file_fps, path, "field 'fps'")
    if image_size is None and file_size is not None:
        try:
            image_size = _checked_image_size(file_size)
        except ValueError as error:
            raise TrackError(f"{path}: field 'image_size': {error}") from None
    first = 0 if first_frame is None else _whole_number(path, first_frame, "field 'first_frame'")
    track = Track(
        keypoints=keypoints,
        confidence=np.nan_to_num(confidence, nan=0.0),
        layout=layout.name,
        fps=fps,
        image_size=image_size,
        source=str(path),
        format=fmt,
        first_frame=first,
    )
    if not track.present.any():
        raise TrackError(f"{path}: every joint of every frame is missing; nothing to lift")
    return track


def _read_own_npz(
    path: Path, requested: Layout | None, fps: float | None, image_size: tuple[int, int] | None
) -> Track:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise TrackError(
            f"{path}: cannot read the .npz ({error}); it must be a numpy archive without "
            "pickled objects, as write_track makes"
        ) from None

    def scalar(key: str) -> Any:
        if key not in arrays:
            return None
        value = arrays[key]
        if value.ndim != 0:
            raise TrackError(
                f"{path}: field {key!r} must be a single value, got shape {value.shape}"
            )
        return value.item()

    found = scalar("format")
    if found != FORMAT_NAME:
        raise TrackError(
            f"{path}: not an {FORMAT_NAME} archive (format field: {found!r}; arrays: "
            f"{', '.join(sorted(arrays)) or 'none'}). Write tracks with "
            "mpm_backend.tracks.write_track; docs/tracks.md describes the fields"
        )
    _own_version(path, scalar("version"))
    for key in ("keypoints", "confidence"):
        if key not in arrays:
            raise TrackError(f"{path}: the archive has no {key!r} array")
    keypoints = arrays["keypoints"]
    confidence = arrays["confidence"]
    if not (
        np.issubdtype(keypoints.dtype, np.number) and np.issubdtype(confidence.dtype, np.number)
    ):
        raise TrackError(f"{path}: 'keypoints' and 'confidence' must be numeric arrays")
    keypoints, confidence = keypoints.astype(np.float32), confidence.astype(np.float32)
    joints = keypoints.shape[1] if keypoints.ndim == 3 else -1
    layout = _own_layout(path, scalar("layout"), requested, joints)
    width, height = scalar("image_width"), scalar("image_height")
    file_size = None if width is None and height is None else (width, height)
    file_fps = scalar("fps")
    if isinstance(file_fps, float) and math.isnan(file_fps):
        file_fps = None  # NaN in an archive stands for "not known"
    return _own_finish(
        path,
        "mpm-lift-track-npz",
        keypoints,
        confidence,
        layout,
        file_fps,
        file_size,
        scalar("first_frame"),
        fps,
        image_size,
    )


def _own_from_json(
    path: Path,
    data: dict,
    requested: Layout | None,
    fps: float | None,
    image_size: tuple[int, int] | None,
) -> Track:
    _own_version(path, data.get("version"))
    frames = data.get("frames")
    if not isinstance(frames, list) or not frames:
        raise TrackError(f"{path}: field 'frames' must be a non-empty list of frames")
    layout_name = data.get("layout")
    if requested is None and layout_name is None:
        raise TrackError(f"{path}: the track has no 'layout'; add it (e.g. 'coco17')")
    try:
        layout = requested or get_layout(str(layout_name))
    except ValueError as error:
        raise TrackError(f"{path}: field 'layout': {error}") from None
    j = layout.num_joints
    keypoints = np.full((len(frames), j, 2), np.nan, dtype=np.float32)
    confidence = np.zeros((len(frames), j), dtype=np.float32)
    for t, frame in enumerate(frames):
        if frame is None:
            continue
        if not isinstance(frame, dict):
            raise TrackError(f"{path}: frames[{t}] must be an object or null")
        points = frame.get("keypoints")
        if points is None:
            continue
        if not isinstance(points, list) or len(points) != j:
            count = len(points) if isinstance(points, list) else _describe(points)
            raise TrackError(
                f"{path}: frames[{t}].keypoints has {count} joints; layout {layout.name!r} has {j}"
            )
        rows = [[math.nan, math.nan] if p is None else p for p in points]
        array = _as_float_array(path, rows, f"frames[{t}].keypoints")
        if array.shape != (j, 2):
            raise TrackError(
                f"{path}: frames[{t}].keypoints must be {j} [x, y] pairs; got shape {array.shape}"
            )
        scores = frame.get("confidence")
        if scores is None:
            conf = np.where(np.isfinite(array).all(axis=1), 1.0, 0.0)
        else:
            conf = _as_float_array(path, scores, f"frames[{t}].confidence")
            if conf.shape != (j,):
                raise TrackError(
                    f"{path}: frames[{t}].confidence has shape {conf.shape}; it must be {j} "
                    "numbers, one per joint"
                )
        keypoints[t], confidence[t] = array, conf
    return _own_finish(
        path,
        "mpm-lift-track-json",
        keypoints,
        confidence,
        layout,
        data.get("fps"),
        data.get("image_size"),
        data.get("first_frame"),
        fps,
        image_size,
    )


def write_track(track: Track, path: str | Path) -> Path:
    """Write a track in the project's own format: .npz or .json by the path's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".json"):
        raise ValueError(f"write_track writes .npz or .json, not {path.suffix!r} ({path})")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npz":
        fields: dict[str, np.ndarray] = {
            "format": np.array(FORMAT_NAME),
            "version": np.array(FORMAT_VERSION),
            "layout": np.array(track.layout),
            "keypoints": np.ascontiguousarray(track.keypoints, dtype=np.float32),
            "confidence": np.ascontiguousarray(track.confidence, dtype=np.float32),
            "first_frame": np.array(track.first_frame, dtype=np.int64),
        }
        if track.fps is not None:
            fields["fps"] = np.array(track.fps, dtype=np.float64)
        if track.image_size is not None:
            fields["image_width"] = np.array(track.image_size[0], dtype=np.int64)
            fields["image_height"] = np.array(track.image_size[1], dtype=np.int64)
        with path.open("wb") as f:
            np.savez_compressed(f, **fields)
        return path

    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "layout": track.layout,
        "fps": track.fps,
        "image_size": list(track.image_size) if track.image_size is not None else None,
        "first_frame": track.first_frame,
    }
    # Shortest decimals that give back the same float32 values.
    points = track.keypoints.astype(str).astype(np.float64)
    scores = track.confidence.astype(str).astype(np.float64)
    lines = []
    for t in range(track.num_frames):
        present = track.confidence[t] > 0
        if not present.any():
            frame: dict[str, Any] = {"keypoints": None, "confidence": None}
        else:
            frame = {
                "keypoints": [
                    points[t, j].tolist() if present[j] else None for j in range(track.num_joints)
                ],
                "confidence": scores[t].tolist(),
            }
        lines.append(json.dumps(frame, separators=(",", ":"), allow_nan=False))
    text = json.dumps(header, allow_nan=False)[:-1]
    text += ', "frames": [\n' + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8")
    return path
