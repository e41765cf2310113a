"""Solve bone rotations for a rig from H36M-17 joint positions (numpy only, no bpy).

Method (docs/architecture.md, "Retargeting"): for each mapped bone, a target frame is built from its direction
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
above the ankles) to the source's, then moved up or down frame by frame so the rig's planted
ankle stands where the source's does (`_ground_rig`: legs in other proportions would float or
sink when the knees bend); the other planted leg then bends or straightens its knee, within a
few degrees, to reach its own height, and with foot lock every planted ankle is held still across
the floor (`leg_reach`).

The spine bones are then turned together so the chest sits on the source's pelvis-to-chest line
with its shoulder line, and the neck bones so the eyes land where the source's are seen from the
chest (`fit_trunk`, `fit_neck`).

The map's foot bones (``foot.L: {foot: left}``) lie flat, as at rest, turned with the body's
heading, while the foot is in contact, and follow the shin in the air, blended over a few frames
(`feet.py`); the contacts are the caller's or detected from the joints.

Twist references stay continuous: where a limb is straight (its bend plane undefined) the last
well-bent frame's plane is carried along, expressed in the body (pelvis or chest) frame and
swung with the limb; where no frame of the clip is bent, a canonical bend (elbows flex forward,
knees backward) is swung onto the limb. Bend-plane and carried references are blended over a
band of bend angles, by rotation about the limb, so there is no jump. Quaternions keep their sign
from frame to frame.

The parts: `rest_pose.py` (the rig at rest and its joints), `bone_frames.py` (direction and
twist frames), `trunk_fit.py` (spine and neck fitting), `rotations.py` (quaternions, swings),
`kinematics.py` (forward kinematics), `feet.py` (planted feet), `leg_reach.py` (planted legs on
the rig's proportions); this module ties them into `solve`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import extremities, feet, leg_reach, trunk_fit
from .bone_frames import CANONICAL_POSE, body_frames, bone_frames
from .coords import JOINT_INDEX, NUM_JOINTS, armature_up, to_armature_space
from .kinematics import pose_world_matrices, posed_joint_positions
from .rest_pose import (
    DEFAULT_REST_OFFSETS,
    LIMB_SEGMENTS,
    REFERENCE_LEG_LENGTH,
    RestBone,
    RestPose,
    bone_matrix_from_head_tail_roll,
    effective_parent,
    has_mapped_ancestor,
    leg_length,
    rest_joint_positions,
    upright_frame,
)
from .rigmaps import RigMap, RigMapError, validate
from .rotations import matrix_to_quaternion, quaternion_continuity, quaternion_to_matrix, unit

# What callers import from here; the parts are importable on their own too.
__all__ = [
    "CANONICAL_POSE",
    "DEFAULT_REST_OFFSETS",
    "REFERENCE_LEG_LENGTH",
    "RestBone",
    "RestPose",
    "RetargetResult",
    "bone_matrix_from_head_tail_roll",
    "effective_parent",
    "matrix_to_quaternion",
    "needed_joints",
    "pose_world_matrices",
    "posed_joint_positions",
    "quaternion_continuity",
    "quaternion_to_matrix",
    "rest_joint_positions",
    "solve",
    "upright_frame",
]

WORLD_UP = np.array([0.0, 0.0, 1.0])  # the source joints are Blender world axes, Z up


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
    contacts: np.ndarray | None = None  # (T, 2) left/right foot contacts the feet were planted by
    foot_weights: np.ndarray | None = None  # (T, 2) 1: planted, 0: following the shin

    @property
    def num_frames(self) -> int:
        return len(self.locations[self.root_bone])


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
    contacts: np.ndarray | None = None,
    hold_feet: bool = False,
    fps: float = 30.0,
    points: extremities.TrackPoints | None = None,
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
    rig_floor: height (armature units, along up) of the rig's ankles when the source's are at
        ``source_floor``. None: the rig's rest ankle height where its rest stands on the origin
        (Blender rigs, Mixamo), else (a BVH's rest floats) the source's ankle height × scale.
    fit_trunk / fit_neck: turn the spine bones so the rig's trunk and shoulder line match the
        source's, and the neck bones so its eyes land where the source's are (`trunk_fit`).
    contacts: (T, 2) left/right feet down, for the map's feet and the root's grounding (None:
        found in ``joints`` at ``fps``; all False: the feet follow the shins).
    hold_feet: also hold the rig's own planted ankles still across the floor (foot lock: the
        source's are held, and a rig in other proportions would slide them; `leg_reach`).
    points: the 2D track behind ``joints`` (same frames): where its layout has hand or heel and
        toe points, the hands and the feet off the floor turn with them (`extremities`).
    """
    joints = np.asarray(joints, dtype=float)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"joints must be (T, {NUM_JOINTS}, 3), got {joints.shape}")
    validate(rig_map, rest.names)
    num_frames, up = len(joints), armature_up(armature_matrix)
    source_floor = _source_floor(joints, floor_percentile) if source_floor is None else source_floor
    target = to_armature_space(joints, armature_matrix)
    floor_point = to_armature_space(WORLD_UP * source_floor, armature_matrix)
    rest_joints = _placed_rest_joints(rest, rig_map, up)
    mapped_world = _mapped_world_rotations(rest, rig_map, rest_joints, target)
    root = rig_map.root  # its location: the source's pelvis path, scaled, over the floor
    scale, rig_floor, pelvis_rig, head_target = _root_path(
        rest, rig_map, mapped_world, rest_joints, target, (floor_point, up, scale, rig_floor)
    )
    fitting = (rest, rig_map, mapped_world, root, head_target)  # fit_* turn mapped_world in place
    if fit_trunk:
        trunk_fit.fit_trunk(*fitting, pelvis_rig, target)
    if fit_neck:
        trunk_fit.fit_neck(*fitting, rest_joints, target, scale)
    rotations = _basis_rotations(rest, rig_map, mapped_world, num_frames)
    world = {n: np.broadcast_to(mapped_world[n], (num_frames, 3, 3)) for n in rotations}
    contacts, weights = _foot_weights(joints, contacts, fps, source_floor, bool(rig_map.feet))
    if rig_map.feet:  # after the fits: a foot in the air follows its shin as finally solved
        parents = trunk_fit.WorldRotations(rest, rig_map, mapped_world)
        planted = feet.plant_feet(rest, rig_map, parents, rest_joints, target, up, weights)
        rotations, world = {**rotations, **planted[0]}, {**world, **planted[1]}
    if points is not None:  # hands, and feet off the floor, from the detector's own points
        parents = trunk_fit.WorldRotations(rest, rig_map, mapped_world)
        solved = (rotations, world)
        rotations, world = extremities.apply(
            rest, rig_map, parents, target, solved, weights, points, fps, up
        )
    location = np.zeros((num_frames, 3))
    if root_motion:
        floor = (target, floor_point, up, scale, rig_floor)
        held = contacts if hold_feet else None
        location, rotations, world = _root_motion(
            rest, rig_map, (rotations, world), head_target, (contacts, weights, held), floor, fps
        )
    return RetargetResult(
        rotations=rotations,
        locations={root: location},
        root_bone=root,
        scale=float(scale),
        rest_joints=rest_joints,
        target_joints=target,
        world_rotations=world,
        contacts=contacts,
        foot_weights=weights,
    )


def _root_motion(
    rest: RestPose,
    rig_map: RigMap,
    solved: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
    head_target: np.ndarray,
    planted: tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None],
    floor: tuple,
    fps: float,
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The root's location on the source's path, the rig standing on its lower planted foot,
    the other planted leg reaching the floor (`leg_reach`), and the rotations with feet lifted
    out of the floor. planted: the feet's contacts, planted weights and the contacts whose rig
    ankles are held across the floor too (T, 2 each; None: none). The root's parents keep
    their rest pose, so M_pose(root) = M_rest(root) @ M_basis(root)."""
    rotations, world = solved
    contacts, weights, held = planted
    root = rig_map.root
    location = (head_target - rest[root].head) @ rest.rotation(root)
    wanted = _wanted_ankles(floor)
    location = _ground_rig(rest, rig_map, rotations, location, contacts, wanted, floor)
    if weights is not None and np.any(weights):
        rotations, world = leg_reach.reach_floor(
            rest, rig_map, (rotations, world), location, wanted, weights, floor[2], held
        )
    rotations, world = _lift_feet(rest, rig_map, (rotations, world), location, floor, fps, weights)
    return location, rotations, world


def _root_path(
    rest: RestPose,
    rig_map: RigMap,
    mapped_world: dict[str, np.ndarray],
    rest_joints: np.ndarray,
    target: np.ndarray,
    floor: tuple[np.ndarray, np.ndarray, float | None, float | None],
) -> tuple[float, np.ndarray, np.ndarray]:
    """The root motion's scale, the rig's pelvis path (the source's, scaled, over the world
    floor) and the root bone's head path. floor: (floor point, up, scale, rig floor) as `solve`
    has them, None for the scale or rig floor to derive them."""
    floor_point, up, scale, rig_floor = floor
    if scale is None:
        scale = _leg_scale(rest_joints, target)
    if rig_floor is None:
        rig_floor = _rig_floor(rest, rest_joints, up, scale * float(floor_point @ up))
    pelvis_rig = scale * (target[:, JOINT_INDEX["pelvis"]] - floor_point) + rig_floor * up
    root = rig_map.root
    offset = rest[root].head - rest_joints[JOINT_INDEX["pelvis"]]  # the root's head off the pelvis
    turn = mapped_world[root] @ rest.rotation(root).T
    head_target = np.nan_to_num(pelvis_rig + np.einsum("tij,j->ti", turn, offset))
    return float(scale), float(rig_floor), pelvis_rig, head_target


def _ground_rig(
    rest: RestPose,
    rig_map: RigMap,
    rotations: dict[str, np.ndarray],
    location: np.ndarray,
    contacts: np.ndarray | None,
    wanted: np.ndarray,
    floor: tuple[np.ndarray, np.ndarray, np.ndarray, float, float],
) -> np.ndarray:
    """The root's location moved along up, frame by frame, so the rig's own lower planted ankle
    stands where the source's does above the floor (scaled: ``wanted`` (T, 2),
    `_wanted_ankles`) wherever a foot is down; the shift is interpolated in between.

    The root follows the source's pelvis scaled by the ratio of leg lengths; a rig whose thigh
    and shin are in other proportions than the source's would float or sink whenever the knees
    bend (a deep stance, a crouch); no frame in between puts an ankle under the rig's floor
    (unless the source's own ankle goes under its floor there).
    floor: (the source joints in armature space, its floor point, up, the root's scale, the
    rig's ankle height on the floor).
    """
    *_, up, _, rig_floor = floor
    if contacts is None or not np.any(contacts):
        return location
    limbs = [b.bone for b in rig_map.bones if b.direction in LIMB_SEGMENTS]  # not every bone
    pose = pose_world_matrices(
        rest, rotations, {rig_map.root: location}, rig_map=rig_map, bones=limbs
    )
    ankles = posed_joint_positions(rest, rig_map, pose)
    names = ("left_ankle", "right_ankle")
    if not all(name in ankles for name in names):
        return location
    heights = np.stack([ankles[name] @ up for name in names], axis=1)  # (T, 2)
    lower = np.argmin(np.where(contacts, wanted, np.inf), axis=1)  # the lower planted foot
    frames = np.flatnonzero(contacts.any(axis=1))
    picked = np.arange(len(heights)), lower
    shift = wanted[picked] - heights[picked]
    shift = np.interp(np.arange(len(location)), frames, shift[frames])
    floor_level = np.minimum(rig_floor, wanted.min(axis=1))  # as low as the source goes, no lower
    shift += np.maximum(floor_level - (heights.min(axis=1) + shift), 0.0)
    return location + (shift[:, None] * up) @ rest.rotation(rig_map.root)


def _wanted_ankles(floor: tuple[np.ndarray, np.ndarray, np.ndarray, float, float]) -> np.ndarray:
    """(T, 2) the heights (along up) the rig's left and right ankles take where the source's
    feet are down: the source's ankles above its floor, scaled, over the rig's floor.
    floor: as `_ground_rig` has it."""
    target, floor_point, up, scale, rig_floor = floor
    ankle_joints = [JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]
    return rig_floor + scale * ((target[:, ankle_joints] - floor_point) @ up)


def _lift_feet(
    rest: RestPose,
    rig_map: RigMap,
    solved: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
    location: np.ndarray,
    floor: tuple[np.ndarray, np.ndarray, np.ndarray, float, float],
    fps: float,
    weights: np.ndarray | None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The basis and world rotations (``solved``) with the map's feet pitched up where their
    toes or heels would go under the rig's floor, and planted ones (``weights`` (T, 2)) with a
    raised ankle pitched down onto it (`feet.feet_above_floor`), the root where it finally
    stands. floor: as `_ground_rig` has it."""
    rotations, world = solved
    *_, up, _, rig_floor = floor
    names = [b for b in rig_map.feet if b in rest]
    if not names:
        return rotations, world
    wanted = names + [p for b in names if (p := effective_parent(rest, rig_map, b)) is not None]
    pose = pose_world_matrices(
        rest, rotations, {rig_map.root: location}, rig_map=rig_map, bones=wanted
    )
    lifted = feet.feet_above_floor(rest, rig_map, pose, up, rig_floor, fps, weights)
    return {**rotations, **lifted[0]}, {**world, **lifted[1]}


def _foot_weights(
    joints: np.ndarray, contacts: np.ndarray | None, fps: float, floor: float, needed: bool
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The feet's contacts (given, else detected when the map has feet) and planted weights."""
    if contacts is None:
        if not needed:
            return None, None
        contacts = feet.detect_contacts(joints, fps, floor)
    contacts = np.asarray(contacts, dtype=bool)
    if contacts.shape != (len(joints), 2):
        raise ValueError(f"contacts must be ({len(joints)}, 2), got {contacts.shape}")
    blend = max(1, int(round(feet.BLEND_SECONDS * fps)))
    return contacts, feet.contact_weights(contacts, blend)


def _source_floor(joints: np.ndarray, percentile: float) -> float:
    """The source's floor height: a low percentile of the lower ankle over the clip."""
    ankles = joints[:, [JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]] @ WORLD_UP
    lower = np.min(ankles, axis=1)
    lower = lower[np.isfinite(lower)]
    return float(np.percentile(lower, percentile)) if lower.size else 0.0


def _placed_rest_joints(rest: RestPose, rig_map: RigMap, up: np.ndarray) -> np.ndarray:
    """The rig's rest joints (17, 3); refuses a map that leaves a joint the solve needs unplaced."""
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
    return rest_joints


def _mapped_world_rotations(
    rest: RestPose, rig_map: RigMap, rest_joints: np.ndarray, target: np.ndarray
) -> dict[str, np.ndarray]:
    """World rotation of each mapped bone: its target frame times its rest frame transposed,
    applied to the bone's rest orientation (one frame pair per distinct (direction, twist))."""
    target_frames = body_frames(target)
    rest_frames = body_frames(rest_joints[None])
    deltas: dict[tuple, np.ndarray] = {}
    rest_cache: dict = {}
    target_cache: dict = {}
    for bone_map in rig_map.bones:
        if bone_map.key in deltas:
            continue
        a, b = (JOINT_INDEX[n] for n in bone_map.direction)
        rest_dir = unit(rest_joints[b] - rest_joints[a])
        f_rest = bone_frames(bone_map, rest_joints[None], rest_frames, rest_dir, rest_cache)[0]
        f_target = bone_frames(bone_map, target, target_frames, rest_dir, target_cache)
        deltas[bone_map.key] = f_target @ f_rest.T

    mapped = {b.bone: b for b in rig_map.bones}
    root = rig_map.root
    if has_mapped_ancestor(rest, rig_map, root, mapped):
        raise RigMapError(f"rig map {rig_map.family!r}: root {root!r} has a mapped ancestor")
    return {name: deltas[b.key] @ rest.rotation(name) for name, b in mapped.items()}


def _leg_scale(rest_joints: np.ndarray, target: np.ndarray) -> float:
    """The rig's leg length over the source's (median over the clip); 1 without legs."""
    legs = leg_length(target)
    legs = legs[np.isfinite(legs) & (legs > 1e-6)]
    return float(leg_length(rest_joints[None])[0] / np.median(legs)) if legs.size else 1.0


def _rig_floor(
    rest: RestPose, rest_joints: np.ndarray, up: np.ndarray, scaled_source_floor: float
) -> float:
    """Where the rig's ankles go when the source's are on its floor (see `solve`'s rig_floor)."""
    rest_points = np.array([b.head for b in rest.bones] + [b.tail for b in rest.bones])
    lowest = float(np.min(rest_points @ up))
    rig_legs = float(leg_length(rest_joints[None])[0])
    if abs(lowest) <= 0.1 * rig_legs:  # the rig stands on its origin: keep its ankle height
        return float(
            np.min(rest_joints[[JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]] @ up)
        )
    return scaled_source_floor  # a floating rest pose (BVH): the source's ankle height, scaled


def _basis_rotations(
    rest: RestPose, rig_map: RigMap, mapped_world: dict[str, np.ndarray], num_frames: int
) -> dict[str, np.ndarray]:
    """World rotations → pose-bone quaternions (T, 4), parent to child, sign-continuous."""
    world = trunk_fit.WorldRotations(rest, rig_map, mapped_world)
    rotations = {}
    for bone_map in rig_map.bones:
        name = bone_map.bone
        if name in rotations:
            continue
        rotations[name] = world.basis(name, np.broadcast_to(world(name), (num_frames, 3, 3)))
    return rotations
