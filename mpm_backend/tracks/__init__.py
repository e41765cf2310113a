"""2D keypoint track files: read what video pose detectors write, read and write our own format.

A `Track` is one person's 2D keypoints over time, in pixels, in one joint layout of
`mpm_backend.skeleton`. `read_track` picks a reader module from the path (`_reader_for`: a folder
is OpenPose per-frame JSON; a `.json` file is sniffed; `.csv` is MediaPipe; `.npz` is our own
format) and `write_track` writes our own format (`read_people` / `write_people`: every person of a file).
docs/tracks.md describes every format, the
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

A reader is `(path, options) -> Track | list[Track] | Raw`: detector readers return `Raw`
frames, which assemble.py turns into one person's track (`read_track`) or every person's
(`read_people`, association.py following people across frames when the file has no ids); our
own format returns the track(s) it holds. Adding a format is one module and one line in
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
    GATE_BASE,
    GATE_PER_FRAME,
    MAX_GAP_SECONDS,
    MIN_BOX_SIZE_PX,
    MIN_PERSON_SECONDS,
    assemble,
    assemble_people,
)
from mpm_backend.tracks.association import BOX_CONFIDENCE
from mpm_backend.tracks.common import (
    FORMAT_NAME,
    FORMAT_VERSION,
    PEOPLE_VERSION,
    Raw,
    ReadOptions,
    checked_fps,
)
from mpm_backend.tracks.own import write_people, write_track
from mpm_backend.tracks.track import Track, TrackError

__all__ = [
    "BOX_CONFIDENCE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "GATE_BASE",
    "GATE_PER_FRAME",
    "MAX_GAP_SECONDS",
    "MIN_BOX_SIZE_PX",
    "MIN_PERSON_SECONDS",
    "PEOPLE_VERSION",
    "READERS",
    "SUPPORTED_FORMATS",
    "TRACK_SUFFIXES",
    "Track",
    "TrackError",
    "read_people",
    "read_track",
    "write_people",
    "write_track",
]

# A reader gives a detector file's raw frames, or the track(s) our own format holds.
Reader = Callable[[Path, ReadOptions], "Track | list[Track] | Raw"]


# The format registry: which reader a track file's suffix goes to (a new format adds one line
# here; another JSON structure goes in json_sniff.py). A folder is OpenPose per-frame JSON.
# The batch CLI finds track files in folders by these suffixes.
READERS: dict[str, Reader] = {
    ".json": json_sniff.read_json,
    ".npz": own.read_npz,
    ".csv": mediapipe_csv.read_csv,
}
TRACK_SUFFIXES = tuple(READERS)

# What read_track understands, for error messages (a new format adds its clause here).
SUPPORTED_FORMATS = (
    "COCO / MMPose JSON (per-frame records with 'instances' or 'people' holding 'keypoints' and "
    "'keypoint_scores', or COCO results: one record per person with 'image_id' and flat "
    "[x, y, v, ...] 'keypoints'); an OpenPose folder of per-frame *_keypoints.json files "
    "(BODY_25 or COCO-18); MediaPipe pose landmarks as JSON (frames of 33 landmarks with x, y, "
    "visibility) or CSV (columns frame, landmark, x, y, z, visibility, or wide x0, y0, z0, v0, ...); "
    f"and the project's own '{FORMAT_NAME}' .json / .npz (docs/tracks.md)"
)


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
    person: which person of a file with several, as `read_people` orders them (0 is the first
        to appear); None follows the most prominent person of a detector file (docs/tracks.md,
        "Several people"), or takes person 0 of our own format.
    image_size: (width, height) in pixels; needed for normalised MediaPipe coordinates when the
        file does not give it; joints outside the image are masked.
    """
    path = Path(path)
    options = _checked_options(path, layout, fps, person, image_size)
    if not path.exists():
        raise TrackError(f"{path}: no such file or folder; check the path")
    found = _reader_for(path)(path, options)
    if isinstance(found, Raw):
        return assemble(path, found, options)
    return _select(path, [found] if isinstance(found, Track) else found, person or 0)


def read_people(
    path: str | Path,
    layout: str | None = None,
    fps: float | None = None,
    image_size: tuple[int, int] | None = None,
    min_seconds: float = MIN_PERSON_SECONDS,
    max_gap_seconds: float = MAX_GAP_SECONDS,
) -> list[Track]:
    """Every person of a track file, each a `Track` over the same frames (masked where the
    person is absent) with its `person_id`, ordered by first appearance (docs/tracks.md,
    "Several people"). A detector file's own ids are used when every person has one; otherwise
    people are followed across frames (association.py). People seen for less than min_seconds
    are dropped (unless nobody is seen longer); a person unseen for up to max_gap_seconds can
    be found again. Our own format gives the people it holds, as written."""
    path = Path(path)
    options = _checked_options(path, layout, fps, None, image_size)
    if not (min_seconds >= 0 and max_gap_seconds >= 0):  # NaN too
        raise TrackError(f"{path}: min_seconds and max_gap_seconds must be 0 or more")
    if not path.exists():
        raise TrackError(f"{path}: no such file or folder; check the path")
    found = _reader_for(path)(path, options)
    if isinstance(found, Raw):
        return assemble_people(path, found, options, min_seconds, max_gap_seconds)
    if isinstance(found, Track):  # version 1 of our format: one person, number 0
        found.person_id = 0
        return [found]
    return found


def _select(path: Path, people: list[Track], person: int) -> Track:
    """Person `person` of our own format's people, or a refusal naming how many there are."""
    if person < len(people):
        return people[person]
    held = "one person (index 0)" if len(people) == 1 else f"{len(people)} people"
    raise TrackError(
        f"{path}: person {person} was asked for, but the file holds {held}; leave person out "
        "or give a smaller index"
    )


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
