"""Solve bone rotations for a rig from H36M-17 joint positions (numpy only, no bpy).

Method (DESIGN.md, "Blender"): for each mapped bone, a target frame is built from its direction
(joint to joint) and a twist reference (a limb's bend plane, a line across the body); the same
frame is built on the rig's rest pose, from the rig's rest joint positions; the bone's world
rotation is target frame x rest frame^T applied to the bone's rest orientation. World rotations
become Blender pose-bone local rotations parent to child:

    M_pose(b) = M_pose(p) @ (M_rest(p)^-1 @ M_rest(b)) @ M_basis(b)
    basis(b)  = (M_rest(b)^-1 @ M_rest(p)) @ M_pose(p)^-1 @ M_pose(b)

(rotation parts; M_rest is ``bone.matrix_local``, the bone's rest frame in armature space with
its Y axis head to tail). Bones the map leaves out keep an identity basis, so they follow their
parent. The rig keeps its own bone lengths: only rotations are solved, plus the root's location,
which follows the pelvis trajectory scaled by the ratio of the rig's leg length (hip height
above the ankles) to the source's.

The spine bones are then turned together so the chest sits on the source's pelvis-to-chest line
with its shoulder line, and the neck bones so the eyes land where the source's are seen from the
chest (`_fit_trunk`, `_fit_neck`).

Twist references stay continuous: where a limb is straight (its bend plane undefined) the last
well-bent frame's plane is carried along, expressed in the body (pelvis or chest) frame and
swung with the limb; where no frame of the clip is bent, a canonical bend (elbows flex forward,
knees backward) is swung onto the limb. Bend-plane and carried references are blended over a
band of bend angles, by rotation about the limb, so there is no jump. Quaternions keep their sign
from frame to frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .coords import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, armature_up, to_armature_space
from .rigmaps import BoneMap, JointSpec, RigMap, RigMapError, Twist, validate

EPS = 1e-9

# Bend-plane confidence: sine of the bend angle from which the plane starts to count, and from
# which it alone counts (5 and 15 degrees).
BEND_LOW, BEND_HIGH = np.sin(np.radians(5.0)), np.sin(np.radians(15.0))
# Line references: sine of the angle between the line and the bone direction.
LINE_LOW, LINE_HIGH = 0.2, 0.4

# Leg length (thigh + shin) of the figure the rest-joint offsets in rig maps are written for:
# the CMU actions subjects (DESIGN.md: thigh 0.43 m, shin 0.41 m).
REFERENCE_LEG_LENGTH = 0.84
# Eyes and nose relative to the top of the neck, (left, up, forward) metres on that figure: the
# same points the training data uses (training/data/skeleton_maps), so a rig's rest head is
# compared with the source's neutral head.
DEFAULT_REST_OFFSETS = {"head": (0.0, 0.07, 0.08), "nose": (0.0, 0.03, 0.11)}

# A neutral pose in body coordinates (left, up, forward), metres: T-pose arms with the forearms
# bent a little forward, legs with the knees a little forward. Only its directions matter: it
# fixes which way "no information" twists a straight limb.
_CANONICAL = {
    "pelvis": (0.0, 0.95, 0.0),
    "right_hip": (-0.1, 0.95, 0.0),
    "right_knee": (-0.1, 0.52, 0.03),
    "right_ankle": (-0.1, 0.1, 0.0),
    "left_hip": (0.1, 0.95, 0.0),
    "left_knee": (0.1, 0.52, 0.03),
    "left_ankle": (0.1, 0.1, 0.0),
    "spine": (0.0, 1.2, 0.0),
    "thorax": (0.0, 1.45, 0.0),
    "nose": (0.0, 1.62, 0.11),
    "head": (0.0, 1.66, 0.08),
    "left_shoulder": (0.18, 1.45, 0.0),
    "left_elbow": (0.45, 1.45, 0.0),
    "left_wrist": (0.7, 1.45, 0.06),
    "right_shoulder": (-0.18, 1.45, 0.0),
    "right_elbow": (-0.45, 1.45, 0.0),
    "right_wrist": (-0.7, 1.45, 0.06),
}
CANONICAL_POSE = np.array([_CANONICAL[name] for name in JOINT_NAMES])

# The limb segments whose rest joints a mapped bone's ends give (a bone mapped from left_hip to
# left_knee has left_hip at its head and left_knee at its tail).
_LIMB_SEGMENTS = frozenset(
    (f"{side}_{a}", f"{side}_{b}")
    for side in ("left", "right")
    for a, b in (("hip", "knee"), ("knee", "ankle"), ("shoulder", "elbow"), ("elbow", "wrist"))
)


# --------------------------------------------------------------------------- rest pose


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
        return _orthonormal(self._by_name[name].matrix_local[:3, :3])


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
    return _axis_angle(nor, roll) @ base


def _axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    x, y, z = axis
    c, s = np.cos(angle), np.sin(angle)
    t = 1.0 - c
    return np.array(
        [
            [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
            [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
            [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
        ]
    )


# --------------------------------------------------------------------------- small math


def _norm(v: np.ndarray) -> np.ndarray:
    return np.linalg.norm(v, axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    n = _norm(v)[..., None]
    return np.where(n > EPS, v / np.maximum(n, EPS), 0.0)


def _orthonormal(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m)
    r = u @ vt
    if np.linalg.det(r) < 0:
        u[:, -1] *= -1
        r = u @ vt
    return r


def _smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _fill_index(valid: np.ndarray) -> np.ndarray | None:
    """Per frame, the index of the last valid frame (the first valid one before any)."""
    if not np.any(valid):
        return None
    idx = np.where(valid, np.arange(len(valid)), -1)
    idx = np.maximum.accumulate(idx)
    idx[idx < 0] = int(np.argmax(valid))
    return idx


def _swing(a: np.ndarray, b: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Apply the smallest rotation taking unit a to unit b to v (all (..., 3))."""
    axis = np.cross(a, b)
    c = np.sum(a * b, axis=-1)[..., None]
    opposite = c[..., 0] < -1.0 + 1e-6
    out = v + np.cross(axis, v) + np.cross(axis, np.cross(axis, v)) / np.maximum(1.0 + c, 1e-6)
    if np.any(opposite):  # half a turn about an axis perpendicular to a
        aa = a[opposite]
        perp = np.cross(aa, [1.0, 0.0, 0.0])
        small = _norm(perp) < 1e-3
        perp[small] = np.cross(aa[small], [0.0, 1.0, 0.0])
        perp = _unit(perp)
        vv = v[opposite]
        out[opposite] = 2.0 * np.sum(perp * vv, axis=-1)[..., None] * perp - vv
    return out


def matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4) as (w, x, y, z)."""
    m = np.asarray(m, dtype=float)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    trace = m00 + m11 + m22
    candidates = np.stack(
        [
            np.stack(
                [
                    1.0 + trace,
                    m[..., 2, 1] - m[..., 1, 2],
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 1, 0] - m[..., 0, 1],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 2, 1] - m[..., 1, 2],
                    1.0 + m00 - m11 - m22,
                    m[..., 0, 1] + m[..., 1, 0],
                    m[..., 0, 2] + m[..., 2, 0],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 0, 1] + m[..., 1, 0],
                    1.0 - m00 + m11 - m22,
                    m[..., 1, 2] + m[..., 2, 1],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 1, 0] - m[..., 0, 1],
                    m[..., 0, 2] + m[..., 2, 0],
                    m[..., 1, 2] + m[..., 2, 1],
                    1.0 - m00 - m11 + m22,
                ],
                -1,
            ),
        ],
        -2,
    )  # (..., 4, 4): row k is 4 q_k q (times a positive factor)
    pick = np.argmax(np.stack([trace, m00, m11, m22], -1), axis=-1)
    q = np.take_along_axis(candidates, pick[..., None, None], axis=-2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) quaternions (w, x, y, z), normalised first -> (..., 3, 3)."""
    q = np.asarray(q, dtype=float)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def quaternion_continuity(q: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 so each quaternion is the one of q, -q closer to the previous."""
    q = np.asarray(q, dtype=float)
    if len(q) < 2:
        return q.copy()
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    signs = np.concatenate([np.ones((1,) + dots.shape[1:]), np.where(dots < 0, -1.0, 1.0)])
    return q * np.cumprod(signs, axis=0)[..., None]


# --------------------------------------------------------------------------- rest joints


def upright_frame(joints: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(3, 3) columns (left, up, forward) of a standing rest pose (17, 3): ``up`` as given, left
    along the hip and shoulder lines made perpendicular to it."""
    j = JOINT_INDEX
    up = _unit(np.asarray(up, dtype=float))
    lateral = _unit(joints[j["left_hip"]] - joints[j["right_hip"]]) + _unit(
        joints[j["left_shoulder"]] - joints[j["right_shoulder"]]
    )
    left = _unit(lateral - (lateral @ up) * up)
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
        if bone_map.direction not in _LIMB_SEGMENTS:
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
        size = _leg_length(pos[None])[0] / REFERENCE_LEG_LENGTH
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


def _leg_length(joints: np.ndarray) -> np.ndarray:
    """(T,) thigh + shin length, mean of both sides."""
    j = JOINT_INDEX
    total = 0.0
    for side in ("left", "right"):
        hip, knee, ankle = (joints[:, j[f"{side}_{n}"]] for n in ("hip", "knee", "ankle"))
        total = total + _norm(knee - hip) + _norm(ankle - knee)
    return 0.5 * total


# --------------------------------------------------------------------------- frames


def _filled_unit(v: np.ndarray, fallback: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (T, 3); degenerate frames take the last good frame's (or ``fallback``)."""
    n = _norm(v)
    valid = np.isfinite(n) & (n > 1e-6)
    u = np.where(valid[:, None], v / np.where(valid, n, 1.0)[:, None], 0.0)
    idx = _fill_index(valid)
    if idx is None:
        return np.broadcast_to(np.asarray(fallback, float), v.shape).copy(), valid
    return u[idx], valid


def _axes(primary: np.ndarray, secondary: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Frames (T, 3, 3), columns (a, b, a x b): a = unit primary, b = secondary made
    perpendicular to a; frames where b is undefined keep the previous frame's b."""
    a, _ = _filled_unit(primary, fallback[:, 0])
    s = secondary - np.sum(secondary * a, -1, keepdims=True) * a
    n = _norm(s)
    valid = np.isfinite(n) & (n > 1e-6 * np.maximum(_norm(secondary), 1e-6))
    b = np.where(valid[:, None], s / np.where(valid, n, 1.0)[:, None], 0.0)
    idx = _fill_index(valid)
    if idx is None:
        b = np.broadcast_to(fallback[:, 1], a.shape)
    else:
        b = b[idx]
    b = _unit(b - np.sum(b * a, -1, keepdims=True) * a)
    bad = _norm(b) < 0.5
    if np.any(bad):  # the carried b became parallel to a: any perpendicular will do
        alt = np.cross(a[bad], fallback[:, 2])
        alt[_norm(alt) < 1e-3] = np.cross(a[bad][_norm(alt) < 1e-3], fallback[:, 0])
        b[bad] = _unit(alt)
    return np.stack([a, b, np.cross(a, b)], axis=-1)


def _body_frames(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Pelvis and chest frames (T, 3, 3), columns (left, up, forward), from (T, 17, 3)."""
    j = JOINT_INDEX
    eye = np.eye(3)
    fallback = np.broadcast_to(eye, (1, 3, 3))[0]
    pelvis = _axes(
        joints[:, j["left_hip"]] - joints[:, j["right_hip"]],
        joints[:, j["spine"]] - joints[:, j["pelvis"]],
        fallback,
    )
    thorax = _axes(
        joints[:, j["left_shoulder"]] - joints[:, j["right_shoulder"]],
        joints[:, j["thorax"]] - joints[:, j["spine"]],
        fallback,
    )
    world = np.broadcast_to(eye, thorax.shape)
    return {"pelvis": pelvis, "thorax": thorax, "world": world}


def _canonical(twist: Twist, direction: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Direction and reference of a twist on the canonical pose, body coordinates."""
    c = CANONICAL_POSE
    j = JOINT_INDEX
    d = c[j[direction[1]]] - c[j[direction[0]]]
    if twist.kind == "bend":
        a, b, cc = (c[j[n]] for n in twist.joints)
        ref = np.cross(b - a, cc - b)
    else:
        ref = sum(_unit(c[j[q]] - c[j[p]]) for p, q in twist.lines)
    d = _unit(d)
    ref = ref - (ref @ d) * d
    if np.linalg.norm(ref) < 1e-6:  # a reference along the direction: any perpendicular
        ref = np.cross(d, [0.0, 0.0, 1.0])
        if np.linalg.norm(ref) < 1e-6:
            ref = np.cross(d, [1.0, 0.0, 0.0])
    return d, _unit(ref)


def _twist_reference(
    twist: Twist,
    carrier: tuple[str, str],
    d: np.ndarray,
    joints: np.ndarray,
    frames: dict[str, np.ndarray],
) -> np.ndarray:
    """Unit reference vectors (T, 3) perpendicular to the carrier directions d (T, 3).

    The carrier is the bone's direction for a line twist, and the limb's first segment (hip to
    knee, shoulder to elbow) for a bend twist, so both bones of a limb share one reference.
    """
    j = JOINT_INDEX
    if twist.kind == "bend":
        a, b, c = (joints[:, j[n]] for n in twist.joints)
        u, v = b - a, c - b
        raw = np.cross(u, v)
        strength = _norm(raw) / np.maximum(_norm(u) * _norm(v), EPS)
        low, high = BEND_LOW, BEND_HIGH
    else:
        raw = sum(_unit(joints[:, j[q]] - joints[:, j[p]]) for p, q in twist.lines)
        low, high = LINE_LOW, LINE_HIGH
    perp = raw - np.sum(raw * d, -1, keepdims=True) * d
    # how far the reference stands off the direction (1: perpendicular)
    off_axis = _norm(perp) / np.maximum(_norm(raw), EPS)
    if twist.kind == "bend":
        strength = np.where(off_axis > 0.5, strength, 0.0)
    else:
        strength = off_axis
    strength = np.nan_to_num(strength, nan=0.0)
    weight = _smoothstep(low, high, strength)
    current = _unit(perp)

    frame = frames[twist.body]
    d_local = np.einsum("tji,tj->ti", frame, d)
    sure = strength >= high
    idx = _fill_index(sure)
    if idx is None:
        d0, ref0 = _canonical(twist, carrier)
        held_local = _swing(
            np.broadcast_to(d0, d_local.shape), d_local, np.broadcast_to(ref0, d_local.shape)
        )
    else:
        ref_local = np.einsum("tji,tj->ti", frame, current)
        held_local = _swing(d_local[idx], d_local, ref_local[idx])
    held = np.einsum("tij,tj->ti", frame, held_local)
    held = held - np.sum(held * d, -1, keepdims=True) * d
    held_ok = _norm(held) > 1e-3
    held = _unit(held)
    if not np.all(held_ok):
        # the carried reference fell onto the direction: take a neighbouring frame's
        fill = _fill_index(held_ok)
        if fill is None:
            held = _unit(np.cross(d, frame[:, :, 2]))
        else:
            held = _unit(held[fill] - np.sum(held[fill] * d, -1, keepdims=True) * d)
    # rotate the held reference toward the current one by weight x angle, about d
    cos = np.sum(held * current, -1)
    sin = np.sum(d * np.cross(held, current), -1)
    angle = np.where(weight > 0, np.arctan2(sin, cos), 0.0) * weight
    out = held * np.cos(angle)[:, None] + np.cross(d, held) * np.sin(angle)[:, None]
    return _unit(out)


def _direction(joints: np.ndarray, pair: tuple[str, str], fallback: np.ndarray) -> np.ndarray:
    a, b = (JOINT_INDEX[n] for n in pair)
    d, _ = _filled_unit(joints[:, b] - joints[:, a], fallback)
    return d


def _bone_frames(
    bone_map: BoneMap,
    joints: np.ndarray,
    frames: dict[str, np.ndarray],
    fallback_dir: np.ndarray,
    cache: dict,
) -> np.ndarray:
    """(T, 3, 3) frames with columns (reference, direction, reference x direction)."""
    d = _direction(joints, bone_map.direction, fallback_dir)
    twist = bone_map.twist
    if twist.kind == "bend":
        carrier = twist.joints[:2]
        if twist not in cache:
            cd = d if carrier == bone_map.direction else _direction(joints, carrier, fallback_dir)
            cache[twist] = _twist_reference(twist, carrier, cd, joints, frames)
        ref = cache[twist]
        perp = ref - np.sum(ref * d, -1, keepdims=True) * d
        ok = _norm(perp) > 1e-6
        ref = _unit(perp)
        if not np.all(ok):  # the reference along the bone (a limb folded flat): keep the last
            fill = _fill_index(ok)
            ref = _unit(np.cross(d, [0.0, 0.0, 1.0])) if fill is None else ref[fill]
            ref = _unit(ref - np.sum(ref * d, -1, keepdims=True) * d)
    else:
        ref = _twist_reference(twist, bone_map.direction, d, joints, frames)
    return np.stack([ref, d, np.cross(ref, d)], axis=-1)


# --------------------------------------------------------------------------- solving


@dataclass
class RetargetResult:
    """Pose-bone channels for the mapped bones, one row per frame.

    rotations: bone -> (T, 4) ``rotation_quaternion`` (w, x, y, z), sign-continuous over time.
    locations: root bone -> (T, 3) ``location`` (pose-bone basis, in the bone's rest frame).
    """

    rotations: dict[str, np.ndarray]
    locations: dict[str, np.ndarray]
    root_bone: str
    scale: float
    rest_joints: np.ndarray  # (17, 3) the rig's rest joints, armature space
    target_joints: np.ndarray  # (T, 17, 3) source joints in armature space (not rescaled)
    world_rotations: dict[str, np.ndarray] = field(default_factory=dict)  # bone -> (T, 3, 3)

    @property
    def num_frames(self) -> int:
        return len(self.locations[self.root_bone])


def effective_parent(rest: RestPose, rig_map: RigMap | None, name: str) -> str | None:
    if rig_map is not None and name in rig_map.parents:
        return rig_map.parents[name]
    return rest[name].parent


def needed_joints(rig_map: RigMap) -> set[str]:
    names = {
        "pelvis",
        "spine",
        "thorax",
        "left_hip",
        "right_hip",
        "left_shoulder",
        "right_shoulder",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    }
    for b in rig_map.bones:
        names.update(b.direction)
        names.update(b.twist.joint_names)
    return names


def solve(
    joints: np.ndarray,
    rest: RestPose,
    rig_map: RigMap,
    *,
    armature_matrix: np.ndarray | None = None,
    scale: float | None = None,
    root_motion: bool = True,
    source_floor: float | None = None,
    floor_percentile: float = 2.0,
    rig_floor: float | None = None,
    fit_trunk: bool = True,
    fit_neck: bool = True,
) -> RetargetResult:
    """Bone rotations (and the root's location) that pose ``rest`` like ``joints``.

    joints: (T, 17, 3) H36M-17, Blender orientation (Z up, metres), relative to the armature
        object (see `coords.camera_clip_to_blender`): the motion plays where the armature is.
    rest: the armature's rest pose (`RestPose.from_bpy_bones(armature.data.bones)`).
    rig_map: resolved against the armature (`rigmaps.detect_rig_map` / `rigmaps.resolve`).
    armature_matrix: the armature object's ``matrix_world`` (4, 4); its rotation and scale
        take the joints into armature space (its location is ignored). None: identity.
    scale: source-to-rig scale for the root motion; None: the rig's leg length over the
        source's (median over the clip), which is the hip-height ratio for a standing figure.
    root_motion: False leaves the root's location at rest (rotations only).
    source_floor: height of the source's ankles when the feet are down (world Z); None: a low
        percentile of the lower ankle over the clip.
    rig_floor: height (armature units, along up) at which the rig's ankles go when the source's
        are at ``source_floor``. None: the rig's rest ankle height where its rest pose stands on
        the armature origin (Blender rigs, Mixamo), else (a BVH import, whose rest floats around
        the root) the source's ankle height times the scale.
    fit_trunk: turn the spine bones together so the rig's pelvis-to-chest direction and shoulder
        line match the source's (see `_fit_trunk`).
    fit_neck: turn the neck bones together so the rig's eyes (the head joint) land where the
        source's are, seen from the chest (see `_fit_neck`).
    """
    joints = np.asarray(joints, dtype=float)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"joints must be (T, {NUM_JOINTS}, 3), got {joints.shape}")
    validate(rig_map, rest.names)
    num_frames = len(joints)
    up = armature_up(armature_matrix)
    world_up = np.array([0.0, 0.0, 1.0])
    if source_floor is None:
        ankles = joints[:, [JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]] @ world_up
        lower = np.min(ankles, axis=1)
        lower = lower[np.isfinite(lower)]
        source_floor = float(np.percentile(lower, floor_percentile)) if lower.size else 0.0
    target = to_armature_space(joints, armature_matrix)
    floor_point = to_armature_space(world_up * source_floor, armature_matrix)

    rest_joints = rest_joint_positions(rest, rig_map, up)
    missing = [
        n
        for n in sorted(needed_joints(rig_map))
        if not np.all(np.isfinite(rest_joints[JOINT_INDEX[n]]))
    ]
    if missing:
        raise RigMapError(
            f"rig map {rig_map.family!r} ({rig_map.source}): cannot place joint(s) "
            f"{', '.join(missing)} on the rig's rest pose; add them under rest_joints"
        )

    # target and rest frames for each distinct (direction, twist)
    target_frames = _body_frames(target)
    rest_frames = _body_frames(rest_joints[None])
    deltas: dict[tuple, np.ndarray] = {}
    rest_cache: dict = {}
    target_cache: dict = {}
    for bone_map in rig_map.bones:
        if bone_map.key in deltas:
            continue
        a, b = (JOINT_INDEX[n] for n in bone_map.direction)
        rest_dir = _unit(rest_joints[b] - rest_joints[a])
        f_rest = _bone_frames(bone_map, rest_joints[None], rest_frames, rest_dir, rest_cache)[0]
        f_target = _bone_frames(bone_map, target, target_frames, rest_dir, target_cache)
        deltas[bone_map.key] = f_target @ f_rest.T

    mapped = {b.bone: b for b in rig_map.bones}
    root = rig_map.root
    if _has_mapped_ancestor(rest, rig_map, root, mapped):
        raise RigMapError(f"rig map {rig_map.family!r}: root {root!r} has a mapped ancestor")
    mapped_world = {name: deltas[b.key] @ rest.rotation(name) for name, b in mapped.items()}

    # root location: the pelvis trajectory, scaled, over the world floor
    legs = _leg_length(target)
    legs = legs[np.isfinite(legs) & (legs > 1e-6)]
    if scale is None:
        scale = float(_leg_length(rest_joints[None])[0] / np.median(legs)) if legs.size else 1.0
    if rig_floor is None:
        rest_points = np.array([b.head for b in rest.bones] + [b.tail for b in rest.bones])
        lowest = float(np.min(rest_points @ up))
        rig_legs = float(_leg_length(rest_joints[None])[0])
        if abs(lowest) <= 0.1 * rig_legs:  # the rig stands on its origin: keep its ankle height
            rig_floor = float(
                np.min(rest_joints[[JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]] @ up)
            )
        else:  # a floating rest pose (BVH): the source's ankle height, scaled
            rig_floor = scale * float(floor_point @ up)
    pelvis_rig = scale * (target[:, JOINT_INDEX["pelvis"]] - floor_point) + rig_floor * up
    pelvis_rest = rest_joints[JOINT_INDEX["pelvis"]]
    root_bone = rest[root]
    head_target = pelvis_rig + np.einsum(
        "tij,j->ti", mapped_world[root] @ rest.rotation(root).T, root_bone.head - pelvis_rest
    )
    head_target = np.nan_to_num(head_target)

    if fit_trunk:
        _fit_trunk(rest, rig_map, mapped_world, root, head_target, pelvis_rig, target)
    if fit_neck:
        _fit_neck(rest, rig_map, mapped_world, root, head_target, rest_joints, target, scale)
    world = _WorldRotations(rest, rig_map, mapped_world)

    rotations = {}
    for name in mapped:
        w = world(name)
        parent = effective_parent(rest, rig_map, name)
        r_rest = rest.rotation(name)
        if parent is None:
            basis = r_rest.T @ w
        else:
            pw = np.broadcast_to(world(parent), w.shape)
            basis = (r_rest.T @ rest.rotation(parent)) @ np.swapaxes(pw, -1, -2) @ w
        basis = np.broadcast_to(basis, (num_frames, 3, 3))
        rotations[name] = quaternion_continuity(matrix_to_quaternion(basis))

    # the root's parents keep their rest pose, so M_pose(root) = M_rest(root) @ M_basis(root)
    location = (head_target - root_bone.head) @ rest.rotation(root)
    if not root_motion:
        location = np.zeros_like(location)
    return RetargetResult(
        rotations=rotations,
        locations={root: location},
        root_bone=root,
        scale=float(scale),
        rest_joints=rest_joints,
        target_joints=target,
        world_rotations={n: np.broadcast_to(mapped_world[n], (num_frames, 3, 3)) for n in mapped},
    )


class _WorldRotations:
    """World (armature-space) rotations of any bone: mapped bones as solved, others following
    their parent with an identity basis; memoised, (3, 3) while static, (T, 3, 3) once posed."""

    def __init__(self, rest: RestPose, rig_map: RigMap, mapped_world: dict[str, np.ndarray]):
        self.rest, self.rig_map, self.memo = rest, rig_map, dict(mapped_world)

    def __call__(self, name: str) -> np.ndarray:
        if name not in self.memo:
            parent = effective_parent(self.rest, self.rig_map, name)
            r_rest = self.rest.rotation(name)
            if parent is None:
                self.memo[name] = r_rest
            else:
                self.memo[name] = self(parent) @ (self.rest.rotation(parent).T @ r_rest)
        return self.memo[name]

    def heads(
        self, names: Iterable[str], root: str, root_head: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Posed head positions (T, 3): the root's at ``root_head``, bones above it at rest."""
        out: dict[str, np.ndarray] = {root: root_head}

        def head(name: str) -> np.ndarray:
            if name not in out:
                bone = self.rest[name]
                parent = effective_parent(self.rest, self.rig_map, name)
                if parent is None:
                    out[name] = bone.head
                else:
                    offset = self.rest.rotation(parent).T @ (bone.head - self.rest[parent].head)
                    out[name] = head(parent) + np.einsum("...ij,j->...i", self(parent), offset)
            return out[name]

        return {name: head(name) for name in names}


_TRUNK_JOINTS = frozenset(("pelvis", "spine", "thorax", "left_shoulder", "right_shoulder"))


def _fit_trunk(
    rest: RestPose,
    rig_map: RigMap,
    mapped_world: dict[str, np.ndarray],
    root: str,
    root_head: np.ndarray,
    pelvis_rig: np.ndarray,
    target: np.ndarray,
    iterations: int = 2,
) -> None:
    """Turn the spine bones together so the rig's pelvis-to-chest direction and shoulder line
    are the source's.

    Each spine bone's rotation comes from its own frame, so the chain's end (the shoulders, and
    the arms hanging from them) drifts by up to a centimetre from where one rigid trunk would
    put it. A common rotation of the spine bones (not the root, not the limbs, neck or head,
    whose world rotations stay as solved) about the lowest one's head removes that.
    """
    trunk = [b.bone for b in rig_map.bones if b.bone != root and set(b.direction) <= _TRUNK_JOINTS]
    arms = _shoulder_bones(rig_map)
    if not trunk or len(arms) != 2:
        return
    trunk_set = set(trunk)
    base = next(
        (
            n
            for n in rest.names
            if n in trunk_set and not any(a in trunk_set for a in _ancestors(rest, rig_map, n))
        ),
        None,
    )
    if base is None or root not in _ancestors(rest, rig_map, base):
        return
    j = JOINT_INDEX
    goal_dir = _unit(target[:, j["thorax"]] - target[:, j["pelvis"]])
    goal_line = target[:, j["left_shoulder"]] - target[:, j["right_shoulder"]]
    fallback = np.eye(3)
    for _ in range(iterations):
        world = _WorldRotations(rest, rig_map, mapped_world)
        heads = world.heads([base, *arms.values()], root, root_head)
        left, right = heads[arms["left_shoulder"]], heads[arms["right_shoulder"]]
        thorax = 0.5 * (left + right)
        length = _norm(thorax - pelvis_rig)[:, None]
        goal = pelvis_rig + length * goal_dir
        have = _axes(thorax - heads[base], left - right, fallback)
        want = _axes(goal - heads[base], goal_line, fallback)
        turn = want @ np.swapaxes(have, -1, -2)
        for name in trunk:
            mapped_world[name] = turn @ mapped_world[name]


def _shoulder_bones(rig_map: RigMap) -> dict[str, str]:
    """The first bone mapped along each upper arm: left_shoulder / right_shoulder -> bone."""
    arms: dict[str, str] = {}
    for b in rig_map.bones:
        if b.direction in (("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow")):
            arms.setdefault(b.direction[0], b.bone)
    return arms


def _swing_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, 3, 3) the smallest rotations taking directions a to b (T, 3); identity where either
    is degenerate."""
    a, b = _unit(a), _unit(b)
    eye = np.broadcast_to(np.eye(3), a.shape[:-1] + (3, 3))
    turn = np.stack([_swing(a, b, np.broadcast_to(eye[..., k], a.shape)) for k in range(3)], -1)
    ok = (_norm(a) > 0.5) & (_norm(b) > 0.5)
    return np.where(ok[..., None, None], turn, eye)


def _fit_neck(
    rest: RestPose,
    rig_map: RigMap,
    mapped_world: dict[str, np.ndarray],
    root: str,
    root_head: np.ndarray,
    rest_joints: np.ndarray,
    target: np.ndarray,
    scale: float,
) -> None:
    """Turn the neck bones together so the rig's eyes land where the source's are, seen from
    the chest.

    The head bone (mapped from head to nose) keeps its solved world rotation, so the eyes and
    nose sit where that rotation puts them around the neck's top; the neck bones' own rotations
    come from the chest-to-eyes direction, about the neck's base rather than the chest joint, so
    the neck's top, and the eyes with it, end up a couple of centimetres off. The neck's top
    should be at the source's eyes (from the rig's chest, scaled) minus the head's rotated rest
    offset from the neck's top to the eyes: one common rotation of the neck bones (the mapped
    bones between the chest and the head, not the head) about the lowest one's head aims the
    neck there. On a rig of other proportions the head thus sits where the source's does
    relative to the chest, scaled by the leg-length ratio, and the neck leans as far as that
    takes (`solve(fit_neck=False)` keeps the neck on its chest-to-eyes direction instead).
    Rigs whose head does not hang from mapped neck bones are left alone.
    """
    mapped = {b.bone: b for b in rig_map.bones}
    head_bone = next((b.bone for b in rig_map.bones if b.direction == ("head", "nose")), None)
    arms = _shoulder_bones(rig_map)
    if head_bone is None or len(arms) != 2 or head_bone == root:
        return
    neck = []
    for name in _ancestors(rest, rig_map, head_bone):
        if name not in mapped:
            continue
        if name == root or set(mapped[name].direction) <= _TRUNK_JOINTS:
            break
        neck.append(name)
    if not neck or root not in _ancestors(rest, rig_map, neck[-1]):
        return
    j = JOINT_INDEX
    base = neck[-1]
    world = _WorldRotations(rest, rig_map, mapped_world)
    heads = world.heads([base, head_bone, *arms.values()], root, root_head)
    thorax = 0.5 * (heads[arms["left_shoulder"]] + heads[arms["right_shoulder"]])
    seen = target[:, j["head"]] - target[:, j["thorax"]]
    head_turn = world(head_bone) @ rest.rotation(head_bone).T  # world rotation from rest
    offset = rest_joints[j["head"]] - rest[head_bone].head  # neck top -> eyes at rest
    neck_top = thorax + scale * seen - np.einsum("...ij,j->...i", head_turn, offset)
    have = np.broadcast_to(heads[head_bone] - heads[base], neck_top.shape)
    want = neck_top - heads[base]
    # frames without a usable head joint (missing, collapsed) keep the last good frame's turn
    valid = np.all(np.isfinite(want), -1) & np.all(np.isfinite(have), -1) & (_norm(seen) > 1e-6)
    idx = _fill_index(valid)
    if idx is None:
        return
    turn = _swing_matrix(have, want)[idx]
    for name in neck:
        mapped_world[name] = turn @ mapped_world[name]


def _ancestors(rest: RestPose, rig_map: RigMap, name: str) -> list[str]:
    out = []
    parent = effective_parent(rest, rig_map, name)
    while parent is not None:
        out.append(parent)
        parent = effective_parent(rest, rig_map, parent)
    return out


def _has_mapped_ancestor(rest: RestPose, rig_map: RigMap, name: str, mapped: Mapping) -> bool:
    parent = effective_parent(rest, rig_map, name)
    while parent is not None:
        if parent in mapped:
            return True
        parent = effective_parent(rest, rig_map, parent)
    return False


# --------------------------------------------------------------------------- forward kinematics


def pose_world_matrices(
    rest: RestPose,
    basis_quats: Mapping[str, np.ndarray],
    root_location: np.ndarray | Mapping[str, np.ndarray] | None = None,
    *,
    root_bone: str | None = None,
    rig_map: RigMap | None = None,
    bones: Iterable[str] | None = None,
) -> dict[str, np.ndarray]:
    """Blender's pose matrices (armature space) per bone: name -> (T, 4, 4).

    basis_quats: bone -> (T, 4) pose-bone ``rotation_quaternion``; other bones: identity.
    root_location: (T, 3) pose-bone ``location`` of ``root_bone`` (default: the top-most bone
        with a quaternion), or a mapping bone -> (T, 3).
    rig_map: only for its ``parents`` overrides (Rigify's constraint-driven parents).
    bones: which bones to return (default: all; their ancestors are computed anyway).
    """
    lengths = {len(np.asarray(q)) for q in basis_quats.values()}
    if isinstance(root_location, Mapping):
        locations = {k: np.asarray(v, float) for k, v in root_location.items()}
    elif root_location is not None:
        if root_bone is None:
            root_bone = next(
                n
                for n in rest.names
                if n in basis_quats and not _has_mapped_ancestor(rest, rig_map, n, basis_quats)
            )
        locations = {root_bone: np.asarray(root_location, float)}
    else:
        locations = {}
    lengths |= {len(v) for v in locations.values()}
    if len(lengths) > 1:
        raise ValueError(f"channels have different frame counts: {sorted(lengths)}")
    num_frames = lengths.pop() if lengths else 1
    out: dict[str, np.ndarray] = {}

    def pose(name: str) -> np.ndarray:
        if name in out:
            return out[name]
        bone = rest[name]
        basis = np.broadcast_to(np.eye(4), (num_frames, 4, 4)).copy()
        if name in basis_quats:
            basis[:, :3, :3] = quaternion_to_matrix(basis_quats[name])
        if name in locations:
            basis[:, :3, 3] = locations[name]
        rest_m = bone.matrix_local.copy()
        rest_m[:3, :3] = rest.rotation(name)
        parent = effective_parent(rest, rig_map, name)
        if parent is None:
            m = rest_m @ basis
        else:
            p_rest = rest[parent].matrix_local.copy()
            p_rest[:3, :3] = rest.rotation(parent)
            m = pose(parent) @ (np.linalg.inv(p_rest) @ rest_m) @ basis
        out[name] = m
        return m

    wanted = list(bones) if bones is not None else list(rest.names)
    for name in wanted:
        pose(name)
    return {name: out[name] for name in wanted}


def posed_joint_positions(
    rest: RestPose, rig_map: RigMap, pose: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Where the limb joints the map puts on bone ends are in a posed rig: joint -> (T, 3)."""
    out = {}
    for bone_map in rig_map.bones:
        if bone_map.direction not in _LIMB_SEGMENTS:
            continue
        m = pose[bone_map.bone]
        length = rest[bone_map.bone].length
        for joint, along in zip(bone_map.direction, (0.0, length), strict=True):
            if joint not in out:
                out[joint] = m[:, :3, 3] + along * m[:, :3, 1]
    return out
