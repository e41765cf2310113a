"""The evaluation's figure: per-joint error by condition and a few frames of input 2D, predicted
and true 3D. Apart from `evaluate.py` so the numbers need no matplotlib."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mpm_backend.skeleton import H36M17

if TYPE_CHECKING:
    from training.evaluate import EvaluationRun


def _plot_2d(ax, pose2d, confidence, clean2d) -> None:
    visible = confidence > 0
    for parent, child in H36M17.bones:
        if visible[parent] and visible[child]:
            ax.plot(*pose2d[[parent, child]].T, color=_bone_color(child), lw=2)
    ax.scatter(*pose2d[visible].T, s=10, color="k")
    hidden = ~visible & np.isfinite(clean2d).all(axis=-1)
    ax.scatter(*clean2d[hidden].T, s=40, marker="x", color="magenta", label="hidden (true place)")
    ax.invert_yaxis()
    ax.set_aspect("equal")
    ax.tick_params(labelsize=6)


def _bone_color(child: int) -> str:
    return "tab:blue" if child in H36M17.left else "tab:red" if child in H36M17.right else "0.3"


def _plot_3d(ax, pose3d: np.ndarray, title: str) -> None:
    """Camera frame shown upright: x right, z (depth) into the page, −y up."""
    for parent, child in H36M17.bones:
        seg = pose3d[[parent, child]]
        ax.plot(seg[:, 0], seg[:, 2], -seg[:, 1], color=_bone_color(child), lw=2)
    ax.set(xlim=(-0.9, 0.9), ylim=(-0.9, 0.9), zlim=(-0.9, 0.9), title=title)
    ax.set(xlabel="x", ylabel="depth", zlabel="up")
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=10, azim=-80)  # almost as the camera sees it
    ax.tick_params(labelsize=6)


def save_figure(run: EvaluationRun, path: Path, frames: int = 3) -> None:
    """Per-joint MPJPE per condition, and a few frames: input 2D | predicted 3D | true 3D."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(14, 4 + 3.6 * frames))
    grid = fig.add_gridspec(1 + frames, 3, height_ratios=[1.3] + [1] * frames)
    ax = fig.add_subplot(grid[0, :])
    conditions = {k: v for k, v in run.summary["conditions"].items() if v}
    for name, reference in run.summary.get("references", {}).items():
        conditions.update({f"{k} ({name})": v for k, v in reference["conditions"].items() if v})
    width = 0.8 / max(len(conditions), 1)
    x = np.arange(H36M17.num_joints)
    for i, (name, values) in enumerate(conditions.items()):
        heights = [values["per_joint"][j] or 0.0 for j in H36M17.joints]
        ax.bar(x + (i - (len(conditions) - 1) / 2) * width, heights, width, label=name)
    ax.set_xticks(x, H36M17.joints, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("MPJPE (mm)")
    ax.legend(fontsize=8)
    ax.set_title("per-joint MPJPE by condition (complete3d: hidden joints only)")
    example = run.example
    if example is not None:
        length = len(example["pred"])
        picks = np.unique(np.linspace(0.2, 0.8, frames) * (length - 1)).round().astype(int)
        for r, t in enumerate(picks, start=1):
            ax2d = fig.add_subplot(grid[r, 0])
            _plot_2d(ax2d, example["pose2d"][t], example["confidence"][t], example["clean2d"][t])
            ax2d.set_title(f"input 2D ({example['condition']}), frame {t}", fontsize=9)
            if r == 1:
                ax2d.legend(fontsize=7)
            _plot_3d(fig.add_subplot(grid[r, 1], projection="3d"), example["pred"][t], "predicted")
            _plot_3d(fig.add_subplot(grid[r, 2], projection="3d"), example["truth"][t], "true")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
