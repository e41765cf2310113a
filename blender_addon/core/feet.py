"""Feet that plant: the foot bones' rotations from the foot contacts and the body's heading.

H36M-17 has no toe or heel joint, so a foot's pitch and roll are not in the source. Left at an
identity basis a foot follows the shin rigidly, and tilts into the floor (or off it) as the
shin tilts in stance. Instead, a foot bone named in the rig map (``foot.L: {foot: left}``) gets
a world orientation that is

- planted (the foot in contact): its rest world orientation turned about the up axis by the
  body's change of heading since rest (the heading is the horizontal perpendicular of the hip
  line), so the sole lies as flat as at rest and the foot points where the body points, with
  the rig's own foot splay;
- following the shin (in the air): an identity basis relative to its parent, as before;
- a slerp between the two, the weight ramping in and out (smoothstep) over a few frames around
  each contact, as `cleanup.foot_lock` blends its correction, so nothing pops.

A planted foot whose ankle the source raises (a heel coming up before the foot lifts off) rolls
onto its toes, which bend at the ball to stay flat on the floor (`feet_above_floor`). Otherwise
toes (and anything else below the foot) keep an identity basis: they follow the foot. All
rotations here are in armature space (``up`` is world +Z there); numpy only, no bpy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import cleanup
from .coords import JOINT_INDEX
from .rest_pose import RestPose, effective_parent
from .rigmaps import FOOT_SIDES, RigMap
from .rotations import fill_index, matrix_to_quaternion, quaternion_continuity, unit
from .trunk_fit import WorldRotations

# How long the planted weight takes to ramp from 0 to 1 before a contact (and back after it):
# long enough that landing and lifting turn the foot no faster than the swinging shin does
# (0.1 s adds 5 degrees a frame on a 30 fps walk, 0.2 s none), short enough to be flat by the
# time the heel is down.
BLEND_SECONDS = 0.2
# A foot pitched up off the floor eases in and out over this either side (seconds): a kick
# sweeping past the floor would otherwise snap the foot in a frame.
EASE_SECONDS = 0.1
# A foot may touch this share of its rest ankle height into the floor before it pitches: a
# sole's thickness (5 mm under the meta-rig's 8.5 cm ankle), so a planted foot stays flat through
# the source ankle's millimetre dips, in whatever units the armature has.
SOLE = 0.06
# A planted foot whose ankle stands higher than the flat foot reaches (a heel the source raises
# before the foot lifts off) pitches down onto the floor by up to this (degrees); an ankle held
# higher than that reaches is lifting off, or held up in error, and the pitch fades (`_roll`).
MAX_ROLL_DEG = 45.0
ANGLES = np.radians(np.arange(-60.0, 60.25, 0.5))  # the pitches tried, nearest 0 first
ANGLES = ANGLES[np.argsort(np.abs(ANGLES), kind="stable")]
# A planted foot rolling onto its toes bends them at the ball: they stay flat on the floor while
# the heel peels up, until the foot is pitched TOE_FLAT_DEG; higher, the toes tilt up
# TOE_TILT_RATE times as fast as the foot pitches on (the foot pivots on their tips). That is
# about the least turning of foot and toes together that holds a raised ankle for a foot whose
# ball is twice as far from its ankle as its toes are long (a human foot's, the meta-rig's).
TOE_FLAT_DEG = 25.0
TOE_TILT_RATE = 4.0
MECHANISM = "MCH-"  # Rigify's prefix for helper bones that no animator keys


def detect_contacts(joints: np.ndarray, fps: float, floor: float | None = None) -> np.ndarray:
    """(T, 2) left/right foot contacts of Z-up world joints (T, 17, 3) by `cleanup`'s height
    and speed thresholds: for a solve given none (the add-on and the batch give cleanup's)."""
    return cleanup.detect_foot_contacts(joints, fps, floor=floor)


def contact_weights(contacts: np.ndarray, blend_frames: int) -> np.ndarray:
    """(T, 2) planted weights in [0, 1]: 1 in contact, easing (smoothstep) to 0 over
    ``blend_frames`` frames before and after each contact; the larger where ramps overlap."""
    contacts = np.asarray(contacts, dtype=bool)
    weights = contacts.astype(float)
    num = len(contacts)
    for step in range(1, blend_frames + 1):
        w = 1.0 - step / (blend_frames + 1)
        w = w * w * (3.0 - 2.0 * w)
        if step < num:
            weights[:-step] = np.maximum(weights[:-step], w * contacts[step:])  # before
            weights[step:] = np.maximum(weights[step:], w * contacts[:-step])  # after
    return weights


def _rotation_about(axis: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations by ``angles`` (T,) about one unit ``axis`` (Rodrigues)."""
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    s, c = np.sin(angles)[:, None, None], np.cos(angles)[:, None, None]
    return np.eye(3) + s * k + (1.0 - c) * (k @ k)


def _forward(joints: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(..., 3) the body's horizontal forward: the hip line (right to left) made horizontal,
    crossed with up (left +X, up +Z gives forward -Y, Blender's front view)."""
    line = joints[..., JOINT_INDEX["left_hip"], :] - joints[..., JOINT_INDEX["right_hip"], :]
    line = line - (line @ up)[..., None] * up
    return unit(np.cross(line, up))


def heading_turn(target: np.ndarray, rest_joints: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(T,) the body's change of heading since rest (radians, about ``up``, right-handed): from
    the rig's rest hips to the source's hips each frame. Frames without a hip line (degenerate,
    NaN) keep the last good heading; a clip without any keeps the rest heading."""
    rest_forward = _forward(rest_joints, up)
    forward = _forward(np.nan_to_num(target), up)
    angles = np.arctan2(np.cross(rest_forward, forward) @ up, forward @ rest_forward)
    valid = np.linalg.norm(forward, axis=-1) > 0.5
    index = fill_index(valid)
    return np.zeros(len(target)) if index is None else angles[index]


def slerp(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations ``weight`` (T,) of the way from ``a`` to ``b`` (both (T, 3, 3)), along
    the shorter arc."""
    q = matrix_to_quaternion(np.swapaxes(a, -1, -2) @ b)  # w >= 0: the shorter way
    half = np.arccos(np.clip(q[:, 0], -1.0, 1.0))
    axis = unit(q[:, 1:])
    angle = 2.0 * half * weight
    k = np.zeros((len(q), 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k -= np.swapaxes(k, -1, -2)
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return a @ (np.eye(3) + s * k + (1.0 - c) * (k @ k))


def plant_feet(
    rest: RestPose,
    rig_map: RigMap,
    world: WorldRotations,
    rest_joints: np.ndarray,
    target: np.ndarray,
    up: np.ndarray,
    weights: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Basis quaternions (bone -> (T, 4), sign-continuous) and world rotations (bone ->
    (T, 3, 3)) of the map's foot bones present in ``rest``.

    world: the solved bones' world rotations (`trunk_fit.WorldRotations`), for the parents;
    target: the source joints in armature space (T, 17, 3); weights: (T, 2) planted weights
    (`contact_weights`), left then right.
    """
    num = len(target)
    turn = _rotation_about(up, heading_turn(target, rest_joints, up))
    rotations: dict[str, np.ndarray] = {}
    worlds: dict[str, np.ndarray] = {}
    for bone, side in rig_map.feet.items():
        if bone not in rest:
            continue
        r_rest = rest.rotation(bone)
        parent = effective_parent(rest, rig_map, bone)
        if parent is None:
            follow = np.broadcast_to(r_rest, (num, 3, 3))
        else:  # an identity basis: the rest offset from the parent, as posed
            parent_world = np.broadcast_to(world(parent), (num, 3, 3))
            follow = parent_world @ (rest.rotation(parent).T @ r_rest)
        w = slerp(follow, turn @ r_rest, weights[:, FOOT_SIDES.index(side)])
        rotations[bone], worlds[bone] = world.basis(bone, w), w
    return rotations, worlds


def _subtree(rest: RestPose, bone: str) -> list[str]:
    """``bone`` and every bone under it."""
    names, inside = [bone], {bone}
    for b in rest.bones:
        if b.parent in inside and b.name not in inside:
            names.append(b.name)
            inside.add(b.name)
    return names


def _points(rest: RestPose, names: list[str], frame: str) -> np.ndarray:
    """(N, 3) heads and tails of ``names`` in bone ``frame``'s rest frame relative to its head."""
    points = np.array([p for n in names for p in (rest[n].head, rest[n].tail)])
    return (points - rest[frame].head) @ rest.rotation(frame)


def _toe_bone(rest: RestPose, foot: str) -> str | None:
    """The foot's child that runs forward, along the foot, from the ball: its toes (None when
    it has none; a heel bone runs across the foot). A mechanism bone in between (Rigify's
    ``MCH-toe_fk``, unkeyed: it carries its rest offset) is looked through to the control
    under it, the bone an animator keys."""
    along = rest.rotation(foot)[:, 1]  # the foot's own axis, ankle to ball
    best, reach = None, 0.0
    children = [b.name for b in rest.bones if b.parent == foot]
    while children:
        name = children.pop()
        if name.startswith(MECHANISM):
            children += [b.name for b in rest.bones if b.parent == name]
            continue
        run = rest[name].tail - rest[name].head
        ahead = (rest[name].tail - rest[foot].head) @ along
        if run @ along > 0.5 * np.linalg.norm(run) and ahead > reach:
            best, reach = name, ahead
    return best


class Toe(NamedTuple):
    """A foot's toes in the foot's rest frame, off its head: where they bend (the ball), and
    their points (heads and tails) off the ball."""

    ball: np.ndarray  # (3,)
    points: np.ndarray  # (M, 3)


def lift_to_floor(
    points: np.ndarray,
    ankle: np.ndarray,
    rotation: np.ndarray,
    up: np.ndarray,
    floor: float,
    side: np.ndarray,
    ease_frames: int = 3,
    sole: float = 0.0,
    planted: np.ndarray | None = None,
    toe: Toe | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(T, 3, 3) foot world rotations pitched about the ankle (toe up, or heel up) only as far
    as it takes to keep the foot's lowest point (``points`` (N, 3), the foot's own frame, and
    its ``toe``'s) no more than ``sole`` under the ``floor`` height: a foot following its shin
    near the floor would put its toes through it. The pitch eases in and out over
    ``ease_frames`` either side, never under what a frame needs, so a foot sweeping past the
    floor does not snap. ankle: (T, 3) the foot's head; rotation: (T, 3, 3) its world rotation;
    side: (3,) the axis it pitches about, in its own frame (its rest side to side: well defined
    however the shin swings it). planted: (T,) planted weights: a planted foot whose lowest
    point stands more than ``sole`` over the floor (its ankle raised: a heel coming up before
    lift-off) rolls onto it (`_roll`). Also returns (T,) the toes' bend (radians about the
    same axis, `_roll`)."""
    rotation = np.asarray(rotation, dtype=float)
    axis = rotation @ side
    rigid = points if toe is None else np.vstack([points, toe.ball + toe.points])
    wanted = floor - sole - ankle @ up  # the lowest point's allowed height off the ankle
    offsets = np.einsum("tij,nj->tni", rotation, rigid)  # (T, N, 3)
    sunk = np.flatnonzero(np.min(offsets @ up, axis=1) < wanted)
    need = np.zeros(len(rotation))
    if len(sunk):
        heights = _pitched_heights(offsets[sunk], axis[sunk], up, ANGLES)  # (S, A)
        ok = heights >= wanted[sunk, None]
        pick = np.where(ok.any(axis=1), np.argmax(ok, axis=1), np.argmax(heights, axis=1))
        need[sunk] = ANGLES[pick]
    roll, bend = np.zeros(len(rotation)), np.zeros(len(rotation))
    if planted is not None:
        length = float(np.linalg.norm(rigid, axis=1).max())
        toes = None
        if toe is not None:  # the ball and the toes off it, as posed
            ball = rotation @ toe.ball
            toes = (ball, offsets[:, len(points) :] - ball[:, None])
        roll, bend = _roll(offsets, axis, up, wanted + 2.0 * sole, planted, length, toes)
    return _rotations_about(axis, _ease(need, ease_frames) + roll) @ rotation, bend


def _roll(
    offsets: np.ndarray,
    axis: np.ndarray,
    up: np.ndarray,
    top: np.ndarray,
    planted: np.ndarray,
    length: float,
    toes: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(T,) the pitch (radians about ``axis`` (T, 3)) that brings a planted foot's lowest point
    (of ``offsets`` (T, N, 3) off the ankle, its ``toes``' last) down to ``top`` (T,) off the
    ankle, the nearer way (onto the toes, or the heel), by at most MAX_ROLL_DEG, times its
    ``planted`` (T,) weight, and (T,) the toes' bend back at the ball about the same axis
    (`_toe_turns`). Out of reach it fades over half the foot's ``length``: a foot held that far
    up is in the air, whatever its contact says. Not eased: a wider roll would put the toe
    through the floor. toes: (T, 3) the ball off the ankle, (T, M, 3) the toes' points off it."""
    num = len(offsets)
    roll, bend = np.zeros(num), np.zeros(num)
    raised = np.flatnonzero((np.min(offsets @ up, axis=1) > top) & (planted > 0))
    if not len(raised):
        return roll, bend
    rolls = ANGLES[np.abs(ANGLES) <= np.radians(MAX_ROLL_DEG)]
    foot = offsets if toes is None else offsets[:, : offsets.shape[1] - toes[1].shape[1]]
    heights = _pitched_heights(foot[raised], axis[raised], up, rolls)
    down = None
    if toes is not None:  # the ball pitched with the foot, the toes turned back at it
        ball, points = toes[0][raised], toes[1][raised]
        down = np.where(np.cross(axis[raised], ball) @ up > 0.0, -1.0, 1.0)[:, None]
        ball_heights = _turned_heights(ball[:, None], axis[raised], up, rolls)[:, 0]  # (R, A)
        turns = _toe_turns(rolls[None, :], down)
        toe_heights = _turned_heights(points, axis[raised], up, turns).min(axis=1)
        heights = np.minimum(heights, ball_heights + toe_heights)
    ok = heights <= top[raised, None]
    best = np.where(ok.any(axis=1), np.argmax(ok, axis=1), heights.argmin(axis=1))
    short = np.maximum(heights[np.arange(len(raised)), best] - top[raised], 0.0)
    fade = np.clip(1.0 - short / (0.5 * length), 0.0, 1.0)
    roll[raised] = rolls[best] * fade * planted[raised]
    if down is not None:  # the bend the reaching pitch takes, fading with it
        pitch = rolls[best][:, None]
        bend[raised] = (pitch - _toe_turns(pitch, down))[:, 0] * fade * planted[raised]
    return roll, bend


def _toe_turns(pitches: np.ndarray, down: np.ndarray) -> np.ndarray:
    """How far the toes turn with a foot pitched by ``pitches`` (radians, (R, A)): all the way
    onto the heel; towards the toes (sign ``down`` (R, 1)) not at all up to TOE_FLAT_DEG, then
    TOE_TILT_RATE times as fast as the foot, never further than the foot. The rest of the
    foot's pitch is the toes' bend at the ball."""
    onto_toes = down * pitches
    tilt = np.clip(TOE_TILT_RATE * (onto_toes - np.radians(TOE_FLAT_DEG)), 0.0, onto_toes)
    return np.where(onto_toes > 0.0, down * tilt, pitches)


def _turned_heights(
    offsets: np.ndarray, axis: np.ndarray, up: np.ndarray, angles: np.ndarray
) -> np.ndarray:
    """(T, N, A) the heights (along ``up``) of points ``offsets`` (T, N, 3) turned by each of
    ``angles`` ((A,), or (T, A) per frame) about each frame's ``axis`` (T, 3) (Rodrigues)."""
    along = np.einsum("ti,tni->tn", axis, offsets)[..., None] * axis[:, None, :]  # (T, N, 3)
    across = offsets - along
    turned = np.cross(axis[:, None, :], offsets)  # (T, N, 3)
    a, b, c = along @ up, across @ up, turned @ up  # (T, N) each
    angles = np.asarray(angles)
    if angles.ndim == 2:
        angles = angles[:, None, :]
    return a[..., None] + b[..., None] * np.cos(angles) + c[..., None] * np.sin(angles)


def _pitched_heights(
    offsets: np.ndarray, axis: np.ndarray, up: np.ndarray, angles: np.ndarray
) -> np.ndarray:
    """(T, A) the lowest height (along ``up``, off the ankle) of points ``offsets`` (T, N, 3)
    turned by each of ``angles`` (A,) about each frame's ``axis`` (T, 3)."""
    return _turned_heights(offsets, axis, up, angles).min(axis=1)


def _ease(need: np.ndarray, frames: int) -> np.ndarray:
    """(T,) pitches at least as large as ``need`` (T,) (toe-up and heel-up apart) everywhere,
    spread over ``frames`` either side: a running maximum, then a running mean, both that wide."""
    if frames < 1 or not np.any(need):
        return need
    out = np.zeros_like(need)
    window = 2 * frames + 1
    for sign in (1.0, -1.0):
        part = np.maximum(sign * need, 0.0)
        padded = np.pad(part, frames, mode="edge")
        peak = np.lib.stride_tricks.sliding_window_view(padded, window).max(axis=1)
        padded = np.pad(peak, frames, mode="edge")
        out += sign * np.lib.stride_tricks.sliding_window_view(padded, window).mean(axis=1)
    return out


def _rotations_about(axes: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations by ``angles`` (T,) about unit ``axes`` (T, 3) (Rodrigues); a zero
    axis gives the identity."""
    k = np.zeros((len(axes), 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axes[:, 2], axes[:, 1], -axes[:, 0]
    k -= np.swapaxes(k, -1, -2)
    s, c = np.sin(angles)[:, None, None], np.cos(angles)[:, None, None]
    return np.eye(3) + s * k + (1.0 - c) * (k @ k)


def feet_above_floor(
    rest: RestPose,
    rig_map: RigMap,
    pose: dict[str, np.ndarray],
    up: np.ndarray,
    ankle_floor: float,
    fps: float = 30.0,
    weights: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Basis quaternions and world rotations of the map's feet, each lifted (`lift_to_floor`)
    so no toe or heel goes under the floor, and a planted one (``weights`` (T, 2), left then
    right: `contact_weights`) whose ankle is raised pitched down onto it. pose: Blender pose
    matrices (T, 4, 4) of the feet and their parents (`kinematics.pose_world_matrices`);
    ankle_floor: the ankles' height when standing (armature units along ``up``): the floor is as
    far under it as the rest foot's lowest point is under its ankle."""
    rotations, worlds = {}, {}  # the feet, and their toes where they bend
    ease = max(1, int(round(EASE_SECONDS * fps)))
    for bone in rig_map.feet:
        if bone not in rest or bone not in pose:
            continue
        r_rest, m = rest.rotation(bone), pose[bone]
        toe, toe_name, names = None, _toe_bone(rest, bone), _subtree(rest, bone)
        # what an unmapped toe or heel carries with the foot, its lowest point the rest floor
        drop = -float(np.min((_points(rest, names, bone) @ r_rest.T) @ up))  # ankle over floor
        if toe_name is not None:
            toe_names = _subtree(rest, toe_name)
            ball = _points(rest, [toe_name], bone)[0]
            toe = Toe(ball, _points(rest, toe_names, bone) - ball)
            names = [n for n in names if n not in toe_names and not n.startswith(MECHANISM)]
        side = unit(np.cross(r_rest[:, 1], up))  # across the rest foot, level
        side = r_rest.T @ side if np.any(side) else np.array([1.0, 0.0, 0.0])
        floor, sole = ankle_floor - drop, SOLE * drop
        planted = None if weights is None else weights[:, FOOT_SIDES.index(rig_map.feet[bone])]
        ankle, turned = m[:, :3, 3], m[:, :3, :3]
        points = _points(rest, names, bone)
        w, bend = lift_to_floor(points, ankle, turned, up, floor, side, ease, sole, planted, toe)
        parent = effective_parent(rest, rig_map, bone)
        if parent is None:
            basis = r_rest.T @ w
        else:
            pw = pose[parent][:, :3, :3]
            basis = (r_rest.T @ rest.rotation(parent)) @ np.swapaxes(pw, -1, -2) @ w
        rotations[bone] = quaternion_continuity(matrix_to_quaternion(basis))
        worlds[bone] = w
        if toe_name is not None:  # bent back at the ball as the foot rolls onto it
            r_toe = rest.rotation(toe_name)
            toe_world = _rotations_about(w @ side, -bend) @ w @ (r_rest.T @ r_toe)
            basis = (r_toe.T @ r_rest) @ np.swapaxes(w, -1, -2) @ toe_world
            rotations[toe_name] = quaternion_continuity(matrix_to_quaternion(basis))
            worlds[toe_name] = toe_world
    return rotations, worlds
