"""Render people with known 3D: `python -m training.render MOCAP... --out DIR`.

    python -m training.render MOCAP [MOCAP ...] --out DIR [--frames N] [--seed S]
        [--size 640x480] [--engine workbench|cycles] [--distance 2.5 8] [--keep-frames]

MOCAP: BVH or AMC files (an AMC's .asf beside it or in an asf/ folder above), or folders of
them. One file renders into DIR; several (or a folder) render each into DIR/<name>, seeded by
(seed, index). A clip whose video.mp4, truth.npz and meta.json
exist is skipped; an interrupted one resumes at its first missing frame. See docs/render.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from numpy.random import SeedSequence

from training.render import size_argument
from training.render.clip import ClipJob, is_done, render_clip


def _inputs(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(f for f in path.rglob("*") if f.suffix.lower() in (".bvh", ".amc"))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.render",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("mocap", type=Path, nargs="+", help="BVH/AMC files or folders")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--frames", type=int, help="at most N frames per clip (at --fps)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--size", type=size_argument, help="WIDTHxHEIGHT (default: drawn like training)"
    )
    parser.add_argument("--engine", choices=("workbench", "cycles"), default="workbench")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument(
        "--distance",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        help="camera distance range in metres (default: the training cameras', 2.5 8)",
    )
    parser.add_argument("--keep-frames", action="store_true", help="keep the PNG frames")
    args = parser.parse_args(argv)
    try:
        files = _inputs(args.mocap)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not files:
        print("error: no BVH or AMC file found", file=sys.stderr)
        return 2
    single = len(files) == 1 and args.mocap[0].is_file()
    for index, path in enumerate(files):
        out = args.out if single else args.out / path.stem
        seed = args.seed if single else int(SeedSequence([args.seed, index]).generate_state(1)[0])
        job = ClipJob(
            str(path),
            seed=seed,
            frames=args.frames,
            size=args.size,
            engine=args.engine,
            fps=args.fps,
            distance=tuple(args.distance) if args.distance else None,
        )
        if is_done(out):
            print(f"[{index + 1}/{len(files)}] {path.name}: done already, skipped")
            continue
        meta = render_clip(job, out, keep_frames=args.keep_frames)
        rate = meta["timings_s"]["frames_per_s"] or 0.0
        print(
            f"[{index + 1}/{len(files)}] {path.name} → {out}: {meta['frames']} frames, "
            f"{meta['camera']['width']}×{meta['camera']['height']}, {rate:.2f} frames/s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
