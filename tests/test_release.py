"""One version and one licence story across the package, the extension, the checkpoints and the
docs (issue 24): a release that disagrees with itself fails here, before anything is built."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import torch

import mpm_backend
from mpm_backend.checkpoint import CHECKPOINT_DIR

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
MANIFEST = tomllib.loads((REPO / "blender_addon" / "blender_manifest.toml").read_text())
SPDX = "GPL-3.0-or-later"


def test_one_version():
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "mpm_backend.__version__"
    }
    assert MANIFEST["version"] == mpm_backend.__version__
    assert f"## [{mpm_backend.__version__}]" in (REPO / "CHANGELOG.md").read_text()


@pytest.mark.parametrize("path", sorted(CHECKPOINT_DIR.glob("*.pt")), ids=lambda p: p.name)
def test_checkpoints_carry_the_version(path):
    meta = torch.load(path, map_location="cpu", weights_only=False)["meta"]
    assert meta["code_version"].split("+")[0] == mpm_backend.__version__


def test_one_licence():
    assert PYPROJECT["project"]["license"] == SPDX
    assert MANIFEST["license"] == [f"SPDX:{SPDX}"]
    text = (REPO / "LICENSE").read_text()
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 3, 29 June 2007" in text
    assert SPDX in (REPO / "README.md").read_text()
    notice = (REPO / "NOTICE.md").read_text()
    for credit in (
        "mocap.cs.cmu.edu",
        "NSF EIA-0196217",
        "CC BY-SA 3.0",
        "ReActIdle",
        "CC0",
        "Apache",
    ):
        assert credit in notice, credit


def test_console_scripts_are_declared():
    scripts = PYPROJECT["project"]["scripts"]
    assert set(scripts) == {
        "mpm-lift-serve",
        "mpm-lift-batch",
        "mpm-lift-track",
        "mpm-lift-live",
        "mpm-lift-build-extension",
    }
