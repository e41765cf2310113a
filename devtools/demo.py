"""The README's demo: a shipped 2D track → the shipped model → keyframed Blender rigs → files.

    python -m devtools.demo [--track examples/tracks/walking.json] [--out demo_out]
                            [--rig metarig,mixamo] [--no-check] [--no-video]

Lifts `examples/tracks/walking.json` (a CMU walk filmed by a virtual camera, 86 frames at 30 fps)
with the shipped default model, in-process, and retargets it onto Blender's Human meta-rig and a
Mixamo-named rig through the batch pipeline (`blender_addon.batch`, Blender as the `bpy` module,
no window). Writes `demo_out/walking.<rig>.blend`, `.bvh` and `.fbx` for each rig,
`demo_out/walking.png` (the 2D input beside the 3D result, a few frames) and, as a check on the
model, `demo_out/lift.png` with its errors on a val clip it never trained on; prints where they
are. With the video extra installed it then runs the whole video path on the shipped rendered
clip `examples/video/video.mp4` (`devtools.demo_video`: MediaPipe → the same model → the
meta-rig, `demo_out/video.metarig.blend|.bvh`) and prints its detection rate and errors against
the clip's exact truth; without the extra it says how to install it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mpm_backend.checkpoint import DEFAULT_CHECKPOINT  # noqa: E402
from mpm_backend.skeleton import H36M17  # noqa: E402
from mpm_backend.timebase import MODEL_FPS  # noqa: E402

if TYPE_CHECKING:
    from blender_addon.batch import BatchConfig, TrackResult
    from mpm_backend.inference import Engine

REPO = Path(__file__).resolve().parents[1]
TRACK = REPO / "examples" / "tracks" / "walking.json"
VAL_EXAMPLE = REPO / "examples" / "mocap" / "cmu_actions_val_running_1.bvh"
RIGS = ("metarig", "mixamo")
LEFT = set(H36M17.left)
RIGHT = set(H36M17.right)


def _bone_color(child: int) -> str:
    return "tab:blue" if child in LEFT else "tab:red" if child in RIGHT else "0.3"


def render_lift(
    points2d: np.ndarray,
    confidence: np.ndarray,
    joints: np.ndarray,
    image_size: tuple[int, int] | None,
    frames: list[int],
    out: Path,
    title: str = "",
) -> None:
    """Top row: the 2D input (H36M-17 pixels, dots coloured by confidence); bottom row: the 3D
    result in Blender's world (Z up, metres: what the rigs follow), the pelvis path in grey."""
    fig = plt.figure(figsize=(3.2 * len(frames), 6.6))
    pelvis = H36M17.index("pelvis")
    present = np.isfinite(points2d).all(-1)
    heights = [np.ptp(p[ok, 1]) for p, ok in zip(points2d, present, strict=True) if ok.sum() > 1]
    half = 0.65 * max(heights, default=200.0)  # a square crop around the person, same scale
    for k, f in enumerate(frames):
        ax = fig.add_subplot(2, len(frames), k + 1)
        for parent, child in H36M17.bones:
            seg = points2d[f, [parent, child]]
            ax.plot(seg[:, 0], seg[:, 1], color=_bone_color(child), lw=2)
        ax.scatter(*points2d[f].T, c=confidence[f], cmap="viridis", vmin=0, vmax=1, s=16, zorder=3)
        cx, cy = np.nanmean(points2d[f], axis=0) if present[f].any() else (0.0, 0.0)
        ax.set_xlim(cx - half, cx + half)
        ax.set_ylim(cy + half, cy - half)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
        size = f" of {image_size[0]}×{image_size[1]}" if image_size else ""
        ax.set_title(f"2D input (pixels{size}), frame {f}", fontsize=9)
        ax = fig.add_subplot(2, len(frames), len(frames) + k + 1, projection="3d")
        centre = joints[f, pelvis]
        path = joints[np.all(np.abs(joints[:, pelvis, :2] - centre[:2]) < 1, axis=1), pelvis]
        ax.plot(path[:, 0], path[:, 1], np.zeros(len(path)), color="0.6", lw=1)
        for parent, child in H36M17.bones:
            seg = joints[f, [parent, child]]
            ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=_bone_color(child), lw=2)
        ax.set_xlim(centre[0] - 1, centre[0] + 1)
        ax.set_ylim(centre[1] - 1, centre[1] + 1)
        ax.set_zlim(0, 2)
        ax.set_box_aspect((1, 1, 1))
        ax.view_init(elev=12, azim=-60)
        ax.tick_params(labelsize=6)
        ax.set_title(f"3D result, frame {f} (blue = left)", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (see the module doc)."""
    parser = argparse.ArgumentParser(
        prog="python -m devtools.demo",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--track", type=Path, default=TRACK)
    parser.add_argument("--out", type=Path, default=Path("demo_out"))
    parser.add_argument("--rig", default=",".join(RIGS), help="comma-separated rig presets")
    parser.add_argument("--seed", type=int, default=0, help="camera of the model check")
    parser.add_argument("--no-check", action="store_true", help="skip the val-clip model check")
    parser.add_argument("--no-video", action="store_true", help="skip the shipped video clip")
    return parser.parse_args(argv)


def _report_track(track_path: Path, out: Path, lifted: TrackResult, config: BatchConfig) -> None:
    """Draw the 2D input beside the 3D result and print what was lifted and written, so the
    demo's reader sees the model worked before opening Blender."""
    from blender_addon.result import prepare_joints

    track = lifted.track
    points2d, confidence = track.to_h36m17()
    joints = prepare_joints(lifted.arrays, track.fps, config.options).joints
    frames = list(np.linspace(0, track.num_frames - 1, 4).round().astype(int))
    png = out / f"{lifted.name}.png"
    render_lift(
        points2d,
        confidence,
        joints,
        track.image_size,
        frames,
        png,
        f"{track.source}: {track.num_frames} frames at {track.fps:g} fps, lifted by the shipped model",
    )
    travel = float(np.linalg.norm(joints[-1, 0, :2] - joints[0, 0, :2]))
    print(
        json.dumps(
            {
                "track": str(track_path),
                "frames": track.num_frames,
                "fps": track.fps,
                "layout": track.layout,
                "lift_seconds": round(lifted.lift_seconds or 0.0, 3),
                "pelvis_travel_m": round(travel, 2),
                "rigs": config.rigs,
            },
            indent=1,
        )
    )
    print("wrote:")
    for path in [*lifted.outputs, png]:
        print(f"  {Path(path).resolve()}")


def _run_video_part(out: Path, engine: Engine) -> bool:
    """The video path on the shipped clip; False (said) when it broke with the extra installed."""
    from devtools.demo_video import video_part

    try:
        video = video_part(out, engine)
    except Exception as exc:  # the extra is installed, yet the path broke: say so, fail
        print(f"the video part failed: {type(exc).__name__}: {exc}")
        return False
    for path in video.outputs if video else []:
        print(f"  {path.resolve()}")
    return True


def main(argv: list[str] | None = None) -> int:
    """Run the demo; 1 when the shipped model is missing or a part failed."""
    args = _parse_args(argv)
    if not DEFAULT_CHECKPOINT.is_file():
        print(
            f"no shipped model at {DEFAULT_CHECKPOINT}: train one with "
            "`python -m training.retrain --install`"
        )
        return 1

    started = time.perf_counter()
    from blender_addon import batch
    from mpm_backend.inference import Engine

    config = batch.BatchConfig(
        tracks=[args.track],
        rigs=[r for r in args.rig.split(",") if r],
        out=args.out,
        force=True,
        keep_arrays=True,
        progress=False,
    )
    engine = Engine(config.checkpoint, device=config.device)  # loaded once, for both parts
    summary = batch.run(config, engine=engine)
    lifted = summary.results[0]
    if lifted.status != batch.OK:
        print(f"the demo failed: {lifted.error}")
        return 1
    _report_track(args.track, args.out, lifted, config)
    if not args.no_check:
        model_check(args.out, args.seed)
    if not args.no_video and not _run_video_part(args.out, engine):
        return 1
    print(f"demo done in {time.perf_counter() - started:.1f} s")
    return 0


def model_check(out: Path, seed: int) -> None:
    """Lift a filmed val clip with the shipped default; report its errors and write a figure."""
    from mpm_backend.checkpoint import load_lifter
    from training.data.mocap import load_clip
    from training.evaluate import run_evaluation
    from training.evaluate_figure import save_figure

    lifter, meta = load_lifter("default")
    clip = load_clip(VAL_EXAMPLE, target_fps=MODEL_FPS, skip_frames=1)
    run = run_evaluation(
        lifter, [clip.joints], cameras=1, seed=seed, conditions=("noisy", "occluded", "complete3d")
    )
    png = out / "lift.png"
    save_figure(run, png)
    conditions = run.summary["conditions"]
    print(
        json.dumps(
            {
                "model": {
                    "checkpoint": meta["path"],
                    "parameters": sum(p.numel() for p in lifter.parameters()),
                },
                "clip": str(VAL_EXAMPLE),
                "frames": clip.num_frames,
                "mpjpe_mm": {
                    name: round(values["mpjpe"], 1) for name, values in conditions.items() if values
                },
            },
            indent=1,
        )
    )
    print(f"wrote {png.resolve()} (the model on a val clip it never trained on)")


if __name__ == "__main__":
    raise SystemExit(main())
