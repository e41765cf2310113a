"""Which command starts a local backend, and how its `info` reads in the panel (no bpy).

'Start local backend' should work without the user typing a path whenever the machine already
has a Python that can serve: the search order is documented in docs/blender.md and tested with
temporary folders in tests/test_local_backend.py.
"""

from __future__ import annotations

import shlex
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROJECT_NAME = "mpm-lift"  # [project] name in pyproject.toml: a checkout of this project
CONSOLE_SCRIPT = "mpm-lift-serve"  # [project.scripts] of pyproject.toml
VENV_PYTHONS = (Path(".venv/bin/python"), Path(".venv/Scripts/python.exe"))
MODULE = ("-m", "mpm_backend.serve")


class BackendNotFound(RuntimeError):
    """No Python that can run the backend was found; the message says what to set."""


@dataclass(frozen=True)
class BackendCommand:
    """The command that runs `mpm_backend.serve` (without --bind) and where it was found."""

    argv: tuple[str, ...]
    source: str  # "preference", "checkout" or "console script": shown to the user

    def serve(self, address: str) -> list[str]:
        """The full command line for a backend bound to `address` (it reads no folder: the
        panel's videos are uploaded)."""
        return [*self.argv, "--bind", address]


def checkout_python(start: Path) -> Path | None:
    """The `.venv` Python of the MPM Lift checkout `start` lies in, walking up; None outside one.

    The add-on runs from a checkout when a developer links `blender_addon/` into Blender; the
    project's own venv (`bash scripts/demo.sh` makes it) then has torch and the backend.
    """
    for folder in (start, *start.parents):
        pyproject = folder / "pyproject.toml"
        if not pyproject.is_file():
            continue
        if _project_name(pyproject) != PROJECT_NAME:
            continue  # another project's checkout around ours: its venv cannot serve
        for relative in VENV_PYTHONS:
            python = folder / relative
            if python.is_file():
                return python
    return None


def _project_name(pyproject: Path) -> str | None:
    try:
        with pyproject.open("rb") as f:
            return tomllib.load(f).get("project", {}).get("name")
    except (OSError, tomllib.TOMLDecodeError):
        return None


def find_backend_command(
    preference: str,
    addon_dir: Path,
    which: Callable[[str], str | None] = shutil.which,
) -> BackendCommand:
    """The command for 'Start local backend', in the documented order.

    1. the **Backend Python** preference, when set (a path or a command line such as `py -3.11`);
    2. the checkout's `.venv` Python, when the add-on runs from a checkout of MPM Lift;
    3. the `mpm-lift-serve` console script on PATH (`pip install 'mpm-lift[torch,backend]'`);
    else BackendNotFound, saying what to set.
    """
    preference = preference.strip()
    if preference:
        return BackendCommand((*shlex.split(preference), *MODULE), "preference")
    python = checkout_python(addon_dir)
    if python is not None:
        return BackendCommand((str(python), *MODULE), "checkout")
    script = which(CONSOLE_SCRIPT)
    if script:
        return BackendCommand((script,), "console script")
    raise BackendNotFound(
        "No backend Python found: set Backend Python in the add-on's preferences to a Python "
        "with MPM Lift and torch (e.g. /path/to/mpm-lift/.venv/bin/python), or install "
        f"'mpm-lift[torch,backend]' so that {CONSOLE_SCRIPT} is on PATH"
    )


def describe_info(info: dict, address: str) -> str:
    """One status line from the backend's `info`: which model (kind, checkpoint), device, version.

    The checkpoint is shown by file name: the full path rarely fits the sidebar.
    """
    checkpoint = str(info.get("checkpoint", "?"))
    name = Path(checkpoint).name if "/" in checkpoint or "\\" in checkpoint else checkpoint
    fps = info.get("fps")
    parts = [
        f"{info.get('kind', '?')} model ({name})",
        str(info.get("device", "?")),
        *([f"{fps:g} fps"] if isinstance(fps, (int, float)) else []),
        f"version {info.get('version', '?')}",
        f"protocol {info.get('protocol', '?')}",
    ]
    return f"Backend at {address}: " + ", ".join(parts)
