"""Helpers every reader shares: the options read_track checked, the raw form detector readers
return, and the checks of frame numbers, numbers, fps and JSON text (one message style)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mpm_backend.lift_request import check_fps
from mpm_backend.skeleton import Layout
from mpm_backend.tracks.track import TrackError

FORMAT_NAME = "mpm-lift-track"
FORMAT_VERSION = 1  # one person
PEOPLE_VERSION = 2  # several people: a person axis first (docs/tracks.md)

FRAME_KEYS = ("frame_id", "frame", "frame_index", "frame_idx", "frame_number", "image_id")
LANDMARK_KEYS = ("pose_landmarks", "landmarks", "landmark")


@dataclass(frozen=True)
class ReadOptions:
    """read_track's arguments, checked once; they override what the file says."""

    layout: Layout | None = None
    fps: float | None = None
    person: int | None = None
    image_size: tuple[int, int] | None = None


def checked_fps(value: Any, path: Path, where: str) -> float:
    """`lift_request.check_fps`, its refusal as a TrackError naming the file and the field."""
    try:
        return check_fps(value)
    except ValueError as error:
        raise TrackError(f"{path}: {where}: {error}") from None


Person = tuple[np.ndarray, np.ndarray]  # (J, 2) float64 keypoints, (J,) float64 scores


@dataclass
class Raw:
    """What a detector-format reader found, before a person is picked."""

    format: str
    family: str  # "coco", "openpose" or "mediapipe": decides the layout a joint count means
    frames: dict[int, list[Person]]
    fps: float | None = None
    image_size: tuple[int, int] | None = None
    normalised: bool = False
    layout: Layout | None = None  # a "layout" the file names; the caller's layout overrides it
    # The file's own person ids (MMPose track_id, OpenPose person_id), per frame number in the
    # order of `frames`' people, None for a person without one; a frame left out has none.
    ids: dict[int, list[int | None]] = field(default_factory=dict)


def load_json(path: Path) -> Any:
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


def unknown_structure(path: Path, found: str) -> TrackError:
    from mpm_backend.tracks import SUPPORTED_FORMATS  # the registry's; imported when needed

    return TrackError(f"{path}: unknown track structure ({found}). Supported: {SUPPORTED_FORMATS}")


def describe(value: Any) -> str:
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


def frame_number(path: Path, record: Any, position: int, keyed: bool) -> int:
    if not keyed:
        return position
    if not isinstance(record, dict):
        raise TrackError(
            f"{path}: record {position} has no frame number while the others do; "
            f"give every record one of {', '.join(FRAME_KEYS)}"
        )
    for key in FRAME_KEYS:
        if key in record:
            return whole_number(path, record[key], f"record {position}, field {key!r}")
    raise TrackError(
        f"{path}: record {position} has no frame number while the others do; "
        f"give every record one of {', '.join(FRAME_KEYS)}"
    )


def whole_number(path: Path, value: Any, where: str) -> int:
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TrackError(f"{path}: {where} must be a whole frame number, got {value!r}")


def has_frame_key(record: Any) -> bool:
    return isinstance(record, dict) and any(k in record for k in FRAME_KEYS)


def as_float_array(path: Path, value: Any, where: str) -> np.ndarray:
    """Numbers (null → NaN) as a float64 array."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TrackError(f"{path}: {where} must hold numbers, got {str(value)[:80]}") from None


ID_KEYS = ("track_id", "person_id")  # a person's own id across frames (MMPose, OpenPose)


def person_id(obj: Any) -> int | None:
    """A detection's own person id (`track_id`, or OpenPose's `person_id`, a number or a
    one-element list); None when absent, -1 (OpenPose's "not tracked") or not a whole number."""
    if not isinstance(obj, dict):
        return None
    value = next((obj[key] for key in ID_KEYS if obj.get(key) is not None), None)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if value >= 0 else None
