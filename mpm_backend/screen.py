"""The model's 2D input convention and the camera it assumes when none is known. Torch-free.

Screen normalisation (VideoPose3D / MotionBERT): both image axes are divided by the *width*,

    u_n = 2 u / W - 1,        v_n = 2 v / W - H / W.

Why this one: it is a single affine formula per frame that depends only on the image size, not
on the person, the window or any statistics, so a window cut anywhere in a clip is normalised the
same way at training and inference time; the aspect ratio is kept (one pixel is the same length
along u and v, so bone directions are not distorted); x always spans [-1, 1] and y spans
[-H/W, H/W]; and the inverse is exact, so 2D predictions go back to pixels without loss.

The assumed camera: when a user gives only the image size, the runtime takes a pinhole camera
with the principal point at the image centre, square pixels and a field of view of
DEFAULT_FOV_DEG across the image's long side — the middle of the range the training cameras are
drawn from (`training.data.cameras.CameraConfig.fov_deg_range`, 50–80°; a test keeps the two in
agreement).
"""

from __future__ import annotations

import numpy as np

# a user's field of view and the assumed one convert by the same rule
from mpm_backend.lift_request import focal_from_fov  # noqa: F401 (the cameras import it here)

DEFAULT_FOV_DEG = 65.0  # horizontal (long-side) field of view: mid of training's 50–80°


def normalise_screen(uv: np.ndarray, width: float, height: float) -> np.ndarray:
    """Pixels → screen-normalised coordinates (both axes divided by the width; see module doc).

    width and height may be arrays that broadcast against uv's leading axes (one image size per
    training window).
    """
    uv = np.asarray(uv, dtype=np.float64)
    width = np.asarray(width, dtype=np.float64)[..., None]
    height = np.asarray(height, dtype=np.float64)[..., None]
    offset = np.concatenate([np.ones_like(height), height / width], axis=-1)
    return uv * (2.0 / width) - offset


def denormalise_screen(uv_n: np.ndarray, width: float, height: float) -> np.ndarray:
    """Screen-normalised coordinates → pixels; exact inverse of normalise_screen."""
    uv_n = np.asarray(uv_n, dtype=np.float64)
    offset = np.array([1.0, height / width])
    return (uv_n + offset) * (width / 2.0)


def default_focal(width: float, height: float) -> float:
    """The assumed focal length in pixels: DEFAULT_FOV_DEG across the long side of the image."""
    return focal_from_fov(DEFAULT_FOV_DEG, max(width, height))
