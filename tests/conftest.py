"""Shared pytest fixtures."""

from __future__ import annotations

import csv
import os
import shutil
import sys
from pathlib import Path

import pytest

from training.data.cache import build_cache

MOCAP_DIR_ENV = "MPM_MOCAP_DIR"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mocap"


def locate_mocap_dir() -> Path:
    """The shared CMU mocap folder: $MPM_MOCAP_DIR, else the repo's sibling ``shared/mocap``."""
    override = os.environ.get(MOCAP_DIR_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return Path(__file__).resolve().parents[1].parent / "shared" / "mocap"


@pytest.fixture(scope="session")
def mocap_dir() -> Path:
    """The mocap folder (holding bvh/ and manifest.csv); tests that need it skip without it."""
    path = locate_mocap_dir()
    if not (path / "bvh").is_dir():
        pytest.skip(f"shared mocap not found at {path}; set {MOCAP_DIR_ENV} to its folder")
    return path


MINI = [  # (file, split, source, fps)
    ("cmu_actions_train_walking_1.bvh", "train", "cmu_actions", 120),
    ("cmu_dance_indian_06_first3s.bvh", "train", "cmu_dance", 120),
    ("cmu_actions_val_running_1.bvh", "val", "cmu_actions", 120),
]


@pytest.fixture(scope="session")
def mini_mocap(tmp_path_factory) -> Path:
    """A small mocap folder (MINI's example clips) with its own manifest."""
    root = tmp_path_factory.mktemp("mocap")
    (root / "bvh").mkdir()
    with (root / "manifest.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "path",
                "source",
                "original_path",
                "subject",
                "action_or_style",
                "split",
                "frames",
                "fps",
                "seconds",
                "joints",
                "height_m",
            ]
        )
        for name, split, source, fps in MINI:
            shutil.copy(EXAMPLES / name, root / "bvh" / name)
            writer.writerow(
                [f"bvh/{name}", source, "", "", name.split("_")[-2], split, "", fps, "", "", ""]
            )
    return root


@pytest.fixture(scope="session")
def mini_cache(mini_mocap, tmp_path_factory) -> Path:
    """A cache built by the real builder from the small mocap folder."""
    out = tmp_path_factory.mktemp("cache")
    build_cache(mini_mocap, out, show_progress=False)
    return out


# The bpy 4.2 wheel crashes the interpreter at exit once Rigify has been enabled (after every test
# has passed: a segfault in Blender's own teardown). scripts/test_blender42.sh sets MPM_HARD_EXIT so
# the run ends with pytest's own exit status instead, after pytest has printed everything.
_EXIT_STATUS = 0


def pytest_sessionfinish(session, exitstatus):
    global _EXIT_STATUS
    _EXIT_STATUS = int(exitstatus)


def pytest_unconfigure(config):
    if os.environ.get("MPM_HARD_EXIT"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS)


# --------------------------------------------------------------------------- a live backend


@pytest.fixture(scope="module")
def engine():
    """The shipped default on the CPU, one per test module."""
    from mpm_backend.inference import Engine

    return Engine("default", device="cpu")


@pytest.fixture(scope="module")
def server(engine):
    """A real backend serving `engine` on a free loopback port (tests/live_backend.py)."""
    from tests.live_backend import live_server

    with live_server(engine) as server:
        yield server


@pytest.fixture
def client(server):
    from mpm_backend.client import Client

    with Client(server.address, timeout=20) as c:
        yield c
