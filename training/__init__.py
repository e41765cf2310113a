"""Training side of MPM Lift: mocap data pipeline, pre-training, fine-tuning, evaluation."""

import os
import sys

# Training entry points ask OpenMP for threads that sleep when idle instead of spinning: the
# spinning took CPU from the data-loading worker (+10 % training steps a second on a 2-core CPU,
# docs/model.md "Session 8"). It must be set before torch loads, so here; inference is 4-10 %
# slower with it, so the benchmark and evaluation keep the default. A user's own value wins.
_TRAINING_MODULES = ("training.train", "training.retrain")
_argv = getattr(sys, "orig_argv", [])
if "-m" in _argv[:-1] and _argv[_argv.index("-m") + 1] in _TRAINING_MODULES:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
