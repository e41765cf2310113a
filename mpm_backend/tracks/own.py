"""The project's own format, `mpm-lift-track`, as .npz or .json: read and write. Version 1 holds
one person; version 2 several, with a person axis (docs/tracks.md)."""

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
    PEOPLE_VERSION,
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


def _own_version(path: Path, value: Any) -> int:
    if value is None:
        raise TrackError(
            f"{path}: no 'version'; {FORMAT_NAME} files carry version {FORMAT_VERSION}"
        )
    try:
        version = int(value)
    except (TypeError, ValueError):
        raise TrackError(f"{path}: field 'version' must be a whole number, got {value!r}") from None
    if version not in (FORMAT_VERSION, PEOPLE_VERSION):
        raise TrackError(
            f"{path}: {FORMAT_NAME} version {version}; this reader knows versions "
            f"{FORMAT_VERSION} (one person) and {PEOPLE_VERSION} (several people)"
            + (" (update MPM Lift to read newer files)" if version > PEOPLE_VERSION else "")
        )
    return version


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
    person_id: int | None = None,
    may_be_empty: bool = False,
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
        person_id=person_id,
    )
    if not may_be_empty and not track.present.any():
        raise TrackError(f"{path}: every joint of every frame is missing; nothing to lift")
    return track


def read_npz(path: Path, options: ReadOptions) -> Track | list[Track]:
    """An .npz archive as write_track / write_people make it (no pickles)."""
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
    version = _own_version(path, scalar("version"))
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
    people = version == PEOPLE_VERSION
    if not people:  # version 1: one person; the same code with a person axis of one
        keypoints, confidence = keypoints[None], confidence[None]
    ids = _person_ids(path, arrays.get("person_ids"), keypoints, people)
    joints = keypoints.shape[2] if keypoints.ndim == 4 else -1
    layout = _own_layout(path, scalar("layout"), options.layout, joints)
    width, height = scalar("image_width"), scalar("image_height")
    file_size = None if width is None and height is None else (width, height)
    file_fps = scalar("fps")
    if isinstance(file_fps, float) and math.isnan(file_fps):
        file_fps = None  # NaN in an archive stands for "not known"
    tracks = [
        _own_finish(
            path,
            "mpm-lift-track-npz",
            keypoints[p],
            confidence[p] if confidence.ndim == keypoints.ndim - 1 else confidence,
            layout,
            file_fps,
            file_size,
            scalar("first_frame"),
            options.fps,
            options.image_size,
            ids[p] if people else None,
            may_be_empty=people,
        )
        for p in range(len(ids))
    ]
    return _some_present(path, tracks) if people else tracks[0]


def _person_ids(path: Path, value: Any, keypoints: np.ndarray, people: bool) -> list[int]:
    """Version 2's `person_ids` (P,), distinct whole numbers; 0, 1, ... when absent."""
    if not people:
        return [0]
    if keypoints.ndim != 4 or keypoints.shape[0] == 0:
        raise TrackError(
            f"{path}: version {PEOPLE_VERSION} keypoints must have shape (P, T, J, 2) with P > 0; "
            f"got {keypoints.shape}"
        )
    if value is None:
        return list(range(keypoints.shape[0]))
    ids = as_float_array(path, value, "field 'person_ids'").reshape(-1)
    if ids.shape[0] != keypoints.shape[0] or not np.all(np.isfinite(ids) & (ids % 1 == 0)):
        raise TrackError(
            f"{path}: field 'person_ids' must be {keypoints.shape[0]} whole numbers, one per person"
        )
    if len(set(ids.tolist())) != len(ids):
        raise TrackError(f"{path}: field 'person_ids' repeats an id; each person needs their own")
    return [int(i) for i in ids]


def _some_present(path: Path, tracks: list[Track]) -> list[Track]:
    if not any(track.present.any() for track in tracks):
        raise TrackError(f"{path}: every joint of every person is missing; nothing to lift")
    return tracks


def read_own_json(path: Path, data: dict, options: ReadOptions) -> Track | list[Track]:
    """Our own .json, already parsed (json_sniff.py saw its format field)."""
    requested = options.layout
    version = _own_version(path, data.get("version"))
    layout_name = data.get("layout")
    if requested is None and layout_name is None:
        raise TrackError(f"{path}: the track has no 'layout'; add it (e.g. 'coco17')")
    try:
        layout = requested or get_layout(str(layout_name))
    except ValueError as error:
        raise TrackError(f"{path}: field 'layout': {error}") from None
    if version == FORMAT_VERSION:
        people = [{"id": None, "frames": data.get("frames")}]
        places = [""]
    else:
        people = data.get("people")
        if not isinstance(people, list) or not people:
            raise TrackError(f"{path}: field 'people' must be a non-empty list of people")
        places = [f"people[{p}]." for p in range(len(people))]
    tracks = []
    for p, (person, where) in enumerate(zip(people, places, strict=True)):
        if not isinstance(person, dict):
            raise TrackError(f"{path}: people[{p}] must be an object with 'id' and 'frames'")
        pid = person.get("id", p)
        if version == PEOPLE_VERSION:
            pid = whole_number(path, pid, f"people[{p}].id")
        keypoints, confidence = _json_frames(path, person.get("frames"), layout, where)
        tracks.append(
            _own_finish(
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
                pid,
                may_be_empty=version == PEOPLE_VERSION,
            )
        )
    if version == FORMAT_VERSION:
        return tracks[0]
    if len({t.person_id for t in tracks}) != len(tracks):
        raise TrackError(f"{path}: two people have the same 'id'; each person needs their own")
    if len({t.num_frames for t in tracks}) != 1:
        raise TrackError(f"{path}: every person's 'frames' must cover the same frames")
    return _some_present(path, tracks)


def _json_frames(
    path: Path, frames: Any, layout: Layout, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """One person's frames of our JSON → keypoints (T, J, 2), confidence (T, J)."""
    if not isinstance(frames, list) or not frames:
        raise TrackError(f"{path}: field '{where}frames' must be a non-empty list of frames")
    j = layout.num_joints
    keypoints = np.full((len(frames), j, 2), np.nan, dtype=np.float32)
    confidence = np.zeros((len(frames), j), dtype=np.float32)
    for t, frame in enumerate(frames):
        if frame is None:
            continue
        if not isinstance(frame, dict):
            raise TrackError(f"{path}: {where}frames[{t}] must be an object or null")
        points = frame.get("keypoints")
        if points is None:
            continue
        if not isinstance(points, list) or len(points) != j:
            count = len(points) if isinstance(points, list) else describe(points)
            raise TrackError(
                f"{path}: {where}frames[{t}].keypoints has {count} joints; layout "
                f"{layout.name!r} has {j}"
            )
        rows = [[math.nan, math.nan] if p is None else p for p in points]
        array = as_float_array(path, rows, f"{where}frames[{t}].keypoints")
        if array.shape != (j, 2):
            raise TrackError(
                f"{path}: {where}frames[{t}].keypoints must be {j} [x, y] pairs; got shape "
                f"{array.shape}"
            )
        scores = frame.get("confidence")
        if scores is None:
            conf = np.where(np.isfinite(array).all(axis=1), 1.0, 0.0)
        else:
            conf = as_float_array(path, scores, f"{where}frames[{t}].confidence")
            if conf.shape != (j,):
                raise TrackError(
                    f"{path}: {where}frames[{t}].confidence has shape {conf.shape}; it must be "
                    f"{j} numbers, one per joint"
                )
        keypoints[t], confidence[t] = array, conf
    return keypoints, confidence


def write_track(track: Track, path: str | Path) -> Path:
    """Write a track in the project's own format: .npz or .json by the path's suffix."""
    return _write([track], path, people=False)


def write_people(tracks: list[Track], path: str | Path) -> Path:
    """Write several people (as `read_people` gives them: one layout, the same frames) in our
    format's version 2, with a person axis; each track's person_id (else its index) is kept."""
    if not tracks:
        raise ValueError("write_people needs at least one track")
    first = tracks[0]
    for track in tracks[1:]:
        same = (track.layout, track.first_frame, track.num_frames, track.fps, track.image_size)
        if same != (first.layout, first.first_frame, first.num_frames, first.fps, first.image_size):
            raise ValueError(
                "write_people: every track needs the same layout, frames, fps and image size"
            )
    return _write(tracks, path, people=True)


def _write(tracks: list[Track], path: str | Path, people: bool) -> Path:
    """Version 1 (one track) or 2 (a person axis), .npz or .json by the suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".json"):
        raise ValueError(f"write_track writes .npz or .json, not {path.suffix!r} ({path})")
    path.parent.mkdir(parents=True, exist_ok=True)
    track = tracks[0]
    ids = [p if t.person_id is None else t.person_id for p, t in enumerate(tracks)]
    if people and len(set(ids)) != len(ids):
        raise ValueError(f"write_people: person ids repeat ({ids}); give each person their own")
    version = PEOPLE_VERSION if people else FORMAT_VERSION
    if suffix == ".npz":
        stack = np.stack if people else (lambda arrays: arrays[0])
        fields: dict[str, np.ndarray] = {
            "format": np.array(FORMAT_NAME),
            "version": np.array(version),
            "layout": np.array(track.layout),
            "keypoints": np.ascontiguousarray(stack([t.keypoints for t in tracks]), np.float32),
            "confidence": np.ascontiguousarray(stack([t.confidence for t in tracks]), np.float32),
            "first_frame": np.array(track.first_frame, dtype=np.int64),
        }
        if people:
            fields["person_ids"] = np.array(ids, dtype=np.int64)
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
        "version": version,
        "layout": track.layout,
        "fps": track.fps,
        "image_size": list(track.image_size) if track.image_size is not None else None,
        "first_frame": track.first_frame,
    }
    text = json.dumps(header, allow_nan=False)[:-1]
    if not people:
        text += ', "frames": [\n' + ",\n".join(_frame_lines(track)) + "\n]}\n"
    else:
        persons = [
            f'{{"id": {pid}, "frames": [\n' + ",\n".join(_frame_lines(t)) + "\n]}"
            for pid, t in zip(ids, tracks, strict=True)
        ]
        text += ', "people": [\n' + ",\n".join(persons) + "\n]}\n"
    path.write_text(text, encoding="utf-8")
    return path


def _frame_lines(track: Track) -> list[str]:
    """One JSON line per frame; floats as the shortest decimals that give back the float32."""
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
    return lines
