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

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from mpm_backend.skeleton import (
    BODY_LENGTH_PER_STATURE,
    H36M17,
    PROPORTIONS,
    body_length,
    segment_lengths,
)

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
    """One sampled person: stature (m), a length factor per bone (by child joint), a childness."""

    stature: float
    factors: np.ndarray  # (17,) length factor of the bone ending at each joint (pelvis: 1)
    child: float  # 0 for adults, up to 1 for the youngest child


def sample_body(rng: np.random.Generator, own: dict[str, float], config: BodyConfig) -> Body:
    """A person from the configured population, as length factors relative to the clip's body
    (`own`: its segment lengths, `segment_lengths`)."""
    if rng.random() < config.child_prob:
        stature = rng.uniform(*config.child_stature)
        # Children's heads are large and their legs short for their height (Drillis & Contini
        # proportions are adult); the youngest get the full correction.
        child = float(np.clip((1.60 - stature) / 0.5, 0.0, 1.0))
    else:
        mean, std = config.male_stature if rng.random() < 0.5 else config.female_stature
        stature = float(np.clip(rng.normal(mean, std), mean - 3 * std, mean + 3 * std))
        child = 0.0
    spreads = dict(config.segment_spread)
    child_shape = {"head": 1.25, "thigh": 0.93, "shin": 0.93, "upper_arm": 0.95, "forearm": 0.95}
    own_stature = sum(own[s] for s in ("thigh", "shin", "trunk", "head")) / BODY_LENGTH_PER_STATURE
    weight = rng.uniform(*config.population_weight)
    factors = np.ones(H36M17.num_joints)
    for segment, joints in _SEGMENTS.items():
        shape = 1.0 + child * (child_shape.get(segment, 1.0) - 1.0)
        mocap = np.log(own[segment] / own_stature)
        textbook = np.log(PROPORTIONS[segment])
        spread = rng.normal(0.0, spreads.get(segment, 0.0))
        length = stature * shape * np.exp((1 - weight) * mocap + weight * textbook + spread)
        for name in joints:
            side = rng.normal(0.0, config.asymmetry) if segment not in ("trunk", "head") else 0.0
            factors[_J(name)] = length / own[segment] * np.exp(side)
    # Pelvis-centred bones must stay mirror images (pelvis = mid-hips, thorax = mid-shoulders).
    for pair in (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")):
        factors[[_J(p) for p in pair]] = factors[[_J(p) for p in pair]].mean()
    factors[PELVIS] = 1.0
    return Body(stature=stature, factors=factors, child=child)


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
    config = config or BodyConfig()
    joints = np.asarray(joints, dtype=np.float64)
    body = sample_body(rng, segment_lengths(joints), config)
    bones = joints - joints[:, PARENTS.clip(min=0)]
    bones[:, PELVIS] = 0.0
    bones = _perturb_angles(bones, rng, config)
    bones = _posture(bones, joints, rng, config)
    bones *= body.factors[None, :, None]
    posed = np.zeros_like(joints)
    for j in range(1, H36M17.num_joints):  # parents come first in H36M-17
        posed[:, j] = posed[:, PARENTS[j]] + bones[:, j]
    if rng.random() < config.tilt_prob:
        heading = rng.uniform(0.0, 2 * np.pi)
        axis = np.array([np.cos(heading), 0.0, np.sin(heading)])  # horizontal in Y-up
        angle = np.radians(config.tilt_deg) * _envelope(rng, len(posed))
        turns = Rotation.from_rotvec(axis[None] * angle[:, None]).as_matrix()
        posed = np.einsum("tij,tnj->tni", turns, posed)  # about the pelvis, still at the origin
    legs = [_J(n) for n in ("left_knee", "right_knee", "left_ankle", "right_ankle")]
    leg_ratio = float(body.factors[legs].mean())
    pelvis = joints[:, PELVIS]
    start = pelvis[0].copy()
    path = start + leg_ratio * (pelvis - start)
    posed += path[:, None]
    # Heights above the window's lowest point, so a file whose floor is not at y = 0 works too.
    lowest_mocap = joints[..., 1].min(axis=1)
    floor = lowest_mocap.min()
    lowest_new = posed[..., 1].min(axis=1)
    posed[..., 1] += (floor + leg_ratio * (lowest_mocap - floor) - lowest_new)[:, None]
    return posed


def _perturb_angles(bones: np.ndarray, rng: np.random.Generator, config: BodyConfig) -> np.ndarray:
    """PoseAug-style bone-angle changes, constant over the window, inside joint limits."""
    bones = bones.copy()
    for side in ("left", "right"):
        for (upper, lower), limit, flex in (
            (("elbow", "wrist"), config.arm_swing_deg, config.elbow_flex_deg),
            (("knee", "ankle"), config.leg_swing_deg, config.knee_flex_deg),
        ):
            upper, lower = _J(f"{side}_{upper}"), _J(f"{side}_{lower}")
            bones[:, [upper, lower]] = bones[:, [upper, lower]] @ _swing(rng, limit).T
            delta = rng.uniform(-flex, flex)
            bones[:, lower] = _flex(bones[:, upper], bones[:, lower], delta, config.flex_limits_deg)
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
    bones: np.ndarray, joints: np.ndarray, rng: np.random.Generator, config: BodyConfig
) -> np.ndarray:
    """Bend the trunk forward (or sideways) and crouch the legs, in the body's own frame.

    bones: (T, 17, 3) by child joint; joints: (T, 17, 3) the mocap's, for the frame. The frame
    per time step: up = pelvis→thorax, forward = head→nose made square to it, side = up × forward.
    A turn about `side` by +a moves the thorax forward. A crouch turns each thigh by the hip
    flexion towards where its knee goes (forward, splayed outwards) and each shin the other way
    by its lean, so the knee comes forward of a foot that stays down.
    """
    frames = len(bones)
    up = _unit(joints[:, THORAX] - joints[:, PELVIS])
    face = joints[:, _J("nose")] - joints[:, _J("head")]
    forward = _unit(face - np.einsum("ti,ti->t", face, up)[:, None] * up)
    side = np.cross(up, forward)
    bones = bones.copy()
    crouch = rng.random() < config.crouch_prob
    depth = rng.uniform(0.0, 1.0) * _envelope(rng, frames) if crouch else np.zeros(frames)
    hip = np.radians(config.crouch_deg) * depth
    shin_lean = rng.uniform(*config.shin_lean)
    splay = (
        np.radians(rng.uniform(0.0, config.splay_deg)) if rng.random() < config.splay_prob else 0.0
    )
    if rng.random() < config.bend_prob or crouch:
        bend = np.radians(rng.uniform(0.0, config.bend_deg)) * _envelope(rng, frames)
        # crouching people lean forward to keep their hips over their feet: less so when the
        # knees go far forward or out
        balance = max(1.0 - shin_lean, 0.0) / 0.8 * np.cos(splay)
        bend = np.maximum(bend, 0.5 * hip * balance)
        lean = np.radians(rng.uniform(-config.lean_deg, config.lean_deg)) * _envelope(rng, frames)
        turn = Rotation.from_rotvec(side * bend[:, None]) * Rotation.from_rotvec(
            forward * lean[:, None]
        )
        for j in _UPPER_BODY:
            bones[:, j] = turn.apply(bones[:, j])
    if crouch:
        for thigh, shin in zip(_THIGHS, _SHINS, strict=True):
            outwards = (
                np.sign(np.einsum("ti,ti->t", bones[:, PARENTS[thigh]], side))[:, None] * side
            )
            knee_goes = np.cos(splay) * forward + np.sin(splay) * outwards
            axis = _unit(np.cross(-up, knee_goes))  # turning -up about it moves it to knee_goes
            bones[:, thigh] = Rotation.from_rotvec(axis * hip[:, None]).apply(bones[:, thigh])
            turned = Rotation.from_rotvec(-axis * (shin_lean * hip)[:, None]).apply(bones[:, shin])
            bones[:, shin] = _flex(bones[:, thigh], turned, 0.0, config.flex_limits_deg)  # clip
    return bones


def _envelope(rng: np.random.Generator, frames: int) -> np.ndarray:
    """(T,) in [0, 1]: held at 1 for the window, or one smooth rise and fall inside it."""
    if rng.random() < 0.5:
        return np.ones(frames)
    start, stop = np.sort(rng.uniform(-0.3, 1.3, size=2)) * frames
    phase = np.clip((np.arange(frames) - start) / max(stop - start, 1.0), 0.0, 1.0)
    return np.sin(np.pi * phase) ** 2


def _swing(rng: np.random.Generator, limit_deg: float) -> np.ndarray:
    """A rotation by up to limit_deg about a random axis (3, 3)."""
    axis = rng.normal(size=3)
    angle = np.radians(rng.uniform(0.0, limit_deg))
    return Rotation.from_rotvec(axis / np.linalg.norm(axis) * angle).as_matrix()


def _flex(upper: np.ndarray, lower: np.ndarray, delta_deg: float, limits: tuple[float, float]):
    """Turn `lower` (T, 3) about the hinge it forms with `upper` so its flexion changes by delta.

    Flexion is the angle between the two bones' directions (0 = straight). Near straight the
    hinge axis is undefined, so the change fades out there instead of flipping the bend.
    """
    normal = np.cross(upper, lower)
    sine = np.linalg.norm(normal, axis=-1) / (
        np.linalg.norm(upper, axis=-1) * np.linalg.norm(lower, axis=-1) + 1e-12
    )
    cosine = np.einsum("ti,ti->t", upper, lower) / (
        np.linalg.norm(upper, axis=-1) * np.linalg.norm(lower, axis=-1) + 1e-12
    )
    flexion = np.degrees(np.arctan2(sine, cosine))
    fade = np.clip(sine / np.sin(np.radians(15.0)), 0.0, 1.0)
    target = np.clip(flexion + fade * delta_deg, *limits)
    turn = np.radians(target - flexion)
    axis = normal / (np.linalg.norm(normal, axis=-1, keepdims=True) + 1e-12)
    return Rotation.from_rotvec(axis * turn[:, None]).apply(lower)


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
    config = config or DetectorConfig()
    joints = np.asarray(joints, dtype=np.float64)
    if rng.random() >= config.prob:
        return joints.copy()
    stature = body_length(joints) / BODY_LENGTH_PER_STATURE
    style = rng.uniform()
    pelvis, thorax = joints[:, PELVIS], joints[:, THORAX]
    up = _unit(thorax - pelvis)
    points = joints.copy()

    def draw(spec: tuple[float, float], scale: float = 1.0) -> float:
        return stature * scale * rng.normal(*spec)

    hip_out, hip_down = draw(config.hip_out, style), draw(config.hip_down, style)
    shoulder_up, shoulder_out = draw(config.shoulder_up), draw(config.shoulder_out)
    for side in ("left", "right"):
        hip, shoulder = _J(f"{side}_hip"), _J(f"{side}_shoulder")
        points[:, hip] += hip_out * _unit(joints[:, hip] - pelvis) - hip_down * up
        points[:, shoulder] += shoulder_out * _unit(joints[:, shoulder] - thorax) + shoulder_up * up
    for name in ("head", "nose"):
        points[:, _J(name)] += rng.normal(0.0, config.head_std * stature, size=3)
    hips = [_J("left_hip"), _J("right_hip")]
    shoulders = [_J("left_shoulder"), _J("right_shoulder")]
    points[:, PELVIS] = points[:, hips].mean(axis=1)
    points[:, THORAX] = points[:, shoulders].mean(axis=1)
    points[:, _J("spine")] = 0.5 * (points[:, PELVIS] + points[:, THORAX])
    return points


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v, axis=-1, keepdims=True) + 1e-12)
