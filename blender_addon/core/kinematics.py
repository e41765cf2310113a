"""Forward kinematics: Blender's pose matrices from pose-bone channels, the check on a solve."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from .rest_pose import LIMB_SEGMENTS, RestPose, effective_parent, has_mapped_ancestor
from .rigmaps import RigMap
from .rotations import quaternion_to_matrix


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
                if n in basis_quats and not has_mapped_ancestor(rest, rig_map, n, basis_quats)
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
    """Where the limb joints the map puts on bone ends are in a posed rig: joint -> (T, 3).

    A joint is the head of the first bone mapped from it, else the tail of the last bone mapped
    to it: a limb split in two bones (Rigify's DEF-thigh.L and DEF-thigh.L.001) has its knee at
    the shin's head, not halfway down the thigh."""
    limbs = [b for b in rig_map.bones if b.direction in LIMB_SEGMENTS]
    tails = {}
    for bone_map in limbs:
        m = pose[bone_map.bone]
        tails[bone_map.direction[1]] = m[:, :3, 3] + rest[bone_map.bone].length * m[:, :3, 1]
    heads = {}
    for bone_map in limbs:
        heads.setdefault(bone_map.direction[0], pose[bone_map.bone][:, :3, 3])
    return {**tails, **heads}
