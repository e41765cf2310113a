"""`.json` files: our own format, or detector output sniffed by its records (docs/tracks.md,
"Which format"); a new JSON structure is a module and a line in `_record_kind`/`read_json`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mpm_backend.lift_request import check_image_size
from mpm_backend.skeleton import get_layout
from mpm_backend.tracks import coco_json, mediapipe_json, own
from mpm_backend.tracks.common import (
    FORMAT_NAME,
    LANDMARK_KEYS,
    Raw,
    ReadOptions,
    checked_fps,
    describe,
    load_json,
    unknown_structure,
)
from mpm_backend.tracks.track import Track, TrackError


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
                return checked_fps(source[key], path, f"the file's {key!r}")
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
            return check_image_size(value)
        except ValueError as error:
            raise TrackError(f"{path}: the file's image size: {error}") from None
    return None


def read_json(path: Path, options: ReadOptions) -> Track | Raw:
    """Our own format when the file says so, else detector output sniffed by its records."""
    data = load_json(path)
    if isinstance(data, dict) and data.get("format") == FORMAT_NAME:
        return own.read_own_json(path, data, options)
    return _parse_detector_json(path, data)


def _parse_detector_json(path: Path, data: Any) -> Raw:
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
            if any(k in data for k in ("people", "instances", *LANDMARK_KEYS)):
                records = [data]  # one frame on its own (e.g. one OpenPose file)
            else:
                raise unknown_structure(path, describe(data))
        if isinstance(data.get("images"), list) and "annotations" in data:
            images = coco_json.coco_images(path, data["images"])
    elif isinstance(data, list):
        records = data
    else:
        raise unknown_structure(path, describe(data))

    kind = _record_kind(path, records)
    if kind == "person":
        raw = coco_json.coco_results(path, records, images)
    elif kind == "mediapipe":
        raw = mediapipe_json.mediapipe_frames(path, records, data if isinstance(data, dict) else {})
    else:
        raw = coco_json.people_frames(path, records)
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
            if any(k in record for k in LANDMARK_KEYS):
                return "mediapipe"
            if "keypoints" in record or "pose_keypoints_2d" in record:
                return "person"
            raise unknown_structure(path, f"records are {describe(record)}")
        if isinstance(record, list):
            item = next((v for v in record if v is not None), None)
            if item is None:
                continue
            if _is_landmark(item) or (isinstance(item, list) and item and _is_landmark(item[0])):
                return "mediapipe"
            if isinstance(item, dict) and ("keypoints" in item or "pose_keypoints_2d" in item):
                return "frame-list"
            raise unknown_structure(path, f"frames are lists of {describe(item)}")
        if record is None:
            continue
        raise unknown_structure(path, f"records are {describe(record)}")
    raise TrackError(f"{path}: no frames with people in the file; nothing to read")
