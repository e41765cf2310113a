"""MediaPipe pose landmarks as JSON: frames of 33 landmarks, normalised unless said otherwise."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from mpm_backend.skeleton import BLAZEPOSE33
from mpm_backend.tracks.common import (
    LANDMARK_KEYS,
    Person,
    Raw,
    describe,
    frame_number,
    has_frame_key,
)
from mpm_backend.tracks.track import TrackError


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


def mediapipe_frames(path: Path, records: list, top: dict) -> Raw:
    keyed = has_frame_key(records[0]) if records else False
    frames: dict[int, list[Person]] = {}
    for position, record in enumerate(records):
        number = frame_number(path, record, position, keyed)
        where = f"frame {number}"
        if isinstance(record, dict):
            key = next((k for k in LANDMARK_KEYS if k in record), None)
            landmarks = record[key] if key else None
        else:
            landmarks = record
        if landmarks is None or landmarks == []:
            people = []
        elif not isinstance(landmarks, list):
            raise TrackError(
                f"{path}: {where}: landmarks must be a list, got {describe(landmarks)}"
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
    return Raw(format="mediapipe-json", family="mediapipe", frames=frames, normalised=normalised)
