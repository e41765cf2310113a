"""Video → 2D track, offline: `python -m mpm_backend.track VIDEO --out TRACK.json`.

    python -m mpm_backend.track VIDEO --out TRACK.json|.npz [--complexity 0|1|2] [--max-frames N]
    python -m mpm_backend.track VIDEO --preview PREVIEW.mp4|.avi   # the detections drawn on it
    python -m mpm_backend.track VIDEO --people --out PEOPLE.npz    # everyone (people_video.py)

Runs MediaPipe's BlazePose (the legacy `solutions.pose` of mediapipe 0.10.21, whose models ship
inside the wheel: no network) on every frame and writes the project's track format
(docs/tracks.md): BlazePose-33 in pixels, per-joint visibility as confidence, the video's frame
rate and image size, frames with no person masked. One person: BlazePose follows the most
prominent person it found and re-detects when it loses them; a person it misses or sees small is
looked for again on an upscaled crop (mpm_backend.crops). Install: `bash scripts/install_video.sh`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mpm_backend import cli, preview
from mpm_backend.crops import SmallPersonFinder, landmarks
from mpm_backend.people_video import detect_people
from mpm_backend.skeleton import BLAZEPOSE33
from mpm_backend.tracks import Track, TrackError, write_people, write_track
from mpm_backend.video_frames import VideoError, VideoFrames, video_modules

__all__ = ["VideoError", "detect", "main"]


def detect(
    video: str | Path,
    complexity: int = 1,
    max_frames: int | None = None,
    progress: bool = True,
    cancelled=None,
) -> Track:
    """BlazePose-33 track of the most prominent person in a video (or an image).

    `cancelled()`, checked every frame, stops it by raising protocol.Cancelled."""
    frames = VideoFrames(video, max_frames, progress, cancelled)
    cv2, mp = video_modules()
    points, confidence = [], []
    pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=complexity)
    finder = SmallPersonFinder(mp, complexity)
    try:
        for frame in frames:
            height, width = frame.shape[:2]
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            found = landmarks(pose.process(rgb), (0.0, 0.0), (width, height))
            found = finder.refine(rgb, found)
            if found is None:
                points.append(np.full((BLAZEPOSE33.num_joints, 2), np.nan))
                confidence.append(np.zeros(BLAZEPOSE33.num_joints))
            else:
                points.append(found[0])
                confidence.append(found[1])
    finally:
        finder.close()
        pose.close()
    fps, size, path = frames.fps, frames.size, frames.path
    keypoints = np.asarray(points, dtype=np.float32)
    conf = np.clip(np.asarray(confidence, dtype=np.float32), 0.0, 1.0)
    outside = (keypoints[..., 0] < 0) | (keypoints[..., 0] >= size[0])
    outside |= (keypoints[..., 1] < 0) | (keypoints[..., 1] >= size[1])
    hidden = outside | ~np.isfinite(keypoints).all(-1) | (conf <= 0)
    keypoints[hidden] = np.nan
    conf[hidden] = 0.0
    return Track(
        keypoints=keypoints,
        confidence=conf,
        layout=BLAZEPOSE33.name,
        fps=fps,
        image_size=size,
        source=str(path),
        format="mediapipe-video",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=cli.prog("mpm_backend.track", "mpm-lift-track"),
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=cli.exit_codes(
            "0  the track (and the preview) written",
            "2  bad arguments, a video it cannot read, a preview it cannot write, MediaPipe "
            "missing (scripts/install_video.sh)",
        ),
    )
    cli.add_version(parser)
    parser.add_argument("video", type=Path)
    parser.add_argument("--out", type=Path, help="TRACK.json or TRACK.npz")
    parser.add_argument(
        "--preview",
        type=Path,
        help="PREVIEW.mp4 or .avi: the video with the detected skeleton drawn on it (hollow "
        "circles: joints under the lift's confidence threshold)",
    )
    parser.add_argument(
        "--complexity",
        type=int,
        default=1,
        choices=(0, 1, 2),
        help="BlazePose model: 0 lite, 1 full (default), 2 heavy (not in the wheel)",
    )
    parser.add_argument("--max-frames", type=int)
    parser.add_argument(
        "--people",
        action="store_true",
        help="every person, each with an identity (OpenCV's HOG finds them, BlazePose runs on "
        "each one's crop): the track file gets a person axis (docs/tracks.md)",
    )
    args = parser.parse_args(argv)
    if args.out is None and args.preview is None:
        parser.error("give --out TRACK.json (the track), --preview OUT.mp4 (a preview), or both")
    try:
        if args.preview is not None:  # a bad name is refused before the detector runs
            preview.check_output(args.preview)
        if args.people:
            people = detect_people(args.video, args.complexity, args.max_frames)
        else:
            people = [detect(args.video, args.complexity, args.max_frames)]
        if args.preview is not None:
            preview.write_preview(args.video, people if args.people else people[0], args.preview)
    except (VideoError, preview.PreviewError, TrackError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    track = people[0]
    seen = int(np.any([p.present.any(-1) for p in people], axis=0).sum())
    about = (
        f"{len(track.keypoints)} frames at {track.fps} fps, "
        f"{track.image_size[0]}×{track.image_size[1]}, a person in {seen}"
        + (f", {len(people)} people" if args.people else "")
    )
    if args.out is not None:
        if args.people:
            write_people(people, args.out)
        else:
            write_track(track, args.out)
        print(f"wrote {args.out}: {about}")
    if args.preview is not None:
        print(f"wrote the preview {args.preview}: {about}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
