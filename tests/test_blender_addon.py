"""The add-on in real Blender (the bpy wheel) against a live backend on loopback.

Timers never fire in the wheel, so the tests drive the lift job's timer function themselves,
as Blender's event loop would.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

import addon_utils  # noqa: E402

from blender_addon import jobs, result  # noqa: E402
from blender_addon.anim import fcurve_list  # noqa: E402
from tests.live_backend import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRACK = ROOT / "examples" / "tracks" / "walking.json"  # 86 frames at 30 fps, 1920×1080


@pytest.fixture
def addon():
    """The add-on enabled the way Blender enables it (so it has its preferences), on an empty scene."""
    bpy.ops.wm.read_homefile(use_empty=True)
    addon_utils.enable("blender_addon", default_set=True)
    addon_utils.enable("rigify", default_set=True)
    scene = bpy.context.scene
    scene.render.fps = 30
    yield bpy.context.preferences.addons["blender_addon"].preferences
    addon_utils.disable("blender_addon", default_set=True)  # also stops the timer


def run_job(seconds: float = 60) -> jobs.LiftJob:
    """Drive the active job's timer function until it ends, as Blender's event loop would."""
    job = jobs.ACTIVE
    deadline = time.monotonic() + seconds
    while job.step() is not None:
        assert time.monotonic() < deadline, "the lift did not end"
        time.sleep(0.02)
    return job


def metarig() -> bpy.types.Object:
    bpy.ops.object.armature_human_metarig_add()
    return bpy.context.active_object


def scene_state() -> tuple:
    return (
        sorted(o.name for o in bpy.data.objects),
        sorted(a.name for a in bpy.data.actions),
        sorted(a.name for a in bpy.data.armatures),
    )


def test_register_and_unregister_repeatedly():
    for _ in range(3):
        addon_utils.enable("blender_addon", default_set=True)
        assert hasattr(bpy.types, "VIEW3D_PT_mpm_lift") and hasattr(bpy.types.Scene, "mpm_lift")
        assert bpy.types.VIEW3D_PT_mpm_lift.bl_label == "Lift 2D track to 3D"
        assert bpy.types.VIEW3D_PT_mpm_lift.bl_category == "MPM"
        addon_utils.disable("blender_addon", default_set=True)
        assert not hasattr(bpy.types, "VIEW3D_PT_mpm_lift")
        assert not hasattr(bpy.types.Scene, "mpm_lift")
    assert not bpy.app.timers.is_registered(jobs.tick)


def test_lift_a_track_file_onto_the_metarig_through_a_live_backend(addon, server):
    addon.address = server.address
    rig = metarig()
    settings = bpy.context.scene.mpm_lift
    settings.track_path = str(TRACK)
    settings.target = rig
    assert bpy.ops.mpm.lift() == {"FINISHED"}
    assert bpy.app.timers.is_registered(jobs.tick)
    job = run_job()
    assert job.state == "done", job.message
    assert settings.status.startswith("Lifted 86 frames") and not settings.running

    skeleton = bpy.data.objects[result.SKELETON_NAME]
    joints = result.stored_joints(skeleton)
    assert joints.shape == (86, 17, 3)
    assert result.stored_completed2d(skeleton).shape == (86, 17, 2)
    for obj in (skeleton, rig):
        curves = fcurve_list(obj.animation_data.action, obj)
        assert curves and all(len(c.keyframe_points) == 86 for c in curves)

    # The metarig follows the lifted joints: limb directions, left stays left, the root travels.
    j = result.J
    errors, sides = [], []
    scene = bpy.context.scene
    for f in range(0, 86, 5):
        scene.frame_set(1 + f)
        for bone, a, b in (("thigh.L", "left_hip", "left_knee"), ("shin.R", "right_knee", "right_ankle"),
                           ("upper_arm.L", "left_shoulder", "left_elbow"),
                           ("forearm.R", "right_elbow", "right_wrist")):  # fmt: skip
            pb = rig.pose.bones[bone]
            d = np.array(rig.matrix_world @ pb.tail) - np.array(rig.matrix_world @ pb.head)
            s = joints[f, j(b)] - joints[f, j(a)]
            cos = d @ s / np.linalg.norm(d) / np.linalg.norm(s)
            errors.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
        left = np.array(rig.matrix_world @ rig.pose.bones["thigh.L"].head)
        right = np.array(rig.matrix_world @ rig.pose.bones["thigh.R"].head)
        src = joints[f, j("left_hip")] - joints[f, j("right_hip")]
        sides.append((left - right) @ src > 0)
    assert np.median(errors) < 3.0, errors
    assert all(sides)
    scene.frame_set(1)
    start = np.array(rig.pose.bones["spine"].matrix.translation)
    scene.frame_set(86)
    end = np.array(rig.pose.bones["spine"].matrix.translation)
    travel = joints[-1, j("pelvis"), :2] - joints[0, j("pelvis"), :2]
    assert np.linalg.norm(end[:2] - start[:2]) > 0.5 * np.linalg.norm(travel) > 0.3


def test_backend_down_is_reported_and_the_scene_is_unchanged(addon):
    addon.address = f"tcp://127.0.0.1:{free_port()}"
    addon.timeout = 1.0
    metarig()
    bpy.context.scene.mpm_lift.track_path = str(TRACK)
    before = scene_state()
    assert bpy.ops.mpm.lift() == {"FINISHED"}
    start = time.monotonic()
    job = run_job(10)
    assert time.monotonic() - start < 3
    assert job.state == "failed"
    assert "no answer from the backend" in job.message and "mpm_backend.serve" in job.message
    assert bpy.context.scene.mpm_lift.status == job.message
    assert scene_state() == before


def test_a_bad_track_file_is_reported_by_name(addon, server, tmp_path):
    addon.address = server.address
    bad = tmp_path / "broken.json"
    bad.write_text(json.dumps({"frames": [{"people": [{"pose_keypoints_2d": [1, 2]}]}]}))
    bpy.context.scene.mpm_lift.track_path = str(bad)
    before = scene_state()
    with pytest.raises(RuntimeError) as caught:  # an operator's ERROR report raises in the wheel
        bpy.ops.mpm.lift()
    assert "broken.json" in str(caught.value)
    assert "broken.json" in bpy.context.scene.mpm_lift.status
    assert scene_state() == before
    assert jobs.ACTIVE is None or jobs.ACTIVE.state != "running"


def test_cancel_leaves_the_scene_unchanged(addon, server, tmp_path):
    from mpm_backend.tracks import read_track, write_track

    addon.address = server.address
    track = read_track(TRACK)
    track.keypoints = np.tile(
        track.keypoints, (200, 1, 1)
    )  # ~10 minutes: still running when cancelled
    track.confidence = np.tile(track.confidence, (200, 1))
    long_path = write_track(track, tmp_path / "long.npz")
    bpy.context.scene.mpm_lift.track_path = str(long_path)
    before = scene_state()
    bpy.ops.mpm.lift()
    jobs.ACTIVE.step()
    bpy.ops.mpm.cancel()
    assert jobs.ACTIVE.state == "cancelled"
    assert scene_state() == before
    assert "Cancelled" in bpy.context.scene.mpm_lift.status


def test_every_rig_preset_of_the_panel_finds_its_map(addon):
    """The panel's rig choices are preset names; each selects its family's shipped map."""
    rig = metarig()
    settings = bpy.context.scene.mpm_lift
    settings.target, settings.rig = rig, "metarig"
    rig_map = result.rig_map_for(rig, jobs.LiftOptions.from_scene(bpy.context.scene))
    assert rig_map.family == "blender_metarig"
