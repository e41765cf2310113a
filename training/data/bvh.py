"""BVH motion capture: a fast reader and vectorised forward kinematics.

Conventions (the BVH column-vector convention, the one Blender's importer and exporter use):

* A joint's world position is ``x_child = R_parent_global @ t + x_parent`` and its world rotation is
  ``R_global = R_parent_global @ R_local``. ``t`` is the joint's OFFSET, or its position channels
  (below). The root's parent frame is the world: ``x_root = t_root``, ``R_global = R_local``.
* Rotation channels may come in any order and any subset (one to three axes), per joint. Their
  order in CHANNELS is the intrinsic composition order: ``Zrotation Xrotation Yrotation`` means
  ``R_local = Rz @ Rx @ Ry``, angles in degrees. A missing axis is a zero angle.
* Position channels, on the root or on any joint (some exporters write six channels on every
  joint), REPLACE the joint's OFFSET as its translation from the parent, as Blender's importer
  does. An axis without a position channel keeps the OFFSET's value for that axis (Blender's
  importer uses 0 there instead; it only matters for files with one or two position channels).
* End Sites become joints named ``f"{parent}_end"`` with no channels; they carry their parent's
  rotation. Duplicate names get Blender's ``.001`` suffixes so that every name is unique.
* Lengths stay in file units and axes stay as written. Most BVH files are Y-up. Blender's exporter
  (``bpy.ops.export_anim.bvh``) writes armature space unchanged, Z-up (it has no axis options,
  and the object's own transform is not applied); its importer maps a file into Blender with ``axis_conversion(axis_forward, axis_up)``,
  by default (-Z forward, Y up) ``(x, y, z) -> (x, -z, y)``, times ``global_scale``, and puts file
  row i at frame ``frame_start + i``.

Leniency: spaces, tabs, CRLF or bare-CR line ends, ``End Site``/``End site``, channel names in any
case, ``Frames:``/``Frame Time:`` spacing variants and exponent numbers are all accepted; a joint
name with spaces is joined with ``_`` (as Blender does). Anything else that is wrong -- no
HIERARCHY, unbalanced braces, a CHANNELS count that does not match its names, unknown channels,
no MOTION section, a Frame Time that is not positive, non-numeric or wrongly sized motion rows,
more or fewer rows than ``Frames:`` -- raises BvhError naming the file, the line and a fix.
``Frames: 0`` gives a (0, C) motion array.

Speed: the MOTION block is converted by numpy in one call (no Python loop over rows); only when
that fails does a slow pass look for the offending row to name it. Forward kinematics loops over
joints, never over frames.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
_CANONICAL_CHANNEL = {name.lower(): name for name in POSITION_CHANNELS + ROTATION_CHANNELS}
_MOTION_LINE = re.compile(r"^[ \t]*MOTION[ \t]*\r?$", re.MULTILINE | re.IGNORECASE)
_FRAMES_LINE = re.compile(r"\s*frames\s*:?\s*(\S*)\s*", re.IGNORECASE)
_FRAME_TIME_LINE = re.compile(r"\s*frame\s*time\s*:?\s*(\S*)\s*", re.IGNORECASE)
_REEXPORT_HINT = "fix the file by hand or re-export it from the tool that made it"


class BvhError(ValueError):
    """A BVH file that cannot be read; the message names the file, the problem and a fix."""


def _error(source: str, what: str, line: int | None = None, hint: str = _REEXPORT_HINT) -> BvhError:
    """Build a BvhError whose text reads 'file: line N: problem; what to do'."""
    where = f"{source}: line {line}" if line is not None else source
    return BvhError(f"{where}: {what}; {hint}")


@dataclass(eq=False)
class Bvh:
    """A parsed BVH file: skeleton, channel layout and raw motion, all in file units."""

    names: list[str]
    parents: np.ndarray
    offsets: np.ndarray
    is_end_site: np.ndarray
    channels: list[list[str]]
    frame_time: float
    motion: np.ndarray
    source: str = "<string>"

    def __post_init__(self) -> None:
        """Catch inconsistent hand-built instances early instead of deep inside FK."""
        count = len(self.names)
        shapes_ok = (
            self.parents.shape == (count,)
            and self.offsets.shape == (count, 3)
            and self.is_end_site.shape == (count,)
            and len(self.channels) == count
        )
        if not shapes_ok:
            raise _error(
                self.source,
                "names, parents, offsets, is_end_site and channels disagree "
                "on the number of joints",
                hint="build all of them from the same skeleton",
            )
        if np.any(self.parents >= np.arange(count)):
            raise _error(
                self.source,
                "every joint must come after its parent",
                hint="order joints parents first",
            )
        width = sum(len(c) for c in self.channels)
        if self.motion.ndim != 2 or self.motion.shape[1] != width:
            raise _error(
                self.source,
                f"motion has shape {self.motion.shape}, expected (T, {width})",
                hint="give one column per channel",
            )

    @property
    def num_frames(self) -> int:
        """Rows of motion, which equals the header's Frames: once parsed."""
        return int(self.motion.shape[0])

    @property
    def fps(self) -> float:
        """Frame rate implied by the header's Frame Time."""
        return 1.0 / self.frame_time

    def index(self, name: str) -> int:
        """Position of a joint (or End Site) by exact name, for indexing FK output."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(
                f"{self.source}: no joint named {name!r}; joints are {self.names}"
            ) from None


# --------------------------------------------------------------------------------------------------
# Reading


def read_bvh(path: str | os.PathLike) -> Bvh:
    """Read a BVH file from disk; any OSError becomes a BvhError naming the file."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise _error(
            source,
            f"cannot read the file ({exc.strerror or exc})",
            hint="check the path and its permissions",
        ) from exc
    return parse_bvh(_decode(raw), source)


def _decode(raw: bytes) -> str:
    """UTF-8 where possible; Latin-1 for old exporters that wrote accented joint names."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_bvh(text: str, source: str = "<string>") -> Bvh:
    """Parse BVH text: hierarchy, MOTION header and motion rows."""
    text = _normalise_newlines(text.lstrip("\ufeff"))
    if not text.strip():
        raise _error(
            source, "the file is empty", hint="point at a BVH file with a HIERARCHY section"
        )
    motion_match = _MOTION_LINE.search(text)
    header_end = motion_match.start() if motion_match else len(text)
    skeleton = _HierarchyParser(text[:header_end], source).parse()
    if motion_match is None:
        raise _error(
            source,
            "no MOTION section after the hierarchy",
            hint="the file is truncated or is a skeleton only; re-export it with motion",
        )
    motion_line = text.count("\n", 0, motion_match.start()) + 1
    header = _parse_motion_header(text, motion_match.end(), motion_line, source)
    width = sum(len(c) for c in skeleton.channels)
    motion = _parse_motion_block(text[header.block_start :], header, width, source)
    return Bvh(
        names=skeleton.names,
        parents=np.asarray(skeleton.parents, dtype=np.int64),
        offsets=np.asarray(skeleton.offsets, dtype=np.float64).reshape(-1, 3),
        is_end_site=np.asarray(skeleton.is_end_site, dtype=bool),
        channels=skeleton.channels,
        frame_time=header.frame_time,
        motion=motion,
        source=source,
    )


def _normalise_newlines(text: str) -> str:
    """Old Mac files end lines with a bare CR; make them LF so line numbers make sense."""
    if "\r" in text and "\n" not in text:
        return text.replace("\r", "\n")
    return text


class _Skeleton:
    """Joint tables filled in file order by the hierarchy parser."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.parents: list[int] = []
        self.offsets: list[list[float] | None] = []
        self.is_end_site: list[bool] = []
        self.channels: list[list[str]] = []
        self.lines: list[int] = []

    def add(self, name: str, parent: int, end_site: bool, line: int) -> int:
        """Append a joint with a name made unique the way Blender does it (.001, .002, ...)."""
        unique, suffix = name, 0
        while unique in self.names:
            suffix += 1
            unique = f"{name}.{suffix:03d}"
        self.names.append(unique)
        self.parents.append(parent)
        self.offsets.append(None)
        self.is_end_site.append(end_site)
        self.channels.append([])
        self.lines.append(line)
        return len(self.names) - 1


class _HierarchyParser:
    """Recursive-descent-free parser of the HIERARCHY section: a token stream and a joint stack."""

    def __init__(self, header: str, source: str):
        self.source = source
        spaced = header.replace("{", " { ").replace("}", " } ")
        self.tokens = [
            (token, number)
            for number, line in enumerate(spaced.splitlines(), start=1)
            for token in line.split()
        ]
        self.pos = 0
        self.skeleton = _Skeleton()
        self.stack: list[int] = []

    def fail(self, what: str, line: int | None = None, hint: str = _REEXPORT_HINT) -> BvhError:
        """An error at a hierarchy line (the last token's line by default)."""
        if line is None and self.tokens:
            line = self.tokens[min(self.pos, len(self.tokens)) - 1][1]
        return _error(self.source, what, line, hint)

    def next(self, expected: str) -> tuple[str, int]:
        """The next token, or an error saying what was expected before the MOTION section."""
        if self.pos >= len(self.tokens):
            raise self.fail(f"the hierarchy ends where {expected} was expected")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def rest_of_line(self, line: int) -> list[str]:
        """Tokens left on one line, stopping before a '{' (names may contain spaces)."""
        words = []
        while (
            self.pos < len(self.tokens)
            and self.tokens[self.pos][1] == line
            and self.tokens[self.pos][0] != "{"
        ):
            words.append(self.tokens[self.pos][0])
            self.pos += 1
        return words

    def parse(self) -> _Skeleton:
        """Walk all tokens, then check that every block was closed and had an OFFSET."""
        first, line = self.next("HIERARCHY")
        if first.upper() != "HIERARCHY":
            raise self.fail(
                f"expected HIERARCHY, found {first!r}",
                line,
                hint="this does not look like a BVH file",
            )
        while self.pos < len(self.tokens):
            self.statement()
        if self.stack:
            joint = self.stack[-1]
            raise self.fail(
                f"unbalanced braces: the '{{' of {self.skeleton.names[joint]!r} (opened at line "
                f"{self.skeleton.lines[joint]}) is never closed before MOTION",
                self.skeleton.lines[joint],
            )
        if not self.skeleton.names:
            raise self.fail("the hierarchy has no ROOT joint")
        return self.skeleton

    def statement(self) -> None:
        """Dispatch on one keyword inside the hierarchy."""
        token, line = self.next("a keyword")
        keyword = token.upper()
        if keyword in ("ROOT", "JOINT"):
            self.joint(keyword, line)
        elif keyword == "END":
            self.end_site(line)
        elif keyword == "OFFSET":
            self.offset(line)
        elif keyword == "CHANNELS":
            self.channels(line)
        elif token == "}":
            self.close(line)
        else:
            raise self.fail(f"unexpected {token!r} in the hierarchy", line)

    def open_block(self, joint: int) -> None:
        """Consume the '{' after a joint header and make the joint current."""
        token, line = self.next("'{'")
        if token != "{":
            raise self.fail(
                f"expected '{{' after {self.skeleton.names[joint]!r}, found {token!r}", line
            )
        self.stack.append(joint)

    def joint(self, keyword: str, line: int) -> None:
        """ROOT name { ... } or JOINT name { ... }; a name with spaces is joined by '_'."""
        if keyword == "ROOT" and self.stack:
            raise self.fail("ROOT inside another joint's braces (unbalanced braces?)", line)
        if keyword == "JOINT" and not self.stack:
            raise self.fail("JOINT outside any ROOT (unbalanced braces?)", line)
        if self.stack and self.skeleton.is_end_site[self.stack[-1]]:
            raise self.fail("an End Site cannot have child joints", line)
        words = self.rest_of_line(line)
        if not words:
            raise self.fail(f"{keyword} has no name", line)
        parent = self.stack[-1] if self.stack else -1
        self.open_block(self.skeleton.add("_".join(words), parent, False, line))

    def end_site(self, line: int) -> None:
        """End Site { OFFSET x y z }: a leaf named after its parent; any name after it is ignored."""
        words = self.rest_of_line(line)
        if not words or words[0].upper() != "SITE":
            raise self.fail("expected 'End Site'", line)
        if not self.stack or self.skeleton.is_end_site[self.stack[-1]]:
            raise self.fail("End Site outside a joint (unbalanced braces?)", line)
        parent = self.stack[-1]
        name = f"{self.skeleton.names[parent]}_end"
        self.open_block(self.skeleton.add(name, parent, True, line))

    def offset(self, line: int) -> None:
        """OFFSET x y z for the current joint, exactly once."""
        if not self.stack:
            raise self.fail("OFFSET outside any joint's braces", line)
        joint = self.stack[-1]
        if self.skeleton.offsets[joint] is not None:
            raise self.fail(f"{self.skeleton.names[joint]!r} has a second OFFSET", line)
        values = []
        for _ in range(3):
            token, token_line = self.next("an OFFSET value")
            values.append(self.number(token, token_line, "OFFSET value"))
        self.skeleton.offsets[joint] = values

    def channels(self, line: int) -> None:
        """CHANNELS n name...: the count must match the names, which must be known and distinct."""
        if not self.stack or self.skeleton.is_end_site[self.stack[-1]]:
            raise self.fail("CHANNELS outside a joint (End Sites have none)", line)
        joint = self.stack[-1]
        if self.skeleton.channels[joint]:
            raise self.fail(f"{self.skeleton.names[joint]!r} has a second CHANNELS line", line)
        count_token, _ = self.next("the channel count")
        if not count_token.isdigit():
            raise self.fail(f"CHANNELS count {count_token!r} is not a whole number", line)
        declared = int(count_token)
        names = self.channel_names(line)
        if len(names) != declared:
            raise self.fail(
                f"CHANNELS says {declared} but lists {len(names)} channel names "
                f"({' '.join(names)}) for {self.skeleton.names[joint]!r}",
                line,
            )
        canonical = [self.canonical_channel(name, line) for name in names]
        if len(set(canonical)) != len(canonical):
            raise self.fail(f"a channel is repeated in {' '.join(names)}", line)
        self.skeleton.channels[joint] = canonical

    def channel_names(self, line: int) -> list[str]:
        """Words after the count up to the next keyword or brace (may continue on later lines)."""
        names = []
        while self.pos < len(self.tokens):
            token, token_line = self.tokens[self.pos]
            if token in ("{", "}") or token.upper() in ("JOINT", "END", "OFFSET", "CHANNELS"):
                break
            if token_line != line and token.lower() not in _CANONICAL_CHANNEL:
                break
            names.append(token)
            self.pos += 1
        return names

    def canonical_channel(self, name: str, line: int) -> str:
        """Channel names are matched without case and stored in their usual spelling."""
        canonical = _CANONICAL_CHANNEL.get(name.lower())
        if canonical is None:
            raise self.fail(
                f"unknown channel name {name!r}; known channels are "
                f"{', '.join(POSITION_CHANNELS + ROTATION_CHANNELS)}",
                line,
            )
        return canonical

    def close(self, line: int) -> None:
        """'}' ends the current block, which must have had an OFFSET."""
        if not self.stack:
            raise self.fail("unbalanced braces: '}' without a matching '{'", line)
        joint = self.stack.pop()
        if self.skeleton.offsets[joint] is None:
            raise self.fail(
                f"{self.skeleton.names[joint]!r} has no OFFSET", self.skeleton.lines[joint]
            )

    def number(self, token: str, line: int, what: str) -> float:
        """A float, or an error quoting the bad token."""
        try:
            return float(token)
        except ValueError:
            raise self.fail(f"{what} {token!r} is not a number", line) from None


@dataclass(frozen=True)
class _MotionHeader:
    """The two lines after MOTION, with line numbers for messages about the rows below them."""

    frames: int
    frame_time: float
    frames_line: int
    block_start: int
    block_line: int


def _parse_motion_header(text: str, start: int, motion_line: int, source: str) -> _MotionHeader:
    """Read 'Frames:' and 'Frame Time:' after MOTION (blank lines and spacing variants allowed)."""
    pos = _skip_line(text, start)
    frames_text, frames_line, pos = _header_value(
        text, pos, motion_line + 1, _FRAMES_LINE, "Frames:", source
    )
    time_text, time_line, pos = _header_value(
        text, pos, frames_line + 1, _FRAME_TIME_LINE, "Frame Time:", source
    )
    try:
        frames = int(frames_text)
    except ValueError:
        raise _error(
            source, f"Frames: {frames_text!r} is not a whole number", frames_line
        ) from None
    if frames < 0:
        raise _error(source, f"Frames: {frames} is negative", frames_line)
    try:
        frame_time = float(time_text)
    except ValueError:
        raise _error(source, f"Frame Time: {time_text!r} is not a number", time_line) from None
    if not (frame_time > 0 and np.isfinite(frame_time)):
        raise _error(
            source,
            f"Frame Time: {time_text} is not a positive number of seconds",
            time_line,
            hint="write the seconds per frame, e.g. 0.0083333 for 120 fps",
        )
    return _MotionHeader(frames, frame_time, frames_line, pos, time_line + 1)


def _skip_line(text: str, pos: int) -> int:
    """Index just past the end of the line containing pos."""
    end = text.find("\n", pos)
    return len(text) if end < 0 else end + 1


def _header_value(
    text: str, pos: int, line: int, pattern: re.Pattern[str], label: str, source: str
) -> tuple[str, int, int]:
    """Skip blank lines, then match one 'Label: value' line; return value, its line, next pos."""
    while pos < len(text):
        end = _skip_line(text, pos)
        content = text[pos:end]
        if content.strip():
            match = pattern.fullmatch(content)
            if match is None or not match.group(1):
                raise _error(
                    source,
                    f"expected a '{label} value' line after MOTION, found {content.strip()[:60]!r}",
                    line,
                )
            return match.group(1), line, end
        pos, line = end, line + 1
    raise _error(source, f"the file ends before the '{label}' line of the MOTION section", line)


def _parse_motion_block(block: str, header: _MotionHeader, width: int, source: str) -> np.ndarray:
    """All motion rows at once via numpy; on any mismatch, locate the bad row for the message."""
    frames, first_line = header.frames, header.block_line
    if width == 0 or not block.strip():
        return _empty_motion(block, header, width, source)
    lines = block.splitlines()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            motion = np.loadtxt(lines, dtype=np.float64, comments=None, ndmin=2)
    except ValueError:
        motion = None
    if motion is None or motion.shape[1] != width:
        raise _locate_bad_row(lines, width, first_line, source)
    if motion.shape[0] != frames:
        fewer = motion.shape[0] < frames
        hint = (
            "the file is truncated or Frames: is too large; re-export it or fix Frames:"
            if fewer
            else "Frames: is too small or rows were appended; fix Frames: or re-export it"
        )
        raise _error(
            source,
            f"Frames: says {frames} but the motion section has {motion.shape[0]} "
            f"rows ({'fewer' if fewer else 'more'} rows than declared)",
            header.frames_line,
            hint=hint,
        )
    return motion


def _empty_motion(block: str, header: _MotionHeader, width: int, source: str) -> np.ndarray:
    """A motion block without numbers: fine for 0 frames, or for a skeleton with no channels."""
    if block.strip():
        raise _error(
            source, "motion rows given but the hierarchy has no channels", header.block_line
        )
    if width and header.frames:
        raise _error(
            source,
            f"Frames: says {header.frames} but the motion section has no rows",
            header.frames_line,
            hint="the file is truncated; re-export it",
        )
    return np.zeros((header.frames if width == 0 else 0, width), dtype=np.float64)


def _locate_bad_row(lines: list[str], width: int, first_line: int, source: str) -> BvhError:
    """Slow path, only for broken files: name the first row that is not `width` numbers."""
    row = 0
    for offset, content in enumerate(lines):
        values = content.split()
        if not values:
            continue
        row += 1
        line = first_line + offset
        if len(values) != width:
            return _error(
                source,
                f"motion row {row} has {len(values)} values, expected {width} (one per channel)",
                line,
            )
        for column, value in enumerate(values, start=1):
            try:
                float(value)
            except ValueError:
                return _error(
                    source,
                    f"motion row {row}, value {column} is not a number: {value[:40]!r}",
                    line,
                )
    return _error(source, "the motion section could not be read as numbers", first_line)


# --------------------------------------------------------------------------------------------------
# Forward kinematics


def forward_kinematics(
    bvh: Bvh, frames: slice | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """World positions (T, J, 3) in file units and global rotations (T, J, 3, 3) per frame.

    ``frames`` selects rows of ``bvh.motion`` (a slice, integer indices or a boolean mask); None
    means all frames. End Sites get their parent's rotation.
    """
    motion = bvh.motion if frames is None else bvh.motion[frames]
    motion = np.asarray(motion, dtype=np.float64).reshape(-1, bvh.motion.shape[1])
    frame_count = len(motion)
    positions: list[np.ndarray] = []
    rotations: list[np.ndarray] = []
    column = 0
    for joint, joint_channels in enumerate(bvh.channels):
        values = motion[:, column : column + len(joint_channels)]
        column += len(joint_channels)
        translation = _local_translation(bvh.offsets[joint], joint_channels, values)
        local = _local_rotation(joint_channels, values)
        parent = int(bvh.parents[joint])
        if parent < 0:
            position = np.broadcast_to(translation, (frame_count, 3))
            rotation = np.broadcast_to(np.eye(3) if local is None else local, (frame_count, 3, 3))
        else:
            position = positions[parent] + _rotate(rotations[parent], translation)
            rotation = rotations[parent] if local is None else rotations[parent] @ local
        positions.append(position)
        rotations.append(rotation)
    return _stack(positions, frame_count, (3,)), _stack(rotations, frame_count, (3, 3))


def _stack(per_joint: list[np.ndarray], frame_count: int, tail: tuple[int, ...]) -> np.ndarray:
    """(T, J, *tail) from one array per joint; works for zero joints and zero frames too."""
    if not per_joint:
        return np.zeros((frame_count, 0, *tail))
    return np.stack(per_joint, axis=1)


def _local_translation(offset: np.ndarray, channels: list[str], values: np.ndarray) -> np.ndarray:
    """The OFFSET (3,), or (T, 3) where position channels replace the OFFSET's axes."""
    axes = [
        (POSITION_CHANNELS.index(name), i)
        for i, name in enumerate(channels)
        if name in POSITION_CHANNELS
    ]
    if not axes:
        return offset
    translation = np.repeat(offset[None, :], len(values), axis=0)
    for axis, column in axes:
        translation[:, axis] = values[:, column]
    return translation


def _local_rotation(channels: list[str], values: np.ndarray) -> np.ndarray | None:
    """R_local composed intrinsically in channel order: (T, 3, 3), or (3, 3) if constant.

    None means identity (no rotation channels, or all angles zero). Many joints in real files
    never move (fingers, eyes, clavicles), and from_euler is the costly step of FK, so constant
    angles are converted once.
    """
    columns = [i for i, name in enumerate(channels) if name in ROTATION_CHANNELS]
    if not columns or len(values) == 0:
        return None
    angles = values[:, columns]
    sequence = "".join(channels[i][0] for i in columns)
    first = angles[0]
    if np.all(angles == first):
        if not np.any(first):
            return None
        return Rotation.from_euler(sequence, first, degrees=True).as_matrix()
    return Rotation.from_euler(sequence, angles, degrees=True).as_matrix()


def _rotate(rotation: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Apply (T, 3, 3) rotations to one (3,) vector or to (T, 3) vectors."""
    if vector.ndim == 1:
        return rotation @ vector
    return np.einsum("tij,tj->ti", rotation, vector)
