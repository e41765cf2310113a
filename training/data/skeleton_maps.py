"""Skeleton maps: which BVH joints are which H36M-17 joints, read from YAML, one file per family.

A map names the 12 joints that have an exact counterpart (hips, knees, ankles, shoulders, elbows,
wrists) and says where the eyes and the nose are. The joints with no exact counterpart are then
derived the same way for every source, in `derive_h36m17` — the same rules the 2D converters in
`mpm_backend.skeleton` apply to detector keypoints, so 2D inputs and 3D targets agree:

    pelvis = mid(left_hip, right_hip)        thorax = mid(left_shoulder, right_shoulder)
    spine  = mid(pelvis, thorax)             head   = mid-eyes          nose = nose

A file's family is detected from its joint names by the YAML maps' `detect` lists; when none
matches and the hierarchy is known, `mpm_backend.joint_matcher` finds the joints by name rules and
the hierarchy and a map is built from its result (`map_from_match`). The YAML maps are the
override; see TEMPLATE.yaml.example to add one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from mpm_backend.joint_matcher import SkeletonMatch, SkeletonMatchError, match_skeleton
from mpm_backend.skeleton import (
    H36M17,
    HEAD_EYES_OFFSET,
    HEAD_NOSE_OFFSET,
    HEAD_NOSE_OFFSET_WITH_EYES,
)

MAPS_DIR = Path(__file__).with_name("skeleton_maps")

# Joints with no exact counterpart in a mocap skeleton: derived, never mapped (see module doc).
DERIVED_JOINTS = ("pelvis", "spine", "thorax", "nose", "head")
# The 12 H36M-17 joints a map must name.
DIRECT_JOINTS = tuple(j for j in H36M17.joints if j not in DERIVED_JOINTS)

_AXES = {"x": 0, "y": 1, "z": 2}
UNITS_TO_METRES = {
    "metres": 1.0,
    "centimetres": 0.01,
    "millimetres": 0.001,
    "inches": 0.0254,
    "cmu": 0.0254 / 0.45,  # CMU ASF length unit (the CMU FAQ value)
}


class UnknownSkeletonError(ValueError):
    """No skeleton map matches a file's joint names."""


def bare_name(name: str) -> str:
    """Drop a namespace prefix ("mixamorig:LeftArm" -> "LeftArm") so maps match any namespace."""
    return name.rsplit(":", 1)[-1]


def _axis_vector(spec: str, where: str) -> np.ndarray:
    spec = spec.strip().lower()
    sign = -1.0 if spec.startswith("-") else 1.0
    axis = spec.lstrip("+-")
    if axis not in _AXES:
        raise ValueError(f"{where}: axis must be one of +x, -x, +y, -y, +z, -z, got {spec!r}")
    v = np.zeros(3)
    v[_AXES[axis]] = sign
    return v


@dataclass(frozen=True)
class PointSpec:
    """Where a point with no BVH joint of its own is: between joints, or fixed in a joint's frame."""

    between: tuple[str, ...] = ()
    joint: tuple[str, ...] = ()  # candidates; the first one present is used
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)  # metres, canonical rest axes

    @classmethod
    def parse(cls, raw: object, where: str) -> PointSpec:
        if not isinstance(raw, dict) or not ({"between"} <= raw.keys() or {"joint"} <= raw.keys()):
            raise ValueError(
                f"{where}: expected {{between: [A, B]}} or {{joint: J, offset: [x, y, z]}}"
            )
        if "between" in raw:
            return cls(between=tuple(raw["between"]))
        joint = raw["joint"]
        joints = tuple(joint) if isinstance(joint, list) else (joint,)
        offset = tuple(float(v) for v in raw.get("offset", (0.0, 0.0, 0.0)))
        if len(offset) != 3:
            raise ValueError(f"{where}: offset needs 3 numbers, got {offset}")
        return cls(joint=joints, offset=offset)

    def names(self) -> tuple[str, ...]:
        return self.between or self.joint


@dataclass(frozen=True)
class SkeletonMap:
    family: str
    description: str
    detect: tuple[str, ...]
    joints: dict[str, tuple[str, ...]]  # H36M joint -> BVH joint candidates
    eyes: PointSpec
    nose: PointSpec
    to_canonical: np.ndarray  # (3, 3): file axes -> Y up, facing +Z, left on +X
    units: str | None = None
    path: Path | None = field(default=None, compare=False)

    @classmethod
    def from_yaml(cls, path: Path) -> SkeletonMap:
        raw = yaml.safe_load(Path(path).read_text())
        where = str(path)
        missing = {"family", "detect", "joints", "eyes", "nose", "up", "forward"} - set(raw or {})
        if missing:
            raise ValueError(f"{where}: missing keys {sorted(missing)} (see TEMPLATE.yaml.example)")
        joints = {}
        for h36m_name in DIRECT_JOINTS:
            if h36m_name not in raw["joints"]:
                raise ValueError(f"{where}: joints has no entry for {h36m_name!r}")
            value = raw["joints"][h36m_name]
            joints[h36m_name] = tuple(value) if isinstance(value, list) else (value,)
        extra = set(raw["joints"]) - set(DIRECT_JOINTS)
        if extra:
            raise ValueError(
                f"{where}: joints lists {sorted(extra)}; only the 12 direct joints may be mapped "
                "(pelvis, spine, thorax, head and nose are derived)"
            )
        up = _axis_vector(raw["up"], f"{where}: up")
        forward = _axis_vector(raw["forward"], f"{where}: forward")
        if abs(up @ forward) > 0:
            raise ValueError(f"{where}: up and forward must be different axes")
        left = np.cross(up, forward)
        # Rows: canonical x (left), y (up), z (forward) expressed in file axes.
        to_canonical = np.stack([left, up, forward])
        units = raw.get("units")
        if units is not None and units not in UNITS_TO_METRES:
            raise ValueError(
                f"{where}: units must be one of {sorted(UNITS_TO_METRES)}, got {units!r}"
            )
        return cls(
            family=str(raw["family"]),
            description=str(raw.get("description", "")),
            detect=tuple(raw["detect"]),
            joints=joints,
            eyes=PointSpec.parse(raw["eyes"], f"{where}: eyes"),
            nose=PointSpec.parse(raw["nose"], f"{where}: nose"),
            to_canonical=to_canonical,
            units=units,
            path=Path(path),
        )

    def matches(self, names: list[str]) -> bool:
        present = {bare_name(n) for n in names}
        return all(n in present for n in self.detect)


def load_skeleton_maps(extra_dirs: tuple[Path, ...] = ()) -> list[SkeletonMap]:
    """The shipped maps plus any *.yaml in extra_dirs (those are tried first)."""
    paths = [p for d in extra_dirs for p in sorted(Path(d).glob("*.yaml"))]
    paths += sorted(MAPS_DIR.glob("*.yaml"))
    return [SkeletonMap.from_yaml(p) for p in paths]


def rest_positions(parents, offsets) -> np.ndarray:
    """(J, 3) rest-pose positions (all rotations zero): each joint's offset summed down the tree."""
    offsets = np.asarray(offsets, dtype=float)
    positions = offsets.copy()
    for joint, parent in enumerate(np.asarray(parents)):
        if parent >= 0:
            positions[joint] += positions[parent]
    return positions


def rest_from_pose(parents, positions, rotations) -> np.ndarray | None:
    """(J, 3) rest pose (all rotations identity) from the first frame of a posed skeleton.

    Readers give global positions (T, J, 3) and rotations (T, J, 3, 3), not offsets; each joint's
    translation in its parent's frame is recovered from frame 0 and summed down the tree, so BVH
    and ASF/AMC files alike get the rest pose. None for a clip with no frames.
    """
    positions, rotations = np.asarray(positions), np.asarray(rotations)
    if positions.shape[0] == 0:
        return None
    parents = np.asarray(parents)
    position, rotation = positions[0], rotations[0]
    offsets = position.copy()
    has_parent = parents >= 0
    parent = parents[has_parent]
    delta = position[has_parent] - position[parent]
    offsets[has_parent] = np.einsum("jba,jb->ja", rotation[parent], delta)  # R_parent^T @ delta
    return rest_positions(parents, offsets)


def map_from_match(match: SkeletonMatch) -> SkeletonMap:
    """A SkeletonMap from the joint matcher's result: what a YAML map would say for this file."""
    name = [bare_name(n) for n in match.names]
    head = (name[match.head],)
    if match.eyes is not None:
        eyes = PointSpec(between=tuple(name[i] for i in match.eyes))
        nose = PointSpec(joint=head, offset=HEAD_NOSE_OFFSET_WITH_EYES)
    else:
        eyes = PointSpec(joint=head, offset=HEAD_EYES_OFFSET)
        nose = PointSpec(joint=head, offset=HEAD_NOSE_OFFSET)
    joints = {joint: (name[match.joints[joint]],) for joint in DIRECT_JOINTS}
    notes = "; ".join(f"{joint} = {note}" for joint, note in match.notes.items())
    return SkeletonMap(
        family=match.convention,
        description="found by name and hierarchy" + (f" ({notes})" if notes else ""),
        detect=tuple(sorted({n for (n,) in joints.values()})),
        joints=joints,
        eyes=eyes,
        nose=nose,
        to_canonical=match.to_canonical,
        units=None,
    )


def detect_skeleton(
    names: list[str],
    source: str = "<bvh>",
    maps: list[SkeletonMap] | None = None,
    parents=None,
    rest=None,
) -> SkeletonMap:
    """The first YAML map whose `detect` joints are all present, else (given the hierarchy and
    rest positions) the joint matcher's map, else a clear error saying what to do."""
    maps = load_skeleton_maps() if maps is None else maps
    for skeleton_map in maps:
        if skeleton_map.matches(names):
            return skeleton_map
    matcher_failure = ""
    if parents is not None and rest is not None:
        try:
            return map_from_match(match_skeleton(names, parents, rest))
        except SkeletonMatchError as err:
            matcher_failure = f" Finding the joints by name and hierarchy failed: {err}."
    present = {bare_name(n) for n in names}
    shown = ", ".join([bare_name(n) for n in names if not n.endswith("_end")][:25])
    closest = ""
    if maps:
        best = min(maps, key=lambda m: sum(n not in present for n in m.detect))
        lacking = ", ".join(n for n in best.detect if n not in present)
        closest = f"; the closest, {best.family!r}, lacks {lacking}"
    raise UnknownSkeletonError(
        f"{source}: unknown skeleton (joints: {shown}). Known families: "
        f"{', '.join(m.family for m in maps) or 'none'}{closest}.{matcher_failure} "
        f"To add one, copy {MAPS_DIR / 'TEMPLATE.yaml.example'} to a new <family>.yaml, fill in "
        "your joint names, and put it in that folder or pass its folder with --skeleton-maps."
    )
