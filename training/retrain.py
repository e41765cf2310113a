"""Retrain the shipped default model from scratch, resumably: `python -m training.retrain`.

    python -m training.retrain [--config training/configs/default.yaml] [--runs runs/default]
                               [--mocap ../shared/mocap] [--install]

Builds the clip cache if it is missing, pre-trains, fine-tunes from the pre-trained weights, and
with --install copies the result to mpm_backend/checkpoints/default.pt. Run the same command again
after an interruption: a finished stage is skipped and an unfinished one resumes from its last
checkpoint (every `checkpoint_every` steps), continuing exactly as if it had not stopped.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import torch

from mpm_backend.checkpoint import DEFAULT_CHECKPOINT
from training.data.cache import build_cache
from training.train import load_config, train


def finished_steps(run: Path) -> int:
    last = run / "last.pt"
    return int(torch.load(last, weights_only=True)["step"]) if last.is_file() else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.retrain",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    cache = Path(config["data"]["cache"])
    if not (cache / "index.json").is_file():
        build_cache(args.mocap, cache)
    init = None
    for stage in ("pretrain", "finetune"):
        run = args.runs / stage
        if finished_steps(run) < config[stage]["steps"]:
            train(config, stage, run, init=init, resume=True, device=args.device)
        init = str(run / "model.pt")
    if args.install:
        shutil.copyfile(init, DEFAULT_CHECKPOINT)
        print(f"installed {init} as {DEFAULT_CHECKPOINT}")
    print(f"done: {init}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
