"""Virtual cameras that film 3D joint clips the way our users' phones, webcams and camcorders do.

World frame: Y-up, metres, floor near y = 0 (the mocap pipeline's convention). Camera frame:
OpenCV (x right, y down, z forward; a visible point has z > 0). A `Camera` maps world points
with X_cam = rotation @ X_world + translation and projects them with a distortion-free pinhole.

Screen normalisation (u_n = 2u/W - 1, v_n = 2v/W - H/W) is the model's input convention, a runtime
fact: it lives in `mpm_backend.screen` (normalise_screen, denormalise_screen, focal_from_fov),
and this module re-exports it so existing imports keep working. The runtime's assumed camera
(`mpm_backend.screen.DEFAULT_FOV_DEG`, used for the root trajectory when only the image size is
known) is the middle of CameraConfig.fov_deg_range; tests/test_inference.py checks they agree.
"""

from __future__ import annotations

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
        points_cam = np.asarray(points_cam, dtype=np.float64)
        depth = points_cam[..., 2:3]
        in_front = depth > 0
        safe_depth = np.where(in_front, depth, 1.0)
        uv = points_cam[..., :2] / safe_depth * self.focal + self.principal
        return np.where(in_front, uv, np.nan)

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


def _as_shape(value: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    array = np.array(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    return array


def look_at_rotation(eye: np.ndarray, target: np.ndarray, up: np.ndarray = WORLD_UP) -> np.ndarray:
    """World→camera rotation (OpenCV axes) for a level camera at `eye` looking at `target`.

    Rows are the camera's right, down and forward axes in world coordinates.
    """
    forward = np.asarray(target, dtype=np.float64) - np.asarray(eye, dtype=np.float64)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    norm = np.linalg.norm(right)
    if norm < 1e-9:
        raise ValueError("camera looks straight along the up axis; its roll is undefined")
    right /= norm
    down = np.cross(forward, right)
    return np.stack([right, down, forward])


def tilt_roll_rotation(tilt: float, roll: float) -> np.ndarray:
    """Camera-frame rotation: tilt about the camera x axis, then roll about its optical axis."""
    ct, st = np.cos(tilt), np.sin(tilt)
    cr, sr = np.cos(roll), np.sin(roll)
    about_x = np.array([[1.0, 0.0, 0.0], [0.0, ct, -st], [0.0, st, ct]])
    about_z = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    return about_z @ about_x


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


@dataclass(frozen=True)
class SubjectExtent:
    """Where a clip's motion happens: the centre to film and the size of the person."""

    centre: np.ndarray  # (3,) world: mean pelvis horizontally, mid-body vertically
    floor_y: float  # lowest joint height over the clip (ankles: ~0.1 m above the true floor)
    height: float  # vertical extent of the joints over the clip

    @classmethod
    def from_points(cls, points: np.ndarray) -> SubjectExtent:
        pelvis = points[:, H36M17.index("pelvis")]
        floor_y = float(np.nanmin(points[..., 1]))
        top_y = float(np.nanmax(points[..., 1]))
        centre = np.nanmean(pelvis, axis=0)
        centre[1] = 0.5 * (floor_y + top_y)
        return cls(centre=centre, floor_y=floor_y, height=max(top_y - floor_y, 0.5))


def sample_camera(
    rng: np.random.Generator, subject_points: np.ndarray, config: CameraConfig | None = None
) -> Camera:
    """Draw a camera that films the clip `subject_points` (T, 17, 3, world, Y-up) from outside it."""
    config = config or CameraConfig()
    points = _validate_clip(subject_points)
    subject = SubjectExtent.from_points(points)
    width, height = sample_image_size(rng, config)
    focal, principal = sample_intrinsics(rng, width, height, config)
    for _ in range(max(config.max_tries, 1)):
        rotation, position = sample_placement(rng, subject, config)
        if _min_depth(points, rotation, position) >= config.min_depth_m:
            break
    else:
        position = _back_off(points, rotation, position, config.min_depth_m)
    return Camera.from_pose(rotation, position, focal, principal, width, height)


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


def sample_image_size(rng: np.random.Generator, config: CameraConfig) -> tuple[int, int]:
    """Pick (width, height) from the config's weighted list."""
    weights = np.array([w for _, _, w in config.image_sizes], dtype=np.float64)
    choice = rng.choice(len(weights), p=weights / weights.sum())
    width, height, _ = config.image_sizes[choice]
    return int(width), int(height)


def sample_intrinsics(
    rng: np.random.Generator, width: int, height: int, config: CameraConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Square-pixel focal length from a field of view across the long side; near-centre principal."""
    low, high = config.fov_deg_range
    mode = float(np.clip(config.fov_mode_deg, low, high))
    fov = rng.triangular(low, mode, high) if high > low else low
    f = focal_from_fov(fov, max(width, height))
    size = np.array([width, height], dtype=np.float64)
    offset = rng.uniform(-1.0, 1.0, size=2) * config.principal_jitter * size
    return np.array([f, f]), size / 2.0 + offset


def sample_placement(
    rng: np.random.Generator, subject: SubjectExtent, config: CameraConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Camera rotation and centre: all round the subject, at a height, aimed near its centre."""
    yaw = rng.uniform(0.0, 2.0 * np.pi)
    distance = rng.uniform(*config.distance_range_m)
    camera_height = rng.uniform(*config.height_range_m)
    position = subject.centre + distance * np.array([np.sin(yaw), 0.0, np.cos(yaw)])
    position[1] = subject.floor_y + camera_height
    aim_offset = rng.uniform(-1.0, 1.0, size=3) * config.aim_jitter * subject.height
    tilt = np.radians(rng.uniform(-config.tilt_deg, config.tilt_deg))
    roll = np.radians(rng.uniform(-config.roll_deg, config.roll_deg))
    rotation = tilt_roll_rotation(tilt, roll) @ look_at_rotation(
        position, subject.centre + aim_offset
    )
    return rotation, position


def _min_depth(points: np.ndarray, rotation: np.ndarray, position: np.ndarray) -> float:
    depth = (points - position) @ rotation[2]
    return float(np.nanmin(depth))


def _back_off(
    points: np.ndarray, rotation: np.ndarray, position: np.ndarray, min_depth: float
) -> np.ndarray:
    """Move the camera back horizontally, keeping its height and view, until min_depth holds.

    A horizontal step of s metres away from where the camera looks raises every point's depth by
    s·cos(pitch), so one step fixes all joints at once.
    """
    forward = rotation[2]
    horizontal = forward - (forward @ WORLD_UP) * WORLD_UP
    gain = float(np.linalg.norm(horizontal))
    if gain < 1e-3:
        horizontal, gain = forward, 1.0  # looking straight down or up: back off along the axis
    else:
        horizontal = horizontal / gain
    shortfall = min_depth - _min_depth(points, rotation, position)
    step = max(shortfall, 0.0) / gain + 1e-6
    return position - step * horizontal


def root_relative(points_cam: np.ndarray) -> np.ndarray:
    """Subtract the pelvis from every joint (…, J, 3): the model predicts pose, not position."""
    points_cam = np.asarray(points_cam, dtype=np.float64)
    pelvis = H36M17.index("pelvis")
    return points_cam - points_cam[..., pelvis : pelvis + 1, :]
