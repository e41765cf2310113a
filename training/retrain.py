"""Retrain the shipped default model from scratch, resumably: `python -m training.retrain`.

    python -m training.retrain [--minutes 100] [--pretrain-share 0] [--adapt-minutes 20]
                               [--no-adapt] [--install] [--runs runs/default]
                               [--config training/configs/default.yaml] [--mocap ../shared/mocap]

Builds the clip cache if it is missing, pre-trains for `--pretrain-share` of the wall-clock
budget (the shipped default: none, it is this command's 100 minutes from scratch; 0.5 is
scripts/train_equal_budget.sh's `mpm`), fine-tunes for the rest, then, when the config has
`data.detected`, adapts the result to the real detector for `--adapt-minutes` (building that
cache first if it holds fewer than `data.detected.clips` clips: Blender and MediaPipe, about a
clip a minute), and with --install copies the result to mpm_backend/checkpoints/default.pt.
`--minutes 0` trains the config's step counts instead. Run the same command again after an
interruption: a finished stage is skipped and an unfinished one resumes from its last checkpoint
(every `checkpoint_every` steps) with its clock and schedule where they were.
"""

from __future__ import annotations

from training import spin_briefly

if __name__ == "__main__":
    spin_briefly()  # before torch loads, which reads it once

import argparse
import importlib.util
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from mpm_backend.checkpoint import DEFAULT_CHECKPOINT
from training.config import DetectedConfig
from training.data.cache import build_cache
from training.detected import BuildSettings, build, read_index
from training.train import load_config, train

RENDER_MODULES = ("bpy", "cv2", "mediapipe", "anny")  # what building the detected cache runs


def ensure_detected_cache(section: DetectedConfig, mocap: Path) -> None:
    """Fill the real-detector cache up to the config's clip count (resumes a partial one)."""
    cache = Path(section.cache)
    built = len(read_index(cache)["clips"])
    if built >= section.clips:
        return
    missing = [m for m in RENDER_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise SystemExit(
            f"the adapt stage needs {cache} with {section.clips} clips ({built} built); "
            f"building them renders people with Blender and detects them with MediaPipe, and "
            f"{', '.join(missing)} is not installed: run bash scripts/install_render.sh and "
            "bash scripts/install_video.sh, or pass --no-adapt"
        )
    build(mocap, cache, section.clips, BuildSettings())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.retrain",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=100.0,
        help="wall-clock budget of both stages together (0: the config's step counts)",
    )
    parser.add_argument(
        "--pretrain-share",
        type=float,
        default=0.0,
        help="share of the budget spent pre-training (0: fine-tune from scratch)",
    )
    parser.add_argument(
        "--adapt-minutes",
        type=float,
        default=20.0,
        help="wall-clock budget of the adapt stage, after the other two (with --minutes)",
    )
    parser.add_argument(
        "--no-adapt", action="store_true", help="stop after fine-tuning (no real-detector data)"
    )
    parser.add_argument("--config", type=Path, default=Path("training/configs/default.yaml"))
    parser.add_argument("--runs", type=Path, default=Path("runs/default"))
    parser.add_argument("--mocap", type=Path, default=Path("../shared/mocap"))
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument(
        "--install", action="store_true", help="copy the result to the shipped default"
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)

    config = load_config(args.config, args.set)
    if not 0.0 <= args.pretrain_share < 1.0:
        parser.error("--pretrain-share must be at least 0 and below 1")
    stages = ("pretrain", "finetune") if args.pretrain_share else ("finetune",)
    if config.data.detected is not None and not args.no_adapt:
        stages += ("adapt",)
    if args.minutes:
        shares = {"pretrain": args.pretrain_share, "finetune": 1.0 - args.pretrain_share}
        minutes = {stage: args.minutes * share for stage, share in shares.items()}
        minutes["adapt"] = args.adapt_minutes
        for stage in stages:
            setattr(
                config, stage, replace(config.stage(stage), steps=1_000_000, minutes=minutes[stage])
            )
    cache = Path(config.data.cache)
    if not (cache / "index.json").is_file():
        build_cache(args.mocap, cache)
    if "adapt" in stages:
        ensure_detected_cache(config.data.detected, args.mocap)
    init = None
    for stage in stages:
        run = args.runs / stage
        train(config, stage, run, init=init, resume=True, device=args.device)
        init = str(run / "model.pt")
    if args.install:
        shutil.copyfile(init, DEFAULT_CHECKPOINT)
        print(f"installed {init} as {DEFAULT_CHECKPOINT}")
    print(f"done: {init}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
