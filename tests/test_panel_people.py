"""The panel's People choice in real Blender (the bpy wheel) against a live backend on loopback.

The track: two people crossing (tests/test_people.py), no ids in the file. Person 0 walks right
(+X in the level world), person 1 enters at frame 15 farther away and runs left. "Everyone"
makes a skeleton per person (the target keyed for person 0, a copy of it for person 1), "One"
the numbered person; a number beyond the file's people is refused, the scene unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_addon import jobs, people, result  # noqa: E402
from blender_addon.anim import fcurve_list  # noqa: E402
from tests import test_blender_addon as base  # noqa: E402
from tests.test_blender_addon import metarig, run_job, scene_state  # noqa: E402
from tests.test_people import B_START, _crossing, _write_detections  # noqa: E402

addon = base.addon  # its fixture, shared (engine and server: tests/conftest.py)
FRAMES = 86


@pytest.fixture(scope="module")
def two_people(tmp_path_factory) -> Path:
    points, seen = _crossing()
    return _write_detections(tmp_path_factory.mktemp("people") / "two.json", points, seen, False)


def pelvis_path(skeleton: bpy.types.Object, frames: range) -> np.ndarray:
    """The keyed pelvis bone's world position (len(frames), 3), read back from Blender."""
    scene, out = bpy.context.scene, []
    for f in frames:
        scene.frame_set(1 + f)
        out.append(np.array(skeleton.matrix_world @ skeleton.pose.bones["mpm_pelvis"].head))
    return np.array(out)


def keys(obj: bpy.types.Object) -> set[int]:
    return {len(c.keyframe_points) for c in fcurve_list(obj.animation_data.action, obj)}


def lift(settings, **choices) -> jobs.LiftJob:
    for name, value in choices.items():
        setattr(settings, name, value)
    assert bpy.ops.mpm.lift() == {"FINISHED"}
    job = run_job(120)
    assert job.state == "done", job.message
    return job


def test_everyone_gets_a_skeleton_and_a_rig_each(addon, server, two_people):
    addon.address = server.address
    rig = metarig()
    settings = bpy.context.scene.mpm_lift
    settings.track_path, settings.target, settings.people = str(two_people), rig, "ALL"
    assert bpy.ops.mpm.lift() == {"FINISHED"}
    jobs.ACTIVE.step()
    assert settings.status.startswith("Person 1 of 2 (p0): Lifting"), settings.status
    job = run_job(120)
    assert job.state == "done", job.message
    assert settings.status.startswith("Lifted 2 people, 86 frames each"), settings.status
    assert "p1: floor levelled" in settings.status

    p0, p1 = (bpy.data.objects[f"MPM skeleton p{k}"] for k in (0, 1))
    assert "MPM skeleton" not in bpy.data.objects
    assert [p0.animation_data.action.name, p1.animation_data.action.name] == [
        "MPM skeleton MPM p0",
        "MPM skeleton MPM p1",
    ]
    walk = pelvis_path(p0, range(0, FRAMES, 5))
    run = pelvis_path(p1, range(B_START + 2, B_START + 37, 4))  # where person 1 is seen
    assert np.all(np.diff(walk[:, 0]) > 0) and walk[-1, 0] - walk[0, 0] > 2.0, walk[:, 0]
    assert np.all(np.diff(run[:, 0]) < 0) and run[0, 0] - run[-1, 0] > 2.0, run[:, 0]
    # Placed beside each other: person 1 enters on the right, farther from the camera (+Y).
    start0, start1 = result.stored_joints(p0)[0, 0], result.stored_joints(p1)[B_START, 0]
    assert start1[0] - start0[0] > 1.0 and start1[1] - start0[1] > 0.5, (start0, start1)

    copy = bpy.data.objects["metarig p1"]
    assert copy.data != rig.data and copy.data.name == "metarig p1"
    assert copy[people.COPY_OF] == "metarig" and copy[people.PERSON] == 1
    assert rig.animation_data.action.name == "metarig MPM p0"
    assert copy.animation_data.action.name == "metarig MPM p1"
    assert keys(rig) == keys(copy) == keys(p0) == keys(p1) == {FRAMES}
    assert job.objects == ["MPM skeleton p0", "MPM skeleton p1", "metarig", "metarig p1"]

    before = scene_state()  # a rerun replaces the same people's result
    lift(settings)
    assert scene_state() == before
    assert bpy.data.objects["metarig p1"].animation_data.action.name == "metarig MPM p1"


def test_one_person_by_number(addon, server, two_people):
    addon.address = server.address
    settings = bpy.context.scene.mpm_lift
    settings.track_path = str(two_people)
    lift(settings, people="ONE", person=1)
    skeleton = bpy.data.objects[result.SKELETON_NAME]
    run = pelvis_path(skeleton, range(B_START + 2, B_START + 37, 4))
    assert np.all(np.diff(run[:, 0]) < 0) and run[0, 0] - run[-1, 0] > 2.0, run[:, 0]
    assert [o.name for o in bpy.data.objects if o.type == "ARMATURE"] == [result.SKELETON_NAME]


def test_a_person_beyond_the_file_is_refused_by_number(addon, server, two_people):
    addon.address = server.address
    settings = bpy.context.scene.mpm_lift
    settings.track_path, settings.people, settings.person = str(two_people), "ONE", 5
    metarig()
    before = scene_state()
    with pytest.raises(RuntimeError, match="person 5 was asked for but the file has 2 people"):
        bpy.ops.mpm.lift()
    assert "Track not read" in settings.status and scene_state() == before


def test_a_failure_while_building_leaves_the_scene_as_it_was(
    addon, server, two_people, monkeypatch
):
    addon.address = server.address
    rig = metarig()
    settings = bpy.context.scene.mpm_lift
    settings.track_path, settings.target, settings.people = str(two_people), rig, "ALL"
    lift(settings)  # an earlier result, kept whole
    before, action = scene_state(), rig.animation_data.action
    solve = result.retarget_onto

    def fail_on_the_copy(scene, armature, *args, **kwargs):
        if people.COPY_OF in armature:  # the new copy for person 1
            raise RuntimeError("the copy's solve broke")
        return solve(scene, armature, *args, **kwargs)

    monkeypatch.setattr(result, "retarget_onto", fail_on_the_copy)
    assert bpy.ops.mpm.lift() == {"FINISHED"}
    job = run_job(120)
    assert job.state == "failed" and "the copy's solve broke" in job.message
    assert scene_state() == before
    assert rig.animation_data.action == action
