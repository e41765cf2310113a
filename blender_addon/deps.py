"""The torch-free backend modules the add-on uses, vendored in the built extension or from a checkout.

`python -m blender_addon.build` copies them into `_vendor/mpm_backend` (they import each other
relatively); run from the repository, the installed `mpm_backend` package is used instead.
"""

from __future__ import annotations

from pathlib import Path

try:  # the built extension
    from ._vendor.mpm_backend import client, joint_matcher, protocol, skeleton, tracks
except ImportError:  # a checkout: tests, batch runs, the bpy wheel
    from mpm_backend import client, joint_matcher, protocol, skeleton, tracks

__all__ = ["client", "joint_matcher", "protocol", "skeleton", "tracks", "RIGS_DIR"]

_HERE = Path(__file__).resolve().parent
RIGS_DIR = _HERE / "rigs" if (_HERE / "rigs").is_dir() else _HERE.parent / "rigs"
