"""One rendered clip through the video path and through ideal 2D, scored against its truth.

The footage benchmark (`devtools.footage_benchmark`) calls these per clip. The video path is the
project's own: `mpm_backend.track.detect` (MediaPipe) → `Engine.lift` (BlazePose-33 track, the
video's frame rate and image size) → the root solve, once with the engine's default field of
view and once with the focal length of the truth's K (what a user who knows the lens gives). The
ideal path lifts the truth's projected 2D with the training's synthetic detector noise
(`corrupt_2d`, `NoiseConfig()`) through the same engine, so the two differ only in the 2D.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mpm_backend.inference import Engine, solve_root
from mpm_backend.skeleton import H36M17, to_h36m17
from mpm_backend.tracks import Track, read_track, write_track
from training.data.bodies import DetectorConfig, detector_points
from training.data.cameras import Camera
from training.data.corruption import NoiseConfig, corrupt_2d
from training.metrics import MM_PER_M

_J = H36M17.index
PELVIS, THORAX = _J("pelvis"), _J("thorax")
# Offset-table rows: sided joints pool left and right ("out" points away from the body's midline).
OFFSET_JOINTS = ("hip", "shoulder", "head", "nose", "knee", "ankle", "elbow", "wrist")
SYNTHETIC_DRAWS = 16  # DetectorConfig draws per clip: it draws one person per window


@dataclass
class Rendered:
    """A rendered clip's truth (truth.npz of training.render), cut to its first `frames`."""

    name: str
    folder: Path
    source: str
    camera: Camera
    joints_world: np.ndarray  # (T, 17, 3) metres, Y up
    joints_camera: np.ndarray  # (T, 17, 3) OpenCV camera axes
    joints_2d: np.ndarray  # (T, 17, 2) pixels
    fps: float
    stature: float

    @property
    def frames(self) -> int:
        return len(self.joints_2d)

    @property
    def size(self) -> tuple[int, int]:
        return self.camera.width, self.camera.height

    def in_view(self) -> np.ndarray:
        """(T,) frames whose every truth joint projects inside the image."""
        uv, (w, h) = self.joints_2d, self.size
        inside = (uv[..., 0] >= 0) & (uv[..., 0] < w) & (uv[..., 1] >= 0) & (uv[..., 1] < h)
        return inside.all(-1) & (self.joints_camera[..., 2] > 0).all(-1)

    def pixels_per_metre(self) -> np.ndarray:
        """(T,) pixels per metre at the pelvis's depth (focal / depth): sizes the body in 2D."""
        return float(self.camera.focal[0]) / self.joints_camera[:, PELVIS, 2]


def load_rendered(folder: Path, frames: int | None = None, source: str = "") -> Rendered:
    """A render folder (video.mp4 + truth.npz [+ meta.json]); `frames` keeps the first N."""
    with np.load(Path(folder) / "truth.npz") as npz:
        truth = {k: npz[k] for k in npz.files}
    cut = slice(0, frames)
    return Rendered(
        name=Path(folder).name,
        folder=Path(folder),
        source=source,
        camera=Camera.from_array(truth["camera"]),
        joints_world=truth["joints_world"][cut].astype(np.float64),
        joints_camera=truth["joints_camera"][cut].astype(np.float64),
        joints_2d=truth["joints_2d"][cut].astype(np.float64),
        fps=float(truth["fps"]),
        stature=float(truth["stature_m"]),
    )


def detect_cached(clip: Rendered, cache: Path, complexity: int = 1) -> Track:
    """MediaPipe's track of the clip's video (the project's detector), cached at `cache`.

    A cached track is reused when it covers the clip's frames at its image size and was made by
    this detector: its version (`mpm_backend.crops.VERSION`) and model complexity are kept beside
    it in `<cache>.detector`, so a changed detector re-detects instead of scoring an old track.
    """
    from mpm_backend.crops import VERSION
    from mpm_backend.track import detect

    stamp, key = cache.with_name(cache.name + ".detector"), f"{VERSION} complexity {complexity}"
    current = stamp.is_file() and stamp.read_text().strip() == key
    if cache.is_file() and current:
        track = read_track(cache)
        if len(track.keypoints) >= clip.frames and tuple(track.image_size) == clip.size:
            return _cut(track, clip.frames)
    track = detect(clip.folder / "video.mp4", complexity, max_frames=clip.frames, progress=False)
    write_track(track, cache)
    stamp.write_text(key + "\n")
    return _cut(track, clip.frames)


def _cut(track: Track, frames: int) -> Track:
    track.keypoints, track.confidence = track.keypoints[:frames], track.confidence[:frames]
    return track


@dataclass
class Lifted:
    """One path's output for one clip: root-relative 3D, the 2D it saw, and two roots."""

    joints3d: np.ndarray  # (T, 17, 3) root-relative, camera frame
    points2d: np.ndarray  # (T, 17, 2) H36M-17 pixels the engine saw (NaN where hidden)
    confidence: np.ndarray  # (T, 17) 0 where hidden
    root_focal: np.ndarray | None  # (T, 3) solved with the truth's focal length
    root_default: np.ndarray | None  # (T, 3) the engine's own (default field of view)


def lift_2d(
    engine: Engine, points: np.ndarray, layout: str, confidence: np.ndarray, clip: Rendered
) -> Lifted:
    """Lift a 2D track as the backend does, and solve the root with the true focal length.

    The principal point stays at the image centre, as the engine assumes: a user knows a lens's
    focal length far more often than its principal point (the renders' is within 1 % of centre).
    """
    fps = clip.fps
    result = engine.lift(points, layout, fps, image_size=clip.size, confidence=confidence)
    pts17, _ = to_h36m17(np.asarray(points, np.float64), layout, confidence)
    seen = result.confidence > 0
    pts17 = np.where(seen[..., None], pts17, np.nan)
    w, h = clip.size
    root = solve_root(
        result.joints3d.astype(np.float64), pts17, result.confidence, clip.camera.focal[0],
        (w / 2, h / 2),
    )  # fmt: skip
    return Lifted(result.joints3d, pts17, result.confidence, root, result.root)


def lift_footage(engine: Engine, track: Track, clip: Rendered) -> Lifted:
    return lift_2d(engine, track.keypoints, track.layout, track.confidence, clip)


def ideal_2d(clip: Rendered, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The truth's projected joints with the training's synthetic detector noise."""
    w, h = clip.size
    return corrupt_2d(clip.joints_2d, w, h, rng, NoiseConfig())


def lift_ideal(engine: Engine, clip: Rendered, rng: np.random.Generator) -> Lifted:
    points, confidence = ideal_2d(clip, rng)
    return lift_2d(engine, points, H36M17.name, confidence, clip)


def detected(track: Track) -> np.ndarray:
    """(T,) frames where the detector found a person."""
    return np.isfinite(track.keypoints).all(-1).any(-1)


# --------------------------------------------------------------------------- root trajectory


def root_errors(root: np.ndarray | None, truth_pelvis: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame pelvis errors (mm, camera frame): absolute, and after removing the clip's mean
    offset (the trajectory's shape, free of the depth bias a wrong scale gives)."""
    if root is None:
        nan = np.full(len(truth_pelvis), np.nan)
        return {"abs": nan, "aligned": nan, "depth": nan}
    diff = (root - truth_pelvis) * MM_PER_M
    return {
        "abs": np.linalg.norm(diff, axis=-1),
        "aligned": np.linalg.norm(diff - diff.mean(0), axis=-1),
        "depth": np.abs(diff[:, 2]),
    }


# --------------------------------------------------------------------------- detector offsets


def body_frame_offsets(points2d: np.ndarray, clip: Rendered) -> dict[str, np.ndarray]:
    """Each OFFSET_JOINTS row's 2D offset from the projected truth, in the body's 2D frame.

    up: along the projected trunk (pelvis → thorax); out: perpendicular to it, towards the joint's
    own side as the truth's hips (legs) or shoulders (arms) show it; head and nose: towards the
    left shoulder. Units: the person's stature in pixels at the pelvis's depth (stature × focal /
    depth), so the numbers are fractions of stature like DetectorConfig's. Returns row →
    (T·sides, 2) [up, out], NaN where a point is missing.
    """
    truth = clip.joints_2d
    scale = clip.stature * clip.pixels_per_metre()
    trunk = truth[:, THORAX] - truth[:, PELVIS]
    up = trunk / np.linalg.norm(trunk, axis=-1, keepdims=True)
    perp = np.stack([-up[:, 1], up[:, 0]], -1)
    out: dict[str, np.ndarray] = {}
    for row in OFFSET_JOINTS:
        parts = []
        for side in ("left", "right") if row not in ("head", "nose") else ("",):
            name = f"{side}_{row}" if side else row
            legs = row in ("hip", "knee", "ankle")
            anchor = PELVIS if legs else THORAX
            reference = _J(f"{side or 'left'}_{'hip' if legs else 'shoulder'}")
            sign = np.sign(((truth[:, reference] - truth[:, anchor]) * perp).sum(-1))
            sign[sign == 0] = 1.0
            d = points2d[:, _J(name)] - truth[:, _J(name)]
            along = (d * up).sum(-1) / scale
            across = (d * perp).sum(-1) * sign / scale
            parts.append(np.stack([along, across], -1))
        out[row] = np.concatenate(parts)
    return out


def synthetic_points(clip: Rendered, seed: int, draws: int = SYNTHETIC_DRAWS) -> np.ndarray:
    """(draws·T, 17, 2) DetectorConfig's moved points projected by the truth camera.

    Pixel y grows downwards, so the projected "up" of the trunk is the image-up direction: the
    same decomposition applies to both detector and synthetic offsets.
    """
    rngs = np.random.default_rng(seed).spawn(draws)
    camera = clip.camera
    moved = [detector_points(clip.joints_world, rng, DetectorConfig()) for rng in rngs]
    return np.concatenate([camera.project(camera.world_to_camera(m)) for m in moved])


def synthetic_offsets(clip: Rendered, seed: int) -> dict[str, np.ndarray]:
    points = synthetic_points(clip, seed)
    repeated = _repeat(clip, len(points) // clip.frames)
    return body_frame_offsets(points, repeated)


def _repeat(clip: Rendered, times: int) -> Rendered:
    """The clip's truth tiled `times` over (for scoring many synthetic draws at once)."""
    tile = lambda a: np.concatenate([a] * times)  # noqa: E731
    return Rendered(
        clip.name, clip.folder, clip.source, clip.camera, tile(clip.joints_world),
        tile(clip.joints_camera), tile(clip.joints_2d), clip.fps, clip.stature,
    )  # fmt: skip


def error_2d(points2d: np.ndarray, clip: Rendered) -> np.ndarray:
    """(T, 17) distance of each seen 2D joint from its projected truth, fraction of stature."""
    scale = (clip.stature * clip.pixels_per_metre())[:, None]
    return np.linalg.norm(points2d - clip.joints_2d, axis=-1) / scale


def summarise_offsets(parts: list[dict[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    """Row → mean and std of up and out over every frame (NaN rows skipped), fractions."""
    out = {}
    for row in OFFSET_JOINTS:
        values = np.concatenate([p[row] for p in parts])
        values = values[np.isfinite(values).all(-1)]
        if len(values) == 0:
            out[row] = {k: float("nan") for k in ("up", "up_std", "out", "out_std")} | {"n": 0}
            continue
        mean, std = values.mean(0), values.std(0)
        out[row] = {
            "up": float(mean[0]),
            "up_std": float(std[0]),
            "out": float(mean[1]),
            "out_std": float(std[1]),
            "n": int(len(values)),
        }
    return out
