"""Acclaim ASF/AMC motion capture (CMU, HDM05): a reader and vectorised forward kinematics.

An ``.asf`` is the skeleton: per bone a ``direction`` (unit vector, world frame, rest pose), a
``length``, an ``axis`` ``a b c XYZ`` (the bone's local frame C, angles in the ASF's angle unit)
and its ``dof``. An ``.amc`` is the motion: per frame its number, then ``bone values...`` lines
in the bone's dof order.

Conventions (those of CMU's and the common ``AMCParser`` readers; column vectors):

* A bone's AMC angles compose extrinsically in their dof order: ``rx ry rz`` gives
  ``M = Rz·Ry·Rx``. ``axis a b c XYZ`` gives ``C = Rz(c)·Ry(b)·Rx(a)`` the same way.
* The bone's world rotation relative to rest is ``G = G_parent · C · M · C⁻¹`` and its end is
  ``start + G · (direction · length)``; its start is its parent's end (the root's position).
* The root: AMC values in ``:root order`` (``TX TY TZ RX RY RZ``); its position is the ASF
  ``position`` plus TX TY TZ; its C is ``orientation`` in the ``axis`` order (zero in CMU and
  HDM05 files), its M the R values composed in their order.
* ``tx ty tz`` dofs on a bone (rare) move its start along the parent-rotated axes C; ``l`` adds
  to its length.

Output joints follow the BVH reader: the joint named X sits at the START of bone X (lfemur at the
hip, ltibia at the knee, lfoot at the ankle, head at the top of the neck), the root is ``root``,
and each leaf bone's end is ``X_end``. A joint's rotation is its bone's G (the root's for
``root``, the bone's for ``X_end``): identity at rest, like a BVH global rotation. Lengths stay in
file units; ``Asf.metres_per_unit`` converts them (``length 0.45`` means 1 unit = 1/0.45 inch).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

INCH_M = 0.0254
_ROTATION_DOFS = ("rx", "ry", "rz")
_TRANSLATION_DOFS = ("tx", "ty", "tz")
_KNOWN_DOFS = _ROTATION_DOFS + _TRANSLATION_DOFS + ("l",)
_SECTION = re.compile(r"^:(\S+)\s*(.*)$")


class AsfError(ValueError):
    """An ASF or AMC file that cannot be read; the message names the file, the line and the fix."""


def _error(source: str, what: str, line: int | None = None) -> AsfError:
    where = f"{source}: line {line}" if line is not None else source
    return AsfError(f"{where}: {what}; fix the file or re-export it from the capture software")


@dataclass(eq=False)
class Bone:
    """One ASF bone: rest vector and local frame, both in the world's rest axes, file units."""

    name: str
    direction: np.ndarray  # (3,) unit vector
    length: float
    axis: np.ndarray  # (3, 3) C
    dof: list[str]
    parent: int = -1  # index into Asf.bones, -1 for the root


@dataclass(eq=False)
class Asf:
    """A parsed ASF skeleton; bones are ordered parents first (the root is not a bone)."""

    bones: list[Bone]
    metres_per_unit: float
    degrees: bool
    root_order: list[str]  # AMC columns of the root, lower case: tx ty tz rx ry rz
    root_axis: np.ndarray  # (3, 3) C of the root
    root_position: np.ndarray  # (3,) file units
    source: str = "<string>"
    name: str = ""

    def index(self, name: str) -> int:
        for i, bone in enumerate(self.bones):
            if bone.name == name:
                return i
        raise KeyError(f"{self.source}: no bone named {name!r}")


@dataclass(eq=False)
class Amc:
    """AMC motion: per bone (and "root") its values (T, len(dof)) in the ASF's angle unit."""

    values: dict[str, np.ndarray]
    frame_numbers: np.ndarray
    source: str = "<string>"

    @property
    def num_frames(self) -> int:
        return len(self.frame_numbers)


@dataclass(eq=False)
class AsfPose:
    """FK output in the BVH reader's layout: joints parents first, file units, world axes."""

    names: list[str]
    parents: np.ndarray
    is_end_site: np.ndarray
    positions: np.ndarray  # (T, J, 3)
    rotations: np.ndarray  # (T, J, 3, 3)
    metres_per_unit: float
    source: str = "<string>"
    meta: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# Reading


def _read_text(path: str | os.PathLike) -> str:
    """Latin-1 never fails: HDM05's AMC headers hold an 8-bit Windows path."""
    try:
        return Path(path).read_bytes().decode("latin-1")
    except OSError as exc:
        raise _error(str(path), f"cannot read the file ({exc.strerror or exc})") from exc


def read_asf(path: str | os.PathLike) -> Asf:
    return parse_asf(_read_text(path), str(path))


def read_amc(path: str | os.PathLike, asf: Asf) -> Amc:
    return parse_amc(_read_text(path), asf, str(path))


def _euler_frame(angles: np.ndarray, order: str, degrees: bool) -> np.ndarray:
    """C from ``a b c`` and an order like ``XYZ``: extrinsic, first axis applied first."""
    return Rotation.from_euler(order.lower(), angles, degrees=degrees).as_matrix()


def _sections(text: str, source: str) -> dict[str, list[tuple[int, str]]]:
    """Lines grouped by ``:keyword`` section, comments and blank lines dropped."""
    sections: dict[str, list[tuple[int, str]]] = {}
    current: list[tuple[int, str]] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _SECTION.match(line)
        if match:
            current = sections.setdefault(match.group(1).lower(), [])
            if match.group(2):
                current.append((number, match.group(2)))
        elif current is not None:
            current.append((number, line))
        else:
            raise _error(source, f"text before the first ':section': {line[:60]!r}", number)
    return sections


def parse_asf(text: str, source: str = "<string>") -> Asf:
    """Parse ASF text: units, root, bone data and hierarchy."""
    sections = _sections(text, source)
    for needed in ("root", "bonedata", "hierarchy"):
        if needed not in sections:
            raise _error(source, f"no :{needed} section (is this an ASF file?)")
    units = {
        words[0].lower(): words[1]
        for _, line in sections.get("units", [])
        for words in [line.split()]
        if len(words) >= 2
    }
    length = float(units.get("length", 1.0))
    degrees = units.get("angle", "deg").lower().startswith("deg")
    root = {words[0].lower(): words[1:] for _, line in sections["root"] for words in [line.split()]}
    root_order = [w.lower() for w in root.get("order", ["TX", "TY", "TZ", "RX", "RY", "RZ"])]
    unknown = [w for w in root_order if w not in _ROTATION_DOFS + _TRANSLATION_DOFS]
    if unknown:
        raise _error(source, f":root order has unknown channels {unknown}")
    axis_order = (root.get("axis") or ["XYZ"])[0]
    orientation = np.array([float(v) for v in root.get("orientation", ["0", "0", "0"])])
    bones = _parse_bonedata(sections["bonedata"], degrees, source)
    _link_hierarchy(bones, sections["hierarchy"], source)
    return Asf(
        bones=_parents_first(bones),
        metres_per_unit=INCH_M / length,
        degrees=degrees,
        root_order=root_order,
        root_axis=_euler_frame(orientation, axis_order, degrees),
        root_position=np.array([float(v) for v in root.get("position", ["0", "0", "0"])]),
        source=source,
        name=" ".join(w for _, line in sections.get("name", []) for w in line.split()),
    )


def _parse_bonedata(lines: list[tuple[int, str]], degrees: bool, source: str) -> list[Bone]:
    """``begin ... end`` blocks; limits and ids are read past (FK does not need them)."""
    bones: list[Bone] = []
    block: dict[str, list[str]] | None = None
    start = 0
    for number, line in lines:
        words = line.split()
        key = words[0].lower()
        if key == "begin":
            block, start = {}, number
        elif key == "end":
            if block is None:
                raise _error(source, "'end' without 'begin' in :bonedata", number)
            bones.append(_bone(block, degrees, source, start))
            block = None
        elif block is not None and not key.startswith("("):
            block[key] = words[1:]
    if block is not None:
        raise _error(source, "a :bonedata block has no 'end'", start)
    return bones


def _bone(block: dict[str, list[str]], degrees: bool, source: str, line: int) -> Bone:
    try:
        name = block["name"][0]
        direction = np.array([float(v) for v in block["direction"][:3]])
        length = float(block["length"][0])
        axis = block.get("axis", ["0", "0", "0", "XYZ"])
        frame = _euler_frame(np.array([float(v) for v in axis[:3]]), axis[3], degrees)
    except (KeyError, IndexError, ValueError) as exc:
        raise _error(source, f"bone needs name, direction, length and axis ({exc})", line) from None
    norm = np.linalg.norm(direction)
    dof = [d.lower() for d in block.get("dof", [])]
    bad = [d for d in dof if d not in _KNOWN_DOFS]
    if bad:
        raise _error(source, f"bone {name!r} has unknown dof {bad}", line)
    return Bone(name, direction / norm if norm > 0 else direction, length, frame, dof)


def _link_hierarchy(bones: list[Bone], lines: list[tuple[int, str]], source: str) -> None:
    """``parent child child ...`` lines; the root is parent -1."""
    index = {bone.name: i for i, bone in enumerate(bones)}
    seen: set[str] = set()
    for number, line in lines:
        words = line.split()
        if words[0].lower() in ("begin", "end"):
            continue
        parent = -1 if words[0] == "root" else index.get(words[0])
        if parent is None:
            raise _error(source, f":hierarchy names unknown bone {words[0]!r}", number)
        for child in words[1:]:
            if child not in index:
                raise _error(source, f":hierarchy names unknown bone {child!r}", number)
            bones[index[child]].parent = parent
            seen.add(child)
    orphans = [b.name for b in bones if b.name not in seen]
    if orphans:
        raise _error(source, f"bones {orphans} are missing from :hierarchy")


def _parents_first(bones: list[Bone]) -> list[Bone]:
    """Depth-first order from the root, parent indices renumbered; loops are errors."""
    children: dict[int, list[int]] = {}
    for i, bone in enumerate(bones):
        children.setdefault(bone.parent, []).append(i)
    order: list[int] = []
    stack = list(reversed(children.get(-1, [])))
    while stack:
        i = stack.pop()
        order.append(i)
        stack.extend(reversed(children.get(i, [])))
    if len(order) != len(bones):
        raise AsfError("the :hierarchy has a loop: some bones never reach the root")
    new_index = {old: new for new, old in enumerate(order)}
    ordered = [bones[i] for i in order]
    for bone in ordered:
        bone.parent = new_index.get(bone.parent, -1)
    return ordered


def parse_amc(text: str, asf: Asf, source: str = "<string>") -> Amc:
    """Parse AMC text against its skeleton: every frame must give every bone with dofs."""
    lines = text.splitlines()
    first = 0
    while first < len(lines) and (not lines[first].strip() or lines[first].lstrip()[0] in "#:"):
        first += 1
    body = [(n, line) for n, line in enumerate(lines[first:], start=first + 1) if line.strip()]
    widths = {"root": len(asf.root_order)} | {b.name: len(b.dof) for b in asf.bones if b.dof}
    fast = _parse_regular(body, widths)
    if fast is None:
        fast = _parse_any(body, widths, source)
    numbers, values = fast
    return Amc(values=values, frame_numbers=numbers, source=source)


def _parse_regular(
    body: list[tuple[int, str]], widths: dict[str, int]
) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """Fast path: every frame lists the same bones in the same order; None if not so."""
    stride = len(widths) + 1
    if not body or len(body) % stride:
        return None
    names = [line.split(None, 1)[0] for _, line in body[1:stride]]
    if sorted(names) != sorted(widths):
        return None
    text = [line for _, line in body]
    try:
        numbers = np.array(text[::stride], dtype=np.int64)
        values = {}
        for k, name in enumerate(names, start=1):
            column = text[k::stride]
            if any(not line.lstrip().startswith(name) for line in column):
                return None
            width = widths[name]
            parsed = np.loadtxt(column, dtype=np.float64, usecols=range(1, width + 1), ndmin=2)
            if parsed.shape != (len(numbers), width):
                return None
            values[name] = parsed
    except ValueError:
        return None
    return numbers, values


def _parse_any(
    body: list[tuple[int, str]], widths: dict[str, int], source: str
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Slow path with exact messages: any bone order; every frame must still give every bone."""
    numbers: list[int] = []
    rows: dict[str, list[list[float]]] = {name: [] for name in widths}
    for number, line in body:
        words = line.split()
        if len(words) == 1:
            try:
                numbers.append(int(words[0]))
            except ValueError:
                raise _error(
                    source, f"expected a frame number, found {words[0]!r}", number
                ) from None
            continue
        if not numbers:
            raise _error(source, "bone values before the first frame number", number)
        name = words[0]
        if name not in widths:
            raise _error(source, f"bone {name!r} is not in the skeleton or has no dof", number)
        if len(words) - 1 != widths[name]:
            raise _error(
                source,
                f"{name!r} has {len(words) - 1} values, its dof needs {widths[name]}",
                number,
            )
        try:
            rows[name].append([float(v) for v in words[1:]])
        except ValueError:
            raise _error(source, f"a value of {name!r} is not a number", number) from None
        if len(rows[name]) != len(numbers):
            raise _error(source, f"{name!r} is given twice in frame {numbers[-1]}", number)
    short = [name for name, r in rows.items() if len(r) != len(numbers)]
    if short:
        raise _error(source, f"some frames lack bones {short[:5]}")
    values = {
        name: np.asarray(r, dtype=np.float64).reshape(len(numbers), widths[name])
        for name, r in rows.items()
    }
    return np.asarray(numbers, dtype=np.int64), values


# --------------------------------------------------------------------------------------------------
# Forward kinematics


def _dof_rotation(dof: list[str], values: np.ndarray, degrees: bool) -> np.ndarray | None:
    """M from a bone's rotation dofs, extrinsic in dof order; None when the identity throughout."""
    columns = [i for i, d in enumerate(dof) if d in _ROTATION_DOFS]
    if not columns or len(values) == 0:
        return None
    angles = values[:, columns]
    sequence = "".join(dof[i][1] for i in columns)
    if not np.any(angles):
        return None
    return Rotation.from_euler(sequence, angles, degrees=degrees).as_matrix()


def _dof_vector(dof: list[str], values: np.ndarray, names: tuple[str, ...]) -> np.ndarray | None:
    """(T, len(names)) of the given dofs (zeros where absent); None if the bone has none."""
    if not any(d in names for d in dof):
        return None
    out = np.zeros((len(values), len(names)))
    for column, d in enumerate(dof):
        if d in names:
            out[:, names.index(d)] = values[:, column]
    return out


def _conjugate(frame: np.ndarray, motion: np.ndarray | None) -> np.ndarray | None:
    """C · M · C⁻¹: the bone's rotation about its own axes, expressed in the rest world axes."""
    return None if motion is None else frame @ motion @ frame.T


def forward_kinematics(asf: Asf, amc: Amc) -> AsfPose:
    """Joint positions and rotations for every frame; loops over bones, never frames."""
    frames = amc.num_frames
    root_values = amc.values["root"]
    root_rotation = _conjugate(
        asf.root_axis, _dof_rotation(asf.root_order, root_values, asf.degrees)
    )
    root_move = _dof_vector(asf.root_order, root_values, _TRANSLATION_DOFS)
    root_position = asf.root_position + (0.0 if root_move is None else root_move)
    names, parents, is_end = ["root"], [-1], [False]
    positions = [np.broadcast_to(root_position, (frames, 3))]
    rotations = [
        np.broadcast_to(np.eye(3) if root_rotation is None else root_rotation, (frames, 3, 3))
    ]
    bone_joint: list[int] = []  # joint index of each bone's start
    bone_end: list[np.ndarray] = []  # each bone's end, (T, 3)
    leaves = {i for i in range(len(asf.bones))} - {b.parent for b in asf.bones}
    for i, bone in enumerate(asf.bones):
        values = amc.values.get(bone.name, np.zeros((frames, 0)))
        parent_joint = 0 if bone.parent < 0 else bone_joint[bone.parent]
        start = positions[0] if bone.parent < 0 else bone_end[bone.parent]
        parent_rotation = rotations[parent_joint]
        shift = _dof_vector(bone.dof, values, _TRANSLATION_DOFS)
        if shift is not None:
            start = start + np.einsum("tij,tj->ti", parent_rotation @ bone.axis, shift)
        local = _conjugate(bone.axis, _dof_rotation(bone.dof, values, asf.degrees))
        rotation = parent_rotation if local is None else parent_rotation @ local
        stretch = _dof_vector(bone.dof, values, ("l",))
        vector = bone.direction * (bone.length if stretch is None else bone.length + stretch)
        end = start + (
            rotation @ vector if vector.ndim == 1 else np.einsum("tij,tj->ti", rotation, vector)
        )
        bone_joint.append(len(names))
        bone_end.append(end)
        names.append(bone.name)
        parents.append(parent_joint)
        is_end.append(False)
        positions.append(np.broadcast_to(start, (frames, 3)))
        rotations.append(np.broadcast_to(rotation, (frames, 3, 3)))
        if i in leaves:
            names.append(f"{bone.name}_end")
            parents.append(bone_joint[-1])
            is_end.append(True)
            positions.append(end)
            rotations.append(rotations[-1])
    return AsfPose(
        names=names,
        parents=np.asarray(parents, dtype=np.int64),
        is_end_site=np.asarray(is_end, dtype=bool),
        positions=np.stack(positions, axis=1),
        rotations=np.stack(rotations, axis=1),
        metres_per_unit=asf.metres_per_unit,
        source=amc.source,
    )


def find_skeleton(amc_path: str | os.PathLike) -> Path:
    """The ``.asf`` of an ``.amc``: the one its name starts with, or the only one, in its folder
    or an ``asf/`` folder beside one of its parent folders (CMU: 01.asf and 01_02.amc; HDM05:
    asf/HDM_bd.asf and amc/<action>/HDM_bd_*.amc)."""
    amc_path = Path(amc_path)
    for folder in amc_path.resolve().parents[:4]:
        for place in (folder, folder / "asf"):
            candidates = sorted(place.glob("*.asf")) if place.is_dir() else []
            named = [c for c in candidates if amc_path.stem.startswith(c.stem + "_")]
            if len(named) == 1:
                return named[0]
            if len(candidates) == 1:
                return candidates[0]
    raise FileNotFoundError(
        f"{amc_path}: cannot tell which .asf skeleton it belongs to (none beside it or in an asf/ "
        "folder above it whose name starts its name); pass the skeleton explicitly "
        "(skeleton=... or --skeleton FILE.asf)"
    )
