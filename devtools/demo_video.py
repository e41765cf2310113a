"""The demo's video part: the shipped rendered clip through the whole video path, scored.

`examples/video/video.mp4` (a rendered person walking, 108 frames at 30 fps, with its exact truth
in `truth.npz`) goes through what a user's video goes through: the project's MediaPipe detector
(`mpm_backend.track.detect`), the shipped model (the batch pipeline's in-process engine) and the
retargeting onto Blender's Human meta-rig, written as `video.metarig.blend` and `.bvh` beside the
detected track `video.json`. Because the truth is exact, the demo can print what the path really
reaches (detection rate, MPJPE and P-MPJPE against the truth's camera-frame joints, root-relative
as `training.evaluate` scores) instead of only showing it. The detector is an optional extra, so
without it this part says how to install it and steps aside.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "examples" / "video"
INSTALL = "bash scripts/install_video.sh"
RIG = "metarig"
FORMATS = ("blend", "bvh")  # FBX adds seconds and nothing the track demo does not show


@dataclass
class VideoDemo:
    """What the video part measured and wrote."""

    video: Path
    frames: int  # frames in the video
    found: int  # frames where the detector found the person
    fps: float
    mpjpe_mm: float  # the lift vs the truth, root-relative, every frame
    p_mpjpe_mm: float
    outputs: list[Path]
    seconds: float  # detect + lift + retarget + write

    def line(self) -> str:
        """The one line the demo prints: measured numbers, then where the rig went."""
        written = ", ".join(p.name for p in self.outputs)
        video = self.video.relative_to(REPO) if self.video.is_relative_to(REPO) else self.video
        return (
            f"video: {video} → MediaPipe found the person in {self.found}/{self.frames} frames"
            f" ({100 * self.found / self.frames:.0f} %); lift vs the clip's truth:"
            f" MPJPE {self.mpjpe_mm:.1f} mm, P-MPJPE {self.p_mpjpe_mm:.1f} mm"
            f" ({self.frames} frames at {self.fps:g} fps, root-relative); wrote {written}"
            f" in {self.seconds:.1f} s"
        )


def missing_extra() -> str | None:
    """The first module of the video extra that does not import, or None when both do."""
    for name in ("cv2", "mediapipe"):
        try:
            importlib.import_module(name)
        except ImportError:
            return name
    return None


def skipped_line(module: str) -> str:
    """Why the video part did not run, and the one command that makes it run."""
    return f"video: skipped (the video extra is not installed: no {module}); install it with `{INSTALL}`"


def run_video(out: Path, engine=None, clip: Path = CLIP) -> VideoDemo:
    """Detect, lift and retarget the clip into `out`, and score the lift against its truth.

    `engine` (an `mpm_backend.inference.Engine`) is shared with the rest of the demo so the model
    loads once; None loads the shipped default."""
    from blender_addon import batch
    from mpm_backend.track import detect
    from mpm_backend.tracks import write_track
    from training.data.cameras import root_relative
    from training.metrics import mpjpe, p_mpjpe

    started = time.perf_counter()
    video = clip / "video.mp4"
    track = detect(video, progress=False)
    out.mkdir(parents=True, exist_ok=True)
    track_path = out / "video.json"
    write_track(track, track_path)
    config = batch.BatchConfig(
        tracks=[track_path],
        rigs=[RIG],
        out=out,
        formats=FORMATS,
        force=True,
        keep_arrays=True,
        progress=False,
    )
    lifted = batch.run(config, engine=engine).results[0]
    if lifted.status != batch.OK:
        raise RuntimeError(f"the video part failed: {lifted.error}")
    with np.load(clip / "truth.npz") as truth:
        gt = root_relative(truth["joints_camera"])
    pred = np.asarray(lifted.arrays["joints3d"], dtype=np.float64)  # root-relative camera frame
    if pred.shape != gt.shape:
        raise RuntimeError(f"the lift has shape {pred.shape}, the truth {gt.shape}")
    return VideoDemo(
        video=video,
        frames=len(track.keypoints),
        found=int(np.isfinite(track.keypoints).all(-1).any(-1).sum()),
        fps=float(track.fps),
        mpjpe_mm=mpjpe(pred, gt),
        p_mpjpe_mm=p_mpjpe(pred, gt),
        outputs=[Path(p) for p in lifted.outputs],
        seconds=time.perf_counter() - started,
    )


def video_part(out: Path, engine=None) -> VideoDemo | None:
    """The demo's video part: runs and prints its line, or prints why it was skipped (None).

    A missing extra is not an error (the demo's track part stands alone); a video path that
    breaks with the extra installed is, and raises."""
    module = missing_extra()
    if module is not None:
        print(skipped_line(module))
        return None
    result = run_video(out, engine)
    print(result.line())
    return result
