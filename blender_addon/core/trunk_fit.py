"""Trunk and neck fitting after the per-bone solve: the spine and neck bones turn together so the
chest and the eyes land where the source's are (per-bone frames alone drift a centimetre or two).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .bone_frames import axes
from .coords import JOINT_INDEX
from .rest_pose import RestPose, ancestors, effective_parent
from .rigmaps import RigMap
from .rotations import (
    fill_index,
    matrix_to_quaternion,
    norm,
    quaternion_continuity,
    swing,
    unit,
)


class WorldRotations:
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

    def basis(self, name: str, w: np.ndarray) -> np.ndarray:
        """Pose-bone quaternions (T, 4), sign-continuous, that give ``name`` the world rotations
        ``w`` (T, 3, 3) under its parent as posed here:
        basis = (R_rest(b)^-1 R_rest(p)) W(p)^-1 W(b)."""
        r_rest = self.rest.rotation(name)
        parent = effective_parent(self.rest, self.rig_map, name)
        if parent is None:
            basis = r_rest.T @ w
        else:
            parent_world = np.broadcast_to(self(parent), w.shape)
            basis = (r_rest.T @ self.rest.rotation(parent)) @ np.swapaxes(parent_world, -1, -2) @ w
        return quaternion_continuity(matrix_to_quaternion(basis))

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


def fit_trunk(
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
            if n in trunk_set and not any(a in trunk_set for a in ancestors(rest, rig_map, n))
        ),
        None,
    )
    if base is None or root not in ancestors(rest, rig_map, base):
        return
    j = JOINT_INDEX
    goal_dir = unit(target[:, j["thorax"]] - target[:, j["pelvis"]])
    goal_line = target[:, j["left_shoulder"]] - target[:, j["right_shoulder"]]
    fallback = np.eye(3)
    for _ in range(iterations):
        world = WorldRotations(rest, rig_map, mapped_world)
        heads = world.heads([base, *arms.values()], root, root_head)
        left, right = heads[arms["left_shoulder"]], heads[arms["right_shoulder"]]
        thorax = 0.5 * (left + right)
        length = norm(thorax - pelvis_rig)[:, None]
        goal = pelvis_rig + length * goal_dir
        have = axes(thorax - heads[base], left - right, fallback)
        want = axes(goal - heads[base], goal_line, fallback)
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
    a, b = unit(a), unit(b)
    eye = np.broadcast_to(np.eye(3), a.shape[:-1] + (3, 3))
    turn = np.stack([swing(a, b, np.broadcast_to(eye[..., k], a.shape)) for k in range(3)], -1)
    ok = (norm(a) > 0.5) & (norm(b) > 0.5)
    return np.where(ok[..., None, None], turn, eye)


def fit_neck(
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
    for name in ancestors(rest, rig_map, head_bone):
        if name not in mapped:
            continue
        if name == root or set(mapped[name].direction) <= _TRUNK_JOINTS:
            break
        neck.append(name)
    if not neck or root not in ancestors(rest, rig_map, neck[-1]):
        return
    j = JOINT_INDEX
    base = neck[-1]
    world = WorldRotations(rest, rig_map, mapped_world)
    heads = world.heads([base, head_bone, *arms.values()], root, root_head)
    thorax = 0.5 * (heads[arms["left_shoulder"]] + heads[arms["right_shoulder"]])
    seen = target[:, j["head"]] - target[:, j["thorax"]]
    head_turn = world(head_bone) @ rest.rotation(head_bone).T  # world rotation from rest
    offset = rest_joints[j["head"]] - rest[head_bone].head  # neck top -> eyes at rest
    neck_top = thorax + scale * seen - np.einsum("...ij,j->...i", head_turn, offset)
    have = np.broadcast_to(heads[head_bone] - heads[base], neck_top.shape)
    want = neck_top - heads[base]
    # frames without a usable head joint (missing, collapsed) keep the last good frame's turn
    valid = np.all(np.isfinite(want), -1) & np.all(np.isfinite(have), -1) & (norm(seen) > 1e-6)
    idx = fill_index(valid)
    if idx is None:
        return
    turn = _swing_matrix(have, want)[idx]
    for name in neck:
        mapped_world[name] = turn @ mapped_world[name]
