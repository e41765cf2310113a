"""OpenPose `--write_json` folders: one `<video>_<frame>_keypoints.json` per frame."""

from __future__ import annotations

import re
from pathlib import Path

from mpm_backend.tracks.common import (
    Person,
    Raw,
    ReadOptions,
    as_float_array,
    describe,
    load_json,
    person_id,
)
from mpm_backend.tracks.track import TrackError

_OPENPOSE_NUMBER = re.compile(r"(\d+)(?:_keypoints)?$")


def read_folder(path: Path, options: ReadOptions) -> Raw:
    """Every frame file of the folder; a missing number is a masked frame."""
    files = sorted(path.glob("*_keypoints.json")) or sorted(path.glob("*.json"))
    if not files:
        raise TrackError(
            f"{path}: the folder holds no .json files; an OpenPose track is a folder of "
            "per-frame *_keypoints.json files (openpose --write_json FOLDER)"
        )
    frames: dict[int, list[Person]] = {}
    ids: dict[int, list[int | None]] = {}
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
        data = load_json(file)
        if not isinstance(data, dict) or not isinstance(data.get("people"), list):
            raise TrackError(
                f"{file}: not an OpenPose frame (expected an object with a 'people' list; "
                f"found {describe(data)})"
            )
        people = []
        for i, entry in enumerate(data["people"]):
            if not isinstance(entry, dict) or "pose_keypoints_2d" not in entry:
                raise TrackError(
                    f"{file}: people[{i}] has no 'pose_keypoints_2d'; run OpenPose with body "
                    "keypoints enabled"
                )
            values = as_float_array(file, entry["pose_keypoints_2d"], f"people[{i}]")
            if values.ndim != 1 or values.size % 3:
                raise TrackError(
                    f"{file}: people[{i}].pose_keypoints_2d has {values.size} numbers; it must "
                    "be flat x, y, confidence triples"
                )
            triples = values.reshape(-1, 3)
            people.append((triples[:, :2], triples[:, 2]))
        frames[number] = people
        ids[number] = [person_id(entry) for entry in data["people"]]
    return Raw(format="openpose", family="openpose", frames=frames, ids=ids)
