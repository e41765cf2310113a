"""The README's demo command runs on a fresh checkout and shows what it claims."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mpm_backend.checkpoint import DEFAULT_CHECKPOINT

REPO = Path(__file__).resolve().parents[1]


def test_demo_writes_its_figures_and_reports_errors(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "training.demo", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data_pipeline.png").stat().st_size > 10_000
    first = json.loads(result.stdout[: result.stdout.index("\n}") + 2])
    assert first["skeleton_family"] == "cmu_actions" and 1.3 < first["standing_height_m"] < 1.6
    if DEFAULT_CHECKPOINT.is_file():
        assert (tmp_path / "lift.png").stat().st_size > 10_000
        start = result.stdout.index('{\n "model"')
        lifted = json.loads(result.stdout[start : result.stdout.index("\n}", start) + 2])
        # A clip from the val split, filmed with detector-like noise: a trained model, not a toy.
        assert lifted["mpjpe_mm"]["noisy"] < 150
