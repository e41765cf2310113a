"""2D keypoint track files: read what video pose detectors write, read and write our own format.

A `Track` is one person's 2D keypoints over time, in pixels, in one joint layout of
`mpm_backend.skeleton`. `read_track` picks a reader module from the path (`_reader_for`: a folder
is OpenPose per-frame JSON; a `.json` file is sniffed; `.csv` is MediaPipe; `.npz` is our own
format) and `write_track` writes our own format. docs/tracks.md describes every format, the
detection rules, how one person is picked when a frame holds several, and the own format in full.

Rules every reader follows:
- Frames keep their timing: the track covers every frame number from the first record to the
  last; frames without a record (gaps, missing files) or without the person are masked.
- Masked means NaN keypoints with confidence 0, never a guess. A joint whose confidence is 0 is
  masked, a masked joint has confidence 0. Scores are clipped to [0, 1].
- Joints outside the image are masked when the image size is known (detector formats only; our
  own format is read as written).
- Arguments given to `read_track` (layout, fps, image size, person) override what the file says.
- A bad file raises `TrackError` (a ValueError) naming the file, the frame or field, and what to do.

A reader is `(path, options) -> Track | Raw`: detector readers return `Raw` frames, which
assemble.py turns into one person's track. Adding a format is one module and one line in
`READERS` (or, for another JSON structure, in json_sniff.py).

Torch-free and bpy-free: the Blender add-on imports this package.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from mpm_backend.lift_request import check_image_size
from mpm_backend.skeleton import get_layout
from mpm_backend.tracks import json_sniff, mediapipe_csv, openpose, own
from mpm_backend.tracks.assemble import (
    BOX_CONFIDENCE,
    GATE_BASE,
    GATE_PER_FRAME,
    MIN_BOX_SIZE_PX,
    assemble,
)
from mpm_backend.tracks.common import (
    FORMAT_NAME,
    FORMAT_VERSION,
    SUPPORTED_FORMATS,
    Raw,
    ReadOptions,
    checked_fps,
)
from mpm_backend.tracks.own import write_track
from mpm_backend.tracks.track import Track, TrackError

__all__ = [
    "BOX_CONFIDENCE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "GATE_BASE",
    "GATE_PER_FRAME",
    "MIN_BOX_SIZE_PX",
    "READERS",
    "SUPPORTED_FORMATS",
    "TRACK_SUFFIXES",
    "Track",
    "TrackError",
    "read_track",
    "write_track",
]

Reader = Callable[[Path, ReadOptions], "Track | Raw"]


# The format registry: which reader a track file's suffix goes to (a new format adds one line
# here; another JSON structure goes in json_sniff.py). A folder is OpenPose per-frame JSON.
# The batch CLI finds track files in folders by these suffixes.
READERS: dict[str, Reader] = {
    ".json": json_sniff.read_json,
    ".npz": own.read_npz,
    ".csv": mediapipe_csv.read_csv,
}
TRACK_SUFFIXES = tuple(READERS)


def _reader_for(path: Path) -> Reader:
    """Which module reads `path`: an OpenPose folder, or a file by its suffix (`READERS`)."""
    if path.is_dir():
        return openpose.read_folder
    reader = READERS.get(path.suffix.lower())
    if reader is not None:
        return reader
    raise TrackError(
        f"{path}: unknown track file type {path.suffix!r}; supported: a folder of "
        f"OpenPose JSON, .json, .csv or .npz. Formats: {SUPPORTED_FORMATS}"
    )


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
    options = _checked_options(path, layout, fps, person, image_size)
    if not path.exists():
        raise TrackError(f"{path}: no such file or folder; check the path")
    found = _reader_for(path)(path, options)
    return found if isinstance(found, Track) else assemble(path, found, options)


def _checked_options(
    path: Path,
    layout: str | None,
    fps: float | None,
    person: int | None,
    image_size: tuple[int, int] | None,
) -> ReadOptions:
    """read_track's arguments checked once, each refusal naming the argument."""
    if fps is not None:
        fps = checked_fps(fps, path, "the fps argument")
    if image_size is not None:
        try:
            image_size = check_image_size(image_size)
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
    return ReadOptions(layout=requested, fps=fps, person=person, image_size=image_size)
