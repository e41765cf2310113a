"""Virtual cameras that film 3D joint clips the way our users' phones, webcams and camcorders do.

World frame: Y-up, metres, floor near y = 0 (the mocap pipeline's convention). Camera frame:
OpenCV (x right, y down, z forward; a visible point has z > 0). A `Camera` maps world points
with X_cam = rotation @ X_world + translation and projects them with a distortion-free pinhole.
The loader draws a whole batch's cameras with `sample_cameras` (a `CameraBatch`), each window from
its own generator exactly as `sample_camera` draws it alone, so an item never depends on its batch.

Screen normalisation (u_n = 2u/W - 1, v_n = 2v/W - H/W) is the model's input convention, a runtime
fact: it lives in `mpm_backend.screen` (normalise_screen, denormalise_screen, focal_from_fov),
and this module re-exports it so existing imports keep working. The runtime's assumed camera
(`mpm_backend.screen.DEFAULT_FOV_DEG`, used for the root trajectory when only the image size is
known) is the middle of CameraConfig.fov_deg_range; tests/test_inference.py checks they agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mpm_backend.screen import (  # re-exported: the runtime owns the 2D convention
    denormalise_screen,  # noqa: F401
    focal_from_fov,
    normalise_screen,  # noqa: F401
)
from mpm_backend.skeleton import H36M17

WORLD_UP = np.array([0.0, 1.0, 0.0])
CAMERA_ARRAY_SIZE = 18  # rotation 9 + translation 3 + focal 2 + principal 2 + width + height


@dataclass
class Camera:
    """A pinhole camera: world→camera extrinsics plus pixel intrinsics (no lens distortion)."""

    rotation: np.ndarray  # (3, 3) world → camera
    translation: np.ndarray  # (3,) so that X_cam = rotation @ X_world + translation
    focal: np.ndarray  # (2,) fx, fy in pixels
    principal: np.ndarray  # (2,) cx, cy in pixels
    width: int
    height: int

    def __post_init__(self) -> None:
        self.rotation = _as_shape(self.rotation, (3, 3), "rotation")
        self.translation = _as_shape(self.translation, (3,), "translation")
        self.focal = _as_shape(self.focal, (2,), "focal")
        self.principal = _as_shape(self.principal, (2,), "principal")
        self.width = int(self.width)
        self.height = int(self.height)

    @classmethod
    def from_pose(
        cls,
        rotation: np.ndarray,
        position: np.ndarray,
        focal: np.ndarray,
        principal: np.ndarray,
        width: int,
        height: int,
    ) -> Camera:
        """Build a camera from its orientation and its centre in the world (t = -R C)."""
        rotation = np.asarray(rotation, dtype=np.float64)
        translation = -rotation @ np.asarray(position, dtype=np.float64)
        return cls(rotation, translation, focal, principal, width, height)

    @property
    def position(self) -> np.ndarray:
        """Camera centre in world coordinates."""
        return -self.rotation.T @ self.translation

    @property
    def intrinsic_matrix(self) -> np.ndarray:
        """The 3×3 K matrix, for code that wants the OpenCV form."""
        fx, fy = self.focal
        cx, cy = self.principal
        return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (…, 3) → camera-frame points (…, 3)."""
        return np.asarray(points, dtype=np.float64) @ self.rotation.T + self.translation

    def camera_to_world(self, points: np.ndarray) -> np.ndarray:
        """Camera-frame points (…, 3) → world points (…, 3); exact inverse of world_to_camera."""
        return (np.asarray(points, dtype=np.float64) - self.translation) @ self.rotation

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """Camera-frame points (…, 3) → pixels (…, 2); points not in front of the camera → NaN."""
        return _pinhole(np.asarray(points_cam, dtype=np.float64), self.focal, self.principal)

    def unproject(self, uv: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Pixels (…, 2) with their camera-frame depth z (…) → camera-frame points (…, 3)."""
        uv = np.asarray(uv, dtype=np.float64)
        depth = np.asarray(depth, dtype=np.float64)[..., None]
        xy = (uv - self.principal) / self.focal * depth
        return np.concatenate([xy, depth], axis=-1)

    def to_array(self) -> np.ndarray:
        """Flat float64 vector of CAMERA_ARRAY_SIZE values, for caches and the wire."""
        return np.concatenate(
            [
                self.rotation.ravel(),
                self.translation,
                self.focal,
                self.principal,
                [float(self.width), float(self.height)],
            ]
        )

    @classmethod
    def from_array(cls, values: np.ndarray) -> Camera:
        """Inverse of to_array."""
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (CAMERA_ARRAY_SIZE,):
            raise ValueError(
                f"camera array must have shape ({CAMERA_ARRAY_SIZE},), got {values.shape}"
            )
        return cls(
            rotation=values[0:9].reshape(3, 3),
            translation=values[9:12],
            focal=values[12:14],
            principal=values[14:16],
            width=round(values[16]),
            height=round(values[17]),
        )


@dataclass
class CameraBatch:
    """B cameras as stacked arrays, so a batch of windows is placed and filmed in one numpy pass."""

    rotation: np.ndarray  # (B, 3, 3) world → camera
    translation: np.ndarray  # (B, 3)
    focal: np.ndarray  # (B, 2) fx, fy in pixels
    principal: np.ndarray  # (B, 2) cx, cy in pixels
    size: np.ndarray  # (B, 2) int width, height

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (B, …, 3) → camera-frame points (B, …, 3), each window by its own camera."""
        points = np.asarray(points, dtype=np.float64)
        flat = points.reshape(len(points), -1, 3)
        cam = flat @ self.rotation.transpose(0, 2, 1) + self.translation[:, None]
        return cam.reshape(points.shape)

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """Camera-frame points (B, …, 3) → pixels (B, …, 2); not in front of the camera → NaN."""
        points_cam = np.asarray(points_cam, dtype=np.float64)
        lead = (len(points_cam),) + (1,) * (points_cam.ndim - 2) + (2,)
        return _pinhole(points_cam, self.focal.reshape(lead), self.principal.reshape(lead))

    def camera(self, i: int) -> Camera:
        """Window i's camera on its own (copied, so editing it leaves the batch alone)."""
        width, height = self.size[i]
        return Camera(
            self.rotation[i], self.translation[i], self.focal[i], self.principal[i], width, height
        )


def _pinhole(points_cam: np.ndarray, focal: np.ndarray, principal: np.ndarray) -> np.ndarray:
    depth = points_cam[..., 2:3]
    in_front = depth > 0
    safe_depth = np.where(in_front, depth, 1.0)
    uv = points_cam[..., :2] / safe_depth * focal + principal
    return np.where(in_front, uv, np.nan)


def _as_shape(value: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    array = np.array(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    return array


def look_at_rotation(eye: np.ndarray, target: np.ndarray, up: np.ndarray = WORLD_UP) -> np.ndarray:
    """World→camera rotation (OpenCV axes) for a level camera at `eye` looking at `target`.

    Rows are the camera's right, down and forward axes in world coordinates.
    """
    eye = np.asarray(eye, dtype=np.float64)
    return _look_at_rotations(eye[None], np.asarray(target, dtype=np.float64)[None], up)[0]


def _look_at_rotations(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """look_at_rotation for (B, 3) eyes and targets at once → (B, 3, 3)."""
    forward = target - eye
    forward /= _norm(forward)
    right = cross(forward, np.asarray(up, dtype=np.float64))  # up (3,) broadcasts
    norm = _norm(right)
    if (norm < 1e-9).any():
        raise ValueError("camera looks straight along the up axis; its roll is undefined")
    right /= norm
    return np.stack([right, cross(forward, right), forward], axis=1)


def _norm(vectors: np.ndarray) -> np.ndarray:
    return np.sqrt((vectors * vectors).sum(axis=-1, keepdims=True))


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.cross over the last axis of (..., 3) arrays without its axis shuffling, which costs
    more than the products on a window's or a batch's few vectors."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def tilt_roll_rotation(tilt: float, roll: float) -> np.ndarray:
    """Camera-frame rotation: tilt about the camera x axis, then roll about its optical axis."""
    return _tilt_roll_rotations(
        np.array([tilt], dtype=np.float64), np.array([roll], dtype=np.float64)
    )[0]


def _tilt_roll_rotations(tilt: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """(B,) tilts and rolls → (B, 3, 3): about_z(roll) @ about_x(tilt), multiplied out."""
    ct, st = np.cos(tilt), np.sin(tilt)
    cr, sr = np.cos(roll), np.sin(roll)
    entries = [cr, -sr * ct, sr * st, sr, cr * ct, -cr * st, np.zeros_like(ct), st, ct]
    return np.stack(entries, axis=-1).reshape(-1, 3, 3)


def camera_roll(rotation: np.ndarray) -> float:
    """Roll angle (radians) of a world→camera rotation: how far the horizon is tilted in the image."""
    right = rotation[0]
    down = rotation[1]
    return float(np.arctan2(right @ WORLD_UP, -(down @ WORLD_UP)))


# (width, height, weight): what people film themselves and others with.
DEFAULT_IMAGE_SIZES: tuple[tuple[int, int, float], ...] = (
    (1080, 1920, 0.25),  # phone, portrait 1080p (the most common way people film a person)
    (1920, 1080, 0.22),  # phone landscape 1080p, camcorder, DSLR
    (720, 1280, 0.08),  # phone, portrait 720p
    (1280, 720, 0.15),  # phone landscape 720p, HD webcam
    (640, 480, 0.12),  # VGA webcam
    (3840, 2160, 0.08),  # 4K phone, camcorder, DSLR
    (2160, 3840, 0.05),  # 4K phone, portrait
    (1440, 1080, 0.05),  # 4:3 camcorder / phone photo-mode video
)


@dataclass(frozen=True)
class CameraConfig:
    """Distribution of virtual cameras; defaults describe hand-held phones, webcams and camcorders.

    image_sizes: (width, height, weight) choices; weights need not sum to 1.
    fov_deg_range / fov_mode_deg: field of view across the image's *long* side (the sensor's
        horizontal, as camera specs quote it), drawn from a triangular distribution. Phone main
        cameras film 16:9 video at about 65–75° there, webcams 55–80°, camcorders zoom in (~50°).
        A portrait phone therefore sees a narrower horizontal field, as real ones do.
    principal_jitter: principal point offset from the image centre, a fraction of each side
        (real calibrations are within ~1 %).
    distance_range_m: horizontal distance from the camera to the subject's centre. 2.5 m keeps a
        1.7 m person almost whole in a landscape frame; 8 m is the far end of a room or yard, where
        a 1.7 m person is still 70–100 px tall in a VGA webcam. Near cameras with narrow fields cut off
        head or feet now and then, as real footage does.
    height_range_m: camera height above the floor (table or tripod at 0.5 m, hand-held ~1.5 m,
        raised arm or shelf 2.0 m).
    tilt_deg: extra pitch on top of looking at the aim point, uniform in ±tilt_deg.
    roll_deg: roll about the optical axis, uniform in ±roll_deg (hand-held phones are rarely level).
    aim_jitter: the camera aims at the subject's centre plus a uniform offset of up to this
        fraction of the subject's height along each world axis, so the person is not always centred.
    min_depth_m: every joint of every frame must be at least this far in front of the camera.
    max_tries: placements to draw before backing the last one off until min_depth_m holds.
    """

    image_sizes: tuple[tuple[int, int, float], ...] = DEFAULT_IMAGE_SIZES
    fov_deg_range: tuple[float, float] = (50.0, 80.0)
    fov_mode_deg: float = 70.0
    principal_jitter: float = 0.01
    distance_range_m: tuple[float, float] = (2.5, 8.0)
    height_range_m: tuple[float, float] = (0.5, 2.0)
    tilt_deg: float = 10.0
    roll_deg: float = 5.0
    aim_jitter: float = 0.15
    min_depth_m: float = 0.3
    max_tries: int = 20

    def __post_init__(self) -> None:
        """A reversed range or a mode outside its range would quietly film other cameras."""
        for name in ("fov_deg_range", "distance_range_m", "height_range_m"):
            low, high = getattr(self, name)
            if not low <= high:
                raise ValueError(f"CameraConfig.{name} must be (low, high), got {(low, high)}")
        low, high = self.fov_deg_range
        if not low <= self.fov_mode_deg <= high:
            raise ValueError(
                f"CameraConfig.fov_mode_deg {self.fov_mode_deg} lies outside fov_deg_range "
                f"{self.fov_deg_range}"
            )


@dataclass(frozen=True)
class SubjectExtent:
    """Where a clip's motion happens: the centre to film and the size of the person."""

    centre: np.ndarray  # (3,) world: mean pelvis horizontally, mid-body vertically
    floor_y: float  # lowest joint height over the clip (ankles: ~0.1 m above the true floor)
    height: float  # vertical extent of the joints over the clip

    @classmethod
    def from_points(cls, points: np.ndarray) -> SubjectExtent:
        centre, floor_y, height = _subject_extents(np.asarray(points, dtype=np.float64)[None])
        return cls(centre=centre[0], floor_y=float(floor_y[0]), height=float(height[0]))


def _subject_extents(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SubjectExtent's centre (B, 3), floor_y (B,) and height (B,) for clips (B, T, 17, 3)."""
    heights = points[..., 1].reshape(len(points), -1)
    floor_y = np.nanmin(heights, axis=1)
    top_y = np.nanmax(heights, axis=1)
    centre = np.nanmean(points[:, :, H36M17.index("pelvis")], axis=1)
    centre[:, 1] = 0.5 * (floor_y + top_y)
    return centre, floor_y, np.maximum(top_y - floor_y, 0.5)


# Generator doubles one placement attempt uses: yaw, distance, height, aim x y z, tilt, roll.
PLACEMENT_DRAWS = 8


def sample_camera(
    rng: np.random.Generator, subject_points: np.ndarray, config: CameraConfig | None = None
) -> Camera:
    """Draw a camera that films the clip `subject_points` (T, 17, 3, world, Y-up) from outside it."""
    return sample_cameras([rng], _validate_clip(subject_points)[None], config).camera(0)


def sample_cameras(
    rngs: Sequence[np.random.Generator],
    subject_points: np.ndarray,
    config: CameraConfig | None = None,
) -> CameraBatch:
    """Draw a camera for each clip of `subject_points` (B, T, 17, 3), window b from rngs[b] alone.

    The loader batches windows for speed, but an item must not depend on its batch: each window's
    generator makes the same draws, in the same order, as when the window is drawn on its own
    (image size, field of view, principal offset, then one placement per attempt until every joint
    is min_depth_m in front), and only the maths runs for the whole batch at once. Each value is
    one generator double turned into a number by numpy's own rule (choice with p: search the
    cumulative p; triangular: its inverse CDF; uniform: low + (high - low) u), so one rng.random(k)
    call per window draws the same stream and values as calling those methods one by one.
    """
    config = config or CameraConfig()
    if not len(rngs):
        raise ValueError("sample_cameras needs at least one window")
    points = _validate_clips(subject_points, len(rngs))
    centre, floor_y, subject_height = _subject_extents(points)
    low, high = config.fov_deg_range
    intrinsic_draws = 3 if high > low else 2  # field of view unless fixed, principal x, y
    first = np.stack([rng.random(1 + intrinsic_draws + PLACEMENT_DRAWS) for rng in rngs])
    size = _image_sizes(first[:, 0], config)
    focal, principal = _intrinsics(first[:, 1 : 1 + intrinsic_draws], size, config)
    rotation, position = np.empty((len(rngs), 3, 3)), np.empty((len(rngs), 3))
    pending, clips, draws = np.arange(len(rngs)), points, first[:, 1 + intrinsic_draws :]
    for attempt in range(max(config.max_tries, 1)):
        if attempt:
            draws = np.stack([rngs[i].random(PLACEMENT_DRAWS) for i in pending])
        subject = centre[pending], floor_y[pending], subject_height[pending]
        rotation[pending], position[pending] = placed = _placements(draws, *subject, config)
        failed = ~(_min_depths(clips, *placed) >= config.min_depth_m)
        pending, clips = pending[failed], clips[failed]
        if not len(pending):
            break
    else:
        position[pending] = _back_off(
            clips, rotation[pending], position[pending], config.min_depth_m
        )
    translation = -(rotation @ position[:, :, None])[..., 0]
    return CameraBatch(rotation, translation, focal, principal, size)


def _validate_clip(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    expected = (H36M17.num_joints, 3)
    if points.ndim != 3 or points.shape[1:] != expected or points.shape[0] == 0:
        raise ValueError(
            f"subject_points must have shape (T, {expected[0]}, 3), got {points.shape}"
        )
    if not np.isfinite(points).any():
        raise ValueError("subject_points has no finite joint")
    return points


def _validate_clips(points: np.ndarray, count: int) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    shape = points.shape
    if len(shape) != 4 or shape[0] != count or shape[1] == 0 or shape[2:] != (H36M17.num_joints, 3):
        raise ValueError(f"subject_points must have shape ({count}, T, 17, 3), got {shape}")
    empty = ~np.isfinite(points).any(axis=(1, 2, 3))
    if empty.any():
        raise ValueError(f"subject_points window {int(np.argmax(empty))} has no finite joint")
    return points


def _image_sizes(u: np.ndarray, config: CameraConfig) -> np.ndarray:
    """Generator.choice(len(p), p=p) from each double of u (B,) → (B, 2) int width, height."""
    weights = np.array([w for _, _, w in config.image_sizes], dtype=np.float64)
    if (weights < 0).any() or not weights.sum() > 0:
        raise ValueError("image size weights must be non-negative with a positive sum")
    cdf = (weights / weights.sum()).cumsum()
    cdf /= cdf[-1]
    sizes = np.array([(w, h) for w, h, _ in config.image_sizes], dtype=np.int64)
    return sizes[cdf.searchsorted(u, side="right")]


def _intrinsics(
    u: np.ndarray, size: np.ndarray, config: CameraConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Focal (B, 2) and principal (B, 2) from each window's intrinsic doubles u and size (B, 2)."""
    low, high = config.fov_deg_range
    mode = float(config.fov_mode_deg)
    if high > low:  # Generator.triangular(low, mode, high) at the double u[:, 0]
        base, fov_u, u = high - low, u[:, 0], u[:, 1:]
        rising = low + np.sqrt(fov_u * ((mode - low) * base))
        falling = high - np.sqrt((1.0 - fov_u) * ((high - mode) * base))
        fov = np.where(fov_u <= (mode - low) / base, rising, falling)
    else:
        fov = np.full(len(u), float(low))
    long_side = size.max(axis=1).tolist()
    f = np.array([focal_from_fov(v, s) for v, s in zip(fov.tolist(), long_side, strict=True)])
    extent = size.astype(np.float64)
    offset = (-1.0 + 2.0 * u) * config.principal_jitter * extent
    return np.stack([f, f], axis=-1), extent / 2.0 + offset


def sample_placement(
    rng: np.random.Generator, subject: SubjectExtent, config: CameraConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Camera rotation and centre: all round the subject, at a height, aimed near its centre."""
    extent = subject.centre[None], np.array([subject.floor_y]), np.array([subject.height])
    rotation, position = _placements(rng.random(PLACEMENT_DRAWS)[None], *extent, config)
    return rotation[0], position[0]


def _placements(
    u: np.ndarray,
    centre: np.ndarray,
    floor_y: np.ndarray,
    subject_height: np.ndarray,
    config: CameraConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Rotations (B, 3, 3) and centres (B, 3) from each window's PLACEMENT_DRAWS doubles u."""

    def uniform(column: np.ndarray, low: float, high: float) -> np.ndarray:
        return low + (high - low) * column  # Generator.uniform(low, high) at these doubles

    yaw = uniform(u[:, 0], 0.0, 2.0 * np.pi)
    distance = uniform(u[:, 1], *config.distance_range_m)
    camera_height = uniform(u[:, 2], *config.height_range_m)
    aim_offset = uniform(u[:, 3:6], -1.0, 1.0) * config.aim_jitter * subject_height[:, None]
    tilt = np.radians(uniform(u[:, 6], -config.tilt_deg, config.tilt_deg))
    roll = np.radians(uniform(u[:, 7], -config.roll_deg, config.roll_deg))
    around = np.stack([np.sin(yaw), np.zeros_like(yaw), np.cos(yaw)], axis=-1)
    position = centre + distance[:, None] * around
    position[:, 1] = floor_y + camera_height
    aim = _look_at_rotations(position, centre + aim_offset, WORLD_UP)
    return _tilt_roll_rotations(tilt, roll) @ aim, position


def _min_depths(clips: np.ndarray, rotation: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Nearest joint depth (B,) of each clip (B, T, 17, 3) in front of its camera."""
    offsets = (clips - position[:, None, None]).reshape(len(clips), -1, 3)
    return np.nanmin(offsets @ rotation[:, 2, :, None], axis=(1, 2))


def _back_off(
    clips: np.ndarray, rotation: np.ndarray, position: np.ndarray, min_depth: float
) -> np.ndarray:
    """Move each camera back horizontally, keeping its height and view, until min_depth holds.

    A horizontal step of s metres away from where the camera looks raises every point's depth by
    s·cos(pitch), so one step fixes all joints at once.
    """
    forward = rotation[:, 2]
    horizontal = forward - (forward @ WORLD_UP)[:, None] * WORLD_UP
    gain = np.linalg.norm(horizontal, axis=-1)
    steep = gain < 1e-3  # looking straight down or up: back off along the axis
    gain = np.where(steep, 1.0, gain)
    horizontal = np.where(steep[:, None], forward, horizontal / gain[:, None])
    shortfall = min_depth - _min_depths(clips, rotation, position)
    step = np.maximum(shortfall, 0.0) / gain + 1e-6
    return position - step[:, None] * horizontal


def root_relative(points_cam: np.ndarray) -> np.ndarray:
    """Subtract the pelvis from every joint (…, J, 3): the model predicts pose, not position."""
    points_cam = np.asarray(points_cam, dtype=np.float64)
    pelvis = H36M17.index("pelvis")
    return points_cam - points_cam[..., pelvis : pelvis + 1, :]
