"""Animation cleanup, each step optional: smoothing, foot contacts and foot lock, root motion,
keyframe reduction. numpy only, no bpy; the filters are `filters`.

Joint arrays are (T, 17, 3) H36M-17 in Blender's frame (Z up, metres) as `coords` produces them;
filters take any (T, ...) array. Foot lock and root motion work on joint positions before the
retarget solve; key reduction works on the solved F-curve channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import contact_model
from .coords import ANKLES, JOINT_INDEX, PELVIS, ankle_floor_height
from .filters import butterworth, one_euro

# --------------------------------------------------------------------------- feet


# A lifted planted ankle is within this of the floor (m) and slower than this (m/s): the lift's
# errors move it by a few centimetres and half a metre a second where the true foot is still.
CONTACT_HEIGHT = 0.08
CONTACT_SPEED = 0.5
# The lift's smoothing lets a landed foot slow down only over a few frames: foot lock starts a
# contact up to this many seconds before its foot reads as planted, while the foot stays under
# the lift-off thresholds (a foot still swinging exceeds them).
CONTACT_LEAD = 0.3
# ... and the lift's smoothing sets a planted foot moving a frame or two before it lifts: a
# contact goes on up to this many seconds after its foot reads as lifted, while the ankle
# stays under the landing height.
CONTACT_TRAIL = 0.067
# Contacts are read on a copy of the motion low-passed at this (Hz), whatever the animation's own
# smoothing: a foot lands or lifts a few times a second, and a lifted planted ankle's jitter
# (faster than that) hides a landing from the speed thresholds.
CONTACT_SMOOTH_HZ = 4.0
# A planted foot is still while the body goes on, and a swinging one overtakes the body (2-3
# times its speed); a lifted planted foot drifts with the body by about half the body's speed
# (its errors grow with the motion), so on the move a contact is a foot under this share of the
# body's horizontal speed (averaged over BODY_SPEED_SECONDS), if that is over CONTACT_SPEED.
BODY_SPEED_SHARE = 0.5
BODY_SPEED_SECONDS = 0.5
# The foot lock moves the whole body by what the held feet's corrections share, low-passed at
# this (Hz): the lifted root drifts slower than a step (about 2 a second), so what changes slower
# than that moves the body, and the faster jitter is left to the legs.
BODY_CUTOFF_HZ = 2.0
# A still foot the body leans on stands, however high the lift holds it: in a wide stance the
# lift can put one ankle 10-25 cm over the other. It leans on it when the trunk's ground point
# lies at least BALANCE_SHARE of the way from the planted foot to it (a raised foot beside a
# standing leg has the trunk over that leg), with the feet at least BALANCE_SPREAD (m) apart
# (closer, that share is noise), and the foot under BALANCE_HEIGHT (m): higher is a raised foot.
BALANCE_SHARE = 0.3
BALANCE_SPREAD = 0.3
BALANCE_HEIGHT = 0.3
# A planted ankle the lift raises in the last HEEL_SECONDS of a contact (or lowers in its first)
# by more than HEEL_RISE (m) is let up by the rest: a heel rising before the foot lifts off (or
# coming down as it lands) while the toes stay down (`feet` rolls the rig's foot onto them);
# less is the lift's jitter, and a raised ankle mid-contact its error: held on the floor.
HEEL_SECONDS = 0.2
HEEL_RISE = 0.005
# A detector losing someone for under this long (seconds: a blur, a passer-by) leaves the lift
# to bridge the gap, and a planted foot stays planted through it; longer, or before the first
# or after the last sighting, nobody was seen and no contact is read.
DROPOUT_SECONDS = 0.5


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs of a 1-D boolean array."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _speed(points: np.ndarray, fps: float, smooth_frames: int) -> np.ndarray:
    """(T,) speed of (T, 3) points, central differences, moving-average smoothed."""
    if len(points) < 2:
        return np.zeros(len(points))
    velocity = np.gradient(points, axis=0) * fps
    speed = np.linalg.norm(velocity, axis=-1)
    if smooth_frames > 1:
        kernel = np.ones(smooth_frames) / smooth_frames
        padded = np.pad(speed, (smooth_frames // 2, smooth_frames - 1 - smooth_frames // 2), "edge")
        speed = np.convolve(padded, kernel, mode="valid")
    return speed


def _hysteresis(on: np.ndarray, off: np.ndarray) -> np.ndarray:
    """(T,) a state that turns on where ``on`` and stays on until ``off``."""
    state, out = False, np.zeros(len(on), dtype=bool)
    for t in range(len(on)):
        state = (not off[t]) if state else bool(on[t])
        out[t] = state
    return out


def _landed_before(
    contacts: np.ndarray, on: np.ndarray, off: np.ndarray, frames: int
) -> np.ndarray:
    """(T,) the up to ``frames`` frames before each contact's start that the hysteresis run
    backwards in time also holds (no lift-off signal between them and the contact); all of
    them before the first contact if that reaches back to frame 0: the clip opened mid-stance,
    with no swing before it to hold by mistake."""
    backwards = _hysteresis(on[::-1], off[::-1])[::-1]
    ahead = np.logical_and.accumulate(backwards)  # from frame 0 up to the first lift-off
    for step in range(1, frames + 1):
        ahead[:-step] |= contacts[step:]
    return backwards & ahead & ~contacts


def _lifting_after(contacts: np.ndarray, low: np.ndarray, frames: int) -> np.ndarray:
    """(T,) the up to ``frames`` frames after each contact's end while ``low`` (T,) holds."""
    trail = np.zeros_like(contacts)
    for _, end in _runs(contacts):
        for t in range(end, min(end + frames, len(contacts))):
            if not low[t]:
                break
            trail[t] = True
    return trail


def _leaning_on(joints: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(T,) how far (0: the other foot, 1: this one) the trunk's ground point lies along the
    line from the other ankle to ankle ``k``, and (T,) the ankles' horizontal distance."""
    ankles = joints[:, list(ANKLES), :2]
    line = ankles[:, k] - ankles[:, 1 - k]
    spread = np.linalg.norm(line, axis=-1)
    trunk = joints[:, [PELVIS, JOINT_INDEX["thorax"]], :2].mean(axis=1)
    along = np.sum((trunk - ankles[:, 1 - k]) * line, axis=-1) / np.maximum(spread**2, 1e-9)
    return along, spread


def _balance(
    joints: np.ndarray, k: int, heights: np.ndarray, speed: np.ndarray, height_on: float
) -> np.ndarray:
    """(T,) foot ``k`` still (``speed``, m/s, under CONTACT_SPEED), no higher than
    BALANCE_HEIGHT over the floor (``heights`` (T, 2)), the other foot on the floor (under
    ``height_on``) and the trunk leaning on foot ``k`` (BALANCE_SHARE, BALANCE_SPREAD): a
    wide stance's foot the lift holds in the air."""
    along, spread = _leaning_on(joints, k)
    with np.errstate(invalid="ignore"):
        return (
            (speed < CONTACT_SPEED)
            & (heights[:, k] < BALANCE_HEIGHT)
            & (heights[:, 1 - k] < height_on)
            & (along > BALANCE_SHARE)
            & (spread > BALANCE_SPREAD)
        )


def detect_foot_contacts(
    joints: np.ndarray,
    fps: float,
    *,
    floor: float | None = None,
    height_on: float = CONTACT_HEIGHT,
    height_off: float = 2.0 * CONTACT_HEIGHT,
    speed_on: float = CONTACT_SPEED,
    speed_off: float = 2.0 * CONTACT_SPEED,
    min_duration: float = 0.1,
    max_gap: float = 0.05,
    smooth: float = 0.1,
    lead: float = 0.0,
    trail: float = 0.0,
    balance: bool = True,
) -> np.ndarray:
    """(T, 2) booleans: left and right foot on the floor, from a Z-up clip (T, 17, 3).

    A foot lands when its ankle is within ``height_on`` of the ankles' floor level (``floor``,
    default: `coords.ankle_floor_height` of the clip) and its speed (m/s, smoothed over
    ``smooth`` seconds) is under ``speed_on`` or BODY_SPEED_SHARE of the body's speed, whichever
    is more; it lifts when the height exceeds ``height_off`` or the speed ``speed_off`` (or twice
    that share of the body's speed: hysteresis). With ``lead`` (seconds) a contact starts up to
    that much earlier, as long as the foot stays under the lift-off thresholds there: a lifted
    foot that has landed reads as planted only once the lift's smoothing has let it slow down
    (a clip that opens mid-stance is planted from its first frame). With ``trail`` (seconds) it
    goes on up to that much after its lift-off while the ankle stays under ``height_on``: the
    lift's smoothing starts a foot moving before it lifts. Gaps under ``max_gap``
    seconds are closed, then contacts shorter than ``min_duration`` seconds are dropped. With
    ``balance`` a still foot the body leans on in a wide stance is down at any height up to
    BALANCE_HEIGHT (`_balance`).
    """
    joints = np.asarray(joints, dtype=float)
    if floor is None:
        floor = ankle_floor_height(joints)
    smooth_frames = max(1, int(round(smooth * fps)))
    min_frames = max(1, int(round(min_duration * fps)))
    gap_frames = int(round(max_gap * fps))
    lead_frames = int(round(lead * fps))
    trail_frames = int(round(trail * fps))
    contacts = np.zeros((len(joints), 2), dtype=bool)
    body = _speed(joints[:, PELVIS] * [1.0, 1.0, 0.0], fps, int(round(BODY_SPEED_SECONDS * fps)))
    share = np.nan_to_num(BODY_SPEED_SHARE * body)  # on the move, the body's pace sets the limit
    heights = joints[:, list(ANKLES), 2] - floor
    for k, ankle in enumerate(ANKLES):
        height = heights[:, k]
        speed = _speed(joints[:, ankle], fps, smooth_frames)
        on = (height < height_on) & (speed < np.maximum(speed_on, share))
        off = (height > height_off) | (speed > np.maximum(speed_off, 2.0 * share))
        if balance:
            leaning = _balance(joints, k, heights, speed, height_on)
            on, off = on | leaning, off & ~leaning
        off |= ~np.isfinite(height)
        contacts[:, k] = _hysteresis(on, off)
        if lead_frames > 0:
            contacts[:, k] |= _landed_before(contacts[:, k], on, off, lead_frames)
        if trail_frames > 0:
            contacts[:, k] |= _lifting_after(contacts[:, k], height < height_on, trail_frames)
        _tidy(contacts[:, k], gap_frames, min_frames)
    return contacts


def _tidy(column: np.ndarray, gap_frames: int, min_frames: int) -> None:
    """Close a contact column's (T,) inner gaps of up to ``gap_frames``, then drop contacts
    shorter than ``min_frames``; in place."""
    for start, end in _runs(~column):
        if 0 < start and end < len(column) and end - start <= gap_frames:
            column[start:end] = True
    for start, end in _runs(column):
        if end - start < min_frames:
            column[start:end] = False


def contacts_from_probability(
    probability: np.ndarray, fps: float, min_duration: float = 0.1, max_gap: float = 0.05
) -> np.ndarray:
    """(T, 2) contacts from the classifier's (T, 2) probability (`contact_model`): each run
    over its OFF that rises over its ON somewhere (the clip is offline: a contact's start
    gets the same margin as its end), gaps under ``max_gap`` seconds closed, contacts shorter
    than ``min_duration`` seconds dropped."""
    probability = np.asarray(probability, dtype=float)
    contacts = np.zeros(probability.shape, dtype=bool)
    for k in range(probability.shape[1]):
        p = np.nan_to_num(probability[:, k])
        for start, end in _runs(p > contact_model.OFF):
            contacts[start:end, k] = p[start:end].max() > contact_model.ON
        _tidy(contacts[:, k], int(round(max_gap * fps)), max(1, int(round(min_duration * fps))))
    return contacts


def floor_shift(joints: np.ndarray, contacts: np.ndarray, floor: float) -> np.ndarray:
    """(T,) metres to raise each frame of a clip (T, 17, 3) so the lower planted ankle of every
    contact frame (``contacts`` (T, 2)) stands at ``floor``; in between (a swing, a jump) the
    shift is interpolated, raised where an ankle would go under the floor (zeros without any
    contact). A lifted root's depth error bends its path up and down; the planted feet say
    where the floor is."""
    joints = np.asarray(joints, dtype=float)
    contacts = np.asarray(contacts, dtype=bool)
    frames = np.flatnonzero(contacts.any(axis=1))
    if len(frames) < 1:
        return np.zeros(len(joints))
    heights = joints[:, list(ANKLES), 2]
    lower = np.min(np.where(contacts, heights, np.inf), axis=1)
    shift = np.interp(np.arange(len(joints)), frames, floor - lower[frames])
    lowest = np.nanmin(heights, axis=1) + shift
    return shift + np.maximum(floor - lowest, 0.0)


def even_legs(joints: np.ndarray) -> np.ndarray:
    """(T, 17, 3) copy with every thigh and every shin at the clip's median length of both sides,
    each bone keeping its direction from the hip down. A rig's legs keep their lengths and take
    the source's bone directions, so a foot held still on a lifted leg whose bones stretch and
    shrink from frame to frame would slide on the rig; held on even legs, it stands. A clip
    without legs (no length) is returned as it is."""
    joints = np.asarray(joints, dtype=float)
    out = joints.copy()
    chains = [
        [JOINT_INDEX[f"{side}_{part}"] for part in ("hip", "knee", "ankle")]
        for side in ("left", "right")
    ]
    vectors = np.stack([joints[:, c[1:]] - joints[:, c[:-1]] for c in chains])  # (2, T, 2, 3)
    norms = np.linalg.norm(vectors, axis=-1)  # (2, T, 2): side, frame, thigh / shin
    if not np.isfinite(norms).any(axis=(0, 1)).all():
        return out
    lengths = np.nanmedian(norms, axis=(0, 1))  # (2,) thigh, shin
    if not np.all(lengths > 1e-6):
        return out
    for chain, vector, norm in zip(chains, vectors, norms, strict=True):
        for bone in range(2):  # the thigh, then the shin from the moved knee
            unit = vector[:, bone] / np.maximum(norm[:, bone], 1e-9)[:, None]
            out[:, chain[bone + 1]] = out[:, chain[bone]] + lengths[bone] * unit
    return out


def two_bone_knee(
    hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, new_ankle: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Knee (and ankle, pulled in if out of reach) keeping thigh and shin lengths, with the knee
    in the plane of the old knee. All (T, 3)."""
    l1 = np.linalg.norm(knee - hip, axis=-1)
    l2 = np.linalg.norm(ankle - knee, axis=-1)
    d = new_ankle - hip
    dist = np.linalg.norm(d, axis=-1)
    reach = np.clip(dist, np.abs(l1 - l2) + 1e-6, l1 + l2 - 1e-6)
    unit = d / np.maximum(dist, 1e-9)[:, None]
    new_ankle = hip + unit * reach[:, None]
    a = (l1**2 - l2**2 + reach**2) / (2.0 * reach)
    h = np.sqrt(np.maximum(l1**2 - a**2, 0.0))
    pole = knee - hip
    pole = pole - np.sum(pole * unit, -1, keepdims=True) * unit
    pole_norm = np.linalg.norm(pole, axis=-1, keepdims=True)
    pole = np.where(pole_norm > 1e-9, pole / np.maximum(pole_norm, 1e-9), 0.0)
    new_knee = hip + unit * a[:, None] + pole * h[:, None]
    return new_knee, new_ankle


def _anchor(points: np.ndarray) -> np.ndarray:
    """(2,) where a contact's ankle (points (N, 3)) stands across the floor: the median over its
    stiller half, so a foot sliding in at the landing or out at the lift-off does not pull the
    pin."""
    across = points[:, :2]
    if len(points) < 3:
        return np.median(across, axis=0)
    step = np.linalg.norm(np.gradient(across, axis=0), axis=-1)
    return np.median(across[step <= np.median(step)], axis=0)


def _heel_rise(heights: np.ndarray, fps: float) -> np.ndarray:
    """(N,) how far a contact's ankle (heights (N,)) rises in its last HEEL_SECONDS over where
    it stood as they began, as far as it goes on rising (the least height from each frame to the
    end), and likewise in its first HEEL_SECONDS towards the start: a heel comes up just before
    a lift-off and down at a landing; a higher ankle elsewhere is the lift's error."""
    span = min(max(1, int(round(HEEL_SECONDS * fps))), len(heights))
    out = np.zeros(len(heights))
    for forward in (True, False):
        towards_end = heights if forward else heights[::-1]
        last = np.minimum.accumulate(towards_end[-span:][::-1])[::-1]
        up = np.zeros(len(heights))
        up[-span:] = last - last[0]
        out = np.maximum(out, up if forward else up[::-1])
    return out


def _lock_corrections(
    joints: np.ndarray,
    contacts: np.ndarray,
    blend_frames: int,
    floor: float | None,
    anchor_from: np.ndarray | None = None,
    heel_rise: float | None = None,
    fps: float = 30.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Per ankle, (T, 2, 3) the move onto its contact's anchor (across the floor, and down or
    up to ``floor`` when given) and (T, 2) how much it is held: 1 in a contact, easing
    (smoothstep) to 0 over ``blend_frames`` frames either side. The anchors are read on
    ``anchor_from`` (T, 17, 3) where given, else on ``joints``. With ``heel_rise`` (m) a heel
    raised more than that at the contact's ends (`_heel_rise`) stays up by the rest."""
    num = len(joints)
    correction, weight = np.zeros((num, 2, 3)), np.zeros((num, 2))
    for k, ankle in enumerate(ANKLES):
        for start, end in _runs(contacts[:, k]):
            points = joints[start:end, ankle]
            inside = np.zeros((end - start, 3))
            held = points if anchor_from is None else anchor_from[start:end, ankle]
            inside[:, :2] = _anchor(held) - points[:, :2]
            if floor is not None:
                inside[:, 2] = floor - points[:, 2]
                if heel_rise is not None:
                    inside[:, 2] += np.maximum(_heel_rise(points[:, 2], fps) - heel_rise, 0.0)
            correction[start:end, k] = inside
            weight[start:end, k] = 1.0
            for step in range(1, blend_frames + 1):
                w = 1.0 - step / (blend_frames + 1)
                w = w * w * (3.0 - 2.0 * w)
                for t, edge in ((start - step, 0), (end - 1 + step, -1)):
                    if 0 <= t < num and not contacts[t, k]:
                        correction[t, k] += w * inside[edge]
                        weight[t, k] = max(weight[t, k], w)
    return correction, weight


def _move_body(
    joints: np.ndarray, target: np.ndarray, weight: np.ndarray, fps: float
) -> np.ndarray:
    """The whole body moved, smoothly (low-passed at BODY_CUTOFF_HZ), by the held ankles'
    (weights (T, 2)) weighted mean move onto their targets (T, 2, 3): the lifted root's depth
    drift moves both planted feet together, and moving the body keeps every bone's direction.
    Moved, not turned: the lift's heading is steadier than its feet."""
    held = np.maximum(weight.sum(axis=1), 1e-9)[:, None]
    moves = target - joints[:, list(ANKLES)]
    shift = np.einsum("tk,tki->ti", weight, moves) / held
    return joints + butterworth(shift, fps, BODY_CUTOFF_HZ)[:, None, :]


def foot_lock(
    joints: np.ndarray,
    contacts: np.ndarray,
    *,
    blend_frames: int = 4,
    floor: float | None = None,
    keep_leg_lengths: bool = True,
    move_body: bool = True,
    fps: float = 30.0,
) -> np.ndarray:
    """Hold each ankle's horizontal position still during its contacts (T, 17, 3) -> copy.

    Within a contact the ankle sits at the contact's median horizontal position over its
    stiller half (the foot's still middle, not its landing and lift-off) and, with ``floor``,
    at that height: a planted ankle the lift holds over the floor (the higher foot of a wide
    stance) stands on it, but for a heel the lift raises as the foot leaves or lands (HEEL_RISE),
    and a free ankle is kept off the floor's underside; over
    ``blend_frames`` frames before and after, the correction fades in and out (smoothstep).
    With ``move_body`` the whole body first moves by the held feet's weighted mean correction:
    a lifted planted foot drifts mostly because the lifted root does (its depth), and moving
    everything keeps every bone's direction; the legs take only what is left (the feet drifting
    apart, one standing higher than the other), and a blend fades that rest into the moved
    body's free foot. With ``keep_leg_lengths`` a leg's knee moves too, in its own bend plane,
    so thigh and shin keep their lengths (an ankle out of reach is pulled in). Frames farther
    than ``blend_frames`` from any contact are unchanged (but for a free foot the body's move
    would put under the floor).
    """
    joints = np.asarray(joints, dtype=float)
    contacts = np.asarray(contacts, dtype=bool)
    if contacts.shape != (len(joints), 2):
        raise ValueError(f"contacts must be ({len(joints)}, 2), got {contacts.shape}")
    heel_rise = None if move_body else HEEL_RISE
    correction, weight = _lock_corrections(
        joints, contacts, blend_frames, floor, heel_rise=heel_rise, fps=fps
    )
    out = joints.copy()
    if move_body:
        out = _move_body(joints, joints[:, list(ANKLES)] + correction, weight, fps)
        # The same anchors, reached from where the body now is: a blend then fades what the
        # body's move left to the leg (faded whole, it would pull a free foot back, then drop it).
        # The body stands on flat feet; a heel the lift raises lets its ankle up (HEEL_RISE).
        correction, _ = _lock_corrections(
            out, contacts, blend_frames, floor, anchor_from=joints, heel_rise=HEEL_RISE, fps=fps
        )
    if floor is not None:  # a free foot the lowered body would put under the floor stays on it
        correction[..., 2] += np.maximum(floor - out[:, list(ANKLES), 2] - correction[..., 2], 0)
    for k, ankle in enumerate(ANKLES):
        touched = np.any(correction[:, k] != 0.0, axis=-1)
        if not np.any(touched):
            continue
        new_ankle = out[:, ankle] + correction[:, k]
        if keep_leg_lengths:
            side = "left" if k == 0 else "right"
            hip, knee = JOINT_INDEX[f"{side}_hip"], JOINT_INDEX[f"{side}_knee"]
            idx = np.flatnonzero(touched)
            new_knee, reached = two_bone_knee(
                out[idx, hip], out[idx, knee], out[idx, ankle], new_ankle[idx]
            )
            out[idx, knee] = new_knee
            new_ankle[idx] = reached
        out[:, ankle] = new_ankle
    return out


# --------------------------------------------------------------------------- root motion


def root_motion(joints: np.ndarray, mode: str = "full", anchor: str = "first") -> np.ndarray:
    """Root motion on (``full``: unchanged) or ``in_place`` (no horizontal root travel).

    In place subtracts the pelvis's horizontal (X, Y) travel from every joint, keeping its
    vertical motion; the pelvis stays where it is in the first frame (``anchor="first"``) or
    over the origin (``anchor="origin"``).
    """
    joints = np.asarray(joints, dtype=float)
    if mode == "full":
        return joints.copy()
    if mode != "in_place":
        raise ValueError(f"root motion mode must be 'full' or 'in_place', got {mode!r}")
    travel = joints[:, PELVIS, :2].copy()
    if anchor == "first":
        travel -= travel[:1]
    elif anchor != "origin":
        raise ValueError(f"anchor must be 'first' or 'origin', got {anchor!r}")
    out = joints.copy()
    out[..., :2] -= travel[:, None, :]
    return out


# --------------------------------------------------------------------------- key reduction


def _rdp(values: np.ndarray, times: np.ndarray, tolerance: float) -> np.ndarray:
    """Kept indices of a (T, C) curve: Ramer-Douglas-Peucker on the vertical (value) error of
    linear interpolation, the error being the largest over the C channels. All segments of one
    subdivision level are measured at once."""
    num = len(values)
    keep = np.zeros(num, dtype=bool)
    keep[0] = keep[-1] = True
    starts, ends = np.array([0]), np.array([num - 1])
    while len(starts):
        inner = ends - starts - 1
        starts, ends, inner = starts[inner > 0], ends[inner > 0], inner[inner > 0]
        if not len(starts):
            break
        seg = np.repeat(np.arange(len(starts)), inner)
        first = np.cumsum(inner) - inner
        k = starts[seg] + 1 + (np.arange(len(seg)) - first[seg])
        i, j = starts[seg], ends[seg]
        t = (times[k] - times[i]) / (times[j] - times[i])
        line = values[i] + t[:, None] * (values[j] - values[i])
        error = np.max(np.abs(values[k] - line), axis=1)
        worst_error = np.maximum.reduceat(error, first)
        order = np.lexsort((-error, seg))  # by segment, largest error first
        worst = k[order[first]]
        split = worst_error > tolerance
        keep[worst[split]] = True
        starts = np.concatenate([starts[split], worst[split]])
        ends = np.concatenate([worst[split], ends[split]])
    return np.flatnonzero(keep)


def reduce_keys(
    values: np.ndarray,
    tolerance: float,
    times: np.ndarray | None = None,
    *,
    shared: bool = False,
) -> np.ndarray | list[np.ndarray]:
    """Frames to keep so linear interpolation between kept keys stays within ``tolerance``.

    values: (T,) one F-curve, or (T, C) channels. tolerance: in the channel's units (metres
    for locations, quaternion components for rotations: 0.001 is about 0.1 degree).
    Returns kept indices (always the first and last frame): one array for (T,), a list of one
    array per channel for (T, C), or one array for all channels with ``shared`` (the error is
    the largest over channels; suits quaternions, whose four channels should share keys).
    Blender must interpolate the kept keys linearly for the bound to hold (its default Bezier
    handles can overshoot between keys).
    """
    values = np.asarray(values, dtype=float)
    if tolerance < 0:
        raise ValueError("tolerance must be >= 0")
    num = len(values)
    times = np.arange(num, dtype=float) if times is None else np.asarray(times, dtype=float)
    if num <= 2:
        idx = np.arange(num)
        if values.ndim == 1 or shared:
            return idx
        return [idx.copy() for _ in range(values.shape[1])]
    if values.ndim == 1:
        return _rdp(values[:, None], times, tolerance)
    flat = values.reshape(num, -1)
    if shared:
        return _rdp(flat, times, tolerance)
    return [_rdp(flat[:, c : c + 1], times, tolerance) for c in range(flat.shape[1])]


def reduce_channels(
    rotations: Mapping[str, np.ndarray],
    locations: Mapping[str, np.ndarray] | None = None,
    *,
    rotation_tolerance: float = 1e-3,
    location_tolerance: float = 1e-3,
) -> dict[tuple[str, str], np.ndarray]:
    """Kept frames per (bone, "rotation_quaternion" | "location"), the channels of one property
    sharing their keys (a solve's ``rotations`` and ``locations``). Tolerances: quaternion
    components (1e-3 is about 0.1 degree) and armature units."""
    out = {}
    for bone, q in rotations.items():
        out[(bone, "rotation_quaternion")] = reduce_keys(q, rotation_tolerance, shared=True)
    for bone, loc in (locations or {}).items():
        out[(bone, "location")] = reduce_keys(loc, location_tolerance, shared=True)
    return out


# --------------------------------------------------------------------------- all together


@dataclass
class CleanupOptions:
    """What `clean_joints` does before the solve; every step can be off.

    smoothing: "none", "one_euro" (causal, adapts to speed) or "butterworth" (zero-phase,
        cutoff in Hz).
    foot_lock: hold the feet where they are on the floor.
    contacts: how contacts are found: "learned" (`contact_model`, on the motion as given) or
        "thresholds" (`detect_foot_contacts` with the thresholds below, after smoothing).
    root: "full" (root motion on) or "in_place" (no horizontal travel). Turning the root's
        location off altogether is `retarget.solve(..., root_motion=False)`.
    """

    smoothing: str = "none"
    cutoff_hz: float = 6.0
    order: int = 4
    min_cutoff: float = 1.0
    beta: float = 1.0
    d_cutoff: float = 1.0
    foot_lock: bool = False
    contacts: str = "learned"
    contact_height: float = CONTACT_HEIGHT
    contact_speed: float = CONTACT_SPEED
    min_contact: float = 0.1
    contact_lead: float = CONTACT_LEAD
    contact_trail: float = CONTACT_TRAIL
    blend_frames: int = 4
    root: str = "full"


class Cleaned(NamedTuple):
    joints: np.ndarray  # (T, 17, 3)
    contacts: np.ndarray  # (T, 2) found before "in place" (planted feet would slide back then)
    body_shift: np.ndarray  # (T, 3) the whole body's move by foot lock (a camera follows it)


def contact_features(joints: np.ndarray, fps: float) -> np.ndarray:
    """(T, 2, F) the classifier's features (`contact_model.window_features`) of Z-up joints
    (T, 17, 3), read on their copy low-passed at CONTACT_SMOOTH_HZ."""
    return contact_model.window_features(butterworth(joints, fps, CONTACT_SMOOTH_HZ), fps)


def learned_contacts(
    joints: np.ndarray, fps: float, seen: np.ndarray | None = None, min_duration: float = 0.1
) -> np.ndarray:
    """(T, 2) contacts by the classifier (`contact_model`) of Z-up joints (T, 17, 3), read on
    each stretch of ``seen`` frames (T,) alone (default: all): where the detector saw no one,
    the joints are the lift's guess, and a contact read there, or across it, would hold a foot
    the person never put down."""
    joints = np.asarray(joints, dtype=float)
    seen = np.ones(len(joints), dtype=bool) if seen is None else np.asarray(seen, dtype=bool)
    contacts = np.zeros((len(joints), 2), dtype=bool)
    for start, end in _runs(seen):
        probability = contact_model.classify(contact_features(joints[start:end], fps))
        contacts[start:end] = contacts_from_probability(probability, fps, min_duration)
    return contacts


def clean_joints(
    joints: np.ndarray,
    fps: float,
    options: CleanupOptions | None = None,
    seen: np.ndarray | None = None,
) -> Cleaned:
    """Smoothing, then foot contacts and foot lock, then root motion, on Z-up joints (T, 17, 3).

    The contacts are found with or without foot lock, on the motion low-passed at
    CONTACT_SMOOTH_HZ, only where someone was ``seen`` (T,) (default: all; DROPOUT_SECONDS).
    Foot lock first (before smoothing) evens the legs' bones (`even_legs`)
    and stands the planted feet back on the floor; it moves the whole body (the planted feet's
    shared drift) before the legs bend: the footage camera moves with it so the body stays on
    its pixels.
    """
    options = options or CleanupOptions()
    out = np.asarray(joints, dtype=float)
    seen = np.ones(len(out), dtype=bool) if seen is None else np.asarray(seen, dtype=bool).copy()
    _tidy(seen, int(round(DROPOUT_SECONDS * fps)), 1)  # short dropouts are bridged
    learned = None
    if options.contacts == "learned":
        learned = learned_contacts(out, fps, seen, options.min_contact)
    elif options.contacts != "thresholds":
        raise ValueError(f"contacts must be 'learned' or 'thresholds', got {options.contacts!r}")
    lift = np.zeros(len(out))  # even legs stand back on the floor the levelling put them on
    if options.foot_lock:  # before smoothing, which takes the jitter of short bones' directions
        floor = ankle_floor_height(out)
        out = even_legs(out)
        first = learned
        if first is None:
            first = detect_foot_contacts(out, fps, floor=floor) & seen[:, None]
        lift = floor_shift(out, first, floor)
        out[..., 2] += lift[:, None]
    if options.smoothing == "one_euro":
        out = one_euro(out, fps, options.min_cutoff, options.beta, options.d_cutoff)
    elif options.smoothing == "butterworth":
        out = butterworth(out, fps, options.cutoff_hz, options.order)
    elif options.smoothing != "none":
        raise ValueError(
            f"smoothing must be 'none', 'one_euro' or 'butterworth', got {options.smoothing!r}"
        )
    contacts = learned
    if contacts is None:
        contacts = (
            detect_foot_contacts(
                butterworth(out, fps, CONTACT_SMOOTH_HZ),
                fps,
                height_on=options.contact_height,
                height_off=2.0 * options.contact_height,
                speed_on=options.contact_speed,
                speed_off=2.0 * options.contact_speed,
                min_duration=options.min_contact,
                lead=options.contact_lead,
                trail=options.contact_trail,
            )
            & seen[:, None]
        )
    body_shift = np.zeros((len(out), 3))
    if options.foot_lock:
        before = out[:, PELVIS].copy()  # the legs' bending leaves the pelvis where the body is
        out = foot_lock(out, contacts, blend_frames=options.blend_frames, floor=floor, fps=fps)
        body_shift = out[:, PELVIS] - before
        body_shift[:, 2] += lift
    out = root_motion(out, options.root)
    return Cleaned(out, contacts, body_shift)
