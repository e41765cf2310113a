"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MOCAP_DIR_ENV = "MPM_MOCAP_DIR"


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
