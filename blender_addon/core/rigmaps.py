"""Rig maps: which rig bones follow which H36M-17 joints, one YAML file per rig family.

A map says, for each mapped bone, the two joints its direction runs between (the joint its head
follows, the joint its tail points at) and a twist reference fixing the roll about that direction
(a limb's bend plane, a line across the body, ...); which bone is the root (it also receives the
location); which bones are the feet (``foot.L: {foot: left}``: flat on the floor while planted,
following the shin in the air; see `feet.py`); a ``detect`` list of bone names that identifies
the family; optional name prefixes (Mixamo's ``mixamorig:``). Bones the map does not name keep
their rest pose relative to their parent (toes, hands, fingers).
`blender_addon/rigs/TEMPLATE.yaml.example` documents every key. An armature no YAML map detects
gets a map derived by the joint matcher (`auto_rigmap`), given its hierarchy and rest pose.

Pure data and validation: no bpy. The solver is in `retarget.py`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .coords import JOINT_INDEX

if TYPE_CHECKING:
    from .auto_rigmap import Skeleton

# The shipped maps: package data of blender_addon (blender_addon/rigs), so a checkout, the
# installed wheel and the built extension (whose root is this package) find them in one place.
BUILTIN_DIRS = (Path(__file__).resolve().parent.parent / "rigs",)

TWIST_KINDS = ("bend", "line")
BODY_FRAMES = ("pelvis", "thorax", "world")
FOOT_SIDES = ("left", "right")


class RigMapError(ValueError):
    """A rig map that does not load, or does not fit an armature; the message names the problem."""


@dataclass(frozen=True)
class Twist:
    """How a bone's roll about its direction is fixed.

    kind "bend": the plane through three joints (a limb's bend plane: shoulder, elbow, wrist);
        the reference is the plane's normal. Where the limb is straight the last well-bent
        frame's normal is carried along (in the ``body`` frame), so a straight arm keeps its twist.
    kind "line": the direction from ``joints[0]`` to ``joints[1]`` (a line across the body, such as
        right hip to left hip); ``lines`` may hold several pairs, their unit directions summed.
    """

    kind: str
    joints: tuple[str, ...] = ()  # bend: 3 joints
    lines: tuple[tuple[str, str], ...] = ()  # line: one or more (from, to) pairs
    body: str = "thorax"  # frame a held reference moves with: pelvis | thorax | world

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self.joints + tuple(j for pair in self.lines for j in pair)


@dataclass(frozen=True)
class BoneMap:
    """One mapped bone: its direction runs from joint ``direction[0]`` to ``direction[1]``."""

    bone: str
    direction: tuple[str, str]
    twist: Twist

    @property
    def key(self) -> tuple:
        """Bones with equal keys get the same world rotation change (computed once)."""
        return (self.direction, self.twist)


@dataclass(frozen=True)
class JointSpec:
    """Where an H36M-17 joint sits on the rig at rest.

    ``bone``+``at``: a point on a bone (``at`` = "head", "tail" or a fraction from head to tail),
    plus ``offset`` (left, up, forward) metres in the rig's rest chest frame, scaled by the rig's
    leg length over `REFERENCE_LEG_LENGTH`; or ``mean``: the midpoint of other specs.
    """

    bone: str | None = None
    at: str | float = "head"
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    mean: tuple[JointSpec, ...] = ()

    def bones(self) -> tuple[str, ...]:
        own = (self.bone,) if self.bone else ()
        return own + tuple(b for spec in self.mean for b in spec.bones())


@dataclass(frozen=True)
class RigMap:
    family: str
    root: str
    bones: tuple[BoneMap, ...]
    detect: tuple[str, ...] = ()
    description: str = ""
    prefixes: tuple[str, ...] = ()
    rest_joints: Mapping[str, JointSpec] = field(default_factory=dict)
    parents: Mapping[str, str] = field(default_factory=dict)
    properties: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # foot bones -> "left" | "right" (solved by `feet.py`, not by direction and twist); optional
    # on the armature: `resolve` drops a foot bone it lacks, with a warning
    feet: Mapping[str, str] = field(default_factory=dict)
    source: str = "<memory>"
    prefix: str = ""  # the prefix resolved against an armature ("" before `resolve`)
    # what a derived map guessed (auto_rigmap: "left_wrist = end site of forearm.L ..."), to show
    warnings: tuple[str, ...] = ()

    @property
    def bone_names(self) -> tuple[str, ...]:
        return tuple(b.bone for b in self.bones)

    def bone(self, name: str) -> BoneMap:
        for b in self.bones:
            if b.bone == name:
                return b
        raise KeyError(name)

    def required_bones(self) -> tuple[str, ...]:
        """Every bone name the map refers to (mapped bones, rest joint anchors, parents, bones
        carrying properties). Not the feet: a rig without them still retargets."""
        names: list[str] = [self.root, *self.bone_names]
        for spec in self.rest_joints.values():
            names.extend(spec.bones())
        for child, parent in self.parents.items():
            names.extend((child, parent))
        names.extend(self.properties)
        return tuple(dict.fromkeys(names))

    def with_prefix(self, prefix: str) -> RigMap:
        """The same map with every bone name prefixed (``mixamorig:`` + ``Hips``)."""
        if not prefix:
            return dataclasses.replace(self, prefix="")

        def p(name: str) -> str:
            return prefix + name

        def spec(s: JointSpec) -> JointSpec:
            return dataclasses.replace(
                s, bone=p(s.bone) if s.bone else None, mean=tuple(spec(m) for m in s.mean)
            )

        return dataclasses.replace(
            self,
            root=p(self.root),
            bones=tuple(dataclasses.replace(b, bone=p(b.bone)) for b in self.bones),
            detect=tuple(p(n) for n in self.detect),
            rest_joints={j: spec(s) for j, s in self.rest_joints.items()},
            parents={p(c): p(q) for c, q in self.parents.items()},
            properties={p(b): dict(v) for b, v in self.properties.items()},
            feet={p(b): side for b, side in self.feet.items()},
            prefix=prefix,
        )


# --------------------------------------------------------------------------- loading


def _fail(source: str, what: str) -> RigMapError:
    return RigMapError(f"rig map {source}: {what}")


def _joint(source: str, where: str, name: object) -> str:
    if not isinstance(name, str) or name not in JOINT_INDEX:
        raise _fail(
            source,
            f"{where}: {name!r} is not an H36M-17 joint (one of {', '.join(JOINT_INDEX)})",
        )
    return name


def _parse_twist(source: str, bone: str, raw: object, direction: tuple[str, str]) -> Twist:
    where = f"bone {bone!r} twist"
    if not isinstance(raw, Mapping):
        raise _fail(source, f"{where} must be a mapping with 'bend' or 'line'")
    kinds = [k for k in TWIST_KINDS if k in raw]
    if len(kinds) != 1:
        raise _fail(source, f"{where} needs exactly one of 'bend' or 'line', got {sorted(raw)}")
    body = raw.get("body")
    if body is not None and body not in BODY_FRAMES:
        raise _fail(source, f"{where}: body must be one of {', '.join(BODY_FRAMES)}")
    if kinds[0] == "bend":
        joints = raw["bend"]
        if not isinstance(joints, list | tuple) or len(joints) != 3:
            raise _fail(source, f"{where}: bend needs three joints, e.g. [hip, knee, ankle]")
        joints = tuple(_joint(source, where, j) for j in joints)
        if body is None:
            body = "pelvis" if "hip" in joints[0] or "knee" in joints[0] else "thorax"
        return Twist("bend", joints=joints, body=body)
    lines = raw["line"]
    if (
        isinstance(lines, list | tuple)
        and len(lines) == 2
        and all(isinstance(j, str) for j in lines)
    ):
        lines = [lines]
    if not isinstance(lines, list | tuple) or not lines:
        raise _fail(source, f"{where}: line needs [from, to] or a list of such pairs")
    pairs = []
    for pair in lines:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise _fail(source, f"{where}: each line is a [from, to] pair, got {pair!r}")
        pairs.append((_joint(source, where, pair[0]), _joint(source, where, pair[1])))
    if body is None:
        body = "pelvis" if any("hip" in j for pair in pairs for j in pair) else "thorax"
    return Twist("line", lines=tuple(pairs), body=body)


def _parse_spec(source: str, joint: str, raw: object) -> JointSpec:
    where = f"rest_joints.{joint}"
    if isinstance(raw, str):
        return JointSpec(bone=raw)
    if not isinstance(raw, Mapping):
        raise _fail(source, f"{where} must be a bone name or a mapping")
    if "mean" in raw:
        parts = raw["mean"]
        if not isinstance(parts, list | tuple) or not parts:
            raise _fail(source, f"{where}: mean needs a list")
        return JointSpec(mean=tuple(_parse_spec(source, joint, p) for p in parts))
    if "bone" not in raw:
        raise _fail(source, f"{where} needs 'bone' or 'mean'")
    at = raw.get("at", "head")
    if not (at in ("head", "tail") or isinstance(at, int | float)):
        raise _fail(source, f"{where}: at must be head, tail or a fraction")
    offset = raw.get("offset", (0.0, 0.0, 0.0))
    if not isinstance(offset, list | tuple) or len(offset) != 3:
        raise _fail(source, f"{where}: offset must be [left, up, forward]")
    return JointSpec(
        bone=str(raw["bone"]),
        at=at if isinstance(at, str) else float(at),
        offset=tuple(float(v) for v in offset),
    )


def parse_rig_map(data: Mapping, source: str = "<memory>") -> RigMap:
    """Build a RigMap from parsed YAML, with errors that name the file and the key."""
    if not isinstance(data, Mapping):
        raise _fail(source, "must be a mapping")
    for key in ("family", "root", "bones"):
        if key not in data:
            raise _fail(source, f"missing key {key!r}")
    raw_bones = data["bones"]
    if not isinstance(raw_bones, Mapping) or not raw_bones:
        raise _fail(source, "bones must map bone names to {direction, twist}")
    bones = []
    feet: dict[str, str] = {}
    for name, entry in raw_bones.items():
        if isinstance(entry, Mapping) and "foot" in entry:
            feet[str(name)] = _parse_foot(source, str(name), entry, feet)
            continue
        if not isinstance(entry, Mapping) or "direction" not in entry or "twist" not in entry:
            raise _fail(
                source,
                f"bone {name!r} needs 'direction' and 'twist' (or, for a foot, just "
                "'foot: left' or 'foot: right')",
            )
        direction = entry["direction"]
        if not isinstance(direction, list | tuple) or len(direction) != 2:
            raise _fail(source, f"bone {name!r}: direction is [head joint, tail joint]")
        direction = (
            _joint(source, f"bone {name!r}", direction[0]),
            _joint(source, f"bone {name!r}", direction[1]),
        )
        if direction[0] == direction[1]:
            raise _fail(source, f"bone {name!r}: direction joints must differ")
        bones.append(
            BoneMap(str(name), direction, _parse_twist(source, name, entry["twist"], direction))
        )
    root = str(data["root"])
    if root in feet:
        raise _fail(source, f"root {root!r} is a foot; the root needs 'direction' and 'twist'")
    if root not in raw_bones:
        raise _fail(source, f"root {root!r} must be one of the mapped bones")
    rest_joints = {
        _joint(source, "rest_joints", j): _parse_spec(source, j, spec)
        for j, spec in (data.get("rest_joints") or {}).items()
    }
    properties = {}
    for bone, props in (data.get("properties") or {}).items():
        if not isinstance(props, Mapping):
            raise _fail(source, f"properties.{bone} must map property names to numbers")
        properties[str(bone)] = {str(k): float(v) for k, v in props.items()}
    return RigMap(
        family=str(data["family"]),
        description=str(data.get("description", "")),
        root=root,
        bones=tuple(bones),
        detect=tuple(str(n) for n in (data.get("detect") or ())),
        prefixes=tuple(str(p) for p in (data.get("prefixes") or ())),
        rest_joints=rest_joints,
        parents={str(c): str(p) for c, p in (data.get("parents") or {}).items()},
        properties=properties,
        feet=feet,
        source=source,
    )


def _parse_foot(source: str, bone: str, entry: Mapping, feet: Mapping[str, str]) -> str:
    """A foot entry, ``{foot: left}`` or ``{foot: right}``, and nothing else: the foot's pose comes
    from the contacts and the body's heading, so direction and twist would mean nothing."""
    where = f"bone {bone!r}"
    extra = sorted(str(k) for k in entry if k != "foot")
    if extra:
        raise _fail(
            source,
            f"{where}: a foot entry is just {{foot: left}} or {{foot: right}}; "
            f"it takes no {', '.join(extra)}",
        )
    side = entry["foot"]
    if side not in FOOT_SIDES:
        raise _fail(source, f"{where}: foot must be 'left' or 'right', got {side!r}")
    other = next((b for b, s in feet.items() if s == side), None)
    if other is not None:
        raise _fail(source, f"{where}: the {side} foot is already {other!r}; one foot bone a side")
    return str(side)


def load_rig_map(path: str | Path) -> RigMap:
    """Read one rig map YAML file (a custom rig: copy blender_addon/rigs/TEMPLATE.yaml.example)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RigMapError(f"rig map {path}: cannot read ({exc.strerror or exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RigMapError(f"rig map {path}: not valid YAML ({exc})") from exc
    return parse_rig_map(data, str(path))


def builtin_rig_dir() -> Path | None:
    for folder in BUILTIN_DIRS:
        if folder.is_dir() and any(folder.glob("*.yaml")):
            return folder
    return None


def builtin_rig_maps() -> dict[str, RigMap]:
    """The shipped maps by family name."""
    folder = builtin_rig_dir()
    if folder is None:
        return {}
    maps = {}
    for path in sorted(folder.glob("*.yaml")):
        rig_map = load_rig_map(path)
        maps[rig_map.family] = rig_map
    return maps


def rig_map_by_name(name_or_path: str | Path) -> RigMap:
    """A shipped family by name, or a map file by path."""
    maps = builtin_rig_maps()
    if str(name_or_path) in maps:
        return maps[str(name_or_path)]
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return load_rig_map(path)
    raise RigMapError(
        f"no rig map named {name_or_path!r}; shipped: {', '.join(sorted(maps)) or 'none'}"
    )


# --------------------------------------------------------------------------- matching


def _candidate_prefixes(rig_map: RigMap, names: set[str]) -> list[str]:
    """Prefixes to try: none, the map's own, and any namespace ("something:") seen in front of
    its first detect name. Other discovered prefixes are not tried: Rigify's "DEF-"/"ORG-" copies
    of the meta-rig's bones must not pass for the meta-rig."""
    found = ["", *rig_map.prefixes]
    anchors = rig_map.detect[:1] or (rig_map.root,)
    for anchor in anchors:
        for name in names:
            if name.endswith(anchor) and name != anchor and name[: -len(anchor)].endswith(":"):
                found.append(name[: -len(anchor)])
    return list(dict.fromkeys(found))


def match_prefix(rig_map: RigMap, bone_names: Iterable[str]) -> tuple[str, int]:
    """The prefix under which most of the map's detect bones exist, and how many do."""
    names = set(bone_names)
    detect = rig_map.detect or rig_map.bone_names
    best, best_count = "", -1
    for prefix in _candidate_prefixes(rig_map, names):
        count = sum(prefix + n in names for n in detect)
        if count > best_count:
            best, best_count = prefix, count
    return best, best_count


def missing_bones(rig_map: RigMap, bone_names: Iterable[str]) -> list[str]:
    names = set(bone_names)
    return [b for b in rig_map.required_bones() if b not in names]


def validate(rig_map: RigMap, bone_names: Iterable[str]) -> None:
    """Raise RigMapError naming the family and every bone the armature lacks."""
    missing = missing_bones(rig_map, bone_names)
    if missing:
        raise RigMapError(
            f"rig map {rig_map.family!r} ({rig_map.source}) needs bone(s) the armature lacks: "
            f"{', '.join(missing)}"
            + (f" (names tried with prefix {rig_map.prefix!r})" if rig_map.prefix else "")
        )


def resolve(rig_map: RigMap, bone_names: Iterable[str]) -> RigMap:
    """The map with the armature's prefix applied, validated against its bone names."""
    names = list(bone_names)
    prefix, _ = match_prefix(rig_map, names)
    resolved = rig_map.with_prefix(prefix)
    validate(resolved, names)
    return without_missing_feet(resolved, names)


def without_missing_feet(rig_map: RigMap, bone_names: Iterable[str]) -> RigMap:
    """The map without the foot bones the armature lacks, each named in a warning: feet are
    extra (a hand-made rig with the meta-rig's names but no feet still retargets)."""
    names = set(bone_names)
    missing = [b for b in rig_map.feet if b not in names]
    if not missing:
        return rig_map
    return dataclasses.replace(
        rig_map,
        feet={b: s for b, s in rig_map.feet.items() if b in names},
        warnings=rig_map.warnings
        + tuple(
            f"no foot bone {b!r}: the {rig_map.feet[b]} foot follows the shin" for b in missing
        ),
    )


def detect_rig_map(
    bone_names: Iterable[str],
    maps: Mapping[str, RigMap] | Iterable[RigMap] | None = None,
    *,
    skeleton: Skeleton | None = None,
) -> RigMap:
    """Pick the family whose detect bones the armature has (all of them), resolved and validated.

    Where several families match, the one with the most detect bones (the most specific) wins.
    Where none does and ``skeleton`` (the armature's hierarchy and rest heads/tails) is given,
    the joint matcher derives a map (family ``auto:<naming>``, see `auto_rigmap`). The error for
    an armature nothing fits names the closest family and what it lacks, and the joints the
    matcher could not place.
    """
    names = list(bone_names)
    if maps is None:
        maps = builtin_rig_maps()
    candidates = list(maps.values()) if isinstance(maps, Mapping) else list(maps)
    if not candidates and skeleton is None:
        raise RigMapError("no rig maps to detect from (the rigs folder is missing)")
    if not candidates:
        return _auto_rig_map(skeleton, names, "no rig maps in the rigs folder")
    scored = []
    for rig_map in candidates:
        prefix, count = match_prefix(rig_map, names)
        total = len(rig_map.detect or rig_map.bone_names)
        scored.append((count == total, total if count == total else count / total, rig_map, prefix))
    full = [s for s in scored if s[0]]
    if full:
        _, _, rig_map, prefix = max(full, key=lambda s: s[1])
        resolved = rig_map.with_prefix(prefix)
        validate(resolved, names)
        return without_missing_feet(resolved, names)
    _, _, closest, prefix = max(scored, key=lambda s: s[1])
    lacking = [
        prefix + n for n in (closest.detect or closest.bone_names) if prefix + n not in names
    ]
    closest_text = (
        f"closest is {closest.family!r} ({closest.source}), which lacks {', '.join(lacking)}"
    )
    if skeleton is not None:
        return _auto_rig_map(skeleton, names, closest_text)
    raise RigMapError(
        f"no rig map fits this armature; {closest_text}. "
        "Pick a family by hand or write a map for this rig (blender_addon/rigs/TEMPLATE.yaml.example)"
    )


def _auto_rig_map(skeleton: Skeleton, names: list[str], why_no_yaml: str) -> RigMap:
    """The joint matcher's map (no YAML map fits), validated; its error says both why not."""
    from .auto_rigmap import rig_map_for_skeleton  # imports this module

    try:
        rig_map = rig_map_for_skeleton(skeleton)
    except RigMapError as exc:
        raise RigMapError(f"no rig map fits this armature ({why_no_yaml}) and {exc}") from None
    validate(rig_map, names)
    return rig_map
