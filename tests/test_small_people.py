"""Small people: BlazePose's fallback on upscaled crops (mpm_backend.crops), with real MediaPipe on
a rendered clip with exact truth (tests/data/small_person, see its README).

Skipped unless the video extra (scripts/install_video.sh) is there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mediapipe")
import cv2  # noqa: E402
import mediapipe as mp  # noqa: E402

from mpm_backend import crops  # noqa: E402
from mpm_backend.skeleton import BLAZEPOSE33, H36M17  # noqa: E402
from mpm_backend.track import detect  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "tests" / "data" / "small_person"  # a child ~134 px tall in 640×480, 30 frames
LARGE = REPO / "examples" / "video" / "video.mp4"  # a walker found at full frame
JOINTS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
LIMBS = [f"{side}_{joint}" for side in ("left", "right") for joint in JOINTS]


def _truth():
    with np.load(SMALL / "truth.npz") as npz:
        return npz["joints_2d"].astype(np.float64), npz["stature_px"].astype(np.float64)


def _limb_errors(keypoints: np.ndarray, truth: np.ndarray, stature: np.ndarray) -> np.ndarray:
    """(T, 12) limb joints' distance from the truth, fraction of the person's height in pixels."""
    mine = keypoints[:, [BLAZEPOSE33.index(n) for n in LIMBS]]
    true = truth[:, [H36M17.index(n) for n in LIMBS]]
    return np.linalg.norm(mine - true, axis=-1) / stature[:, None]


def test_a_small_person_missed_by_the_full_frame_is_found_on_crops(monkeypatch):
    truth, stature = _truth()
    track = detect(SMALL / "video.mp4", progress=False)
    seen = np.isfinite(track.keypoints).all(-1).any(-1)
    errors = _limb_errors(track.keypoints[seen].astype(np.float64), truth[seen], stature[seen])
    # Measured: found in 30/30 frames, median limb error 2.1 % of height.
    assert seen.mean() >= 0.9, seen.mean()
    assert np.median(errors) < 0.04, np.median(errors)

    monkeypatch.setattr(crops.SmallPersonFinder, "_search", lambda self, rgb: None)
    plain = np.isfinite(detect(SMALL / "video.mp4", progress=False).keypoints).all(-1).any(-1)
    assert plain.mean() < 0.5, plain.mean()  # the full frame alone misses this child


def _first_frame(path: Path) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))
    ok, frame = capture.read()
    capture.release()
    assert ok
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def test_a_crop_maps_back_to_the_full_image_detection():
    """BlazePose letterboxes a 640×480 frame to a square with bands above and below; the crop
    (0, -80, 640) is that same square, so any mapping error (a shift, a half pixel, a swapped
    axis) shows as a gap from the full image's landmarks, with the network's input unchanged."""
    rgb = _first_frame(LARGE)
    height, width = rgb.shape[:2]
    with mp.solutions.pose.Pose(static_image_mode=True) as pose:
        full = crops.landmarks(pose.process(rgb), (0.0, 0.0), (width, height))
        assert full is not None
        gaps = {}
        for pixels in (640, 320):  # the square as is, and downscaled 2× (resampled)
            image, origin, span = crops.crop(rgb, (0.0, -80.0, 640.0), pixels)
            mapped = crops.landmarks(pose.process(image), origin, span)
            assert mapped is not None
            gaps[pixels] = np.linalg.norm(mapped[0] - full[0], axis=-1)
    # Measured: 0.001 px at 640 (all 33 under 0.01), median 0.64 px at 320.
    assert gaps[640].max() < 0.1, gaps[640].max()
    assert np.median(gaps[320]) < 1.0, np.median(gaps[320])


def test_the_crop_is_a_pure_scale_and_shift_mapped_back_exactly():
    image = np.zeros((480, 640, 3), np.uint8)
    image[300, 417] = 255  # one bright pixel at x 417, y 300
    out, origin, span = crops.crop(image, (380.5, 250.25, 96.0), pixels=384)
    y, x = np.unravel_index(out[..., 0].argmax(), out.shape[:2])
    back = origin[0] + (x + 0.5) / 384 * span[0], origin[1] + (y + 0.5) / 384 * span[1]
    assert abs(back[0] - 417) <= 0.5 and abs(back[1] - 300) <= 0.5, back


def test_tiles_cover_the_frame_so_a_small_person_lies_inside_one():
    boxes = crops.tiles(640, 480)
    side = boxes[0][2]
    assert len(boxes) == 6 and side == pytest.approx(360)
    rng = np.random.default_rng(0)
    for _ in range(200):  # any box up to half a tile's side is wholly inside some tile
        size = side / 2
        x, y = rng.uniform(0, 640 - size), rng.uniform(0, 480 - size)
        assert any(
            bx <= x and by <= y and x + size <= bx + s and y + size <= by + s for bx, by, s in boxes
        )
