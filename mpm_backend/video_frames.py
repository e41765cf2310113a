"""Reading a video's frames for the detectors: one place that opens it, counts and cancels.

`track.detect` (one person) and `people_video.detect_people` (everyone) read a video the same
way: OpenCV opens it (a still image works too), frames come one by one with a progress bar, a
`cancelled()` check before each, at most `max_frames`; a video it cannot open or read says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from mpm_backend.protocol import Cancelled


class VideoError(ValueError):
    """A video that cannot be read, or a missing video extra; the message says what to do."""


def video_modules():
    """(cv2, mediapipe), or a VideoError saying how to install them."""
    try:
        import cv2
        import mediapipe as mp
    except ImportError as exc:
        raise VideoError(
            f"video detection needs the video extra ({exc.name} is missing): "
            "run `bash scripts/install_video.sh`"
        ) from None
    return cv2, mp


class VideoFrames:
    """A video's BGR frames (`for frame in VideoFrames(...)`), its fps (None when the file
    does not say) and, after the first frame, its size (width, height)."""

    def __init__(
        self,
        video: str | Path,
        max_frames: int | None = None,
        progress: bool = True,
        cancelled: Callable[[], bool] | None = None,
    ):
        cv2, _ = video_modules()
        self.path = Path(video)
        if not self.path.exists():
            raise VideoError(f"{self.path}: no such file")
        self.capture = cv2.VideoCapture(str(self.path))
        if not self.capture.isOpened():
            raise VideoError(f"{self.path}: OpenCV cannot open it as a video or image")
        self.fps = float(self.capture.get(cv2.CAP_PROP_FPS)) or None
        total = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        if max_frames is not None:
            total = min(total or max_frames, max_frames)
        self.total, self.max_frames = total, max_frames
        self.progress, self.cancelled = progress, cancelled
        self.size: tuple[int, int] | None = None

    def __iter__(self) -> Iterator[np.ndarray]:
        from tqdm import tqdm

        read = 0
        try:
            with tqdm(
                total=self.total, desc=self.path.name, unit="frame", disable=not self.progress
            ) as bar:
                while self.max_frames is None or read < self.max_frames:
                    if self.cancelled is not None and self.cancelled():
                        raise Cancelled("video detection cancelled")
                    ok, frame = self.capture.read()
                    if not ok:
                        break
                    self.size = self.size or (frame.shape[1], frame.shape[0])
                    read += 1
                    yield frame
                    bar.update(1)
        finally:
            self.capture.release()
        if not read:
            raise VideoError(f"{self.path}: no frame could be read")
