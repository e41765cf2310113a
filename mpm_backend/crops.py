"""Finding small people: BlazePose again on an upscaled crop when the full frame misses them.

BlazePose's person detector sees the whole frame letterboxed to 224×224, so a person ~130 px tall
in 640×480 is ~45 px to it and often missed. When the full frame finds no one, `SmallPersonFinder`
runs a static BlazePose on a square crop around where the person was last seen, upscaled so they
fill about half of it, or with no history (or no luck there) on overlapping tiles; the landmarks
map back to full-image pixels exactly (the crop is a pure scale + shift). Frames where the full
frame finds the person are left as they are: refining small-but-found people on a crop too was
measured to double the time for no gain in 2D error (docs/video.md).
"""

from __future__ import annotations

import numpy as np

VERSION = "crops1"  # part of detection caches' keys (training.footage): bump when results change
CROP_PIXELS = 256  # side of the upscaled crop given to BlazePose (its landmark model's input)
CROP_MARGIN = 2.0  # crop side / person's box side: room for motion and the detector's context
TILE = 0.75  # tile side / the frame's shorter side, tiles overlapping by half

Found = tuple[np.ndarray, np.ndarray]  # (33, 2) full-image pixels, (33,) visibility


def landmarks(result, origin: tuple[float, float], span: tuple[float, float]) -> Found | None:
    """A BlazePose result's landmarks in full-image pixels; the image it saw covered `span`
    pixels of the full image from `origin` (the whole frame: origin 0, span its size)."""
    if result.pose_landmarks is None:
        return None
    marks = result.pose_landmarks.landmark
    points = np.array([(origin[0] + m.x * span[0], origin[1] + m.y * span[1]) for m in marks])
    return points, np.array([m.visibility for m in marks])


def crop(image: np.ndarray, box: tuple[float, float, float], pixels: int = CROP_PIXELS):
    """The square `box` (x0, y0, side in full-image pixels) resampled to pixels×pixels, black
    outside the image; with the (origin, span) that `landmarks` maps back through."""
    import cv2

    x0, y0, side = box
    scale = pixels / side
    warp = np.array([[scale, 0.0, -x0 * scale], [0.0, scale, -y0 * scale]])
    out = cv2.warpAffine(image, warp, (pixels, pixels), flags=cv2.INTER_LINEAR)
    return out, (x0, y0), (side, side)


def person_box(points: np.ndarray, margin: float = CROP_MARGIN) -> tuple[float, float, float]:
    """Square box centred on the landmarks' extent, `margin` times its longer side."""
    low, high = np.nanmin(points, axis=0), np.nanmax(points, axis=0)
    centre, side = (low + high) / 2, max(float((high - low).max()) * margin, 48.0)
    return float(centre[0] - side / 2), float(centre[1] - side / 2), side


def tiles(width: int, height: int, fraction: float = TILE) -> list[tuple[float, float, float]]:
    """Square tiles covering the frame, overlapping by half, so that a small person lies
    wholly inside at least one of them."""
    side = fraction * min(width, height)
    step = side / 2

    def starts(extent: int) -> np.ndarray:
        count = int(np.ceil(max(extent - side, 0) / step)) + 1
        return np.linspace(0, max(extent - side, 0), count)

    return [(float(x), float(y), side) for y in starts(height) for x in starts(width)]


class SmallPersonFinder:
    """The fallback beside the tracking BlazePose: a static one run on crops."""

    def __init__(self, mp, complexity: int):
        self.mp, self.complexity = mp, complexity
        self.pose = None  # made on the first miss: a video found at full frame never pays for it
        self.last: np.ndarray | None = None  # landmarks where the person was last seen

    def refine(self, rgb: np.ndarray, found: Found | None) -> Found | None:
        """The full frame's detection when there is one (nothing more is run), else a crop's."""
        if found is None:
            found = self._search(rgb)
        if found is not None:
            self.last = found[0]
        return found

    def _search(self, rgb: np.ndarray) -> Found | None:
        height, width = rgb.shape[:2]
        if self.last is not None:
            seen = self._on_crop(rgb, person_box(self.last))
            if seen is not None:
                return seen
        candidates = [self._on_crop(rgb, box) for box in tiles(width, height)]
        candidates = [c for c in candidates if c is not None]
        return max(candidates, key=lambda c: float(c[1].sum()), default=None)

    def _on_crop(self, rgb: np.ndarray, box: tuple[float, float, float]) -> Found | None:
        if self.pose is None:
            solution = self.mp.solutions.pose
            self.pose = solution.Pose(static_image_mode=True, model_complexity=self.complexity)
        image, origin, span = crop(rgb, box)
        return landmarks(self.pose.process(image), origin, span)

    def close(self) -> None:
        if self.pose is not None:
            self.pose.close()
