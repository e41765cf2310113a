"""COCO / MMPose JSON: per-frame people (MMPose `instances`, `people` frames, per-image lists)
and COCO results or annotations (one record per person). json_sniff.py decides which."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mpm_backend.lift_request import check_image_size
from mpm_backend.tracks.common import (
    Person,
    Raw,
    as_float_array,
    describe,
    frame_number,
    has_frame_key,
    person_id,
    whole_number,
)
from mpm_backend.tracks.track import TrackError

_SCORE_KEYS = ("keypoint_scores", "keypoints_scores", "scores", "confidence")


def people_frames(path: Path, records: list) -> Raw:
    """MMPose predictions: [{"frame_id", "instances": [...]}], or frames with "people", or bare
    lists of instances per frame."""
    keyed = has_frame_key(records[0]) if records else False
    frames: dict[int, list[Person]] = {}
    ids: dict[int, list[int | None]] = {}
    fmt = "mmpose-json"
    openpose = False
    for position, record in enumerate(records):
        number = frame_number(path, record, position, keyed)
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
            raise TrackError(f"{path}: record {position} is {describe(record)}, not a frame")
        if not isinstance(people, list):
            raise TrackError(
                f"{path}: frame {number}: 'instances'/'people' must be a list, "
                f"got {describe(people)}"
            )
        parsed = []
        for i, entry in enumerate(people):
            one = parse_person(path, entry, f"frame {number}, person {i}")
            if one is not None:
                parsed.append(one)
                ids.setdefault(number, []).append(person_id(entry))
            if isinstance(entry, dict) and "pose_keypoints_2d" in entry:
                openpose = True
        frames.setdefault(number, []).extend(parsed)
    family = "coco"
    if openpose:
        family, fmt = "openpose", "openpose-json"
    return Raw(format=fmt, family=family, frames=frames, ids=ids)


def coco_images(path: Path, images: list) -> dict[Any, tuple[int, tuple[int, int] | None]]:
    """COCO-style 'images': id → (frame number, size); frame number from 'frame_id' or order."""
    out = {}
    for position, image in enumerate(images):
        if not isinstance(image, dict) or "id" not in image:
            raise TrackError(f"{path}: images[{position}] has no 'id'")
        if any(k in image for k in ("frame_id", "frame_index", "frame")):
            key = next(k for k in ("frame_id", "frame_index", "frame") if k in image)
            number = whole_number(path, image[key], f"images[{position}], field {key!r}")
        else:
            number = position
        size = None
        if image.get("width") is not None and image.get("height") is not None:
            try:
                size = check_image_size((image["width"], image["height"]))
            except ValueError as error:
                raise TrackError(f"{path}: images[{position}]: {error}") from None
        out[image["id"]] = (number, size)
    return out


def coco_results(path: Path, records: list, images: dict | None) -> Raw:
    """COCO results / annotations: one record per person, grouped by image_id (or frame_id)."""
    frames: dict[int, list[Person]] = {}
    ids: dict[int, list[int | None]] = {}
    sizes = set()
    keyed = has_frame_key(records[0]) if records else False
    if images is not None:
        for number, size in images.values():
            frames.setdefault(number, [])
            if size is not None:
                sizes.add(size)
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            raise TrackError(f"{path}: record {position} is {describe(record)}, not a person")
        if images is not None:
            if record.get("image_id") not in images:
                raise TrackError(
                    f"{path}: annotation {position} has image_id {record.get('image_id')!r}, "
                    "which is not in 'images'"
                )
            number = images[record["image_id"]][0]
        else:
            number = frame_number(path, record, position, keyed)
        one = parse_person(path, record, f"frame {number} (record {position})")
        people = frames.setdefault(number, [])
        if one is not None:
            people.append(one)
            ids.setdefault(number, []).append(person_id(record))
    if len(sizes) > 1:
        raise TrackError(
            f"{path}: the images have different sizes {sorted(sizes)}; a track is one video"
        )
    return Raw(
        format="coco-json",
        family="coco",
        frames=frames,
        image_size=sizes.pop() if sizes else None,
        ids=ids,
    )


_KNOWN_COUNTS = {17, 18, 25, 26, 33, 133}


def parse_person(path: Path, obj: Any, where: str) -> Person | None:
    """One person's keypoints (J, 2) and scores (J,) from a COCO/MMPose/OpenPose object; None
    when the object has no keypoints at all."""
    if not isinstance(obj, dict):
        raise TrackError(f"{path}: {where} is {describe(obj)}, not a person with 'keypoints'")
    if "pose_keypoints_2d" in obj:
        field, value = "pose_keypoints_2d", obj["pose_keypoints_2d"]
    elif "keypoints" in obj:
        field, value = "keypoints", obj["keypoints"]
    else:
        raise TrackError(f"{path}: {where} has no 'keypoints' (keys: {', '.join(map(str, obj))})")
    if value is None or (isinstance(value, list) and not value):
        return None  # a record without keypoints: nobody
    values = as_float_array(path, value, f"{where}, field {field!r}")
    scores = None
    score_field = next((k for k in _SCORE_KEYS if obj.get(k) is not None), None)
    if score_field is not None:
        scores = as_float_array(path, obj[score_field], f"{where}, field {score_field!r}")
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
