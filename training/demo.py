"""The README's demo: the shipped default model lifting a real clip it never trained on.

A CMU clip from the val split (shipped in examples/mocap) is read from BVH, mapped to H36M-17 in
metres, filmed by a random phone-like camera and corrupted like a detector's 2D; the shipped
default model lifts it back to 3D. Writes demo_out/lift.png (input 2D | predicted 3D | true 3D)
and demo_out/data_pipeline.png (the data the model learns from), and prints where they are with
the errors. Without a shipped model it shows the data pipeline only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mpm_backend.checkpoint import DEFAULT_CHECKPOINT  # noqa: E402
from mpm_backend.skeleton import H36M17  # noqa: E402
from mpm_backend.timebase import MODEL_FPS  # noqa: E402
from training.data.cameras import sample_camera  # noqa: E402
from training.data.corruption import corrupt_2d  # noqa: E402
from training.data.mocap import load_clip, standing_height  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "mocap" / "cmu_actions_train_walking_1.bvh"
VAL_EXAMPLE = REPO / "examples" / "mocap" / "cmu_actions_val_running_1.bvh"
LEFT = set(H36M17.left)
RIGHT = set(H36M17.right)


def _bone_color(child: int) -> str:
    return "tab:blue" if child in LEFT else "tab:red" if child in RIGHT else "0.3"


def render(
    world: np.ndarray,
    clean: np.ndarray,
    noisy: np.ndarray,
    confidence: np.ndarray,
    width: int,
    height: int,
    frames: list[int],
    out: Path,
) -> None:
    """3D joints (Y up) beside the camera's 2D view, clean and detector-like, for a few frames."""
    fig = plt.figure(figsize=(4 * len(frames), 8))
    for k, f in enumerate(frames):
        ax = fig.add_subplot(2, len(frames), k + 1, projection="3d")
        for parent, child in H36M17.bones:
            seg = world[f, [parent, child]]
            ax.plot(seg[:, 0], seg[:, 2], seg[:, 1], color=_bone_color(child), lw=2)
        centre = world[f, H36M17.index("pelvis")]
        ax.set_xlim(centre[0] - 1, centre[0] + 1)
        ax.set_ylim(centre[2] - 1, centre[2] + 1)
        ax.set_zlim(0, 2)
        ax.set_title(f"3D, frame {f} (blue = left)")
        ax = fig.add_subplot(2, len(frames), len(frames) + k + 1)
        for parent, child in H36M17.bones:
            ax.plot(clean[f, [parent, child], 0], clean[f, [parent, child], 1], color="0.75", lw=3)
            ax.plot(
                noisy[f, [parent, child], 0],
                noisy[f, [parent, child], 1],
                color=_bone_color(child),
                lw=1.5,
            )
        ax.scatter(
            noisy[f, :, 0],
            noisy[f, :, 1],
            c=confidence[f],
            cmap="viridis",
            vmin=0,
            vmax=1,
            s=18,
            zorder=3,
        )
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.set_aspect("equal")
        ax.set_title(f"camera {width}×{height}: exact (grey), detector-like")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.demo", description=__doc__)
    parser.add_argument("--bvh", type=Path, default=EXAMPLE)
    parser.add_argument("--out", type=Path, default=Path("demo_out"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    clip = load_clip(args.bvh, target_fps=MODEL_FPS, skip_frames=1)
    rng = np.random.default_rng(args.seed)
    camera = sample_camera(rng, clip.joints)
    clean = camera.project(camera.world_to_camera(clip.joints))
    noisy, confidence = corrupt_2d(clean, camera.width, camera.height, rng)
    frames = list(np.linspace(0, clip.num_frames - 1, 4).astype(int))
    png = args.out / "data_pipeline.png"
    render(clip.joints, clean, noisy, confidence, camera.width, camera.height, frames, png)
    error_px = np.linalg.norm(noisy - clean, axis=-1)
    summary = {
        "clip": str(args.bvh),
        "skeleton_family": clip.family,
        "frames_at_model_fps": clip.num_frames,
        "seconds": round(clip.seconds, 2),
        "standing_height_m": round(standing_height(clip), 3),
        "camera": {
            "image": [camera.width, camera.height],
            "focal_px": round(float(camera.focal[0]), 1),
            "distance_m": round(
                float(np.linalg.norm(camera.position - clip.joints[:, 0].mean(0))), 2
            ),
        },
        "detector_noise_px_median": round(float(np.nanmedian(error_px)), 2),
        "missing_joints_percent": round(float(np.isnan(noisy[..., 0]).mean() * 100), 2),
    }
    print(json.dumps(summary, indent=1))
    print(f"wrote {png.resolve()}")
    if DEFAULT_CHECKPOINT.is_file():
        lift_demo(args.out, args.seed)
    else:
        print(f"no shipped model at {DEFAULT_CHECKPOINT}: showing the data pipeline only")
    return 0


def lift_demo(out: Path, seed: int) -> None:
    """Lift a filmed val clip with the shipped default; report its errors and write a figure."""
    from mpm_backend.checkpoint import load_lifter
    from training.evaluate import run_evaluation, save_figure

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
    print(f"wrote {png.resolve()}")


if __name__ == "__main__":
    raise SystemExit(main())
