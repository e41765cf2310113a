"""The README's demo command runs on a fresh checkout and makes what it claims: a shipped track
lifted by the shipped model, retargeted onto the meta-rig and a Mixamo-named rig, written as
.blend, BVH and FBX, a figure, and the model's errors on a val clip."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mpm_backend.checkpoint import DEFAULT_CHECKPOINT

REPO = Path(__file__).resolve().parents[1]
RIGS = {"metarig": "spine", "mixamo": "mixamorig:Hips"}  # rig: its root bone


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    if not DEFAULT_CHECKPOINT.is_file():
        pytest.skip("no shipped model")
    out = tmp_path_factory.mktemp("demo_out")
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "training.demo", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done, out, time.monotonic() - start


def test_demo_writes_every_file_and_says_where(demo):
    done, out, seconds = demo
    assert done.returncode == 0, done.stderr[-3000:]
    assert seconds < 60, f"the demo took {seconds:.0f} s"
    files = [out / f"walking.{rig}.{fmt}" for rig in RIGS for fmt in ("blend", "bvh", "fbx")]
    files += [out / "walking.png", out / "lift.png"]
    for path in files:
        assert path.stat().st_size > 10_000, path
        assert str(path.resolve()) in done.stdout
    first = json.loads(done.stdout[done.stdout.index("{") : done.stdout.index("\n}") + 2])
    assert first["frames"] == 86 and first["rigs"] == list(RIGS)
    assert first["pelvis_travel_m"] > 2.0  # the walker walks about 3.3 m
    start = done.stdout.index('{\n "model"')
    check = json.loads(done.stdout[start : done.stdout.index("\n}", start) + 2])
    # A clip from the val split, filmed with detector-like noise: a trained model, not a toy.
    assert check["mpjpe_mm"]["noisy"] < 150


@pytest.mark.parametrize("rig", list(RIGS))
def test_demo_outputs_reopen_in_blender(demo, rig):
    bpy = pytest.importorskip("bpy")
    from blender_addon.anim import fcurve_list

    done, out, _ = demo
    assert done.returncode == 0, done.stderr[-3000:]
    bpy.ops.wm.open_mainfile(filepath=str(out / f"walking.{rig}.blend"))
    armature = next(
        o for o in bpy.data.objects if o.type == "ARMATURE" and RIGS[rig] in o.data.bones
    )
    curves = fcurve_list(armature.animation_data.action, armature)
    assert curves and all(len(c.keyframe_points) == 86 for c in curves)

    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    bpy.ops.import_anim.bvh(filepath=str(out / f"walking.{rig}.bvh"))
    bvh = bpy.context.active_object
    assert RIGS[rig] in bvh.data.bones
    assert tuple(bvh.animation_data.action.frame_range) == (1.0, 86.0)

    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    bpy.ops.import_scene.fbx(filepath=str(out / f"walking.{rig}.fbx"))
    fbx = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    assert RIGS[rig] in fbx.data.bones
    start, end = fbx.animation_data.action.frame_range
    assert end - start == 85
