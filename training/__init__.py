"""Training side of MPM Lift: mocap data pipeline, pre-training, fine-tuning, evaluation."""

import os
import sys

TRAINING_MODULES = ("training.train", "training.retrain")


def is_training_command(argv: list[str]) -> bool:
    """Whether the interpreter's command line (`sys.orig_argv`) runs a training entry point."""
    return "-m" in argv[:-1] and argv[argv.index("-m") + 1] in TRAINING_MODULES


# Training entry points ask OpenMP for threads that sleep when idle instead of spinning: the
# spinning took CPU from the data-loading worker (+10 % training steps a second on a 2-core CPU,
# docs/model.md "Session 8"). It must be set before torch loads, so here; inference is 4-10 %
# slower with it, so the benchmark and evaluation keep the default. A user's own value wins.
if is_training_command(getattr(sys, "orig_argv", [])):
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
