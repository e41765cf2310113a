"""A preview of a 2D track over its video: the skeleton drawn on every frame with OpenCV.

So a user sees what the detector found before lifting: confident joints as filled dots on solid
lines (left side orange, right side blue, so a left/right swap shows), joints under the
confidence threshold as hollow circles on thin grey lines; joints the detector hid (outside the
image, not found) are not drawn, and a frame with no one found says so. Same size, frame rate
and frame count as the input (`python -m mpm_backend.track VIDEO --preview OUT.mp4`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mpm_backend.skeleton import Layout, get_layout
from mpm_backend.tracks import Track

# container → the FOURCC that OpenCV's own ffmpeg/MJPEG writers have on every platform
CODECS = {".mp4": "mp4v", ".avi": "MJPG"}
THRESHOLD = 0.3  # the panel's default Confidence threshold: joints under it are hidden
LEFT, RIGHT, MIDDLE, WEAK = (0, 140, 255), (255, 120, 0), (60, 220, 60), (160, 160, 160)  # BGR


class PreviewError(ValueError):
    """A preview that cannot be written; the message says why."""


def check_output(path: str | Path) -> Path:
    """The preview's path, refused before any work when OpenCV cannot write its container."""
    path = Path(path)
    if path.suffix.lower() not in CODECS:
        raise PreviewError(
            f"{path}: a preview is a video, write it as "
            + " or ".join(f"OUT{s}" for s in CODECS)
            + f" (got {path.suffix or 'no suffix'!r})"
        )
    if not path.parent.is_dir():
        raise PreviewError(f"{path}: the folder {path.parent} does not exist")
    return path


def lines(layout: Layout) -> list[tuple[int, int]]:
    """The layout's bones, plus shoulder-to-shoulder and hip-to-hip so the trunk reads as one."""
    pairs = list(layout.bones)
    for part in ("shoulder", "hip"):
        if f"left_{part}" in layout.joints and f"right_{part}" in layout.joints:
            pairs.append((layout.index(f"left_{part}"), layout.index(f"right_{part}")))
    return pairs


def draw(
    cv2, frame: np.ndarray, points: np.ndarray, confidence: np.ndarray, layout: Layout,
    threshold: float = THRESHOLD, label: str | None = None,
) -> np.ndarray:  # fmt: skip
    """One frame (BGR, drawn on in place) with the skeleton of ``points`` (J, 2) pixels;
    ``label`` (a person's number) is written above it."""
    found = np.isfinite(points).all(-1) & (confidence > 0)
    if not found.any():
        if label is None:
            cv2.putText(frame, "no person", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, WEAK, 2)
        return frame
    sure = found & (confidence >= threshold)
    side = {**{i: LEFT for i in layout.left}, **{i: RIGHT for i in layout.right}}
    scale = max(1, round(max(frame.shape[:2]) / 640))  # lines as visible on large footage
    pixel = {i: (int(round(p[0])), int(round(p[1]))) for i, p in enumerate(points) if found[i]}
    for a, b in lines(layout):
        if found[a] and found[b]:
            if sure[a] and sure[b]:
                colour = side.get(b, MIDDLE) if side.get(a) == side.get(b) else MIDDLE
                cv2.line(frame, pixel[a], pixel[b], colour, 2 * scale, cv2.LINE_AA)
            else:
                cv2.line(frame, pixel[a], pixel[b], WEAK, scale, cv2.LINE_AA)
    for i, at in pixel.items():
        if sure[i]:
            cv2.circle(frame, at, 3 * scale, side.get(i, MIDDLE), -1, cv2.LINE_AA)
        else:  # under the threshold: hidden from the model, the completion fills it in
            cv2.circle(frame, at, 4 * scale, WEAK, scale, cv2.LINE_AA)
    if label is not None:
        top = points[found][np.argmin(points[found][:, 1])]
        at = (int(top[0]) - 5 * scale, int(top[1]) - 8 * scale)
        cv2.putText(frame, label, at, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, MIDDLE, scale)
    return frame


def write_preview(
    video: str | Path, track: Track | list[Track], out: str | Path, threshold: float = THRESHOLD
) -> int:
    """Draw ``track`` (or several people's, each numbered) over ``video``'s frames into ``out``;
    returns the frames written (the track's: a track cut short with --max-frames gives a
    preview as short)."""
    import cv2

    out = check_output(out)
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise PreviewError(f"{video}: OpenCV cannot open it as a video")
    people = [track] if isinstance(track, Track) else list(track)
    layout = get_layout(people[0].layout)
    fps = people[0].fps or float(capture.get(cv2.CAP_PROP_FPS)) or 30.0
    labels = [None] if isinstance(track, Track) else [f"p{k}" for k in range(len(people))]
    writer = None
    written = 0
    try:
        for t in range(people[0].num_frames):
            ok, frame = capture.read()
            if not ok:
                break
            if writer is None:
                fourcc = cv2.VideoWriter_fourcc(*CODECS[out.suffix.lower()])
                writer = cv2.VideoWriter(str(out), fourcc, fps, (frame.shape[1], frame.shape[0]))
                if not writer.isOpened():
                    raise PreviewError(f"{out}: OpenCV cannot write this video")
            for person, label in zip(people, labels, strict=True):
                draw(
                    cv2, frame, person.keypoints[t], person.confidence[t], layout, threshold, label
                )
            writer.write(frame)
            written += 1
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    if not written:
        raise PreviewError(f"{video}: no frame could be read")
    return written
