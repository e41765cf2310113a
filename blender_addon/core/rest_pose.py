"""A rig at rest: its bones (`RestPose`), their hierarchy, and where it has each H36M-17 joint.

The solver builds each bone's rest frame from these rest joints, and scales the root motion by
the rig's leg length.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ..deps import skeleton
from .coords import JOINT_INDEX, NUM_JOINTS
from .rigmaps import JointSpec, RigMap, RigMapError
from .rotations import axis_angle, norm, orthonormal, unit

# Leg length (thigh + shin) of the figure the rest-joint offsets in rig maps are written for:
# the CMU actions skeleton (thigh 0.43 m, shin 0.41 m; docs/architecture.md).
REFERENCE_LEG_LENGTH = 0.84
# Eyes and nose relative to the top of the neck, (left, up, forward) metres on that figure: the
# same points the training data uses (training/data/skeleton_maps), so a rig's rest head is
# compared with the source's neutral head.
DEFAULT_REST_OFFSETS = {"head": skeleton.HEAD_EYES_OFFSET, "nose": skeleton.HEAD_NOSE_OFFSET}

# The limb segments whose rest joints a mapped bone's ends give (a bone mapped from left_hip to
# left_knee has left_hip at its head and left_knee at its tail).
LIMB_SEGMENTS = frozenset(
    (f"{side}_{a}", f"{side}_{b}")
    for side in ("left", "right")
    for a, b in (("hip", "knee"), ("knee", "ankle"), ("shoulder", "elbow"), ("elbow", "wrist"))
)


@dataclass(frozen=True)
class RestBone:
    """One bone of the rig at rest, as Blender's ``bpy.types.Bone`` has it (armature space)."""

    name: str
    parent: str | None
    matrix_local: np.ndarray  # (4, 4): rest frame; Y axis head -> tail, translation = head
    head: np.ndarray  # (3,) head_local
    tail: np.ndarray  # (3,) tail_local
    length: float


class RestPose:
    """An armature's bones at rest, parents before children."""

    def __init__(self, bones: Iterable[RestBone]):
        bones = list(bones)
        by_name = {b.name: b for b in bones}
        if len(by_name) != len(bones):
            raise ValueError("bone names must be unique")
        ordered: list[RestBone] = []
        placed: set[str] = set()

        def place(bone: RestBone, trail: tuple[str, ...] = ()) -> None:
            if bone.name in placed:
                return
            if bone.name in trail:
                raise ValueError(f"bone parents form a cycle: {' -> '.join(trail)}")
            if bone.parent is not None:
                if bone.parent not in by_name:
                    raise ValueError(f"bone {bone.name!r} has unknown parent {bone.parent!r}")
                place(by_name[bone.parent], (*trail, bone.name))
            ordered.append(bone)
            placed.add(bone.name)

        for bone in bones:
            place(bone)
        self.bones: tuple[RestBone, ...] = tuple(ordered)
        self._by_name = {b.name: b for b in self.bones}

    @classmethod
    def from_bpy_bones(cls, bones: Iterable) -> RestPose:
        """From ``armature.data.bones`` (duck-typed: name, parent, matrix_local, head_local, ...)."""
        return cls(
            RestBone(
                name=b.name,
                parent=b.parent.name if b.parent is not None else None,
                matrix_local=np.array([list(row) for row in b.matrix_local], dtype=float),
                head=np.array(list(b.head_local), dtype=float),
                tail=np.array(list(b.tail_local), dtype=float),
                length=float(b.length),
            )
            for b in bones
        )

    @classmethod
    def from_head_tail_roll(
        cls, bones: Iterable[tuple[str, str | None, Iterable[float], Iterable[float], float]]
    ) -> RestPose:
        """From (name, parent, head, tail, roll) tuples, with Blender's roll convention."""
        out = []
        for name, parent, head, tail, roll in bones:
            head = np.asarray(head, dtype=float)
            tail = np.asarray(tail, dtype=float)
            matrix = np.eye(4)
            matrix[:3, :3] = bone_matrix_from_head_tail_roll(head, tail, roll)
            matrix[:3, 3] = head
            out.append(
                RestBone(name, parent, matrix, head, tail, float(np.linalg.norm(tail - head)))
            )
        return cls(out)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.bones)

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> RestBone:
        return self._by_name[name]

    def rotation(self, name: str) -> np.ndarray:
        return orthonormal(self._by_name[name].matrix_local[:3, :3])


def bone_matrix_from_head_tail_roll(head: np.ndarray, tail: np.ndarray, roll: float) -> np.ndarray:
    """Blender's rest rotation (3, 3) of a bone from head, tail and roll (``vec_roll_to_mat3``).

    Columns are the bone's axes in armature space; Y runs head to tail, roll turns X and Z about
    it (right-handed).
    """
    nor = np.asarray(tail, dtype=float) - np.asarray(head, dtype=float)
    nor = nor / np.linalg.norm(nor)
    x, y, z = nor
    theta = 1.0 + y
    theta_alt = x * x + z * z
    if theta > 6.1e-3 or theta_alt > 2.5e-4**2:
        if theta <= 6.1e-3:
            theta = theta_alt * 0.5 + theta_alt * theta_alt * 0.125
        base = np.array(
            [
                [1.0 - x * x / theta, x, -x * z / theta],
                [-x, y, -z],
                [-x * z / theta, z, 1.0 - z * z / theta],
            ]
        )
    else:  # pointing down -Y: mirror about Z
        base = np.diag([-1.0, -1.0, 1.0])
    return axis_angle(nor, roll) @ base


def effective_parent(rest: RestPose, rig_map: RigMap | None, name: str) -> str | None:
    if rig_map is not None and name in rig_map.parents:
        return rig_map.parents[name]
    return rest[name].parent


def ancestors(rest: RestPose, rig_map: RigMap, name: str) -> list[str]:
    out = []
    parent = effective_parent(rest, rig_map, name)
    while parent is not None:
        out.append(parent)
        parent = effective_parent(rest, rig_map, parent)
    return out


def has_mapped_ancestor(rest: RestPose, rig_map: RigMap, name: str, mapped: Mapping) -> bool:
    parent = effective_parent(rest, rig_map, name)
    while parent is not None:
        if parent in mapped:
            return True
        parent = effective_parent(rest, rig_map, parent)
    return False


def upright_frame(joints: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(3, 3) columns (left, up, forward) of a standing rest pose (17, 3): ``up`` as given, left
    along the hip and shoulder lines made perpendicular to it."""
    j = JOINT_INDEX
    up = unit(np.asarray(up, dtype=float))
    lateral = unit(joints[j["left_hip"]] - joints[j["right_hip"]]) + unit(
        joints[j["left_shoulder"]] - joints[j["right_shoulder"]]
    )
    left = unit(lateral - (lateral @ up) * up)
    return np.stack([left, up, np.cross(left, up)], axis=-1)


def rest_joint_positions(
    rest: RestPose, rig_map: RigMap, up: np.ndarray = (0.0, 0.0, 1.0)
) -> np.ndarray:
    """Where the rig's rest pose has each H36M-17 joint (17, 3), armature space (NaN: unknown).

    Limb joints come from the ends of bones mapped along a limb segment (a bone mapped from
    left_hip to left_knee has left_hip at its head, left_knee at its tail; the first bone to
    claim a joint wins); pelvis, thorax and spine are derived like the source's (mid-hips,
    mid-shoulders, their midpoint); ``rest_joints`` in the map overrides any of them; head
    (mid-eyes) and nose default to the training data's offsets from the top of the neck (the
    head of the bone mapped from the head joint, else the tail of one mapped to it). Offsets are
    (left, up, forward) in the rest pose's upright frame (``up``: the armature-space up), as the
    training data applies them in its rest pose's axes, scaled by the rig's leg length.
    """
    pos = np.full((NUM_JOINTS, 3), np.nan)
    explicit = dict(rig_map.rest_joints)
    for bone_map in rig_map.bones:
        bone = rest[bone_map.bone]
        if bone_map.direction not in LIMB_SEGMENTS:
            continue
        for joint, point in zip(bone_map.direction, (bone.head, bone.tail), strict=True):
            if np.isnan(pos[JOINT_INDEX[joint], 0]):
                pos[JOINT_INDEX[joint]] = point

    def point(spec: JointSpec, frame: np.ndarray | None, size: float) -> np.ndarray:
        if spec.mean:
            return np.mean([point(s, frame, size) for s in spec.mean], axis=0)
        bone = rest[spec.bone]
        at = {"head": 0.0, "tail": 1.0}.get(spec.at, spec.at)
        p = bone.head + float(at) * (bone.tail - bone.head)
        if any(spec.offset):
            if frame is None:
                raise RigMapError(
                    f"rig map {rig_map.family!r}: rest offsets need both hips and shoulders"
                )
            p = p + frame @ (size * np.asarray(spec.offset))
        return p

    def has_offset(spec: JointSpec) -> bool:
        return any(spec.offset) or any(has_offset(s) for s in spec.mean)

    for joint, spec in explicit.items():
        if not has_offset(spec):
            pos[JOINT_INDEX[joint]] = point(spec, None, 1.0)
    j = JOINT_INDEX

    def derive(name: str, a: str, b: str) -> None:
        if name not in explicit or has_offset(explicit[name]):
            pos[j[name]] = 0.5 * (pos[j[a]] + pos[j[b]])

    derive("pelvis", "left_hip", "right_hip")
    derive("thorax", "left_shoulder", "right_shoulder")
    derive("spine", "pelvis", "thorax")

    frame = None
    size = 1.0
    if np.all(
        np.isfinite(pos[[j["pelvis"], j["thorax"], j["left_shoulder"], j["right_shoulder"]]])
    ):
        frame = upright_frame(pos, up)
        size = leg_length(pos[None])[0] / REFERENCE_LEG_LENGTH
        if not np.isfinite(size) or size <= 0:
            size = 1.0
    for joint, spec in explicit.items():
        if has_offset(spec):
            pos[j[joint]] = point(spec, frame, size)
    for joint, offset in DEFAULT_REST_OFFSETS.items():
        if joint in explicit or frame is None:
            continue
        neck_top = next(
            (rest[b.bone].head for b in rig_map.bones if b.direction[0] == "head"), None
        )
        if neck_top is None:
            neck_top = next(
                (rest[b.bone].tail for b in rig_map.bones if b.direction[1] == "head"), None
            )
        if neck_top is not None:
            pos[j[joint]] = neck_top + frame @ (size * np.asarray(offset))
    return pos


def leg_length(joints: np.ndarray) -> np.ndarray:
    """(T,) thigh + shin length, mean of both sides."""
    j = JOINT_INDEX
    total = 0.0
    for side in ("left", "right"):
        hip, knee, ankle = (joints[:, j[f"{side}_{n}"]] for n in ("hip", "knee", "ankle"))
        total = total + norm(knee - hip) + norm(ankle - knee)
    return 0.5 * total
