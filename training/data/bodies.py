"""New bodies for old motion: re-pose a clip on a sampled person, and detector-like keypoints.

The mocap corpus shows few bodies (one fixed CMU skeleton, a Daz figure, a few idle actors), so a
model trained on it returns the bones it knows. `repose` keeps every bone's direction from the
motion and gives it the length of a person drawn from human anthropometric ranges, then walks the
H36M-17 tree from the pelvis (forward kinematics, not scaling of points), with PoseAug-style
bone-angle changes kept inside joint limits and the feet kept on the floor. `detector_points`
moves hips, shoulders and head to where 2D detectors put them (they mark the body's surface, not
joint centres), per person, so the 2D input can differ from the 3D target the way real 2D does.

Sources of the ranges are in docs/data.md ("Bodies"). All draws come from the generator passed
in, so an item stays a pure function of its seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mpm_backend.skeleton import (
    BODY_LENGTH_PER_STATURE,
    H36M17,
    PROPORTIONS,
    body_length,
    segment_lengths,
)
from training.data.cameras import cross

_J = H36M17.index
PELVIS, THORAX = _J("pelvis"), _J("thorax")
PARENTS = np.array(H36M17.parents)
# Which bone (named by its child joint) belongs to which scaled segment. Bones that share a
# segment share its factor, so pelvis = mid-hips, thorax = mid-shoulders and spine = mid-trunk
# stay true on the new body.
_SEGMENTS: dict[str, tuple[str, ...]] = {
    "hip_width": ("left_hip", "right_hip"),
    "thigh": ("left_knee", "right_knee"),
    "shin": ("left_ankle", "right_ankle"),
    "trunk": ("spine", "thorax"),
    "head": ("nose", "head"),
    "shoulder_width": ("left_shoulder", "right_shoulder"),
    "upper_arm": ("left_elbow", "right_elbow"),
    "forearm": ("left_wrist", "right_wrist"),
}


@dataclass(frozen=True)
class BodyConfig:
    """The population bodies are drawn from (lengths in metres; spreads are std of log factors).

    prob: share of training windows re-posed on a new body (the rest keep the mocap's own).
    male_stature / female_stature: (mean, std) of adult stature, ANSUR II (2012).
    child_prob / child_stature: share of children and their stature range (about 5-14 years).
    population_weight: range of the per-window weight w: each segment's length is the mocap
        body's (scaled to the stature) to the power 1 - w times the population's proportion
        to the power w, so bodies run from halfway between the mocap's own build and the
        textbook one to the textbook one: the training skeletons (CMU's above all) have short
        trunks and narrow shoulders, and the people our users film do not.
    segment_spread: per-segment length spread on top, about the spread between the training
        sources' skeletons (CMU, Daz, twelve ReActIdle people: 4-13 %), where labs' joint
        definitions differ as much as people do; trunk length and shoulder breadth wider
        still (12 and 15 %), the two a lifted unseen body got most wrong.
    asymmetry: left/right difference of a limb, std of the log factor.
    arm_swing_deg / leg_swing_deg: an upper arm (thigh) turned about the shoulder (hip) by up
        to this angle about a random axis, the limb below going with it.
    elbow_flex_deg / knee_flex_deg: flexion changed by up to this, kept within flex_limits_deg.
    bend_prob / bend_deg: share of windows whose upper body bends forward at the pelvis, by up to
        this (reaching to the floor); lean_deg sideways. The mocap corpus barely bends or crouches.
    crouch_prob / crouch_deg: share of windows with hips flexed by up to crouch_deg (squatting,
        sneaking); the floor rule lowers the pelvis.
    shin_lean: range of the shin's forward lean as a share of the hip flexion, drawn per window:
        squats run from the knee just ahead of the foot to shins leaning further than the
        thighs (on the toes); docs/data.md gives the range of motion it follows.
    splay_prob / splay_deg: share of crouches whose knees go out sideways as well as forward, by
        up to splay_deg (wide squats, horse stances).
    tilt_prob / tilt_deg: share of windows whose whole body is turned off vertical by up to
        tilt_deg about a horizontal axis (lying, falling, floor work).
    Bends, crouches and tilts either hold for the window or rise and fall once within it
    (`_envelope`), so the model sees the motion of getting down and up, not only the pose.
    """

    prob: float = 0.8
    male_stature: tuple[float, float] = (1.756, 0.069)
    female_stature: tuple[float, float] = (1.629, 0.064)
    child_prob: float = 0.1
    child_stature: tuple[float, float] = (1.10, 1.60)
    population_weight: tuple[float, float] = (0.5, 1.0)
    segment_spread: tuple[tuple[str, float], ...] = (
        ("hip_width", 0.07),
        ("thigh", 0.06),
        ("shin", 0.08),
        ("trunk", 0.12),
        ("head", 0.08),
        ("shoulder_width", 0.15),
        ("upper_arm", 0.05),
        ("forearm", 0.07),
    )
    asymmetry: float = 0.01
    arm_swing_deg: float = 20.0
    leg_swing_deg: float = 10.0
    elbow_flex_deg: float = 20.0
    knee_flex_deg: float = 15.0
    flex_limits_deg: tuple[float, float] = (0.0, 160.0)
    bend_prob: float = 0.25
    bend_deg: float = 90.0
    lean_deg: float = 15.0
    crouch_prob: float = 0.15
    crouch_deg: float = 120.0
    shin_lean: tuple[float, float] = (0.2, 1.2)
    splay_prob: float = 0.5
    splay_deg: float = 40.0
    tilt_prob: float = 0.05
    tilt_deg: float = 90.0


@dataclass(frozen=True)
class Body:
    """One sampled person, drawn before the clip is measured: stature (m), a childness in
    [0, 1], and the log-length spreads that set each bone's length relative to the textbook's."""

    stature: float
    child: float  # 0 for adults, up to 1 for the youngest child
    weight: float  # population_weight drawn for this window
    spreads: np.ndarray  # (8,) per _SEGMENTS entry
    sides: np.ndarray  # (17,) left/right log difference per bone (by child joint)


def sample_body(rng: np.random.Generator, config: BodyConfig) -> Body:
    """A person from the configured population (its factors need the clip: `body_factors`)."""
    if rng.random() < config.child_prob:
        stature = rng.uniform(*config.child_stature)
        # Children's heads are large and their legs short for their height (Drillis & Contini
        # proportions are adult); the youngest get the full correction.
        child = float(np.clip((1.60 - stature) / 0.5, 0.0, 1.0))
    else:
        mean, std = config.male_stature if rng.random() < 0.5 else config.female_stature
        stature = float(np.clip(rng.normal(mean, std), mean - 3 * std, mean + 3 * std))
        child = 0.0
    spread_of = dict(config.segment_spread)
    weight = rng.uniform(*config.population_weight)
    spreads, sides = np.zeros(len(_SEGMENTS)), np.zeros(H36M17.num_joints)
    for k, (segment, joints) in enumerate(_SEGMENTS.items()):
        spreads[k] = rng.normal(0.0, spread_of.get(segment, 0.0))
        for name in joints:
            if segment not in ("trunk", "head"):
                sides[_J(name)] = rng.normal(0.0, config.asymmetry)
    return Body(stature=stature, child=child, weight=weight, spreads=spreads, sides=sides)


_CHILD_SHAPE = {"head": 1.25, "thigh": 0.93, "shin": 0.93, "upper_arm": 0.95, "forearm": 0.95}


def body_factors(bodies: list[Body], joints: np.ndarray) -> np.ndarray:
    """(B, 17) length factor of the bone ending at each joint (pelvis: 1) that gives each window
    of joints (B, T, 17, 3) its body: relative to the clip's own segment lengths."""
    own = segment_lengths(joints)
    own_stature = sum(own[s] for s in ("thigh", "shin", "trunk", "head")) / BODY_LENGTH_PER_STATURE
    stature = np.array([b.stature for b in bodies])
    child = np.array([b.child for b in bodies])
    weight = np.array([b.weight for b in bodies])
    spreads, sides = np.array([b.spreads for b in bodies]), np.array([b.sides for b in bodies])
    factors = np.ones((len(bodies), H36M17.num_joints))
    for k, (segment, names) in enumerate(_SEGMENTS.items()):
        shape = 1.0 + child * (_CHILD_SHAPE.get(segment, 1.0) - 1.0)
        mocap = np.log(own[segment] / own_stature)
        textbook = np.log(PROPORTIONS[segment])
        mix = (1 - weight) * mocap + weight * textbook + spreads[:, k]
        length = stature * shape * np.exp(mix)
        for name in names:
            factors[:, _J(name)] = length / own[segment] * np.exp(sides[:, _J(name)])
    # Pelvis-centred bones must stay mirror images (pelvis = mid-hips, thorax = mid-shoulders).
    for pair in (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")):
        both = [_J(p) for p in pair]
        factors[:, both] = factors[:, both].mean(axis=1, keepdims=True)
    factors[:, PELVIS] = 1.0
    return factors


@dataclass(frozen=True)
class _Posture:
    """One window's drawn posture (T-long curves in radians; zeros where it does not apply)."""

    crouch: bool
    hip: np.ndarray  # (T,) hip flexion of the crouch
    shin_lean: float
    splay: float
    bend: np.ndarray  # (T,) forward bend at the pelvis (before the crouch's balance)
    lean: np.ndarray  # (T,) sideways
    tilt: np.ndarray  # (T,) whole-body turn off vertical
    heading: float  # direction of that turn's horizontal axis


def _draw_posture(rng: np.random.Generator, frames: int, config: BodyConfig) -> _Posture:
    """The posture's draws, in one fixed order per window (see `_posture` for their meaning)."""
    crouch = rng.random() < config.crouch_prob
    depth = rng.uniform(0.0, 1.0) * _envelope(rng, frames) if crouch else np.zeros(frames)
    shin_lean = rng.uniform(*config.shin_lean)
    splay = (
        np.radians(rng.uniform(0.0, config.splay_deg)) if rng.random() < config.splay_prob else 0.0
    )
    bend, lean = np.zeros(frames), np.zeros(frames)
    if rng.random() < config.bend_prob or crouch:
        bend = np.radians(rng.uniform(0.0, config.bend_deg)) * _envelope(rng, frames)
        lean = np.radians(rng.uniform(-config.lean_deg, config.lean_deg)) * _envelope(rng, frames)
    tilt, heading = np.zeros(frames), 0.0
    if rng.random() < config.tilt_prob:
        heading = rng.uniform(0.0, 2 * np.pi)
        tilt = np.radians(config.tilt_deg) * _envelope(rng, frames)
    return _Posture(
        crouch, np.radians(config.crouch_deg) * depth, shin_lean, splay, bend, lean, tilt, heading
    )


def repose(
    joints: np.ndarray, rng: np.random.Generator, config: BodyConfig | None = None
) -> np.ndarray:
    """A window (T, 17, 3) of Y-up world joints, moved onto a newly drawn body.

    Bone directions come from the motion (after bone-angle changes), lengths from the new body;
    the pelvis travels the mocap's path scaled by the leg-length ratio, so a longer-legged person
    takes longer strides, and each frame's lowest joint sits at the mocap's height scaled the same
    way (above the window's lowest point), so planted feet stay planted and nothing sinks into
    the floor.
    """
    return repose_batch(np.asarray(joints, dtype=np.float64)[None], [rng], config)[0]


def repose_batch(
    joints: np.ndarray, rngs: Sequence[np.random.Generator], config: BodyConfig | None = None
) -> np.ndarray:
    """`repose` for windows (B, T, 17, 3) at once, window b drawing from rngs[b] alone.

    Each window's draws come first, in one fixed order, then the arithmetic runs on the whole
    batch: a window is the same whatever batch it is made in, and the training loader pays
    numpy's per-call cost once a batch instead of once a window.
    """
    config = config or BodyConfig()
    joints = np.asarray(joints, dtype=np.float64)
    frames = joints.shape[1]
    bodies, swings, deltas, postures = [], [], [], []
    for rng in rngs:
        bodies.append(sample_body(rng, config))
        rotvecs, flexes = _draw_angles(rng, config)
        swings.append(rotvecs)
        deltas.append(flexes)
        postures.append(_draw_posture(rng, frames, config))
    factors = body_factors(bodies, joints)
    bones = joints - joints[:, :, PARENTS.clip(min=0)]
    bones[:, :, PELVIS] = 0.0
    bones = _perturb_angles(bones, np.array(swings), np.array(deltas), config)
    bones = _posture(bones, joints, postures, config)
    bones *= factors[:, None, :, None]
    posed = np.zeros_like(joints)
    for j in range(1, H36M17.num_joints):  # parents come first in H36M-17
        posed[:, :, j] = posed[:, :, PARENTS[j]] + bones[:, :, j]
    tilted = np.flatnonzero([p.tilt.any() for p in postures])
    if len(tilted):  # about the pelvis, still at the origin
        heading = np.array([postures[b].heading for b in tilted])
        axis = np.stack([np.cos(heading), np.zeros_like(heading), np.sin(heading)], axis=-1)
        tilt = np.array([postures[b].tilt for b in tilted])  # (n, T)
        posed[tilted] = _rotate(axis[:, None, None] * tilt[..., None, None], posed[tilted])
    legs = [_J(n) for n in ("left_knee", "right_knee", "left_ankle", "right_ankle")]
    leg_ratio = factors[:, legs].mean(axis=1)[:, None]
    pelvis = joints[:, :, PELVIS]
    start = pelvis[:, :1]
    path = start + leg_ratio[..., None] * (pelvis - start)
    posed += path[:, :, None]
    # Heights above the window's lowest point, so a file whose floor is not at y = 0 works too.
    lowest_mocap = joints[..., 1].min(axis=2)
    floor = lowest_mocap.min(axis=1, keepdims=True)
    lowest_new = posed[..., 1].min(axis=2)
    posed[..., 1] += (floor + leg_ratio * (lowest_mocap - floor) - lowest_new)[..., None]
    return posed


# (upper, lower) bones by child joint of the limbs that swing and flex: left arm, left leg, right
# arm, right leg (the order their angles are drawn in).
_LIMB_BONES = np.array(
    [
        [_J(f"{side}_{upper}"), _J(f"{side}_{lower}")]
        for side in ("left", "right")
        for upper, lower in (("elbow", "wrist"), ("knee", "ankle"))
    ]
)


def _draw_angles(rng: np.random.Generator, config: BodyConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per limb of _LIMB_BONES: a swing (rotation vector, (4, 3)) and a flexion change (4,)."""
    swings, deltas = np.zeros((4, 3)), np.zeros(4)
    limits = (config.arm_swing_deg, config.leg_swing_deg) * 2
    flexes = (config.elbow_flex_deg, config.knee_flex_deg) * 2
    for k in range(4):
        axis = rng.normal(size=3)
        angle = np.radians(rng.uniform(0.0, limits[k]))
        swings[k] = axis / np.linalg.norm(axis) * angle
        deltas[k] = rng.uniform(-flexes[k], flexes[k])
    return swings, deltas


def _perturb_angles(
    bones: np.ndarray, swings: np.ndarray, deltas: np.ndarray, config: BodyConfig
) -> np.ndarray:
    """PoseAug-style bone-angle changes, constant over the window, inside joint limits.

    bones (B, T, 17, 3); swings (B, 4, 3) rotation vectors and deltas (B, 4) degrees per limb.
    """
    bones = bones.copy()
    limbs = _rotate(swings[:, None, :, None], bones[:, :, _LIMB_BONES])  # (B, T, 4, 2, 3)
    upper, lower = limbs[..., 0, :], limbs[..., 1, :]
    bones[:, :, _LIMB_BONES[:, 0]] = upper
    flexed = _flex(upper, lower, deltas[:, None], config.flex_limits_deg)
    bones[:, :, _LIMB_BONES[:, 1]] = flexed
    return bones


# Bones (by child joint) that turn with the upper body when it bends at the pelvis.
_UPPER_BODY = [
    _J(name)
    for name in H36M17.joints
    if name not in ("pelvis", "left_hip", "right_hip") and not name.endswith(("knee", "ankle"))
]
_THIGHS = [_J("left_knee"), _J("right_knee")]
_SHINS = [_J("left_ankle"), _J("right_ankle")]


def _posture(
    bones: np.ndarray, joints: np.ndarray, postures: list[_Posture], config: BodyConfig
) -> np.ndarray:
    """Bend the trunk forward (or sideways) and crouch the legs, in the body's own frame.

    bones: (B, T, 17, 3) by child joint; joints: (B, T, 17, 3) the mocap's, for the frame. The
    frame per time step: up = pelvis→thorax, forward = head→nose made square to it, side = up ×
    forward. A turn about `side` by +a moves the thorax forward. A crouch turns each thigh by the
    hip flexion towards where its knee goes (forward, splayed outwards) and each shin the other
    way by its lean, so the knee comes forward of a foot that stays down.
    """
    up = _unit(joints[:, :, THORAX] - joints[:, :, PELVIS])
    face = joints[:, :, _J("nose")] - joints[:, :, _J("head")]
    forward = _unit(face - np.sum(face * up, axis=-1, keepdims=True) * up)
    side = cross(up, forward)
    bones = bones.copy()
    hip = np.array([p.hip for p in postures])  # (B, T)
    shin_lean = np.array([p.shin_lean for p in postures])[:, None]
    splay = np.array([p.splay for p in postures])[:, None]
    # crouching people lean forward to keep their hips over their feet: less so when the knees
    # go far forward or out
    balance = np.maximum(1.0 - shin_lean, 0.0) / 0.8 * np.cos(splay)
    bend = np.maximum(np.array([p.bend for p in postures]), 0.5 * hip * balance)
    lean = np.array([p.lean for p in postures])
    bent = np.flatnonzero(bend.any(axis=1) | lean.any(axis=1))
    if len(bent):
        turn_side = (side[bent] * bend[bent, :, None])[:, :, None]
        turn_forward = (forward[bent] * lean[bent, :, None])[:, :, None]
        turned = bones[bent]
        upper = _rotate(turn_forward, turned[:, :, _UPPER_BODY])
        turned[:, :, _UPPER_BODY] = _rotate(turn_side, upper)
        bones[bent] = turned
    crouched = np.flatnonzero([p.crouch for p in postures])
    if len(crouched):
        c = crouched
        bones[c] = _crouch(
            bones[c], up[c], forward[c], side[c], hip[c], shin_lean[c], splay[c], config
        )
    return bones


def _crouch(bones, up, forward, side, hip, shin_lean, splay, config: BodyConfig) -> np.ndarray:
    """Each thigh turned by the hip flexion towards where its knee goes, each shin back by its
    lean (arrays batched over crouching windows: (C, T, ...), shin_lean and splay (C, 1))."""
    for thigh, shin in zip(_THIGHS, _SHINS, strict=True):
        outwards = np.sign(np.sum(bones[:, :, PARENTS[thigh]] * side, axis=-1))[..., None] * side
        knee_goes = np.cos(splay)[..., None] * forward + np.sin(splay)[..., None] * outwards
        axis = _unit(cross(-up, knee_goes))  # turning -up about it moves it to knee_goes
        bones[:, :, thigh] = _rotate(axis * hip[..., None], bones[:, :, thigh])
        turned = _rotate(-axis * (shin_lean * hip)[..., None], bones[:, :, shin])
        bones[:, :, shin] = _flex(bones[:, :, thigh], turned, 0.0, config.flex_limits_deg)  # clip
    return bones


def _envelope(rng: np.random.Generator, frames: int) -> np.ndarray:
    """(T,) in [0, 1]: held at 1 for the window, or one smooth rise and fall inside it."""
    if rng.random() < 0.5:
        return np.ones(frames)
    start, stop = np.sort(rng.uniform(-0.3, 1.3, size=2)) * frames
    phase = np.clip((np.arange(frames) - start) / max(stop - start, 1.0), 0.0, 1.0)
    return np.sin(np.pi * phase) ** 2


def _flex(upper: np.ndarray, lower: np.ndarray, delta_deg, limits: tuple[float, float]):
    """Turn `lower` (..., 3) about the hinge it forms with `upper` so its flexion changes by
    delta (a number, or an array broadcast against the leading axes).

    Flexion is the angle between the two bones' directions (0 = straight). Near straight the
    hinge axis is undefined, so the change fades out there instead of flipping the bend.
    """
    normal = cross(upper, lower)
    lengths = np.linalg.norm(upper, axis=-1) * np.linalg.norm(lower, axis=-1) + 1e-12
    sine = np.linalg.norm(normal, axis=-1) / lengths
    cosine = np.sum(upper * lower, axis=-1) / lengths
    flexion = np.degrees(np.arctan2(sine, cosine))
    fade = np.clip(sine / np.sin(np.radians(15.0)), 0.0, 1.0)
    target = np.clip(flexion + fade * delta_deg, *limits)
    turn = np.radians(target - flexion)
    axis = normal / (np.linalg.norm(normal, axis=-1, keepdims=True) + 1e-12)
    return _rotate(axis * turn[..., None], lower)


def _rotate(rotvec: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Turn vectors (..., 3) about rotation vectors (..., 3) that broadcast against them.

    Rodrigues' formula in plain numpy: scipy's Rotation costs more to build than to apply on a
    window's few hundred vectors. A zero rotation vector leaves the vectors exactly as they are.
    """
    angle = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    axis = rotvec / np.where(angle > 0.0, angle, 1.0)
    cos, sin = np.cos(angle), np.sin(angle)
    along = np.sum(axis * vectors, axis=-1, keepdims=True)
    return vectors * cos + cross(axis, vectors) * sin + axis * along * (1.0 - cos)


@dataclass(frozen=True)
class DetectorConfig:
    """Where 2D detectors put hips, shoulders and head relative to mocap joint centres.

    Offsets are fractions of stature, drawn once per window (one person, one detector). `style`
    in [0, 1] runs from MediaPipe-like hips (near the joint centres) to COCO-annotation-like hips
    (lower and wider, on the greater trochanter); shoulders sit on top of the shoulder for both.
    See docs/data.md ("Detector keypoints") for where the numbers come from.
    """

    prob: float = 0.9
    hip_out: tuple[float, float] = (0.020, 0.006)  # (mean at style 1, std)
    hip_down: tuple[float, float] = (0.030, 0.010)
    shoulder_up: tuple[float, float] = (0.018, 0.008)  # at any style
    shoulder_out: tuple[float, float] = (0.004, 0.004)
    head_std: float = 0.006  # mid-eyes and nose, each axis


def detector_points(
    joints: np.ndarray, rng: np.random.Generator, config: DetectorConfig | None = None
) -> np.ndarray:
    """Where a 2D detector would mark the joints of a window (T, 17, 3): what the 2D shows.

    Offsets follow the body (outward from the pelvis or thorax, along the trunk), so they stay
    right in any pose; pelvis, thorax and spine are re-derived from the moved points the way the
    runtime derives them from detector keypoints.
    """
    return detector_points_batch(np.asarray(joints, dtype=np.float64)[None], [rng], config)[0]


def detector_points_batch(
    joints: np.ndarray, rngs: Sequence[np.random.Generator], config: DetectorConfig | None = None
) -> np.ndarray:
    """`detector_points` for windows (B, T, 17, 3), window b drawing from rngs[b] alone."""
    config = config or DetectorConfig()
    joints = np.asarray(joints, dtype=np.float64)
    points = joints.copy()
    stature = body_length(joints) / BODY_LENGTH_PER_STATURE
    moved, offsets, heads = [], [], []
    for b, rng in enumerate(rngs):
        if rng.random() >= config.prob:
            continue
        style = rng.uniform()
        scales = (style, style, 1.0, 1.0)
        specs = (config.hip_out, config.hip_down, config.shoulder_up, config.shoulder_out)
        moved.append(b)
        offsets.append(
            [stature[b] * s * rng.normal(*spec) for s, spec in zip(scales, specs, strict=True)]
        )
        heads.append([rng.normal(0.0, config.head_std * stature[b], size=3) for _ in range(2)])
    if not moved:
        return points
    m = np.array(moved)
    hip_out, hip_down, shoulder_up, shoulder_out = np.array(offsets).T[..., None, None]
    seen, worn = joints[m], points[m]
    pelvis, thorax = seen[:, :, PELVIS], seen[:, :, THORAX]
    up = _unit(thorax - pelvis)
    for side in ("left", "right"):
        hip, shoulder = _J(f"{side}_hip"), _J(f"{side}_shoulder")
        worn[:, :, hip] += hip_out * _unit(seen[:, :, hip] - pelvis) - hip_down * up
        outwards = _unit(seen[:, :, shoulder] - thorax)
        worn[:, :, shoulder] += shoulder_out * outwards + shoulder_up * up
    head_nose = np.array(heads)  # (M, 2, 3)
    worn[:, :, [_J("head"), _J("nose")]] += head_nose[:, None]
    hips = [_J("left_hip"), _J("right_hip")]
    shoulders = [_J("left_shoulder"), _J("right_shoulder")]
    worn[:, :, PELVIS] = worn[:, :, hips].mean(axis=2)
    worn[:, :, THORAX] = worn[:, :, shoulders].mean(axis=2)
    worn[:, :, _J("spine")] = 0.5 * (worn[:, :, PELVIS] + worn[:, :, THORAX])
    points[m] = worn
    return points


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v, axis=-1, keepdims=True) + 1e-12)
