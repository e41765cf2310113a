"""One lift's inputs as one value, with the one check of its frame rate and image size.

The track reader, the client, the server and the engine all take a 2D track at some fps, maybe
with an image size; they check fps and image size here so every layer refuses the same values
with the same words, and callers pass a `LiftRequest` by keyword, never by position:

    request = LiftRequest.from_track(track, threshold=0.3)
    engine.lift(**request.arguments())      # or client.submit_lift(**request.arguments())

Torch-free and bpy-free: the Blender add-on vendors this module (blender_addon/build.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_IMAGE_SIDE = 1_000_000  # pixels; a larger "image" is a unit mix-up, not footage


def check_fps(value: Any) -> float:
    """The frame rate as a float; a ValueError names what is wrong and what to give instead."""
    try:
        if isinstance(value, bool):
            raise TypeError(value)
        fps = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"fps must be a finite number of frames per second (e.g. 30 or 29.97), got {value!r}"
        ) from None
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(
            f"fps must be a positive finite number (> 0; give the video's frame rate, e.g. 30 "
            f"or 29.97), got {value!r}"
        )
    return fps


def check_image_size(value: Any) -> tuple[int, int]:
    """(width, height) in whole pixels; a ValueError says what is wrong."""
    try:
        if isinstance(value, str | bytes | dict):
            raise TypeError(value)
        width, height = value
        if isinstance(width, bool) or isinstance(height, bool):
            raise TypeError(value)
        width, height = float(width), float(height)
    except (TypeError, ValueError):
        raise ValueError(f"image_size must be (width, height) in pixels, got {value!r}") from None
    if not all(math.isfinite(v) and 0 < v < MAX_IMAGE_SIDE for v in (width, height)):
        raise ValueError(
            f"image_size must be two positive numbers (width, height) in pixels, each below "
            f"{MAX_IMAGE_SIDE:,}, got {value!r}"
        )
    if not (width.is_integer() and height.is_integer()):
        raise ValueError(f"image_size must be whole pixels (width, height), got {value!r}")
    return int(width), int(height)


def focal_from_fov(fov_deg: float, extent_px: float) -> float:
    """Focal length in pixels that spans `extent_px` pixels with a field of view of `fov_deg`."""
    if not 0 < fov_deg < 180:
        raise ValueError(f"a field of view must lie between 0 and 180 degrees, got {fov_deg!r}")
    return float(0.5 * extent_px / math.tan(math.radians(fov_deg) / 2.0))


def check_focal(value: Any) -> float:
    """The camera's focal length in pixels; a ValueError says what is wrong."""
    try:
        if isinstance(value, bool):
            raise TypeError(value)
        focal = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"focal_px must be a number of pixels, got {value!r}") from None
    if not math.isfinite(focal) or not 0 < focal < MAX_IMAGE_SIDE * 100:
        raise ValueError(
            f"focal_px must be a positive number of pixels (a 65° lens on 1920-pixel-wide "
            f"footage is about 1500), got {value!r}"
        )
    return focal


@dataclass(frozen=True)
class LiftRequest:
    """A 2D track to lift: keypoints (T, J, 2) pixels in `layout` (NaN = not detected), its fps,
    and optionally the image size (for the root trajectory), confidence (T, J), threshold and
    the camera's focal length in pixels (None: the assumed camera, `screen.default_focal`).

    fps, image_size and focal_px are checked on construction (`check_fps`, `check_image_size`,
    `check_focal`); the arrays are checked by whoever lifts them, which knows the layouts.
    """

    keypoints: np.ndarray
    layout: str
    fps: float
    image_size: tuple[int, int] | None = None
    confidence: np.ndarray | None = None
    threshold: float | None = None
    focal_px: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "fps", check_fps(self.fps))
        if self.image_size is not None:
            object.__setattr__(self, "image_size", check_image_size(self.image_size))
        if self.focal_px is not None:
            if self.image_size is None:
                raise ValueError("focal_px needs image_size: give the image size too")
            object.__setattr__(self, "focal_px", check_focal(self.focal_px))

    @classmethod
    def from_track(
        cls, track: Any, threshold: float | None = None, focal_px: float | None = None
    ) -> LiftRequest:
        """From a `tracks.Track` (or anything with its fields); the track must know its fps."""
        return cls(
            keypoints=track.keypoints,
            layout=track.layout,
            fps=track.fps,
            image_size=track.image_size,
            confidence=track.confidence,
            threshold=threshold,
            focal_px=focal_px,
        )

    def arguments(self) -> dict[str, Any]:
        """Keyword arguments for `Engine.lift` / `complete_2d` and `Client.submit_lift`."""
        return {
            "keypoints": self.keypoints,
            "layout": self.layout,
            "fps": self.fps,
            "image_size": self.image_size,
            "confidence": self.confidence,
            "threshold": self.threshold,
            "focal_px": self.focal_px,
        }

    def params(self) -> dict[str, Any]:
        """The request's wire parameters (docs/protocol.md): fps, image_size, threshold,
        focal_px."""
        params: dict[str, Any] = {"fps": self.fps}
        if self.image_size is not None:
            params["image_size"] = list(self.image_size)
        if self.threshold is not None:
            params["threshold"] = float(self.threshold)
        if self.focal_px is not None:
            params["focal_px"] = float(self.focal_px)
        return params
