"""The `Track` value every reader returns and `write_track` writes; checks its own shapes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mpm_backend.lift_request import check_fps, check_image_size
from mpm_backend.skeleton import Layout, get_layout, to_h36m17


class TrackError(ValueError):
    """A track file that cannot be read; the message says what was wrong and what to do."""


@dataclass
class Track:
    """One person's 2D keypoints over time.

    keypoints: (T, J, 2) float32 pixels, NaN where the joint or the person is missing.
    confidence: (T, J) float32 in [0, 1], 0 exactly where keypoints are NaN.
    layout: canonical layout name (`mpm_backend.skeleton.LAYOUTS`).
    fps: frames per second, None when neither the file nor the caller says.
    image_size: (width, height) in pixels, None when unknown.
    source: the file or folder it was read from ("" when made in memory).
    format: the format it was read as (see FORMATS in docs/tracks.md), "" when made in memory.
    first_frame: the frame number of keypoints[0]; frame t is first_frame + t.
    person_id: which person of a multi-person file (the file's own id, else the index that
        `read_people` gives); None when the track was not read as one of several people.
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    layout: str  # a Layout or any alias is accepted and stored as the canonical name
    fps: float | None = None
    image_size: tuple[int, int] | None = None
    source: str = ""
    format: str = ""
    first_frame: int = 0
    person_id: int | None = None

    def __post_init__(self) -> None:
        layout = get_layout(self.layout.name if isinstance(self.layout, Layout) else self.layout)
        self.layout = layout.name
        keypoints = np.array(self.keypoints, dtype=np.float32)
        confidence = np.array(self.confidence, dtype=np.float32)
        j = layout.num_joints
        if keypoints.ndim != 3 or keypoints.shape[1:] != (j, 2):
            raise ValueError(
                f"Track keypoints for layout {layout.name!r} must have shape (T, {j}, 2); "
                f"got {keypoints.shape}"
            )
        if confidence.shape != keypoints.shape[:2]:
            raise ValueError(
                f"Track confidence must have shape {keypoints.shape[:2]}; got {confidence.shape}"
            )
        confidence[~np.isfinite(confidence)] = 0
        if (confidence < 0).any() or (confidence > 1).any():
            raise ValueError("Track confidence must lie in [0, 1]")
        missing = (confidence <= 0) | ~np.isfinite(keypoints).all(axis=-1)
        keypoints[missing] = np.nan
        confidence[missing] = 0
        self.keypoints, self.confidence = keypoints, confidence
        if self.fps is not None:
            self.fps = check_fps(self.fps)
        if self.image_size is not None:
            self.image_size = check_image_size(self.image_size)
        self.first_frame = int(self.first_frame)
        self.source = str(self.source)
        if self.person_id is not None:
            self.person_id = int(self.person_id)

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def num_joints(self) -> int:
        return int(self.keypoints.shape[1])

    @property
    def frame_numbers(self) -> np.ndarray:
        """(T,) int64: the frame number of each row (consecutive, from first_frame)."""
        return self.first_frame + np.arange(self.num_frames, dtype=np.int64)

    @property
    def present(self) -> np.ndarray:
        """(T, J) bool: where a joint was detected."""
        return self.confidence > 0

    def to_h36m17(self) -> tuple[np.ndarray, np.ndarray]:
        """(keypoints (T, 17, 2), confidence (T, 17)) in the model's H36M-17 order."""
        return to_h36m17(self.keypoints, self.layout, self.confidence)
