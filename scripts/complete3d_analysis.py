"""Where a checkpoint's 3D completion error is: the evaluation's `complete3d` condition (val split,
4 cameras, seed 0) split by gap length and by limb, with and without flip averaging.

    python scripts/complete3d_analysis.py [CHECKPOINT]     # default: the shipped model

Prints hidden-joint MPJPE (mm) of the fill fitted to the seen joints (as the backend gives it) and
of linear interpolation; the numbers of docs/model.md's "3D completion: where the error is".
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from mpm_backend.completion import fit_to_seen
from mpm_backend.model import mirror_pose
from mpm_backend.skeleton import H36M17
from mpm_backend.timebase import interpolate_masked
from training.evaluate import complete_sequences, film_view, load_bvh_clips, load_model

GAP_BINS = (
    (0, 45),
    (45, 61),
    (61, 82),
    (82, 10_000),
)  # frames at 30 fps: <1.5, 1.5–2, 2–2.7, ≥2.7 s


def mirror(pose3d: np.ndarray) -> np.ndarray:
    return mirror_pose(torch.from_numpy(np.ascontiguousarray(pose3d))).numpy()


def main(spec: str = "default") -> None:
    _, clips = load_bvh_clips("../shared/mocap", split="val")
    views = [
        film_view(np.asarray(world, np.float64), 0, c, k, ("complete3d",))
        for c, world in enumerate(clips)
        for k in range(4)
    ]
    lifter, _ = load_model(spec)
    inputs = [
        (np.where(v.visible3d[..., None], v.pose3d, 0.0).astype(np.float32), v.visible3d)
        for v in views
    ]
    perm = H36M17.flip_permutation
    fills = complete_sequences(lifter, inputs)
    mirrored = complete_sequences(lifter, [(mirror(p), s[:, perm]) for p, s in inputs])
    averaged = [0.5 * (f + mirror(m)) for f, m in zip(fills, mirrored, strict=True)]

    def errors(preds: list[np.ndarray]) -> list[np.ndarray]:
        fitted = [fit_to_seen(f, p, s) for f, (p, s) in zip(preds, inputs, strict=True)]
        return [
            np.linalg.norm(e - v.pose3d, axis=-1)[~v.visible3d]
            for e, v in zip(fitted, views, strict=True)
        ]

    model = errors(fills)
    interp = [
        np.linalg.norm(interpolate_masked(v.pose3d, v.visible3d) - v.pose3d, axis=-1)[~v.visible3d]
        for v in views
    ]
    gap = np.array([(~v.visible3d).sum(0).max() for v in views])
    limb_joints = np.array([(~v.visible3d).any(0).sum() for v in views])

    def pooled(errs: list[np.ndarray], chosen: np.ndarray) -> float:
        return float(
            np.concatenate([e for e, c in zip(errs, chosen, strict=True) if c]).mean() * 1000
        )

    everyone = np.ones(len(views), bool)
    print(
        f"{spec}: model {pooled(model, everyone):.1f}, interpolation {pooled(interp, everyone):.1f}, "
        f"flip-averaged {pooled(errors(averaged), everyone):.1f} mm"
    )
    for low, high in GAP_BINS:
        chosen = (gap >= low) & (gap < high)
        print(
            f"  gap {low}-{min(high, gap.max())} frames ({chosen.sum()} views): "
            f"model {pooled(model, chosen):.1f}, interpolation {pooled(interp, chosen):.1f}"
        )
    for count, what in ((2, "forearm or shin"), (3, "whole arm or leg")):
        chosen = limb_joints == count
        print(
            f"  {what}: model {pooled(model, chosen):.1f}, interpolation {pooled(interp, chosen):.1f}"
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
