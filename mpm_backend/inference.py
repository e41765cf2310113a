"""The inference engine: 2D keypoint tracks of any layout, rate and length → 3D joints.

    engine = Engine("default")                      # or a path, or "baseline:tcn"
    result = engine.lift(keypoints, "coco17", fps=29.97, image_size=(1920, 1080))
    result.joints3d    # (T, 17, 3) metres, camera frame, root-relative, at the input frame times
    result.root        # (T, 3) camera-frame pelvis position (only with image_size)

What happens to a track, in order:

1. Check it (shape, layout, rate, confidence, image size) and convert it to H36M-17
   (`skeleton.to_h36m17`: a derived joint takes the lowest confidence of its parts).
2. Hide joints: a joint is hidden when its coordinates are NaN/Inf or its confidence is below
   `threshold` (default: the model's own visibility threshold, 0.2). Hidden joints enter the
   model as its learned mask tokens (confidence 0); their coordinates are never read, so a
   hidden joint at NaN and one at 1e6 give identical bits. Visible joints whose confidence lies
   at or below the model's threshold (a user threshold lower than the model's) are passed with
   a confidence just above it, so the user's threshold decides what the model sees.
3. Normalise (`screen.normalise_screen`) with the image size. Without one, a pseudo image is
   used: a square around the bounding box of every visible point of the whole track, its side
   PSEUDO_IMAGE_SCALE times the box's longer side, centred on the box (one frame for the whole
   track, so the motion across the image is kept). Outputs in pixels use the same frame back, so
   completed2d is in the input's units either way; there is no root trajectory without a real
   image size.
4. Resample from the input rate to the model's MODEL_FPS (linear, on frame times; the model
   frames cover the whole input span). A model frame between two input frames is visible only
   if both neighbours are, with the lower of their confidences.
5. Lift overlapping windows of the model's max_frames (neighbours share a quarter), batched
   `batch_windows` at a time, cross-faded with raised-cosine weights (`windows.windowed_apply`);
   3D and completed 2D come from one pass. Flip averaging (the mirror image lifted too and
   averaged, 2× compute; on by default, `flip=False` lifts once), also for 3D completion.
6. Resample back to the input frame times: T_out == T_in always.
7. Root trajectory (with image_size): a pinhole camera with the principal point at the image
   centre and the focal length of `screen.DEFAULT_FOV_DEG` across the long side; per frame the
   translation t minimising the confidence-weighted algebraic reprojection error of
   (joints3d + t) against the visible 2D joints, by linear least squares; frames with fewer than
   two visible joints take t interpolated in time from their neighbours.

Results are deterministic: same input, same device → identical bits (eval mode, no autograd,
fixed window order). Torch is needed here; the torch-free modules (skeleton, timebase, screen)
stay importable without it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mpm_backend import __version__
from mpm_backend.checkpoint import load_lifter
from mpm_backend.completion import blend_offsets, fit_to_seen
from mpm_backend.lift_request import check_focal, check_fps, check_image_size
from mpm_backend.model import flip_averaged
from mpm_backend.screen import default_focal, denormalise_screen, normalise_screen
from mpm_backend.skeleton import H36M17, LAYOUTS, get_layout, to_h36m17
from mpm_backend.timebase import (
    MODEL_FPS,
    frame_times,
    interpolate_masked,
    min_at,
    resample_at,
)
from mpm_backend.windows import (
    Cancelled,
    count_batches,
    device_of,
    inference_mode,
    windowed_apply,
)

__all__ = [
    "Cancelled",
    "Engine",
    "InputError",
    "LiftResult",
    "UnsupportedError",
    "DEFAULT_THRESHOLD",
    "FLIP",
    "PSEUDO_IMAGE_SCALE",
    "model_times",
    "solve_root",
]

DEFAULT_THRESHOLD = 0.2  # used when a checkpoint does not name its visibility threshold
PSEUDO_IMAGE_SCALE = 1.5  # pseudo image side / longer side of the track's bounding box
PELVIS = H36M17.index("pelvis")
# Each lift averaged with its mirror image's: about 2 mm nearer on people the model never saw
# (5 through a real detector), for about half the lifting speed.
FLIP = True

Progress = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


class InputError(ValueError):
    """The request's data or parameters are wrong; the message says what and how to fix it."""


class UnsupportedError(ValueError):
    """The loaded checkpoint cannot do what was asked (e.g. 3D completion with a baseline)."""


@dataclass
class LiftResult:
    """What a lift returns, every array at the input frame times (T frames in, T frames out).

    joints3d: (T, 17, 3) float32 H36M-17, metres, camera frame (x right, y down, z forward),
        root-relative (pelvis at 0).
    completed2d: (T, 17, 2) float32 H36M-17 in the input's units (pixels): visible joints as
        given, hidden ones filled by the model, shifted by its error at the joint's nearest
        visible frames (`completion.blend_offsets`: no pop where a joint disappears or comes
        back); a baseline checkpoint: interpolated linearly in time.
    confidence: (T, 17) float32, the input confidence converted to H36M-17 (a derived joint takes
        the lowest of its parts); 0 where the joint was hidden (missing, NaN/Inf, below threshold).
    root: (T, 3) float32 camera-frame pelvis position in metres when image_size was given (under
        the assumed camera, see `solve_root`), else None; also None in the degenerate case that
        no frame has two visible joints.
    """

    joints3d: np.ndarray
    completed2d: np.ndarray
    confidence: np.ndarray
    root: np.ndarray | None


# --------------------------------------------------------------------------- checks


def _resolve_device(device: str | torch.device) -> torch.device:
    if isinstance(device, str) and device.strip().lower() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda'") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available; use 'cpu'")
    return resolved


def _check_fps(fps: float) -> float:
    """`lift_request.check_fps` (the one fps rule of every layer), refused as an InputError."""
    try:
        return check_fps(fps)
    except ValueError as error:
        raise InputError(str(error)) from None


def _as_float_array(values: object, name: str) -> np.ndarray:
    try:
        array = np.asarray(values)
        if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
            raise TypeError(array.dtype)
        return array.astype(np.float64, copy=False)
    except (TypeError, ValueError) as error:
        raise InputError(f"{name} must be a numeric array, got {type(values).__name__}") from error


def _check_keypoints(keypoints: object, layout: str) -> tuple[np.ndarray, str]:
    try:
        resolved = get_layout(layout)
    except (TypeError, ValueError) as error:  # the message lists the known layouts
        raise InputError(str(error)) from error
    points = _as_float_array(keypoints, "keypoints")
    joints = resolved.num_joints
    if points.ndim != 3 or points.shape[-1] != 2:
        raise InputError(
            f"keypoints must have shape (frames, joints, 2) in pixels, got {points.shape} "
            "(pass confidence as its own (frames, joints) array)"
        )
    if points.shape[0] == 0:
        raise InputError("keypoints has no frames (T == 0); send at least one frame")
    if points.shape[1] != joints:
        raise InputError(
            f"layout {resolved.name!r} has {joints} joints but keypoints has {points.shape[1]} "
            f"(shape {points.shape}); pass the layout the detector produced"
        )
    return points, resolved.name


def _check_confidence(confidence: object, shape: tuple[int, ...]) -> np.ndarray | None:
    if confidence is None:
        return None
    array = _as_float_array(confidence, "confidence")
    if array.shape != shape:
        raise InputError(
            f"confidence must have shape {shape} (frames, joints) to match the keypoints, "
            f"got {array.shape}"
        )
    return array


def _check_focal(focal_px: object, size: tuple[float, float] | None) -> float | None:
    """`lift_request.check_focal`, refused as an InputError; it needs an image size."""
    if focal_px is None:
        return None
    if size is None:
        raise InputError("focal_px needs image_size: give the image size too")
    try:
        return check_focal(focal_px)
    except ValueError as error:
        raise InputError(str(error)) from None


def _check_image_size(image_size: object) -> tuple[float, float] | None:
    """`lift_request.check_image_size` (whole pixels), refused as an InputError."""
    if image_size is None:
        return None
    try:
        width, height = check_image_size(image_size)
    except ValueError as error:
        raise InputError(str(error)) from None
    return float(width), float(height)


def _check_threshold(threshold: float | None, default: float) -> float:
    if threshold is None:
        return default
    try:
        value = float(threshold)
    except (TypeError, ValueError) as error:
        raise InputError(f"threshold must be a number in [0, 1], got {threshold!r}") from error
    if not 0.0 <= value <= 1.0:
        raise InputError(f"threshold must be a number in [0, 1], got {threshold!r}")
    return value


# --------------------------------------------------------------------------- time


def model_times(num_frames: int, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(input frame times, model frame times): model frames at MODEL_FPS cover the input span."""
    times = frame_times(num_frames, fps)
    steps = times[-1] * MODEL_FPS
    count = int(math.ceil(steps - 1e-6)) + 1
    return times, frame_times(count, MODEL_FPS)


# --------------------------------------------------------------------------- root


def solve_root(
    joints3d: np.ndarray,
    uv: np.ndarray,
    weight: np.ndarray,
    focal: float,
    centre: tuple[float, float],
) -> np.ndarray | None:
    """Camera-frame translation (T, 3) placing root-relative joints (T, J, 3) on their pixels.

    Per frame, linear least squares over the joints with weight > 0 of
    f·(X + tx) − (u − cx)·(Z + tz) = 0 and f·(Y + ty) − (v − cy)·(Z + tz) = 0, each weighted by
    the joint's weight. Frames with fewer than two usable joints take t interpolated linearly in
    time from the nearest solved frames (held at the ends); None when no frame can be solved.
    """
    w = np.where(np.isfinite(uv).all(-1), np.clip(weight, 0.0, None), 0.0)
    x = np.where(w > 0, (np.nan_to_num(uv[..., 0]) - centre[0]) / focal, 0.0)
    y = np.where(w > 0, (np.nan_to_num(uv[..., 1]) - centre[1]) / focal, 0.0)
    X, Y, Z = (np.where(w > 0, joints3d[..., k], 0.0) for k in range(3))
    sw, swx, swy = w.sum(-1), (w * x).sum(-1), (w * y).sum(-1)
    normal = np.zeros((len(w), 3, 3))
    normal[:, 0, 0] = normal[:, 1, 1] = sw
    normal[:, 0, 2] = normal[:, 2, 0] = -swx
    normal[:, 1, 2] = normal[:, 2, 1] = -swy
    normal[:, 2, 2] = (w * (x * x + y * y)).sum(-1)
    bx, by = x * Z - X, y * Z - Y  # right-hand sides of the x and y equations
    rhs = np.stack([(w * bx).sum(-1), (w * by).sum(-1), -(w * (x * bx + y * by)).sum(-1)], -1)
    det = np.linalg.det(normal)
    scale = np.maximum(sw, 1e-12) ** 3
    solvable = ((w > 0).sum(-1) >= 2) & (np.abs(det) > 1e-12 * scale)
    if not solvable.any():
        return None
    root = np.zeros((len(w), 3))
    root[solvable] = np.linalg.solve(normal[solvable], rhs[solvable][..., None])[..., 0]
    if not solvable.all():
        frames = np.arange(len(w))
        for k in range(3):
            root[:, k] = np.interp(frames, frames[solvable], root[solvable, k])
    return root


# --------------------------------------------------------------------------- the engine


class Engine:
    """One loaded model and the whole pipeline around it (see the module docstring)."""

    def __init__(
        self,
        checkpoint: str = "default",
        device: str = "auto",
        batch_windows: int = 32,
        flip: bool | None = None,
    ):
        if int(batch_windows) < 1:
            raise ValueError(f"batch_windows must be at least 1, got {batch_windows}")
        self.device = _resolve_device(device)
        self.checkpoint = checkpoint
        self.model, self.meta = load_lifter(checkpoint, self.device)
        self.model.eval()
        self.batch_windows = int(batch_windows)
        self.flip = FLIP if flip is None else bool(flip)  # None: the default
        self.kind = str(self.meta.get("kind") or getattr(self.model, "kind", "unknown"))
        self.window = int(self.model.max_frames)
        self.overlap = self.window // 4
        self.is_mpm = callable(getattr(self.model, "lift_and_complete", None))
        self.can_complete_3d = callable(getattr(self.model, "complete_3d", None))
        config = getattr(self.model, "config", None)
        model_threshold = getattr(config, "visibility_threshold", None)
        if model_threshold is None:
            model_threshold = getattr(self.model, "confidence_threshold", DEFAULT_THRESHOLD)
        self.threshold = float(model_threshold)
        # The smallest float32 confidence the model itself counts as visible (it tests c > thr).
        self._visible_floor = float(np.nextafter(np.float32(self.threshold), np.float32(np.inf)))
        # the network as this engine runs it (flip-averaged or not); live streams share it
        self.lifter = flip_averaged(self.model) if self.flip else self.model

    # ------------------------------------------------------------------ description

    def info(self) -> dict:
        """Plain JSON-able description of the model and the engine."""
        operations = ["lift", "complete_2d"] + (["complete_3d"] if self.can_complete_3d else [])
        return {
            "kind": self.kind,
            "parameters": int(sum(p.numel() for p in self.model.parameters())),
            "checkpoint": str(self.meta.get("path", self.checkpoint)),
            "code_version": str(self.meta.get("code_version", "")),
            "runtime_version": __version__,
            "fps": float(MODEL_FPS),
            "max_frames": self.window,
            "window_overlap": self.overlap,
            "batch_windows": self.batch_windows,
            "device": str(self.device),
            "flip": self.flip,
            "layouts": list(LAYOUTS),
            "layout_joints": {name: layout.num_joints for name, layout in LAYOUTS.items()},
            "output_layout": H36M17.name,
            "output_joints": list(H36M17.joints),
            "threshold": self.threshold,
            "operations": operations,
            "completion_2d": "model" if self.is_mpm else "linear interpolation in time",
        }

    def batches(self, num_frames: int, fps: float) -> int:
        """How many batches (progress steps) a track of num_frames at fps takes."""
        _, times = model_times(int(num_frames), _check_fps(fps))
        return count_batches([len(times)], self.window, self.overlap, self.batch_windows)

    # ------------------------------------------------------------------ 2D → 3D

    def lift(
        self,
        keypoints: np.ndarray,
        layout: str,
        fps: float,
        image_size: tuple[int, int] | None = None,
        confidence: np.ndarray | None = None,
        threshold: float | None = None,
        focal_px: float | None = None,
        progress: Progress | None = None,
        cancelled: CancelCheck | None = None,
    ) -> LiftResult:
        """Lift a 2D track (T, J, 2) pixels of `layout` at `fps` to 3D; see the module docstring.
        focal_px: the camera's focal length for the root trajectory (None: the assumed one)."""
        points, layout_name = _check_keypoints(keypoints, layout)
        conf = _check_confidence(confidence, points.shape[:2])
        fps = _check_fps(fps)
        size = _check_image_size(image_size)
        thr = _check_threshold(threshold, self.threshold)
        focal = _check_focal(focal_px, size)

        pts17, conf17 = to_h36m17(points, layout_name, conf)
        conf17 = np.clip(np.nan_to_num(conf17, nan=0.0), 0.0, 1.0)
        visible = np.isfinite(pts17).all(-1) & (conf17 > 0) & (conf17 >= thr)
        conf_out = np.where(visible, conf17, 0.0)

        origin, width, height = self._frame(pts17, visible, size)
        screen = normalise_screen(np.where(visible[..., None], pts17 - origin, 0.0), width, height)
        screen[~visible] = np.nan

        times, times_m = model_times(len(points), fps)
        screen_m = resample_at(screen, times, times_m)
        conf_m = min_at(conf_out, times, times_m)
        visible_m = np.isfinite(screen_m).all(-1) & (conf_m > 0)
        pose_in = np.where(visible_m[..., None], screen_m, 0.0).astype(np.float32)
        conf_in = np.where(visible_m, np.maximum(conf_m, self._visible_floor), 0.0)
        conf_in = conf_in.astype(np.float32)

        out = self._windowed(self._lift_window, (pose_in, conf_in), progress, cancelled)
        pred3d_m, pred2d_m = out if isinstance(out, tuple) else (out, None)

        joints3d = resample_at(pred3d_m, times_m, times)
        joints3d = joints3d - joints3d[:, PELVIS : PELVIS + 1]
        if pred2d_m is not None:
            filled = denormalise_screen(resample_at(pred2d_m, times_m, times), width, height)
            completed = blend_offsets(filled + origin, pts17, visible)
        else:
            completed = interpolate_masked(np.where(visible[..., None], pts17, 0.0), visible)
        root = None
        if size is not None:
            focal = default_focal(*size) if focal is None else focal
            root = solve_root(joints3d, pts17, conf_out, focal, (size[0] / 2, size[1] / 2))
        return LiftResult(
            joints3d=joints3d.astype(np.float32),
            completed2d=completed.astype(np.float32),
            confidence=conf_out.astype(np.float32),
            root=None if root is None else root.astype(np.float32),
        )

    def complete_2d(self, *args: Any, **kwargs: Any) -> LiftResult:
        """The same pass as lift, with lift's arguments; callers read completed2d (hidden joints
        filled by the model, or, with a baseline checkpoint, interpolated linearly in time)."""
        return self.lift(*args, **kwargs)

    def _windowed(
        self,
        apply: Callable,
        inputs: tuple[np.ndarray, np.ndarray],
        progress: Progress | None,
        cancelled: CancelCheck | None,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Run one track through ``apply`` in the engine's overlapping windows and batches, so
        lifting and 3D completion window, batch, report progress and cancel alike."""
        with inference_mode(self.model):
            return windowed_apply(
                apply,
                [inputs],
                self.window,
                self.overlap,
                self.batch_windows,
                device_of(self.model),
                progress,
                cancelled,
            )[0]

    def _lift_window(
        self, pose2d: torch.Tensor, confidence: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.is_mpm:
            return self.lifter.lift_and_complete(pose2d, confidence)
        return self.lifter.lift(pose2d, confidence)

    @staticmethod
    def _frame(
        points: np.ndarray, visible: np.ndarray, size: tuple[float, float] | None
    ) -> tuple[np.ndarray, float, float]:
        """(pixel origin, width, height) of the frame the 2D is normalised in."""
        if size is not None:
            return np.zeros(2), size[0], size[1]
        seen = points[visible]
        if len(seen) == 0:
            return np.zeros(2), 1.0, 1.0  # nothing visible: any frame gives the same input
        low, high = seen.min(0), seen.max(0)
        side = max(float((high - low).max()) * PSEUDO_IMAGE_SCALE, 1e-6)
        return (low + high) / 2 - side / 2, side, side

    # ------------------------------------------------------------------ 3D completion

    def complete_3d(
        self,
        joints3d: np.ndarray,
        fps: float,
        visible: np.ndarray | None = None,
        progress: Progress | None = None,
        cancelled: CancelCheck | None = None,
    ) -> np.ndarray:
        """Fill hidden joints of a 3D track (T, 17, 3) metres, camera frame, H36M-17.

        Hidden: NaN/Inf coordinates or visible False. The model works root-relative: where the
        pelvis is visible it is subtracted first and added back after, so camera-frame input
        works too; frames with a hidden pelvis are taken as root-relative already. Visible joints
        come back as given, hidden ones from the model fitted to the seen joints
        (`completion.fit_to_seen`: the fill meets the frames that show a joint, so a limb does not
        jump where it disappears or comes back, and keeps the bone lengths the track shows).
        Returns float32 (T, 17, 3).
        """
        if not self.can_complete_3d:
            raise UnsupportedError(
                f"checkpoint {self.checkpoint!r} ({self.kind}) lifts 2D only; 3D completion "
                "needs an MPM checkpoint (e.g. 'default')"
            )
        values = _as_float_array(joints3d, "joints3d")
        expected = (H36M17.num_joints, 3)
        if values.ndim != 3 or values.shape[1:] != expected:
            raise InputError(
                f"joints3d must have shape (frames, 17, 3) in metres (H36M-17), got {values.shape}"
            )
        if values.shape[0] == 0:
            raise InputError("joints3d has no frames (T == 0); send at least one frame")
        fps = _check_fps(fps)
        seen = np.isfinite(values).all(-1)
        if visible is not None:
            mask = np.asarray(visible)
            if mask.shape != values.shape[:2]:
                raise InputError(
                    f"visible must have shape {values.shape[:2]} (frames, 17), got {mask.shape}"
                )
            seen &= mask.astype(bool)
        offset = np.where(seen[:, PELVIS, None], np.nan_to_num(values[:, PELVIS]), 0.0)
        relative = np.where(seen[..., None], values - offset[:, None], np.nan)

        times, times_m = model_times(len(values), fps)
        relative_m = resample_at(relative, times, times_m)
        seen_m = np.isfinite(relative_m).all(-1)
        pose_in = np.where(seen_m[..., None], relative_m, 0.0).astype(np.float32)
        pred_m = self._windowed(self.lifter.complete_3d, (pose_in, seen_m), progress, cancelled)
        pred = resample_at(pred_m, times_m, times)
        out = fit_to_seen(pred, relative, seen) + offset[:, None]
        return out.astype(np.float32)
