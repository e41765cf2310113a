"""Where a checkpoint's 3D completion error is: the evaluation's `complete3d` condition (seed 0)
with the model's fill raw, with its offsets blended and fitted to the seen joints as the backend
gives it (`mpm_backend.completion`), each with and without flip averaging; then the fitted fill
split by gap length and by limb. Hidden-joint MPJPE in mm, linear interpolation beside it.

    python scripts/complete3d_analysis.py [--checkpoint default] [--split val] [--every 1] [--cameras 4]

The val numbers of docs/model.md ("3D completion"); `--split train --every 6 --cameras 1` is the
check on training clips (every sixth, one camera) that the fitting was not chosen on val alone.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from mpm_backend.completion import blend_offsets, fit_to_seen
from mpm_backend.model import flip_averaged
from mpm_backend.timebase import interpolate_masked
from training.evaluate import complete_sequences, film_view, load_bvh_clips, load_model

GAP_BINS = (
    (0, 45),
    (45, 61),
    (61, 82),
    (82, 10_000),
)  # frames at 30 fps: <1.5, 1.5–2, 2–2.7, ≥2.7 s
FITTINGS: dict[str, Callable] = {
    "raw fill": lambda fill, pose, seen: fill,
    "offsets blended": blend_offsets,
    "fitted (offsets blended, bone lengths kept)": fit_to_seen,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--split", default="val", choices=("train", "val"))
    parser.add_argument("--every", type=int, default=1, help="use every N-th clip")
    parser.add_argument("--cameras", type=int, default=4)
    args = parser.parse_args(argv)
    _, clips = load_bvh_clips("../shared/mocap", split=args.split)
    views = [
        film_view(np.asarray(world, np.float64), 0, c, k, ("complete3d",))
        for c, world in enumerate(clips[:: args.every])
        for k in range(args.cameras)
    ]
    inputs = [
        (np.where(v.visible3d[..., None], v.pose3d, 0.0).astype(np.float32), v.visible3d)
        for v in views
    ]
    lifter, _ = load_model(args.checkpoint)
    fills = {
        "": complete_sequences(lifter, inputs),
        ", flip": complete_sequences(flip_averaged(lifter), inputs),
    }

    def errors(preds: list[np.ndarray]) -> list[np.ndarray]:
        return [
            np.linalg.norm(p - v.pose3d, axis=-1)[~v.visible3d]
            for p, v in zip(preds, views, strict=True)
        ]

    def pooled(errs: list[np.ndarray], chosen: np.ndarray | None = None) -> float:
        chosen = np.ones(len(errs), bool) if chosen is None else chosen
        return float(
            np.concatenate([e for e, c in zip(errs, chosen, strict=True) if c]).mean() * 1000
        )

    frames = sum(len(v.pose3d) for v in views)
    print(f"{args.checkpoint}, {args.split}: {len(views)} views, {frames} frames")
    interp = errors([interpolate_masked(v.pose3d, v.visible3d) for v in views])
    print(f"  linear interpolation: {pooled(interp):.1f}")
    for name, fit in FITTINGS.items():
        for flip, preds in fills.items():
            errs = errors([fit(f, p, s) for f, (p, s) in zip(preds, inputs, strict=True)])
            print(f"  {name}{flip}: {pooled(errs):.1f}")
    fitted = errors([fit_to_seen(f, p, s) for f, (p, s) in zip(fills[""], inputs, strict=True)])
    gap = np.array([(~v.visible3d).sum(0).max() for v in views])
    limb_joints = np.array([(~v.visible3d).any(0).sum() for v in views])
    for low, high in GAP_BINS:
        chosen = (gap >= low) & (gap < high)
        print(
            f"  gap {low}-{min(high, gap.max())} frames ({chosen.sum()} views): "
            f"fitted {pooled(fitted, chosen):.1f}, interpolation {pooled(interp, chosen):.1f}"
        )
    for count, what in ((2, "forearm or shin"), (3, "whole arm or leg")):
        chosen = limb_joints == count
        print(
            f"  {what}: fitted {pooled(fitted, chosen):.1f}, interpolation {pooled(interp, chosen):.1f}"
        )


if __name__ == "__main__":
    main()
