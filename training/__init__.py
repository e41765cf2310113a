"""Training side of MPM Lift: mocap data pipeline, pre-training, fine-tuning, evaluation."""

import os

# How long an idle OpenMP thread spins before it sleeps (libgomp's GOMP_SPINCOUNT; torch's
# OpenMP on Linux). A step is many small ops: threads that sleep at once (OMP_WAIT_POLICY=PASSIVE)
# wake late for each, and threads that spin long (libgomp's 300,000) take the CPU the
# data-loading worker needs. docs/model.md has the measurements.
SPIN_COUNT = "1000"


def spin_briefly() -> None:
    """Ask OpenMP's idle threads to spin only briefly before they sleep; a user's own
    OMP_WAIT_POLICY or GOMP_SPINCOUNT wins. The training entry points call this before torch
    loads (it reads the variables once); inference and evaluation keep the default."""
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
