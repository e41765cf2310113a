"""Hands and feet from the detector's own points, where the track's layout has them.

The model lifts H36M-17, which stops at the wrists and ankles, so a hand bone could only follow
its forearm and a foot its shin. BlazePose-33 also sees each hand's index and pinky knuckles
(and thumb) and each foot's heel and toe; BODY_25 sees the heels and big and small toes. This
module turns those 2D points into world orientations:

- a camera per frame: the affine map from the solved 3D joints (armature space) to the track's
  2D body joints (least squares over shoulders, elbows, wrists, hips, knees, ankles), smoothed;
  it needs no focal length and survives the world's levelling, scaling and "in place";
- a 2D direction (wrist to mid(index, pinky); heel to toe) lifted to the 3D direction that
  projects onto it, tilted out of the image plane as far as its foreshortening says (against a
  length from body proportions, or longer where the clip shows it longer); of the two mirror
  images through the image plane, the one nearer where the bone points anyway (a foot: as
  planted or followed), for a hand the one turning least from its forearm over the clip
  (`pick_mirror`);
- the palm's side axis (index to pinky) then exact: perpendicular to the hand's direction and
  projecting onto the 2D side line, trusted as far as that line is not seen end on;
- the turn from the parent capped at `MAX_BEND`, smoothed over time, blended in by a confidence
  weight that ramps (low or missing points: the bone follows its parent) and changing no faster
  than `MAX_SPEED`, so nothing pops.

The thumb is not used: its knuckle moves about the palm, so it does not pin the palm's plane
better than index and pinky do. A foot gets only its pitch and yaw (heel and toe are two
points); in contact it stays flat as `feet.plant_feet` has it. Toes and fingers keep their rest
pose on their parent. numpy only, no bpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..deps import skeleton  # layouts (vendored in the built extension)
from .coords import JOINT_INDEX
from .rest_pose import RestPose, effective_parent
from .rigmaps import RigMap
from .rotations import (
    matrix_to_quaternion,
    quaternion_to_matrix,
    smoothstep,
    swing,
    unit,
)

SIDES = ("left", "right")
# Per layout and side: the hand's (wrist, index, pinky) and the foot's (heel, toe points).
HAND_POINTS = {"blazepose33": {s: (f"{s}_wrist", f"{s}_index", f"{s}_pinky") for s in SIDES}}
FOOT_POINTS = {
    "blazepose33": {s: (f"{s}_heel", (f"{s}_foot_index",)) for s in SIDES},
    "body25": {s: (f"{s}_heel", (f"{s}_big_toe", f"{s}_small_toe")) for s in SIDES},
}
# The joints every layout measures directly, for the per-frame camera.
FIT_JOINTS = tuple(
    f"{s}_{j}" for s in SIDES for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
)
# A point under LOW confidence is not used, over HIGH fully trusted (detector scores).
LOW, HIGH = 0.3, 0.6
# Weights ramp over this either side of a gap (seconds), and relative turns are smoothed over
# about this: fast enough for a wrist flick, slow enough to hide a detector's jitter.
RAMP_SECONDS = 0.15
SMOOTH_SECONDS = 0.05
# How much a frame-to-frame turn of the picked hand counts against its turn from the forearm.
SWITCH_COST = 2.0
# The turn from the parent changes no faster than this (radians a second): a hand some 20 pixels
# long, read through a pixel's jitter, would otherwise snap by tens of degrees in a frame.
MAX_SPEED = np.radians(300.0)
# A wrist or ankle bends no further than this from its parent: beyond it a lift is wrong.
MAX_BEND = np.radians(90.0)
# Wrist to mid(index, pinky knuckle) as a share of the forearm, heel to toe of the shin (adult
# proportions): how long the vectors are square on, so their foreshortening gives their tilt.
HAND_SHARE, FOOT_SHARE = 0.34, 0.55
# The palm's side line is trusted from under to over this share of its square-on length: seen
# more end on, a pixel's error turns it by tens of degrees, and the forearm's twist is kept.
SIDE_SHARE = (0.35, 0.6)


@dataclass(frozen=True)
class TrackPoints:
    """The 2D track behind a lift, for the bones H36M-17 lacks.

    keypoints: (T, J, 2) image points of ``layout`` (NaN missing); confidence: (T, J).
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    layout: str

    @classmethod
    def from_track(cls, track) -> TrackPoints:
        """From a `mpm_backend.tracks.Track` (its layout name, keypoints, confidence)."""
        keypoints, confidence = np.asarray(track.keypoints, float), np.asarray(track.confidence)
        return cls(keypoints, confidence.astype(float), str(track.layout))

    def __len__(self) -> int:
        return len(self.keypoints)

    def point(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(T, 2) points and (T,) confidences of one named joint (0 where missing)."""
        index = skeleton.get_layout(self.layout).index(name)
        p, c = self.keypoints[:, index], np.nan_to_num(self.confidence[:, index])
        return p, np.where(np.isfinite(p).all(axis=1), c, 0.0)

    def has(self, name: str) -> bool:
        return name in skeleton.get_layout(self.layout).joints


# ----------------------------------------------------------------------------- cameras


def fit_cameras(
    joints: np.ndarray, points: TrackPoints, fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per frame the linear part (T, 2, 3) of the affine camera taking the solved joints (T, 17,
    3) onto the track's 2D body joints, smoothed over time, and whether each frame had one (T,)."""
    names = [n for n in FIT_JOINTS if points.has(n)]
    x3 = joints[:, [JOINT_INDEX[n] for n in names]]
    pairs = [points.point(n) for n in names]
    x2 = np.stack([p for p, _ in pairs], axis=1)
    w = np.stack([c for _, c in pairs], axis=1) * np.isfinite(x3).all(axis=-1)
    w = np.where(w >= LOW, w, 0.0)
    x3, x2 = np.nan_to_num(x3), np.nan_to_num(x2)
    total = w.sum(axis=1, keepdims=True)
    valid = ((w > 0).sum(axis=1) >= 6) & (total[:, 0] > 0)
    mean3 = (w[..., None] * x3).sum(1) / np.maximum(total, 1e-9)
    mean2 = (w[..., None] * x2).sum(1) / np.maximum(total, 1e-9)
    a3, a2 = x3 - mean3[:, None], x2 - mean2[:, None]
    cov33 = np.einsum("tj,tja,tjb->tab", w, a3, a3) + 1e-9 * np.eye(3)
    cov23 = np.einsum("tj,tja,tjb->tab", w, a2, a3)
    cameras = np.full((len(joints), 2, 3), np.nan)
    conditioned = np.linalg.cond(cov33[valid]) < 1e6
    valid[np.flatnonzero(valid)[~conditioned]] = False
    cameras[valid] = cov23[valid] @ np.linalg.inv(cov33[valid])
    return _smooth(cameras, valid.astype(float), max(1, round(SMOOTH_SECONDS * fps))), valid


def _smooth(values: np.ndarray, weights: np.ndarray, radius: int) -> np.ndarray:
    """(T, ...) a weighted running mean over ``2 radius + 1`` frames (NaN-safe); frames with no
    weight in reach are NaN."""
    flat = np.nan_to_num(values.reshape(len(values), -1)) * weights[:, None]
    kernel, span = np.ones(2 * radius + 1), slice(radius, radius + len(values))

    def running(column: np.ndarray) -> np.ndarray:  # "same", also for clips under the kernel
        return np.convolve(column, kernel, "full")[span]

    num = np.stack([running(col) for col in flat.T], axis=1)
    den = running(weights)[:, None]
    out = np.where(den > 1e-9, num / np.maximum(den, 1e-9), np.nan)
    return out.reshape(values.shape)


def lift_direction(
    cameras: np.ndarray, seen: np.ndarray, reference: np.ndarray, length: float | None = None
) -> np.ndarray:
    """(T, 3) unit directions that project (``cameras`` (T, 2, 3)) along the 2D ``seen`` (T, 2),
    on the side of the image plane nearer ``reference`` (T, 3).

    With ``length`` (the 3D vector's length) the tilt out of the image plane comes from the 2D
    vector's foreshortening; without it, the reference's own tilt (the least bend from it).
    The reference is never put behind the 2D direction: one pointing against it gives a
    direction along the viewing axis, tilted towards the 2D one."""
    cameras = np.nan_to_num(cameras)
    n = unit(np.cross(cameras[:, 0], cameras[:, 1]))  # the viewing axis (its sign is free)
    gram = cameras @ np.swapaxes(cameras, 1, 2)
    pre = unit(np.einsum("tij,tik,tk->tj", cameras, np.linalg.pinv(gram), seen))
    along = np.maximum(np.einsum("ti,ti->t", reference, pre), 0.05)
    depth = np.einsum("ti,ti->t", reference, n)
    if length is not None:  # cos(tilt) = seen length / the length seen square on
        cos, sin = _tilt(cameras, pre, seen, length)
        along, depth = cos, np.where(depth < 0, -1.0, 1.0) * sin
    return unit(along[:, None] * pre + depth[:, None] * n)


def lift_both(cameras: np.ndarray, seen: np.ndarray, length: float) -> np.ndarray:
    """(2, T, 3) the two unit directions projecting along ``seen`` (T, 2) whose foreshortening
    fits ``length``: mirror images through the image plane (a picture cannot tell them apart)."""
    cameras = np.nan_to_num(cameras)
    n = unit(np.cross(cameras[:, 0], cameras[:, 1]))
    gram = cameras @ np.swapaxes(cameras, 1, 2)
    pre = unit(np.einsum("tij,tik,tk->tj", cameras, np.linalg.pinv(gram), seen))
    cos, sin = _tilt(cameras, pre, seen, length)
    return np.stack([unit(cos[:, None] * pre + k * sin[:, None] * n) for k in (1.0, -1.0)])


def _tilt(
    cameras: np.ndarray, pre: np.ndarray, seen: np.ndarray, length: float
) -> tuple[np.ndarray, np.ndarray]:
    """(T,) cos and sin of the tilt out of the image plane of a vector ``length`` long that is
    seen as ``seen`` (T, 2), along the unit preimage ``pre`` (T, 3)."""
    square_on = length * np.linalg.norm(np.einsum("tij,tj->ti", cameras, pre), axis=1)
    cos = np.clip(np.linalg.norm(seen, axis=1) / np.maximum(square_on, 1e-9), 0.0, 1.0)
    return cos, np.sqrt(1.0 - cos * cos)


def seen_length(cameras: np.ndarray, seen: np.ndarray, weights: np.ndarray, least: float) -> float:
    """A 3D length for 2D vectors ``seen`` (T, 2): at least ``least`` (a body proportion), more
    where the clip shows them longer (their 90th percentile, square on, over trusted frames)."""
    cameras = np.nan_to_num(cameras)
    scale = np.sqrt(0.5 * np.sum(cameras**2, axis=(1, 2)))  # pixels per unit, about
    ok = (weights > 0) & (scale > 0) & np.isfinite(seen).all(axis=1)
    if ok.sum() < 5:
        return least
    lengths = np.linalg.norm(seen[ok], axis=1) / scale[ok]
    return max(least, float(np.percentile(lengths, 90)))


def lift_side(cameras: np.ndarray, seen: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """(T, 3) unit axes perpendicular to ``direction`` (T, 3) that project along the 2D ``seen``
    (T, 2); zero where the two constraints coincide (the side axis seen end on)."""
    cameras = np.nan_to_num(cameras)
    across = np.stack([-seen[:, 1], seen[:, 0]], axis=1)  # the 2D normal of the side line
    normal = np.einsum("tij,ti->tj", cameras, across)  # the 3D normal of its preimage plane
    side = np.cross(direction, normal)
    scale = np.linalg.norm(direction, axis=1) * np.linalg.norm(normal, axis=1)
    side = np.where((np.linalg.norm(side, axis=1) > 1e-3 * scale)[:, None], side, 0.0)
    flip = np.einsum("tij,tj,ti->t", cameras, side, seen) < 0
    return unit(np.where(flip[:, None], -side, side))


# ----------------------------------------------------------------------------- weights


def confidence_weights(confidence: np.ndarray, fps: float) -> np.ndarray:
    """(T,) how far to trust per-frame confidences (T,): 0 under `LOW`, 1 over `HIGH`, every gap
    widened and eased over `RAMP_SECONDS` either side, so the bone turns from following its
    parent to the points (and back) without a pop."""
    raw = smoothstep(LOW, HIGH, np.nan_to_num(confidence))
    radius = max(1, round(RAMP_SECONDS * fps))
    padded = np.pad(raw, radius, mode="edge")
    eroded = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1).min(axis=1)
    padded = np.pad(eroded, radius, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1).mean(axis=1)


def blend_relative(
    follow: np.ndarray, measured: np.ndarray, weights: np.ndarray, fps: float
) -> np.ndarray:
    """(T, 3, 3) world rotations: ``follow`` turned towards ``measured`` (both (T, 3, 3), NaN
    where unmeasured) by ``weights`` (T,); the turn (follow^-1 measured) is capped at
    `MAX_BEND` and smoothed over time, and changes no faster than `MAX_SPEED`."""
    ok = np.isfinite(measured).all(axis=(1, 2)) & (weights > 0)
    relative = np.where(
        ok[:, None, None], np.swapaxes(follow, 1, 2) @ np.nan_to_num(measured), np.eye(3)
    )
    q = matrix_to_quaternion(relative)  # w >= 0: the turn is the shorter way
    half = np.arccos(np.clip(q[:, 0], -1.0, 1.0))
    capped = np.minimum(half, MAX_BEND / 2)
    axis = unit(q[:, 1:])
    q = np.concatenate([np.cos(capped)[:, None], np.sin(capped)[:, None] * axis], axis=1)
    q = _smooth(q, ok.astype(float), max(1, round(SMOOTH_SECONDS * fps)))
    q = np.where(np.isfinite(q), q, [1.0, 0.0, 0.0, 0.0])
    half = np.arccos(np.clip(q[:, 0] / np.linalg.norm(q, axis=1), -1.0, 1.0)) * weights
    axis = unit(q[:, 1:])
    q = np.concatenate([np.cos(half)[:, None], np.sin(half)[:, None] * axis], axis=1)
    q = rate_limit(q, MAX_SPEED / fps)
    return follow @ quaternion_to_matrix(q)


def rate_limit(q: np.ndarray, step: float) -> np.ndarray:
    """(T, 4) unit quaternions (w >= 0) that follow ``q`` turning at most ``step`` radians a
    frame: each frame's is the previous turned towards its own by up to that angle."""
    out = q.copy()
    for t in range(1, len(q)):
        prev, want = out[t - 1], q[t]
        cos = float(np.clip(abs(prev @ want), -1.0, 1.0))
        angle = 2.0 * np.arccos(cos)
        if angle > step:
            want = want if prev @ want >= 0 else -want
            k = step / angle  # slerp this share of the way
            half = np.arccos(cos)
            out[t] = (np.sin((1 - k) * half) * prev + np.sin(k * half) * want) / np.sin(half)
    return out


def _frame(primary: np.ndarray, side: np.ndarray) -> np.ndarray:
    """(..., 3, 3) orthonormal columns (side made perpendicular, primary, their cross)."""
    x = unit(side - np.sum(side * primary, axis=-1)[..., None] * primary)
    return np.stack([x, primary, np.cross(x, primary)], axis=-1)


def _length_share(
    seen: np.ndarray, against: np.ndarray, band: tuple[float, float] = (0.08, 0.2)
) -> np.ndarray:
    """(T,) a weight from how long the 2D vector ``seen`` is against ``against`` ((T, 2) a 2D
    vector, or (T,) lengths): a vector seen end on has no direction worth lifting."""
    against = np.linalg.norm(against, axis=1) if np.ndim(against) == 2 else against
    share = np.linalg.norm(seen, axis=1) / np.maximum(np.nan_to_num(against), 1e-9)
    return smoothstep(*band, np.nan_to_num(share))


def _square_on(cameras: np.ndarray, length: float) -> np.ndarray:
    """(T,) about how many pixels ``length`` spans square on to the camera."""
    return length * np.sqrt(0.5 * np.sum(np.nan_to_num(cameras) ** 2, axis=(1, 2)))


# ----------------------------------------------------------------------------- the rig


def hand_bones(rest: RestPose, rig_map: RigMap) -> dict[str, str]:
    """bone -> side of each hand: an unmapped bone under a bone mapped elbow to wrist (directly,
    or through helper ``MCH`` bones, as on Rigify) with its head at the forearm's tail, the one
    named "hand" if any, else the nearest."""
    mapped = {b.bone for b in rig_map.bones}
    hands: dict[str, str] = {}
    for bone_map in rig_map.bones:
        side = next((s for s in SIDES if bone_map.direction == (f"{s}_elbow", f"{s}_wrist")), None)
        if side is None or bone_map.bone not in rest or side in hands.values():
            continue
        forearm = rest[bone_map.bone]
        reach = 0.3 * float(np.linalg.norm(forearm.tail - forearm.head))
        under, found = {forearm.name}, []
        for b in rest.bones:  # parents before children
            if effective_parent(rest, rig_map, b.name) not in under or b.name in mapped:
                continue
            name = b.name.lower()
            if name.startswith("mch"):  # a helper between forearm and hand: look through it
                under.add(b.name)
            elif not any(w in name for w in ("twist", "roll", "ik")):
                if np.linalg.norm(b.head - forearm.tail) <= reach:
                    found.append(b)
        found.sort(
            key=lambda b: ("hand" not in b.name.lower(), np.linalg.norm(b.head - forearm.tail))
        )
        if found:
            hands[found[0].name] = side
    return hands


def palm_axes(rest: RestPose, hand: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The hand's (direction, side) axes in its own rest frame: wrist to mid(index, pinky) and
    index to pinky, from the index and pinky (or "little") finger bones whose heads lie nearest
    the hand (within twice its length: on Rigify they hang under another copy of the hand);
    without them the bone's own axis and no side."""
    bone = rest[hand]
    reach = 2.0 * float(np.linalg.norm(bone.tail - bone.head))
    found = {}
    for key, words in (("index", ("index",)), ("pinky", ("pinky", "little"))):
        near = [
            b.head for b in rest.bones
            if any(w in b.name.lower() for w in words) and np.linalg.norm(b.head - bone.head) <= reach
        ]  # fmt: skip
        if near:
            found[key] = min(near, key=lambda h: float(np.linalg.norm(h - bone.head)))
    r = rest.rotation(hand)
    if len(found) < 2:
        return np.array([0.0, 1.0, 0.0]), None
    mid = 0.5 * (found["index"] + found["pinky"]) - bone.head
    return unit(r.T @ mid), unit(r.T @ (found["pinky"] - found["index"]))


def key_hands(
    rest: RestPose,
    rig_map: RigMap,
    world,
    target: np.ndarray,
    points: TrackPoints,
    cameras: np.ndarray,
    fps: float,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Basis quaternions and world rotations (bone -> (T, ...)) of the rig's hands, from the
    track's wrist, index and pinky points; {} for a layout without them.

    world: the solved bones' world rotations (`trunk_fit.WorldRotations`); target: the solved
    joints in armature space (T, 17, 3); cameras: `fit_cameras` of them."""
    names = HAND_POINTS.get(points.layout)
    rotations: dict[str, np.ndarray] = {}
    worlds: dict[str, np.ndarray] = {}
    if names is None:
        return rotations, worlds
    num = len(target)
    for bone, side in hand_bones(rest, rig_map).items():
        parent = effective_parent(rest, rig_map, bone)
        if parent is None:
            continue
        follow = np.broadcast_to(world(parent), (num, 3, 3)) @ (
            rest.rotation(parent).T @ rest.rotation(bone)
        )
        (wrist, cw), (index, ci), (pinky, cp) = (points.point(n) for n in names[side])
        elbow, _ = points.point(f"{side}_elbow")
        seen, across = 0.5 * (index + pinky) - wrist, pinky - index
        along_b, side_b = palm_axes(rest, bone)
        conf = np.minimum.reduce([cw, ci, cp]) * _length_share(seen, wrist - elbow)
        conf = np.where(np.isfinite(cameras).all(axis=(1, 2)), conf, 0.0)
        forearm = _median_length(target, f"{side}_elbow", f"{side}_wrist")
        length = seen_length(cameras, seen, conf, HAND_SHARE * forearm)
        if side_b is None:  # no fingers on the rig: only the direction, the smallest turn
            direction = lift_direction(cameras, np.nan_to_num(seen), follow @ along_b, length)
            measured = _swing_to(follow, follow @ along_b, direction)
        else:  # of the two mirror images, the hand turned least from the forearm's
            width = seen_length(cameras, across, conf, 0.5 * length)
            trust = _length_share(across, _square_on(cameras, width), SIDE_SHARE)
            candidates = [
                _hand_rotation(cameras, across, d, follow, (along_b, side_b), trust)
                for d in lift_both(cameras, np.nan_to_num(seen), length)
            ]
            measured = pick_mirror(follow, candidates, conf)
        w = blend_relative(follow, measured, confidence_weights(conf, fps), fps)
        rotations[bone], worlds[bone] = world.basis(bone, w), w
    return rotations, worlds


def orient_feet(
    rest: RestPose,
    rig_map: RigMap,
    world,
    target: np.ndarray,
    feet_world: dict[str, np.ndarray],
    planted: np.ndarray,
    points: TrackPoints,
    cameras: np.ndarray,
    fps: float,
    up: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Basis quaternions and world rotations of the map's feet turned (pitch and yaw) onto the
    track's heel-to-toe line while off the floor; {} for a layout without heel and toe points.

    target: the solved joints in armature space (T, 17, 3); feet_world: the feet as planted or
    following (`feet.plant_feet`), (T, 3, 3) each;
    planted: (T, 2) planted weights, left then right (1: flat on the floor, untouched)."""
    names = FOOT_POINTS.get(points.layout)
    rotations: dict[str, np.ndarray] = {}
    worlds: dict[str, np.ndarray] = {}
    if names is None:
        return rotations, worlds
    for bone, side in rig_map.feet.items():
        if bone not in feet_world:
            continue
        current = feet_world[bone]
        r_rest = rest.rotation(bone)
        sole = unit(r_rest[:, 1] - (r_rest[:, 1] @ up) * up)  # heel to toe at rest: level
        sole_b = r_rest.T @ sole if np.any(sole) else np.array([0.0, 1.0, 0.0])
        heel_name, toe_names = names[side]
        heel, ch = points.point(heel_name)
        toes = [points.point(n) for n in toe_names]
        toe = np.nanmean(np.stack([p for p, _ in toes]), axis=0) if len(toes) > 1 else toes[0][0]
        ct = np.max(np.stack([c for _, c in toes]), axis=0)
        knee, _ = points.point(f"{side}_knee")
        ankle, _ = points.point(f"{side}_ankle")
        seen = toe - heel
        reference = current @ sole_b
        conf = np.minimum(ch, ct) * _length_share(seen, ankle - knee)
        conf = np.where(np.isfinite(cameras).all(axis=(1, 2)), conf, 0.0)
        shin = _median_length(target, f"{side}_knee", f"{side}_ankle")
        length = seen_length(cameras, seen, conf, FOOT_SHARE * shin)
        direction = lift_direction(cameras, np.nan_to_num(seen), reference, length)
        measured = _swing_to(current, reference, direction)
        weight = confidence_weights(conf, fps) * (1.0 - planted[:, SIDES.index(side)])
        w = blend_relative(current, measured, weight, fps)
        rotations[bone], worlds[bone] = world.basis(bone, w), w
    return rotations, worlds


def _hand_rotation(
    cameras: np.ndarray,
    across: np.ndarray,
    direction: np.ndarray,
    follow: np.ndarray,
    palm: tuple[np.ndarray, np.ndarray],
    trust: np.ndarray,
) -> np.ndarray:
    """(T, 3, 3) the hand's world rotation pointing along ``direction`` (T, 3) with its palm's
    side axis on the 2D index-to-pinky line ``across`` (T, 2), by ``trust`` (T,); the rest of
    the way, the side axis the forearm carries. palm: the rig's axes (`palm_axes`)."""
    along_b, side_b = palm
    seen = lift_side(cameras, np.nan_to_num(across), direction)
    carried = follow @ side_b
    carried = unit(carried - np.sum(carried * direction, axis=1, keepdims=True) * direction)
    ok = (np.linalg.norm(seen, axis=1) > 0.5)[:, None]
    axis = unit(np.where(ok, trust[:, None] * seen + (1.0 - trust[:, None]) * carried, carried))
    return _frame(direction, axis) @ _frame(along_b, side_b).T


def pick_mirror(follow: np.ndarray, candidates: list[np.ndarray], trust: np.ndarray) -> np.ndarray:
    """(T, 3, 3) one of two candidate rotations (each (T, 3, 3)) a frame: the path turning
    least from ``follow`` overall, each switch between frames costing the turn it makes
    (`SWITCH_COST` times), so one ambiguous frame does not flip the hand (Viterbi, 2 states).
    trust: (T,) frames with none cost nothing either way."""
    num = len(follow)
    cost = np.stack([_turn_angle(follow, m) for m in candidates], axis=1) * (trust > 0)[:, None]
    steps = np.zeros((num, 2, 2))  # [t, previous, current]
    for a in range(2):
        for b in range(2):
            steps[1:, a, b] = _turn_angle(candidates[a][:-1], candidates[b][1:])
    total, back = cost[0].copy(), np.zeros((num, 2), dtype=int)
    for t in range(1, num):
        options = total[:, None] + SWITCH_COST * steps[t]
        back[t] = np.argmin(options, axis=0)
        total = options[back[t], [0, 1]] + cost[t]
    path = np.zeros(num, dtype=int)
    path[-1] = int(np.argmin(total))
    for t in range(num - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return np.where((path == 0)[:, None, None], candidates[0], candidates[1])


def _turn_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T,) the angle of the rotation from ``a`` to ``b`` (T, 3, 3 each)."""
    cos = (np.trace(np.swapaxes(a, 1, 2) @ b, axis1=1, axis2=2) - 1.0) / 2.0
    return np.arccos(np.clip(cos, -1.0, 1.0))


def _median_length(joints: np.ndarray, a: str, b: str) -> float:
    """The median length of one segment of the solved joints (T, 17, 3) over the clip."""
    lengths = np.linalg.norm(joints[:, JOINT_INDEX[b]] - joints[:, JOINT_INDEX[a]], axis=1)
    lengths = lengths[np.isfinite(lengths)]
    return float(np.median(lengths)) if lengths.size else 0.0


def _swing_to(rotation: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, 3, 3) ``rotation`` turned by the smallest rotation taking unit ``a`` to ``b`` (T, 3)."""
    columns = np.swapaxes(rotation, 1, 2)  # turning a matrix turns each of its columns
    a, b = (np.broadcast_to(v[:, None], columns.shape) for v in (a, b))
    return np.swapaxes(swing(a, b, columns), 1, 2)


def has_points(layout: str) -> bool:
    """Whether a layout has any hand or foot points this module reads."""
    return layout in HAND_POINTS or layout in FOOT_POINTS


def apply(
    rest: RestPose,
    rig_map: RigMap,
    world,
    target: np.ndarray,
    solved: tuple[dict, dict],
    planted: np.ndarray | None,
    points: TrackPoints | None,
    fps: float,
    up: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``solved`` (basis quaternions, world rotations) with the hands and (off the floor) the
    feet from ``points``; unchanged without points, or with a track of another length.
    planted: (T, 2) the feet's planted weights; up: the armature-space up axis."""
    rotations, worlds = solved
    if points is None or len(points) != len(target):
        return rotations, worlds
    if not has_points(points.layout):
        return rotations, worlds
    cameras, _ = fit_cameras(target, points, fps)  # NaN where unknown: zero, weighted out
    hands = key_hands(rest, rig_map, world, target, points, cameras, fps)
    rotations, worlds = {**rotations, **hands[0]}, {**worlds, **hands[1]}
    if planted is not None:
        feet_world = {b: worlds[b] for b in rig_map.feet if b in worlds}
        found = orient_feet(
            rest, rig_map, world, target, feet_world, planted, points, cameras, fps, up
        )
        rotations, worlds = {**rotations, **found[0]}, {**worlds, **found[1]}
    return rotations, worlds
