"""Training side of MPM Lift: mocap data pipeline, pre-training, fine-tuning, evaluation."""

import os


def sleep_idle_threads() -> None:
    """Ask OpenMP for threads that sleep when idle instead of spinning; a user's own value wins.

    Spinning threads take CPU from the data-loading worker, so the training entry points call
    this before torch loads (it reads the variable once). Inference is slower with it, so the
    benchmark and evaluation keep the default. docs/model.md has the measurements.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
