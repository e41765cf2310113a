"""Several people in a video: find each person, run BlazePose on their crop, follow them.

MediaPipe's legacy BlazePose follows one person. Here every frame's people are proposed by
OpenCV's built-in HOG people detector (no download) and by where the people of the previous frame
were (HOG misses people it saw a frame earlier, and a person already followed should not wait for
it); each proposal's square crop, upscaled, goes to a static BlazePose, and the landmarks map back
to full-image pixels (`crops`). Two proposals that found the same person keep the more confident
one. The detections are then followed across frames by the track reader's association
(docs/tracks.md, "Several people"), so a video gives what a multi-person detector file gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mpm_backend.crops import crop, landmarks, person_box
from mpm_backend.skeleton import BLAZEPOSE33
from mpm_backend.tracks import MAX_GAP_SECONDS, MIN_PERSON_SECONDS, Track
from mpm_backend.tracks.assemble import assemble_people
from mpm_backend.tracks.common import Raw, ReadOptions
from mpm_backend.video_frames import VideoFrames, video_modules

# HOG's window is 64×128 px: frames are upscaled so people this tall (px) still fill it.
HOG_MIN_PERSON_PX = 96
HOG_HIT_THRESHOLD = 0.3  # SVM margin; lower finds more people and more false ones
PROPOSAL_MARGIN = 1.6  # crop side / proposal box's longer side
MIN_VISIBILITY = 0.5  # mean landmark visibility below this is not a person
SAME_PERSON_IOU = 0.4  # two detections overlapping this much are one person
# HOG looks for newcomers this often (seconds); people already found are followed every frame.
NEW_PEOPLE_EVERY_S = 0.5


@dataclass
class Detection:
    points: np.ndarray  # (33, 2) full-image pixels
    visibility: np.ndarray  # (33,)

    def box(self) -> np.ndarray:
        low, high = self.points.min(axis=0), self.points.max(axis=0)
        return np.concatenate([low, high])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None).prod()
    union = (a[2:] - a[:2]).prod() + (b[2:] - b[:2]).prod() - inter
    return float(inter / union) if union > 0 else 0.0


class PeopleFinder:
    """HOG + previous-frame proposals → one BlazePose detection per person in a frame."""

    def __init__(self, mp, cv2, complexity: int = 1, hog_every: int = 1):
        self.cv2, self.hog_every, self.frame = cv2, max(1, hog_every), 0
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.pose = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=complexity)
        self.previous: list[Detection] = []

    def proposals(self, bgr: np.ndarray) -> list[tuple[float, float, float]]:
        """Square crops (x0, y0, side): last frame's people first, then HOG's new boxes."""
        boxes = [person_box(d.points, PROPOSAL_MARGIN) for d in self.previous]
        self.frame += 1
        if (self.frame - 1) % self.hog_every:
            return boxes
        scale = max(1.0, 128.0 / HOG_MIN_PERSON_PX)  # HOG's window height over a person's
        image = bgr if scale == 1.0 else self.cv2.resize(bgr, None, fx=scale, fy=scale)
        found, weights = self.hog.detectMultiScale(
            image, hitThreshold=HOG_HIT_THRESHOLD, winStride=(8, 8), padding=(16, 16), scale=1.05
        )
        for (x, y, w, h), _ in zip(found, np.ravel(weights), strict=True):
            x, y, w, h = (v / scale for v in (x, y, w, h))
            side = max(w, h) * PROPOSAL_MARGIN
            boxes.append((x + w / 2 - side / 2, y + h / 2 - side / 2, side))
        return boxes

    def find(self, bgr: np.ndarray) -> list[Detection]:
        rgb = self.cv2.cvtColor(bgr, self.cv2.COLOR_BGR2RGB)
        found: list[Detection] = []
        for box in self.proposals(bgr):
            if any(_inside(box, d) for d in found):
                continue  # a person already found fills this proposal
            image, origin, span = crop(rgb, box)
            seen = landmarks(self.pose.process(image), origin, span)
            if seen is None or float(seen[1].mean()) < MIN_VISIBILITY:
                continue
            detection = Detection(*seen)
            same = [
                k for k, d in enumerate(found) if _iou(d.box(), detection.box()) > SAME_PERSON_IOU
            ]
            if same:
                k = same[0]
                if detection.visibility.mean() > found[k].visibility.mean():
                    found[k] = detection
            else:
                found.append(detection)
        self.previous = found
        return found

    def close(self) -> None:
        self.pose.close()


def _inside(box: tuple[float, float, float], detection: Detection) -> bool:
    """Whether a proposal's crop is centred on a person already found (inside their box): a
    neighbour whose crop merely contains them is still looked for."""
    x0, y0, side = box
    centre = np.array([x0 + side / 2, y0 + side / 2])
    low, high = detection.box()[:2], detection.box()[2:]
    return bool(np.all(centre >= low) and np.all(centre <= high))


def detect_people(
    video: str | Path,
    complexity: int = 1,
    max_frames: int | None = None,
    progress: bool = True,
    cancelled=None,
    min_seconds: float = MIN_PERSON_SECONDS,
    max_gap_seconds: float = MAX_GAP_SECONDS,
) -> list[Track]:
    """Every person of a video, each a BlazePose-33 `Track` over the video's frames (masked where
    absent), ordered by first appearance, as `tracks.read_people` gives a detector file's."""
    frames = VideoFrames(video, max_frames, progress, cancelled)
    cv2, mp = video_modules()
    hog_every = round(NEW_PEOPLE_EVERY_S * frames.fps) if frames.fps else 1
    finder = PeopleFinder(mp, cv2, complexity, hog_every)
    found: dict[int, list] = {}
    try:
        for number, frame in enumerate(frames):
            people = finder.find(frame)
            found[number] = [(d.points, np.clip(d.visibility, 0, 1)) for d in people]
    finally:
        finder.close()
    fps, size, path = frames.fps, frames.size, frames.path
    raw = Raw("mediapipe-video", "mediapipe", found, fps=fps, image_size=size, layout=BLAZEPOSE33)
    options = ReadOptions(layout=BLAZEPOSE33, fps=fps, image_size=size)
    return assemble_people(path, raw, options, min_seconds, max_gap_seconds)
