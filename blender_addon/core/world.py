"""A level world: the floor the person stands on at height 0 with Blender's +Z as up.

The lifter's 3D is in the camera's frame, so a camera pitched down or rolled tilts the ground
under the character by the same angle, and a walk towards the camera sinks or climbs. Gravity is
estimated from the motion itself: a foot at rest stands on the floor, so the ankles of slow, low
frames lie on one plane; where they do not spread far enough to fix a plane (standing in place,
no root trajectory) the trunk's median direction decides, as the prior of one ridge fit. A user
who knows the camera (its pitch and roll, or that it was level) overrides the estimate.

Joints are (T, 17, 3) H36M-17 in Blender's axes (`coords.camera_clip_to_blender`), metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cleanup import BODY_SPEED_SECONDS, BODY_SPEED_SHARE, detect_foot_contacts, floor_shift
from .coords import (
    ANKLES,
    DEFAULT_ANKLE_HEIGHT,
    PELVIS,
    estimate_up,
    rotation_between,
    stature,
)
from .filters import butterworth

UP = np.array([0.0, 0.0, 1.0])
# A resting ankle moves slower than this (m/s); walking feet in swing move at 2-5 m/s.
REST_SPEED = 0.5
# Lifted contact heights scatter by about this much (m) about the true floor ...
CONTACT_NOISE = 0.02
# ... and an upright trunk's median direction is within about this of gravity (radians, 5 deg).
TRUNK_PRIOR = np.radians(5.0)
# The root's depth comes from the body's size in the image and jitters far more than its image
# position; a body's distance changes slowly, so its depth is low-passed at this (Hz).
ROOT_DEPTH_CUTOFF_HZ = 1.0
# Single frames of it can be far off (a first frame 0.8 m nearer than the rest), and a zero-phase
# low-pass keeps a clip's end samples, smearing such a frame over a second; a running median
# over this long (s) goes first.
ROOT_DEPTH_MEDIAN_SECONDS = 0.15
# The feet's contacts for the ground are read on a copy low-passed at this (Hz), as the default
# cleanup smooths: a lifted planted ankle jitters faster than a foot lands or lifts.
CONTACT_SMOOTH_HZ = 6.0
# A lifted foot reads as planted up to this long (s) after it has landed, its landing smoothed
# by the lift; the ground counts those frames too, so a clip that opens mid-stance stands on it.
LANDING_LEAD = 0.2
# Resting ankle frames enough to stand for the floor on their own (its height, its tilt); with
# fewer, the tilt comes from the steps (`resting_frames(on_the_move=True)`) ...
ENOUGH_RESTING = 10
# ... fitted from this many still (or stepping) ankle frames up; fewer, and the trunk alone
# levels. `fit_floor`'s prior holds a few points to the trunk's up, so a short hop's
# take-off and landing (an eighth of a second each) still correct a trunk that leans.
MIN_FLOOR_POINTS = 3


@dataclass(frozen=True)
class Camera:
    """What the user knows of the camera: pitch down and roll, degrees (0, 0: it was level).

    roll > 0: the camera turned clockwise as its operator sees it (the horizon rising to the
    right in the image).
    """

    pitch_deg: float = 0.0
    roll_deg: float = 0.0

    def up(self) -> np.ndarray:
        """Gravity's up in the camera frame's Blender axes (`coords.CAMERA_TO_BLENDER`)."""
        pitch, roll = np.radians(self.pitch_deg), np.radians(self.roll_deg)
        return np.array(
            [-np.cos(pitch) * np.sin(roll), -np.sin(pitch), np.cos(pitch) * np.cos(roll)]
        )


@dataclass(frozen=True)
class Level:
    """How a clip was placed in the world: the levelling rotation, what it rests on, the scale."""

    rotation: np.ndarray  # (3, 3), Blender axes of the camera frame → the level world
    # "feet" (resting ankles), "steps" (planted ankles on the move), "trunk" (too few to fix a
    # plane) or "camera" (given)
    source: str
    contacts: int  # resting-ankle samples the plane was fitted to
    floor_shift: float  # metres added to Z so resting ankles sit at the ankle height
    scale: float = 1.0  # the subject's given height over the lifted one (`scale_to_height`)
    start_xy: tuple[float, float] = (0.0, 0.0)  # the first pelvis's X, Y, moved to the origin
    ground: np.ndarray | None = None  # (T,) metres each frame was raised (`ground_shift`)
    # (T, 3) metres the whole body moved after levelling and scaling (foot lock's shared drift)
    body_shift: np.ndarray | None = None

    @property
    def tilt_deg(self) -> float:
        """How far the camera's up was from gravity (the ground's slope before levelling)."""
        cosine = np.clip(self.rotation[2] @ UP, -1.0, 1.0)
        return float(np.degrees(np.arccos(cosine)))

    @property
    def camera(self) -> Camera:
        """The camera pitch and roll this levelling amounts to."""
        up = self.rotation.T @ UP
        pitch = np.degrees(np.arcsin(np.clip(-up[1], -1.0, 1.0)))
        roll = np.degrees(np.arctan2(-up[0], up[2]))
        return Camera(float(pitch), float(roll))


def steady_root(root: np.ndarray, fps: float, cutoff_hz: float = ROOT_DEPTH_CUTOFF_HZ):
    """The camera-frame pelvis path (T, 3) with its depth low-passed (zero-phase, no lag) and
    each frame kept on its own ray, so the pelvis stays on its pixel."""
    root = np.asarray(root, dtype=float)
    depth = root[:, 2]
    if len(root) < 3 or not np.all(np.isfinite(depth) & (depth > 0)):
        return root.copy()
    steady = butterworth(running_median(depth, ROOT_DEPTH_MEDIAN_SECONDS * fps), fps, cutoff_hz)
    return root * (steady / depth)[:, None]


def running_median(values: np.ndarray, frames: float) -> np.ndarray:
    """(T,) the median of each frame's centred window of ``frames`` (rounded to odd, at least
    3; at most the clip), the ends reflected so a bad end frame is outvoted, not repeated."""
    values = np.asarray(values, dtype=float)
    longest = len(values) if len(values) % 2 else len(values) - 1  # odd, within the clip
    size = min(max(3, int(round(frames)) // 2 * 2 + 1), longest)
    if size < 3:
        return values.copy()
    half = size // 2
    padded = np.pad(values, half, mode="reflect")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, size), axis=1)


def _window_speed(points: np.ndarray, fps: float, seconds: float) -> np.ndarray:
    """(T, ...) speed (m/s) of points (T, ..., 3) over a centred window of ``seconds``, so
    frame-to-frame jitter does not read as motion."""
    half = max(1, int(round(0.5 * seconds * fps)))
    padded = np.concatenate([points[:1].repeat(half, 0), points, points[-1:].repeat(half, 0)])
    travel = padded[2 * half :] - padded[: -2 * half]
    return np.linalg.norm(travel, axis=-1) * fps / (2 * half)


def resting_frames(
    joints: np.ndarray, fps: float, on_the_move: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(frames, ankle positions (N, 3)) where the lower ankle moves slower than a resting foot.

    With ``on_the_move``, also where it moves slower than BODY_SPEED_SHARE of the body's
    horizontal speed: a jog's lifted planted foot drifts with the body and never rests."""
    ankles = joints[:, list(ANKLES)]  # (T, 2, 3)
    if len(joints) < 3:
        return np.zeros(0, dtype=int), np.zeros((0, 3))
    speed = _window_speed(ankles, fps, 0.2)  # (T, 2)
    limit = np.full(len(joints), REST_SPEED)
    if on_the_move:
        body = _window_speed(joints[:, PELVIS] * [1.0, 1.0, 0.0], fps, BODY_SPEED_SECONDS)
        limit = np.maximum(limit, BODY_SPEED_SHARE * np.nan_to_num(body))
    lower = np.argmin(ankles[..., 2], axis=1)
    frames = np.arange(len(joints))
    points, speed = ankles[frames, lower], speed[frames, lower]
    ok = np.isfinite(points).all(axis=1) & (speed < limit)
    return frames[ok], points[ok]


def resting_ankles(joints: np.ndarray, fps: float) -> np.ndarray:
    """(N, 3) positions of the lower ankle in frames where it moves slower than a resting foot
    does; the floor fit weighs down the few that are not on the floor."""
    return resting_frames(joints, fps)[1]


def ground_contacts(
    joints: np.ndarray, fps: float, ankle_height: float = DEFAULT_ANKLE_HEIGHT
) -> np.ndarray:
    """A levelled clip moved up or down frame by frame so the lower planted ankle of every
    contact (`cleanup.detect_foot_contacts`, on a low-passed copy) stands at ``ankle_height``;
    in between (a step's swing, a jump) the shift is interpolated, raised where a foot would go
    under the floor. The root's depth error bends the path up and down; the feet say where the
    floor is, so the body neither sinks nor floats, and a jump keeps its height. The contacts,
    not only the feet at rest: a jog's or a walk's planted foot seldom rests by `REST_SPEED`
    (the lift moves it with the body), and a floor pinned only where one does leaves the rest of
    the clip floating or sunk."""
    out = np.asarray(joints, dtype=float).copy()
    out[..., 2] += ground_shift(out, fps, ankle_height)[:, None]
    return out


def ground_shift(
    joints: np.ndarray, fps: float, ankle_height: float = DEFAULT_ANKLE_HEIGHT
) -> np.ndarray:
    """(T,) metres `ground_contacts` raises each frame by (zeros without a contact, except to
    keep the ankles over the floor); the footage camera moves by the same amount so the body
    stays on its pixels."""
    joints = np.asarray(joints, dtype=float)
    if len(joints) < 3:
        return np.zeros(len(joints))
    steady = butterworth(joints, fps, CONTACT_SMOOTH_HZ)
    planted = detect_foot_contacts(steady, fps, floor=ankle_height, lead=LANDING_LEAD)
    shift = floor_shift(steady, planted, ankle_height)
    lowest = np.nanmin(joints[:, list(ANKLES), 2], axis=1) + shift  # no jitter under the floor
    return shift + np.maximum(ankle_height - lowest, 0.0)


def fit_floor(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Floor normal and height from resting ankles in a frame whose Z is the trunk's up.

    Ridge regression of height on the horizontal position (z = d + a x + b y), the slopes
    pulled to zero by the trunk prior; reweighted twice so a few wrong contacts do not tilt it.
    """
    n = len(points)
    design = np.column_stack([np.ones(n), points[:, 0], points[:, 1]])
    ridge = np.diag([0.0, 1.0, 1.0]) * (CONTACT_NOISE / np.tan(TRUNK_PRIOR)) ** 2
    weights = np.ones(n)
    for _ in range(3):
        w = design * weights[:, None]
        coef = np.linalg.solve(design.T @ w + ridge * weights.sum(), w.T @ points[:, 2])
        residual = np.abs(points[:, 2] - design @ coef)
        weights = np.minimum(1.0, 1.5 * CONTACT_NOISE / np.maximum(residual, 1e-9))
    normal = np.array([-coef[1], -coef[2], 1.0])
    return normal / np.linalg.norm(normal), float(coef[0])


def level_rotation(joints: np.ndarray, fps: float) -> tuple[np.ndarray, str, int]:
    """The rotation (3, 3) that makes the floor level, its source and the contacts it used."""
    to_trunk = rotation_between(estimate_up(joints), UP)
    upright = joints @ to_trunk.T
    points, source = resting_ankles(upright, fps), "feet"
    if len(points) < ENOUGH_RESTING:  # a jog or a run: its planted feet move with the body
        points, source = resting_frames(upright, fps, on_the_move=True)[1], "steps"
    if len(points) < MIN_FLOOR_POINTS:
        return to_trunk, "trunk", int(len(points))
    normal, _ = fit_floor(points)
    return rotation_between(normal, UP) @ to_trunk, source, int(len(points))


def level_world(
    joints: np.ndarray,
    fps: float,
    camera: Camera | None = None,
    ankle_height: float = DEFAULT_ANKLE_HEIGHT,
    ground: bool = True,
) -> tuple[np.ndarray, Level]:
    """Joints (T, 17, 3) in a level world: floor level, resting ankles at ``ankle_height``
    above Z = 0, the first frame's pelvis over the origin. ``camera``: the user's known
    camera instead of the estimate; ``ground``: every planted ankle on the floor
    (`ground_contacts`), not only the resting ankles' median."""
    joints = np.asarray(joints, dtype=float)
    if camera is not None:
        rotation, source, count = rotation_between(camera.up(), UP), "camera", 0
    else:
        rotation, source, count = level_rotation(joints, fps)
    out = joints @ rotation.T
    if not len(out):
        return out, Level(rotation, source, count, 0.0)
    start = (float(out[0, PELVIS, 0]), float(out[0, PELVIS, 1]))
    out[..., :2] -= start
    resting = resting_ankles(out, fps)
    if len(resting) >= ENOUGH_RESTING:
        floor = float(np.median(resting[:, 2]))
    else:  # no foot rests (a clip in the air, or too short): the lowest ankle stands
        floor = float(np.nanmin(out[:, list(ANKLES), 2]))
    shift = ankle_height - floor
    out[..., 2] += shift
    steps = ground_shift(out, fps, ankle_height) if ground else np.zeros(len(out))
    out[..., 2] += steps[:, None]
    return out, Level(rotation, source, count, shift, start_xy=start, ground=steps)


def scale_to_height(
    joints: np.ndarray, height: float, ankle_height: float = DEFAULT_ANKLE_HEIGHT
) -> tuple[np.ndarray, float]:
    """A levelled clip (`level_world`) scaled so the person is ``height`` metres tall: the pose
    and the path together (a child filmed from afar is lifted at an adult's size and distance).
    Returns the joints and the factor; the floor stays at Z = 0, the start over the origin."""
    if not height > 0:
        raise ValueError(f"subject height must be a positive number of metres, got {height!r}")
    factor = height / stature(joints)
    out = np.asarray(joints, dtype=float) * factor
    out[..., 2] += ankle_height * (1.0 - factor)  # resting ankles back at the ankle height
    return out, float(factor)
