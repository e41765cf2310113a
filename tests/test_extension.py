"""The built extension zip installs into Blender, registers from its vendored copies, and toggles."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from blender_addon import build

ROOT = Path(__file__).resolve().parents[1]

INSTALL = """
import sys
import bpy
import addon_utils
bpy.ops.extensions.package_install_files(filepath=sys.argv[1], repo="user_default",
                                         enable_on_install=True)
name = "bl_ext.user_default.mpm_lift"
print("panel", hasattr(bpy.types, "VIEW3D_PT_mpm_lift"))
print("client", sys.modules[name + ".deps"].client.__name__)
print("rigs", sorted(sys.modules[name + ".core.rigmaps"].builtin_rig_maps()))
for _ in range(2):
    addon_utils.disable(name)
    print("off", hasattr(bpy.types, "VIEW3D_PT_mpm_lift"))
    addon_utils.enable(name)
    print("on", hasattr(bpy.types, "VIEW3D_PT_mpm_lift"))
"""


def test_vendored_modules_import_relatively():
    source = "from mpm_backend.skeleton import H36M17\nfrom mpm_backend import protocol as wire\n"
    assert (
        build.relative_imports(source)
        == "from .skeleton import H36M17\nfrom . import protocol as wire\n"
    )
    inside_a_package = "from mpm_backend.tracks.common import Raw\n"
    assert build.relative_imports(inside_a_package, depth=2) == "from ..tracks.common import Raw\n"
    with pytest.raises(ValueError, match="import mpm_backend"):
        build.relative_imports("import mpm_backend.skeleton\n")


@pytest.mark.slow
def test_built_zip_installs_and_registers_in_blender(tmp_path):
    pytest.importorskip("bpy")
    archive = build.build(["linux-x64"], tmp_path / "dist", ROOT / "build" / "wheels")
    names = zipfile.ZipFile(archive).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names
    assert "_vendor/mpm_backend/client.py" in names and "rigs/blender_metarig.yaml" in names
    assert "LICENSE" in names and "rigs/cmu_skeleton.bvh" not in names  # the batch's, not Blender's
    assert not any(n.endswith(build.LEFT_OUT) for n in names)
    wheels = [n for n in names if n.startswith("wheels/")]
    assert {w.split("/")[1].split("-")[0].lower() for w in wheels} == {"pyzmq", "msgpack", "pyyaml"}
    manifest = zipfile.ZipFile(archive).read("blender_manifest.toml").decode()
    assert 'platforms = ["linux-x64"]' in manifest and all(w in manifest for w in wheels)
    users = {k: str(tmp_path / k) for k in ("BLENDER_USER_EXTENSIONS", "BLENDER_USER_CONFIG",
                                             "BLENDER_USER_SCRIPTS")}  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-c", INSTALL, str(archive)], cwd=tmp_path, env={**os.environ, **users},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = run.stdout
    assert "panel True" in out, run.stdout + run.stderr
    assert "client bl_ext.user_default.mpm_lift._vendor.mpm_backend.client" in out
    assert "'blender_metarig'" in out and "'mixamo'" in out
    assert out.count("off False") == 2 and out.count("on True") == 2
