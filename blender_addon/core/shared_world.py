"""One world for several people filmed by one camera: one camera tilt, one floor.

Each person's lift puts them at the distance their size in the image says, under the model's
guess of their size: a few per cent off, so two people can drift through each other. One camera
sees one floor, though. Its tilt is fitted once from everyone's planted feet (each person's own
height along the camera's rays removed, since that is what their size guess gets wrong) with
everyone's trunks as the prior, and the camera's height over the floor is set so the people keep
the lifts' average size. Where a person's planted feet meet the camera's rays on that floor is
then a second reading of their distance, independent of their size guess.

That reading is only as good as the tilt: at a grazing view (a camera at eye height, people
several metres away) one degree of pitch moves a foot on the floor by about half a metre. So
each person's distance blends both readings by their uncertainties (`floor_weight`): a steep
view or a camera the user gave trusts the floor, a grazing view with an estimated tilt mostly
keeps the lift. Someone with too few planted feet, or whose feet stand on more than one level
(stairs), keeps their own distance, and the summary says why.

Joints are (T, 17, 3) H36M-17 in Blender's axes with the camera at the origin
(`coords.camera_clip_to_blender` with the root), metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cleanup import detect_foot_contacts
from .coords import ANKLES, DEFAULT_ANKLE_HEIGHT, estimate_up, rotation_between
from .filters import butterworth
from .world import (
    CONTACT_SMOOTH_HZ,
    LANDING_LEAD,
    UP,
    Camera,
    Level,
    fit_floor,
    resting_ankles,
    resting_frames,
)

# Fewer planted-foot frames than this cannot say where a person stands on the floor.
MIN_CONTACTS = 10
# A lifted person's distance is off by about this share (log scale): the model's size guess.
LIFT_SCALE_NOISE = 0.05
# How far an estimated camera tilt is from the truth (radians): trunks lean by a few degrees
# and the feet of people walking across the image hardly fix the pitch.
ESTIMATED_TILT_NOISE = np.radians(2.0)
# ... and a tilt the user gave (they read it off the camera or a level).
GIVEN_TILT_NOISE = np.radians(0.5)
# Resting feet whose heights spread wider than this (metres, between the quartiles) stand on
# more than one level: a stair is ~0.17 m; one level's lifted rests spread ~0.04 m.
STAIRS_SPREAD = 0.12


@dataclass(frozen=True)
class SharedWorld:
    """One camera and one floor for a shot: the levelling rotation everyone shares, each
    person's factor on their root's distance, and why a person kept their own."""

    rotation: np.ndarray  # (3, 3) camera-frame Blender axes → level world
    source: str  # "feet" (everyone's planted feet), "trunk" (too few) or "camera" (given)
    camera_height: float  # metres from the camera down to the floor (NaN: nobody on it)
    scales: tuple[float, ...]  # per person: their root's distance is multiplied by this
    weights: tuple[float, ...]  # per person: how much the floor decided it (0: the lift alone)
    contacts: tuple[int, ...]  # planted-foot frames per person
    notes: tuple[str, ...]  # per person: "" when on the shared floor, else why not

    @property
    def camera(self) -> Camera:
        """The shared tilt as a known camera, for `world.level_world`."""
        return Level(self.rotation, self.source, 0, 0.0).camera

    def place_root(self, person: int, root: np.ndarray) -> np.ndarray:
        """A person's camera-frame root (T, 3) moved along the camera's rays to the shared
        world's distance (any axes with the camera at the origin)."""
        return np.asarray(root, dtype=float) * self.scales[person]

    def summary(self) -> list[str]:
        """One line per person for the status/summary: their distance change or fallback."""
        lines = []
        for k, (scale, weight, note) in enumerate(
            zip(self.scales, self.weights, self.notes, strict=True)
        ):
            if note:
                lines.append(f"p{k}: own distance kept ({note})")
            else:
                lines.append(
                    f"p{k}: on the shared floor: distance × {scale:.3f} (floor weight {weight:.2f})"
                )
        return lines


def planted_ankles(joints: np.ndarray, fps: float, seen: np.ndarray | None = None) -> np.ndarray:
    """(N, 3) planted ankles of a levelled clip still at the camera's height (the floor found
    from the clip's own resting feet only to detect contacts), in frames the person is seen."""
    joints = np.asarray(joints, dtype=float)
    if len(joints) < 3:
        return np.zeros((0, 3))
    resting = resting_ankles(joints, fps)
    floor = (
        np.median(resting[:, 2]) if len(resting) >= MIN_CONTACTS
        else np.nanmin(joints[:, list(ANKLES), 2])
    )  # fmt: skip
    lifted = joints.copy()
    lifted[..., 2] += DEFAULT_ANKLE_HEIGHT - floor
    steady = butterworth(lifted, fps, CONTACT_SMOOTH_HZ)
    planted = detect_foot_contacts(steady, fps, floor=DEFAULT_ANKLE_HEIGHT, lead=LANDING_LEAD)
    if seen is not None:
        planted &= np.asarray(seen, dtype=bool)[:, None]
    return joints[:, list(ANKLES)][planted]


def floor_weight(ray_angle: float, tilt_noise: float) -> float:
    """How much a foot's floor distance counts against the lift's own (0-1), by their variances:
    a tilt error ``dt`` moves a ray meeting the floor at ``ray_angle`` below the horizon by a
    share ``dt / (sin · cos)`` of its distance."""
    floor_noise = tilt_noise / max(np.sin(ray_angle) * np.cos(ray_angle), 1e-6)
    return float(LIFT_SCALE_NOISE**2 / (LIFT_SCALE_NOISE**2 + floor_noise**2))


def _levels_spread(levelled: np.ndarray, fps: float, seen: np.ndarray | None) -> float:
    """Metres between the quartiles of a levelled clip's resting-ankle heights (0 with too few):
    contacts are found about one floor, so a second level shows only among the rests."""
    frames, points = resting_frames(levelled, fps)
    if seen is not None:
        points = points[np.asarray(seen, dtype=bool)[frames]]
    if len(points) < MIN_CONTACTS:
        return 0.0
    q1, q3 = np.percentile(points[:, 2], [25, 75])
    return float(q3 - q1)


def _shared_rotation(
    people: list[np.ndarray], seen: list[np.ndarray | None], fps: float
) -> tuple[np.ndarray, str]:
    """One levelling for everyone: the trunks' pooled up, then the floor's tilt from everyone's
    planted feet with each person's own height removed (scaling along the rays keeps a plane's
    normal, not its height)."""
    frames = [p[s] if s is not None else p for p, s in zip(people, seen, strict=True)]
    pooled = np.concatenate([f for f in frames if len(f)]) if any(len(f) for f in frames) else None
    if pooled is None:
        return np.eye(3), "trunk"
    to_trunk = rotation_between(estimate_up(pooled), UP)
    ankles = [planted_ankles(p @ to_trunk.T, fps, s) for p, s in zip(people, seen, strict=True)]
    own = [a - np.median(a, axis=0) for a in ankles if len(a) >= MIN_CONTACTS]
    if sum(len(a) for a in own) < MIN_CONTACTS:
        return to_trunk, "trunk"
    normal, _ = fit_floor(np.concatenate(own))
    return rotation_between(normal, UP) @ to_trunk, "feet"


def share_world(
    people: list[np.ndarray],
    fps: float,
    camera: Camera | None = None,
    seen: list[np.ndarray | None] | None = None,
) -> SharedWorld:
    """The shared world of several people lifted from one camera (see the module docstring).

    people: per person (T_k, 17, 3) camera-frame joints, root added, or None where a person has
    no root (no image size): they keep their own. camera: the user's known tilt instead of the
    estimate. seen: per person (T_k,) frames they are in view (contacts only there)."""
    if not people:
        raise ValueError("share_world needs at least one person")
    seen = list(seen) if seen is not None else [None] * len(people)
    rooted = [k for k, p in enumerate(people) if p is not None and len(p)]
    arrays = [np.asarray(people[k], dtype=float) for k in rooted]
    if camera is not None:
        rotation, source, tilt_noise = rotation_between(camera.up(), UP), "camera", GIVEN_TILT_NOISE
    else:
        rotation, source = _shared_rotation(arrays, [seen[k] for k in rooted], fps)
        tilt_noise = ESTIMATED_TILT_NOISE
    n = len(people)
    notes = ["no root (no image size)"] * n
    depth_logs: dict[int, np.ndarray] = {}  # log metres under the camera of each planted ankle
    angles: dict[int, float] = {}
    counts = [0] * n
    for k, joints in zip(rooted, arrays, strict=True):
        levelled = joints @ rotation.T
        ankles = planted_ankles(levelled, fps, seen[k])
        counts[k] = len(ankles)
        below = ankles[ankles[:, 2] < 0]  # a floor above the camera is no floor
        if len(below) < MIN_CONTACTS:
            notes[k] = f"{len(below)} planted-foot frames, {MIN_CONTACTS} needed"
            continue
        if _levels_spread(levelled, fps, seen[k]) > STAIRS_SPREAD:
            notes[k] = "feet on more than one level (stairs?)"
            continue
        logs = np.log(-below[:, 2])
        notes[k] = ""
        depth_logs[k] = logs
        angles[k] = float(np.median(np.arctan2(-below[:, 2], np.linalg.norm(below[:, :2], axis=1))))
    scales, weights = [1.0] * n, [0.0] * n
    height = float("nan")
    if depth_logs:
        # the camera height that keeps the people's average distance as the lifts put it
        log_height = float(np.mean([np.median(v) for v in depth_logs.values()]))
        height = float(np.exp(log_height)) + DEFAULT_ANKLE_HEIGHT  # ankles stand above it
        for k, logs in depth_logs.items():
            weights[k] = floor_weight(angles[k], tilt_noise)
            scales[k] = float(np.exp(weights[k] * (log_height - np.median(logs))))
    return SharedWorld(
        rotation, source, height, tuple(scales), tuple(weights), tuple(counts), tuple(notes)
    )
