"""The torch-free backend modules the add-on uses, vendored in the built extension or from a checkout.

`python -m blender_addon.build` copies them into `_vendor/mpm_backend` (they import each other
relatively); run from the repository, the installed `mpm_backend` package is used instead.
The wire modules (`client` needs pyzmq, `protocol` msgpack) load on first use, so the numeric
core (`blender_addon.core`) imports without them (tests/test_layers.py checks).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

try:  # the built extension
    from ._vendor.mpm_backend import joint_matcher, lift_request, skeleton, tracks

    _BACKEND = f"{__package__}._vendor.mpm_backend"
except ImportError:  # a checkout: tests, batch runs, the bpy wheel
    from mpm_backend import joint_matcher, lift_request, skeleton, tracks

    _BACKEND = "mpm_backend"

_LAZY = ("client", "protocol")  # loaded by __getattr__ below
__all__ = ["joint_matcher", "lift_request", "skeleton", "tracks", "RIGS_DIR", *_LAZY]

_HERE = Path(__file__).resolve().parent
RIGS_DIR = _HERE / "rigs"  # package data: the same place in a checkout, the wheel and the zip


def __getattr__(name: str) -> ModuleType:
    """`from .deps import client` imports the wire module only when a caller asks for it."""
    if name in _LAZY:
        module = importlib.import_module(f"{_BACKEND}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
