"""The installed package is the product: build the wheel, install it with its own dependencies
into a fresh virtual environment (no system or repository site-packages), and from a folder that
is not the repository serve + lift over the wire, batch onto every rig preset and read every
example track format. Slow (~3 min: installing torch and bpy); CI runs it.

pip reuses build/pip-cache between runs (bpy's 374 MB wheel is downloaded once) and takes
torch==2.13.0 from the local wheel folder pip is configured with.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import mpm_backend

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "build" / "pip-cache"
SCRIPTS = (
    "mpm-lift-serve",
    "mpm-lift-batch",
    "mpm-lift-track",
    "mpm-lift-live",
    "mpm-lift-build-extension",
)
PRESETS = ("metarig", "rigify", "mixamo", "cmu")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(venv: Path) -> dict[str, str]:
    """The fresh environment only: its bin first, nothing of the repository's on the path."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', os.defpath)}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    """(venv, a working folder outside the repository, the environment to run in)."""
    root = tmp_path_factory.mktemp("packaging")
    wheels = root / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(wheels)],
        check=True,
    )
    (wheel,) = wheels.glob("mpm_lift-*.whl")
    base = getattr(sys, "_base_executable", sys.executable)
    venv = root / "venv"
    subprocess.run([base, "-m", "venv", str(venv)], check=True)  # no --system-site-packages
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--cache-dir", str(CACHE), "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip>=25.1"], check=True)  # pip show's licence
    subprocess.run([*pip, "install", f"{wheel}[torch,backend,blender]"], check=True)
    work = root / "work"
    shutil.copytree(
        REPO / "examples" / "tracks", work / "tracks", ignore=shutil.ignore_patterns("*.py", "*.md")
    )
    return venv, work, _env(venv)


def _run(args: list[str], work: Path, env: dict[str, str], timeout: float = 600):
    return subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)


pytestmark = pytest.mark.slow


def test_commands_answer_help_and_version(installed):
    venv, work, env = installed
    for script in SCRIPTS:
        for flag in ("--help", "--version"):
            done = _run([str(venv / "bin" / script), flag], work, env)
            assert done.returncode == 0, (script, flag, done.stderr)
            assert script in done.stdout
        assert mpm_backend.__version__ in done.stdout
    shown = _run([str(venv / "bin" / "python"), "-m", "pip", "show", "mpm-lift"], work, env)
    assert "GPL-3.0-or-later" in shown.stdout, shown.stdout


def test_serve_and_lift_and_read_every_track_format(installed):
    venv, work, env = installed
    address = f"tcp://127.0.0.1:{_free_port()}"
    server = subprocess.Popen(
        [str(venv / "bin" / "mpm-lift-serve"), "--bind", address, "--device", "cpu"],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        check = REPO / "tests" / "packaging" / "installed_check.py"
        done = _run([str(venv / "bin" / "python"), str(check), address, "tracks"], work, env)
    finally:
        server.terminate()
        log = server.communicate(timeout=60)[0]
    assert done.returncode == 0, done.stderr + log
    assert server.returncode == 0, log
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(report["package"]).is_relative_to(venv), report["package"]  # the wheel's copy
    assert report["version"] == report["info_version"] == mpm_backend.__version__
    assert report["code_version"].split("+")[0] == mpm_backend.__version__
    assert report["joints3d"] == [86, 17, 3]
    formats = {row[0] for row in report["formats"].values()}
    assert len(formats) == 5, report["formats"]  # own JSON, own NPZ, MMPose, MediaPipe, OpenPose


def test_batch_onto_every_rig_preset(installed):
    venv, work, env = installed
    args = ["tracks/walking.json", "--rig", ",".join(PRESETS), "--out", "out"]
    args += ["--format", "bvh", "--in-process", "--device", "cpu", "--no-progress"]
    done = _run([str(venv / "bin" / "mpm-lift-batch"), *args], work, env)
    assert done.returncode == 0, done.stdout + done.stderr
    for preset in PRESETS:
        assert (work / "out" / f"walking.{preset}.bvh").is_file(), sorted((work / "out").iterdir())


def test_extension_build_from_the_installed_package_has_the_licence(installed, tmp_path):
    """The installed build command stages the extension (rig maps, LICENSE) without a checkout."""
    venv, work, env = installed
    code = (
        "import sys; from pathlib import Path; from blender_addon import build; "
        "build.stage(Path(sys.argv[1]))"
    )
    done = _run([str(venv / "bin" / "python"), "-c", code, str(tmp_path / "x")], work, env)
    assert done.returncode == 0, done.stderr
    assert "GNU GENERAL PUBLIC LICENSE" in (tmp_path / "x" / "LICENSE").read_text()
    assert (tmp_path / "x" / "rigs" / "blender_metarig.yaml").is_file()
    manifest = tomllib.loads((tmp_path / "x" / "blender_manifest.toml").read_text())
    assert manifest["version"] == mpm_backend.__version__
