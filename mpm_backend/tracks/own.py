"""The project's own format, `mpm-lift-track` version 1, as .npz or .json: read and write."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from mpm_backend.lift_request import check_image_size
from mpm_backend.skeleton import Layout, get_layout
from mpm_backend.tracks.common import (
    FORMAT_NAME,
    FORMAT_VERSION,
    ReadOptions,
    as_float_array,
    checked_fps,
    describe,
    whole_number,
)
from mpm_backend.tracks.track import Track, TrackError


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
        fps = checked_fps(file_fps, path, "field 'fps'")
    if image_size is None and file_size is not None:
        try:
            image_size = check_image_size(file_size)
        except ValueError as error:
            raise TrackError(f"{path}: field 'image_size': {error}") from None
    first = 0 if first_frame is None else whole_number(path, first_frame, "field 'first_frame'")
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


def read_npz(path: Path, options: ReadOptions) -> Track:
    """An .npz archive as write_track makes it (no pickles)."""
    _refuse_person(path, options)
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
    layout = _own_layout(path, scalar("layout"), options.layout, joints)
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
        options.fps,
        options.image_size,
    )


def read_own_json(path: Path, data: dict, options: ReadOptions) -> Track:
    """Our own .json, already parsed (json_sniff.py saw its format field)."""
    _refuse_person(path, options)
    requested = options.layout
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
            count = len(points) if isinstance(points, list) else describe(points)
            raise TrackError(
                f"{path}: frames[{t}].keypoints has {count} joints; layout {layout.name!r} has {j}"
            )
        rows = [[math.nan, math.nan] if p is None else p for p in points]
        array = as_float_array(path, rows, f"frames[{t}].keypoints")
        if array.shape != (j, 2):
            raise TrackError(
                f"{path}: frames[{t}].keypoints must be {j} [x, y] pairs; got shape {array.shape}"
            )
        scores = frame.get("confidence")
        if scores is None:
            conf = np.where(np.isfinite(array).all(axis=1), 1.0, 0.0)
        else:
            conf = as_float_array(path, scores, f"frames[{t}].confidence")
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
        options.fps,
        options.image_size,
    )


def _refuse_person(path: Path, options: ReadOptions) -> None:
    """Our format holds one person; asking for another is a mistake worth saying."""
    if options.person:
        raise TrackError(
            f"{path}: person {options.person} was asked for, but an {FORMAT_NAME} file holds one "
            "person (index 0); leave person out"
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
