"""'Start local backend' finds a Python on its own, and the panel shows who the backend is.

The search (blender_addon.local_backend, no bpy) runs on temporary folders; the panel's text is
checked against a live backend's own `info` in the bpy wheel.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import pytest

from blender_addon.local_backend import (
    BackendNotFound,
    checkout_python,
    describe_info,
    find_backend_command,
)

PYPROJECT = '[project]\nname = "mpm-lift"\nversion = "0.1.0"\n'


def checkout(root: Path, venv: str = ".venv/bin/python", name: str = "mpm-lift") -> Path:
    """A fake checkout under root; returns its add-on folder."""
    (root / "pyproject.toml").write_text(PYPROJECT.replace("mpm-lift", name))
    python = root / venv
    python.parent.mkdir(parents=True)
    python.write_text("")
    addon = root / "blender_addon"
    addon.mkdir()
    return addon


def no_script(_name: str) -> None:
    return None


def test_the_preference_comes_first(tmp_path):
    addon = checkout(tmp_path)
    found = find_backend_command(" /opt/py/bin/python3 -X utf8 ", addon, which=no_script)
    assert found.source == "preference"
    assert found.serve("tcp://127.0.0.1:5555") == [
        "/opt/py/bin/python3", "-X", "utf8", "-m", "mpm_backend.serve",
        "--bind", "tcp://127.0.0.1:5555",
    ]  # fmt: skip


@pytest.mark.parametrize("venv", [".venv/bin/python", ".venv/Scripts/python.exe"])
def test_the_checkouts_venv_when_the_preference_is_empty(tmp_path, venv):
    addon = checkout(tmp_path, venv)
    deep = addon / "core"
    deep.mkdir()
    found = find_backend_command("", deep, which=lambda _: "/usr/bin/mpm-lift-serve")
    assert found.source == "checkout"
    assert found.argv == (str(tmp_path / venv), "-m", "mpm_backend.serve")


def test_another_projects_venv_is_passed_over(tmp_path):
    outer = tmp_path / "outer"
    outer.mkdir()
    checkout(outer, name="someone-else")
    assert checkout_python(outer / "blender_addon") is None
    found = find_backend_command("", outer / "blender_addon", which=lambda _: "/bin/mpm-lift-serve")
    assert found.source == "console script" and found.argv == ("/bin/mpm-lift-serve",)


def test_a_checkout_without_a_venv_falls_back_to_the_console_script(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    addon = tmp_path / "blender_addon"
    addon.mkdir()
    found = find_backend_command("", addon, which=lambda n: f"/usr/local/bin/{n}")
    assert found.serve("tcp://127.0.0.1:6000") == [
        "/usr/local/bin/mpm-lift-serve", "--bind", "tcp://127.0.0.1:6000",
    ]  # fmt: skip


def test_nothing_found_says_what_to_set(tmp_path):
    with pytest.raises(BackendNotFound) as caught:
        find_backend_command("  ", tmp_path, which=no_script)
    assert "Backend Python" in str(caught.value) and "mpm-lift-serve" in str(caught.value)


def test_the_real_checkout_is_found():
    """Run from this repository: its .venv when there is one (tests run from it)."""
    import blender_addon

    root = Path(blender_addon.__file__).resolve().parents[1]
    python = checkout_python(Path(blender_addon.__file__).resolve().parent)
    venv = [root / v for v in (".venv/bin/python", ".venv/Scripts/python.exe")]
    assert python == next((v for v in venv if v.is_file()), None)


def test_describe_info_names_model_checkpoint_device_and_version():
    info = {"kind": "mpm", "checkpoint": "/x/checkpoints/mpm_default.pt", "device": "cuda:0",
            "fps": 30.0, "version": "0.1.0", "protocol": 1}  # fmt: skip
    text = describe_info(info, "tcp://127.0.0.1:5555")
    for part in ("mpm model (mpm_default.pt)", "cuda:0", "30 fps", "version 0.1.0", "protocol 1"):
        assert part in text, text
    assert "?" in describe_info({}, "tcp://h:1")  # a partial answer still reads


# ---------------------------------------------------------------- in Blender (the bpy wheel)


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("bpy")
    from mpm_backend.inference import Engine
    from tests.live_backend import live_server

    with live_server(Engine("default", device="cpu")) as server:
        yield server


@pytest.fixture
def addon():
    bpy = pytest.importorskip("bpy")
    import addon_utils

    bpy.ops.wm.read_homefile(use_empty=True)
    addon_utils.enable("blender_addon", default_set=True)
    yield bpy.context.preferences.addons["blender_addon"].preferences
    addon_utils.disable("blender_addon", default_set=True)


def expected_parts(server) -> list[str]:
    """What the panel must show: the model and device (and version) the server itself reports."""
    info = server.info()
    return [info["kind"], Path(info["checkpoint"]).name, info["device"], info["version"]]


def test_check_backend_shows_the_live_backends_model_and_device(addon, server):
    import bpy

    addon.address = server.address
    assert bpy.ops.mpm.check_backend() == {"FINISHED"}
    text = bpy.context.scene.mpm_lift.backend_status
    for part in expected_parts(server):
        assert part in text, text


def test_start_finds_a_running_backend_and_shows_it(addon, server):
    import bpy

    addon.address = server.address
    addon.python = "/nonexistent/python"  # never run: the backend already answers
    assert bpy.ops.mpm.start_backend() == {"FINISHED"}
    text = bpy.context.scene.mpm_lift.backend_status
    for part in expected_parts(server):
        assert part in text, text


def test_the_watch_shows_the_backend_once_it_answers(addon, server):
    import bpy

    from blender_addon import operators

    watch = operators.BackendWatch(bpy.context.scene, server.address, patience=20)
    deadline = time.monotonic() + 20
    while watch.step() is not None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    text = bpy.context.scene.mpm_lift.backend_status
    for part in expected_parts(server):
        assert part in text, text


def test_a_backend_that_exits_is_reported_with_its_last_words(addon):
    import bpy

    from blender_addon import operators
    from tests.live_backend import free_port

    addon.address = f"tcp://127.0.0.1:{free_port()}"
    script = "import sys; print('no module named torch'); sys.exit(3)"
    addon.python = f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}"
    assert bpy.ops.mpm.start_backend() == {"FINISHED"}
    assert "Starting the backend (preference)" in bpy.context.scene.mpm_lift.backend_status
    watch = operators.WATCH
    assert watch is not None and bpy.app.timers.is_registered(operators._watch_tick)
    watch.process.wait(20)
    while operators._watch_tick() is not None:
        time.sleep(0.05)
    text = bpy.context.scene.mpm_lift.backend_status
    assert "exited with code 3" in text and "no module named torch" in text, text
    operators.stop_watch()
    assert not bpy.app.timers.is_registered(operators._watch_tick)
