"""MediaPipe pose landmarks as CSV, long (a row per landmark) or wide (a row per frame)."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from mpm_backend.lift_request import check_image_size
from mpm_backend.skeleton import BLAZEPOSE33
from mpm_backend.tracks.common import Person, Raw, ReadOptions, checked_fps, whole_number
from mpm_backend.tracks.track import TrackError

# MediaPipe's own landmark names where they differ from ours (skeleton.py renames the mouth).
_MEDIAPIPE_NAMES = {"mouth_left": "left_mouth", "mouth_right": "right_mouth"}


def _landmark_index(path: Path, value: Any, where: str) -> int:
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        name = value.strip().lower()
        name = _MEDIAPIPE_NAMES.get(name, name)
        if name in BLAZEPOSE33.joints:
            return BLAZEPOSE33.index(name)
        raise TrackError(f"{path}: {where}: unknown MediaPipe landmark {value!r}")
    index = whole_number(path, value, where)
    if not 0 <= index < BLAZEPOSE33.num_joints:
        raise TrackError(f"{path}: {where}: landmark {index} is not in 0..32 (MediaPipe pose)")
    return index


_WIDE_COLUMN = re.compile(r"^(x|y|z|v|vis|visibility|presence)_?(\d+)$")
_CSV_FRAME = ("frame", "frame_id", "frame_index", "frame_idx", "frame_number")
_CSV_LANDMARK = ("landmark", "landmark_id", "landmark_index", "joint", "keypoint")
_CSV_VISIBILITY = ("visibility", "vis", "v")
_CSV_PERSON = ("person", "person_id", "pose", "pose_index")


class _Table:
    """The CSV's header and rows, with the lookups every row needs; row numbers in messages count
    the header as row 1."""

    def __init__(self, path: Path, header: list[str], data: list[list[str]]) -> None:
        self.path, self.header, self.data = path, header, data
        self.column = {name: i for i, name in enumerate(header)}
        self.frame_col, self.person_col = self.pick(_CSV_FRAME), self.pick(_CSV_PERSON)
        self.frames: dict[int, dict[int, Person]] = {}

    def pick(self, names: tuple[str, ...]) -> int | None:
        return next((self.column[n] for n in names if n in self.column), None)

    def number(self, row_index: int, row: list[str], col: int, name: str) -> float:
        cell = row[col].strip() if col < len(row) else ""
        if cell == "" or cell.lower() in ("nan", "null", "none"):
            return math.nan
        try:
            return float(cell)
        except ValueError:
            raise TrackError(
                f"{self.path}: row {row_index + 2}, column {name!r}: {cell!r} is not a number"
            ) from None

    def frame_of(self, row_index: int, row: list[str]) -> int:
        if self.frame_col is None:
            return row_index
        name = self.header[self.frame_col]
        value = self.number(row_index, row, self.frame_col, name)
        if not math.isfinite(value) or not value.is_integer():
            raise TrackError(
                f"{self.path}: row {row_index + 2}, column {name!r}: frame must be a whole number"
            )
        return int(value)

    def person_of(self, row_index: int, row: list[str]) -> int:
        if self.person_col is None:
            return 0
        value = self.number(row_index, row, self.person_col, self.header[self.person_col])
        if not math.isfinite(value) or not value.is_integer() or value < 0:
            raise TrackError(f"{self.path}: row {row_index + 2}: person must be 0 or more")
        return int(value)

    def slot(self, frame: int, person: int) -> Person:
        people = self.frames.setdefault(frame, {})
        if person not in people:
            people[person] = (np.full((33, 2), np.nan), np.zeros(33))
        return people[person]


def read_csv(path: Path, options: ReadOptions) -> Raw:
    """Long or wide MediaPipe CSV (docs/tracks.md); coordinates are always normalised."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(line for line in f if not line.startswith("#")))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise TrackError(f"{path}: cannot read the CSV: {error}") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise TrackError(f"{path}: the CSV is empty; it needs a header row and data rows")
    table = _Table(path, [cell.strip().lower() for cell in rows[0]], rows[1:])
    landmark_col = table.pick(_CSV_LANDMARK)
    wide = {}
    for i, name in enumerate(table.header):
        match = _WIDE_COLUMN.match(name)
        if match:
            wide[(match.group(1), int(match.group(2)))] = i
    if landmark_col is None and not wide:
        raise TrackError(
            f"{path}: unknown CSV columns ({', '.join(table.header[:10])}); a MediaPipe CSV has "
            "columns frame, landmark, x, y, z, visibility (one row per landmark) or frame, "
            "x0, y0, z0, v0, ..., x32, y32, z32, v32 (one row per frame)"
        )
    if landmark_col is not None:
        _read_long(table, landmark_col)
    else:
        _read_wide(table, wide)
    image_size, fps = _constants(table)
    if not table.frames:
        raise TrackError(f"{path}: the CSV has a header but no data rows")
    frames = table.frames
    ordered = {frame: [people[p] for p in sorted(people)] for frame, people in frames.items()}
    return Raw(
        format="mediapipe-csv",
        family="mediapipe",
        frames=ordered,
        fps=fps,
        image_size=image_size,
        normalised=True,
    )


def _read_long(table: _Table, landmark_col: int) -> None:
    """One row per landmark: frame, landmark, x, y, z, visibility."""
    path, header = table.path, table.header
    x_col, y_col = table.pick(("x",)), table.pick(("y",))
    if x_col is None or y_col is None:
        raise TrackError(f"{path}: the CSV needs columns x and y (found {', '.join(header)})")
    if table.frame_col is None:
        raise TrackError(f"{path}: a one-row-per-landmark CSV needs a 'frame' column")
    vis_col, presence_col = table.pick(_CSV_VISIBILITY), table.pick(("presence",))
    conf_col = vis_col if vis_col is not None else presence_col
    seen = set()
    for row_index, row in enumerate(table.data):
        frame, person = table.frame_of(row_index, row), table.person_of(row_index, row)
        cell = row[landmark_col] if landmark_col < len(row) else ""
        landmark = _landmark_index(
            path, cell, f"row {row_index + 2}, column {header[landmark_col]!r}"
        )
        if (frame, person, landmark) in seen:
            raise TrackError(
                f"{path}: row {row_index + 2}: frame {frame}, landmark {landmark} appears twice"
            )
        seen.add((frame, person, landmark))
        keypoints, scores = table.slot(frame, person)
        keypoints[landmark] = (
            table.number(row_index, row, x_col, "x"),
            table.number(row_index, row, y_col, "y"),
        )
        scores[landmark] = (
            1.0 if conf_col is None else table.number(row_index, row, conf_col, header[conf_col])
        )


def _read_wide(table: _Table, wide: dict[tuple[str, int], int]) -> None:
    """One row per frame: frame, x0, y0, z0, v0, ..., x32, y32, z32, v32."""
    path, header = table.path, table.header
    indices = sorted({i for (_, i) in wide})
    if indices[-1] >= 33:
        raise TrackError(f"{path}: column for landmark {indices[-1]}; MediaPipe has 0..32")
    for i in indices:
        if ("x", i) not in wide or ("y", i) not in wide:
            raise TrackError(f"{path}: landmark {i} needs both x{i} and y{i} columns")
    seen_frames = set()
    for row_index, row in enumerate(table.data):
        frame, person = table.frame_of(row_index, row), table.person_of(row_index, row)
        if (frame, person) in seen_frames:
            raise TrackError(f"{path}: row {row_index + 2}: frame {frame} appears twice")
        seen_frames.add((frame, person))
        keypoints, scores = table.slot(frame, person)
        for i in indices:
            keypoints[i] = (
                table.number(row_index, row, wide[("x", i)], header[wide[("x", i)]]),
                table.number(row_index, row, wide[("y", i)], header[wide[("y", i)]]),
            )
            conf = next(
                (wide[(k, i)] for k in ("v", "vis", "visibility", "presence") if (k, i) in wide),
                None,
            )
            scores[i] = 1.0 if conf is None else table.number(row_index, row, conf, header[conf])


def _constants(table: _Table) -> tuple[tuple[int, int] | None, float | None]:
    """(image size, fps) from the optional columns that must be the same in every row."""
    path, header = table.path, table.header
    constants: dict[str, float | None] = {}
    for names in (("image_width", "width"), ("image_height", "height"), ("fps",)):
        col = table.pick(names)
        values = (
            {table.number(r, row, col, header[col]) for r, row in enumerate(table.data)}
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
            image_size = check_image_size((constants["image_width"], constants["image_height"]))
        except ValueError as error:
            raise TrackError(f"{path}: image_width/image_height columns: {error}") from None
    fps = None
    if constants["fps"] is not None:
        fps = checked_fps(constants["fps"], path, "the 'fps' column")
    return image_size, fps
