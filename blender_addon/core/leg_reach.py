"""Planted legs that reach the floor: two-bone IK on the rig's own thigh and shin.

The solve copies bone directions, so a rig whose thigh and shin are in other proportions than
the source's puts a bent planted leg's ankle higher or lower than the source's. The root stands
the rig on its lower planted ankle (`retarget._ground_rig`); the other planted foot would float
or sink, and the ground under the footprints would slope. Here each planted leg bends or
straightens its knee, in the plane it already bends in, and swings about the hip so its ankle
comes to the height the source's ankle has (scaled), its place across the floor kept, as far
as a turn of thigh and shin by MAX_TURN_DEG takes it (the limbs stay the source's within that).
With foot lock the rig's planted ankle is also held still across the floor (the source's is,
and the rig's proportions would slide it), within HOLD_TURN_DEG more. The planted weight blends
both in and out as it does the foot's flat plant (`feet.py`).
Numpy only, no bpy; rotations in armature space.
"""

from __future__ import annotations

import numpy as np

from .cleanup import two_bone_knee
from .kinematics import pose_world_matrices, posed_joint_positions
from .rest_pose import LIMB_SEGMENTS, RestPose, effective_parent
from .rigmaps import FOOT_SIDES, RigMap
from .rotations import swing, unit
from .trunk_fit import WorldRotations

# A reach turns the thigh and shin by at most this (degrees): a nearly straight leg shortens by
# a centimetre only by bending its knee by ten degrees, a bigger change than the centimetre.
MAX_TURN_DEG = 3.0
# Holding a planted ankle still across the floor turns thigh and shin by at most this: over a
# contact a rig in other proportions slides its ankle by centimetres, which a leg takes back by
# swinging a few degrees about the hip (docs/benchmarks.md has the foot speeds it gives).
HOLD_TURN_DEG = 8.0
BISECTIONS = 10  # the reached share to a thousandth
# The reached share, under the cap frame by frame, is smoothed over this many frames either
# side: a share that jumps as the cap binds and lets go jerks the leg.
SHARE_FRAMES = 3
# Smaller height errors (as a share of the thigh's length) are left alone: half a millimetre
# on a human thigh, below what a rig's rounding leaves.
TOLERANCE = 1e-3


def reach_floor(
    rest: RestPose,
    rig_map: RigMap,
    solved: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
    location: np.ndarray,
    wanted: np.ndarray,
    weights: np.ndarray,
    up: np.ndarray,
    held: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The basis quaternions and world rotations (``solved``) with each planted leg reaching
    its ankle's ``wanted`` height (T, 2), left then right, along ``up``, in proportion to its
    planted weight (``weights`` (T, 2)), and with ``held`` (T, 2) each of those contacts' ankle
    held at its median place across the floor too. location: the root's pose location, as
    finally stood. Legs the map does not name (a thigh, a shin) are left as they are."""
    rotations, world = solved
    limbs = [b.bone for b in rig_map.bones if b.direction in LIMB_SEGMENTS]
    pose = pose_world_matrices(
        rest, rotations, {rig_map.root: location}, rig_map=rig_map, bones=limbs
    )
    joints = posed_joint_positions(rest, rig_map, pose)
    world, changed = dict(world), set()
    for side_index, side in enumerate(FOOT_SIDES):
        names = (f"{side}_hip", f"{side}_knee", f"{side}_ankle")
        if not all(name in joints for name in names):
            continue
        hip, knee, ankle = (joints[name] for name in names)
        thigh_length = np.linalg.norm(knee - hip, axis=-1)
        lift = weights[:, side_index] * (wanted[:, side_index] - ankle @ up)
        lift = np.where(np.abs(lift) > TOLERANCE * thigh_length, np.nan_to_num(lift), 0.0)
        new_knee, new_ankle = knee, ankle
        if np.any(lift):
            new_knee, new_ankle = _limited_reach(hip, knee, ankle, lift[:, None] * up, MAX_TURN_DEG)
        if held is not None and held[:, side_index].any():
            hold = _hold(new_ankle, held[:, side_index], weights[:, side_index], up)
            new_knee, new_ankle = _limited_reach(hip, new_knee, new_ankle, hold, HOLD_TURN_DEG)
        if new_ankle is ankle:  # neither reached nor held
            continue
        thigh_from, thigh_to = unit(knee - hip), unit(new_knee - hip)
        shin_from = swing(thigh_from, thigh_to, unit(ankle - knee))
        shin_to = unit(new_ankle - new_knee)
        segments = {(names[0], names[1]): [(thigh_from, thigh_to)]}
        segments[(names[1], names[2])] = [(thigh_from, thigh_to), (shin_from, shin_to)]
        for bone_map in rig_map.bones:
            turns = segments.get(bone_map.direction)
            if turns is None:
                continue
            turned = np.broadcast_to(world[bone_map.bone], (len(location), 3, 3))
            for a, b in turns:
                turned = np.swapaxes(swing(a[:, None], b[:, None], np.swapaxes(turned, 1, 2)), 1, 2)
            world[bone_map.bone] = turned
            changed.add(bone_map.bone)
    if not changed:
        return rotations, world
    return _rebased(rest, rig_map, rotations, world, changed), world


def _limited_reach(
    hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, move: np.ndarray, max_turn_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """(T, 3) knee and ankle of the leg reaching for ``ankle + move`` (T, 3), each frame as far
    as neither thigh nor shin turns more than ``max_turn_deg`` (the share of the move found by
    bisection: the turn grows with the share; then smoothed over time, never above it)."""
    limit = np.cos(np.radians(max_turn_deg))

    def reach(share: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        new_knee, new_ankle = two_bone_knee(hip, knee, ankle, ankle + share[:, None] * move)
        thigh = np.sum(unit(knee - hip) * unit(new_knee - hip), axis=-1)
        shin = np.sum(unit(ankle - knee) * unit(new_ankle - new_knee), axis=-1)
        return new_knee, new_ankle, (thigh >= limit) & (shin >= limit)

    low, high = np.zeros(len(hip)), np.ones(len(hip))
    low[reach(high)[2]] = 1.0
    for _ in range(BISECTIONS):
        middle = 0.5 * (low + high)
        fits = reach(middle)[2]
        low, high = np.where(fits, middle, low), np.where(fits, high, middle)
    return reach(_smooth_below(low, SHARE_FRAMES))[:2]


def _smooth_below(values: np.ndarray, half: int) -> np.ndarray:
    """(T,) a smooth curve nowhere above ``values`` (T,): the minimum over each frame's
    ``half`` frames either side, then their mean (every mean is of minima that include it)."""
    if half < 1 or len(values) < 2:
        return values
    padded = np.pad(values, half, mode="edge")
    lows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1).min(axis=-1)
    padded = np.pad(lows, half, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1).mean(axis=-1)


def _hold(ankle: np.ndarray, contact: np.ndarray, weight: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(T, 3) the move across the floor that brings the rig's ankle (T, 3) to its contact's
    median place, weighted by the plant (``weight`` (T,)); a frame easing in or out of a
    contact takes the nearest contact frame's place."""
    across = ankle - np.outer(ankle @ up, up)
    down = np.flatnonzero(contact)
    if len(down) == 0:
        return np.zeros_like(ankle)
    run = np.cumsum(np.diff(down, prepend=down[0] - 1) > 1)  # which contact each down frame is in
    places = np.stack([np.median(across[down[run == r]], axis=0) for r in range(run[-1] + 1)])
    frames = np.arange(len(ankle))
    after = np.minimum(np.searchsorted(down, frames), len(down) - 1)
    before = np.maximum(after - 1, 0)
    nearer = np.where(frames - down[before] <= down[after] - frames, before, after)
    return (places[run[nearer]] - across) * weight[:, None]


def _rebased(
    rest: RestPose,
    rig_map: RigMap,
    rotations: dict[str, np.ndarray],
    world: dict[str, np.ndarray],
    changed: set[str],
) -> dict[str, np.ndarray]:
    """Basis quaternions of the turned bones and of the solved bones right under them (a
    planted foot keeps its world rotation, so its basis under the new shin changes)."""
    out, posed = dict(rotations), WorldRotations(rest, rig_map, world)
    for name in world:
        above = effective_parent(rest, rig_map, name)
        while above is not None and above not in world:  # unmapped bones follow their parent
            above = effective_parent(rest, rig_map, above)
        if name in changed or above in changed:
            out[name] = posed.basis(name, world[name])
    return out
