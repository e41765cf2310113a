"""Every value of every choice in the panel (scene.mpm_lift) does something, or says why not.

Real Blender (the bpy wheel), a live backend on loopback, the example tracks. The lift-time
choices (layout, smoothing, foot lock, root motion, floor) are swept together over a few lifts,
each lift taking the next value of each; the rig choices and Reduce keys go through the "Retarget
onto target" operator from one lift's MPM skeleton, onto armatures built here from each shipped
map. A value must key the target (and say what it used in the status) or be refused with a
message naming the reason; a choice added to the panel without a case here fails the first test.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_addon import properties, result  # noqa: E402
from blender_addon.anim import fcurve_list  # noqa: E402
from blender_addon.core import rigmap_yaml, rigmaps  # noqa: E402
from tests import test_blender_addon as base  # noqa: E402
from tests.test_blender_addon import metarig, run_job  # noqa: E402
from tests.test_people import B_START, _crossing, _write_detections  # noqa: E402

addon = base.addon  # its fixture, shared (engine and server: tests/conftest.py)

ROOT = Path(__file__).resolve().parents[1]
TRACKS = ROOT / "examples" / "tracks"
LAYOUT_TRACKS = {  # layout value → an example track in it (AUTO reads the file's own)
    "AUTO": TRACKS / "walking_coco.json",
    "h36m17": TRACKS / "walking.json",
    "coco17": TRACKS / "walking_coco.json",
    "blazepose33": TRACKS / "walking_mediapipe.csv",
    "body25": TRACKS / "walking_openpose",
}
SWEPT = ("layout", "smoothing", "foot_lock", "root_motion", "level")  # one lift per row
RETARGETED = ("rig", "reduce_keys")  # through the retarget operator
PEOPLE = {  # People value → its settings, and the skeletons a lift of two people makes with it,
    # each walking right (+1: person 0, the nearer, larger one) or left (-1: person 1)
    "PROMINENT": ({}, {"MPM skeleton": +1}),
    "ALL": ({}, {"MPM skeleton p0": +1, "MPM skeleton p1": -1}),
    "ONE": ({"person": 1}, {"MPM skeleton": -1}),
}
STATE = {"running"}  # written by the job, not a choice

# A standing figure at rest (Z up, facing -Y, its left on +X): where each H36M-17 joint sits.
REST = {
    "pelvis": (0.0, 0.0, 0.95), "spine": (0.0, 0.0, 1.17), "thorax": (0.0, 0.0, 1.42),
    "head": (0.0, -0.08, 1.62), "nose": (0.0, -0.11, 1.58),
    **{f"{side}_{joint}": (sx * x, y, z) for side, sx in (("left", 1.0), ("right", -1.0))
       for joint, (x, y, z) in {"hip": (0.1, 0.0, 0.93), "knee": (0.1, -0.01, 0.52),
                                "ankle": (0.1, 0.02, 0.1), "shoulder": (0.17, 0.0, 1.42),
                                "elbow": (0.45, 0.0, 1.42), "wrist": (0.7, -0.03, 1.42)}.items()},
}  # fmt: skip
REST = {k: np.array(v) for k, v in REST.items()}


def panel_choices() -> dict[str, list]:
    """Every enum (its values) and bool of the settings, as the panel shows them."""
    out = {}
    for prop in bpy.types.Scene.bl_rna.properties["mpm_lift"].fixed_type.properties:
        if prop.type == "ENUM":
            out[prop.identifier] = [item.identifier for item in prop.enum_items]
        elif prop.type == "BOOLEAN" and prop.identifier not in STATE:
            out[prop.identifier] = [False, True]
    return out


def test_every_choice_has_a_case_and_the_rig_list_is_the_shipped_maps(addon):
    choices = panel_choices()
    assert set(choices) == set(SWEPT) | set(RETARGETED) | {"people"}
    assert set(choices["people"]) == set(PEOPLE)
    assert set(choices["layout"]) == set(LAYOUT_TRACKS)
    families = set(rigmaps.builtin_rig_maps())
    rig_words = {word for _, word, *_ in properties.RIG_ROWS}
    assert rig_words == families | {"auto", "panel", "custom"}
    assert len(choices["rig"]) == len(families) + 3


# ----------------------------------------------------------------------------- lift time


def sweep_rows() -> list[dict]:
    """As many rows as the longest choice has values; row i takes value i of each (wrapping)."""
    choices = panel_choices()
    count = max(len(choices[name]) for name in SWEPT)
    return [{name: choices[name][i % len(choices[name])] for name in SWEPT} for i in range(count)]


def root_travel(rig: bpy.types.Object, bone: str) -> float | None:
    """Horizontal distance the root bone's keyed location covers (None: no location keys)."""
    curves = [c for c in fcurve_list(rig.animation_data.action, rig)
              if c.data_path == f'pose.bones["{bone}"].location']  # fmt: skip
    if not curves:
        return None
    values = np.array([[k.co[1] for k in c.keyframe_points] for c in curves])
    return float(np.ptp(values[[0, 2]], axis=1).max())  # the meta-rig's bone X and Z: horizontal


def test_every_lift_time_value_lifts_and_says_what_it_used(addon, server):
    addon.address = server.address
    scene = bpy.context.scene
    settings = scene.mpm_lift
    rig = metarig()
    for row in sweep_rows():
        for name, value in row.items():
            setattr(settings, name, value)
        settings.track_path = str(LAYOUT_TRACKS[row["layout"]])
        settings.image_width, settings.image_height = 1920, 1080
        settings.camera_pitch, settings.camera_roll = 12.0, -5.0
        settings.target = rig
        assert bpy.ops.mpm.lift() == {"FINISHED"}, row
        job = run_job()
        assert job.state == "done", (row, job.message)
        status = settings.status
        assert re.match(r"Lifted \d+ frames", status), (row, status)
        smoothing = {"NONE": "Smoothing: None", "ONE_EURO": "Smoothing: One-Euro",
                     "BUTTERWORTH": "Smoothing: Butterworth 6 Hz"}[row["smoothing"]]  # fmt: skip
        assert smoothing in status and f"foot lock {'on' if row['foot_lock'] else 'off'}" in status
        floor = {"AUTO": "Floor levelled (feet)", "LEVEL": "pitch 0.0°, roll 0.0°",
                 "KNOWN": "pitch 12.0°, roll -5.0°"}[row["level"]]  # fmt: skip
        assert floor in status, (row, status)
        travel = root_travel(rig, "spine")
        if row["root_motion"] == "OFF":
            assert travel is None or travel < 0.01, (row, travel)
        elif row["root_motion"] == "IN_PLACE":
            assert travel < 0.15, (row, travel)
        else:
            assert travel > 0.5, (row, travel)


def test_a_layout_that_does_not_fit_the_file_is_refused_by_name(addon, server):
    addon.address = server.address
    settings = bpy.context.scene.mpm_lift
    settings.track_path = str(LAYOUT_TRACKS["h36m17"])
    settings.layout = "blazepose33"
    with pytest.raises(RuntimeError, match="Track not read") as caught:
        bpy.ops.mpm.lift()
    assert "33" in str(caught.value) or "blazepose" in str(caught.value).lower()


def test_every_people_value_lifts_its_people(addon, server, tmp_path):
    """Who of a file with two people is lifted (tests/test_panel_people.py: the rest)."""
    addon.address = server.address
    points, seen = _crossing()
    settings = bpy.context.scene.mpm_lift
    settings.track_path = str(_write_detections(tmp_path / "two.json", points, seen, False))
    for value in panel_choices()["people"]:
        for obj in list(bpy.data.objects):
            bpy.data.objects.remove(obj)
        extra, expected = PEOPLE[value]
        settings.people = value
        for name, setting in extra.items():
            setattr(settings, name, setting)
        assert bpy.ops.mpm.lift() == {"FINISHED"} and run_job().state == "done", value
        made = {o.name: o for o in bpy.data.objects if o.type == "ARMATURE"}
        assert set(made) == set(expected), value
        for name, direction in expected.items():  # frames where both people are seen
            x = result.stored_joints(made[name])[B_START + 2 : B_START + 35, 0, 0]
            assert direction * (x[-1] - x[0]) > 1.0, (value, name, x[[0, -1]])


# ----------------------------------------------------------------------------- rig choices


def armature_for_map(rig_map: rigmaps.RigMap) -> bpy.types.Object:
    """An armature whose bones are the map's, each laid along its joints on a standing figure
    (hip and shoulder lines: short bones up the trunk), parented to the nearest tail above it."""
    trunk_z = {"right_hip": 0.95, "right_shoulder": 1.32}
    placed: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for b in rig_map.bones:
        a, c = b.direction
        if a in trunk_z:  # a line across the body: the bone runs up the trunk
            z = trunk_z[a] + 0.01 * len(placed)
            placed[b.bone] = (np.array([0.0, 0.0, z]), np.array([0.0, 0.0, z + 0.1]))
        else:
            placed[b.bone] = (REST[a], REST[c])
    for bone, side in rig_map.feet.items():
        ankle = REST[f"{side}_ankle"]
        placed[bone] = (ankle, ankle + (0.0, -0.12, -0.08))
    for bone in rig_map.required_bones():
        placed.setdefault(bone, (REST["head"], REST["head"] + (0.0, -0.03, 0.0)))
    data = bpy.data.armatures.new(rig_map.family)
    obj = bpy.data.objects.new(rig_map.family, data)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    order = [rig_map.root, *sorted(set(placed) - {rig_map.root}, key=lambda n: -placed[n][0][2])]
    order = sorted(order[1:], key=lambda n: abs(placed[n][0][0]))
    for name in [rig_map.root, *order]:
        bone = data.edit_bones.new(name)
        bone.head, bone.tail = placed[name]
        made = [b for b in data.edit_bones if b.name != name]
        if made:
            bone.parent = min(
                made, key=lambda p: np.linalg.norm(np.array(p.tail) - placed[name][0])
            )
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def keyed_frames(obj: bpy.types.Object) -> list[int]:
    return [len(c.keyframe_points) for c in fcurve_list(obj.animation_data.action, obj)]


def retarget(skeleton: bpy.types.Object, target: bpy.types.Object, rig: str) -> set[str]:
    settings = bpy.context.scene.mpm_lift
    settings.target, settings.rig = target, rig
    bpy.context.view_layer.objects.active = skeleton
    return bpy.ops.mpm.retarget()


def test_every_rig_value_keys_its_rig_or_says_why_not(addon, server, tmp_path):
    addon.address = server.address
    settings = bpy.context.scene.mpm_lift
    settings.track_path = str(LAYOUT_TRACKS["h36m17"])
    assert bpy.ops.mpm.lift() == {"FINISHED"} and run_job().state == "done"
    skeleton = bpy.data.objects[result.SKELETON_NAME]
    meta = metarig()
    maps = rigmaps.builtin_rig_maps()
    for value, family, *_ in properties.RIG_ROWS:
        if family in maps:  # a shipped map: keys a rig with its bones, refuses one without
            target = armature_for_map(maps[family])
            assert retarget(skeleton, target, value) == {"FINISHED"}, family
            assert keyed_frames(target) and set(keyed_frames(target)) == {86}, family
            if family != "blender_metarig":
                with pytest.raises(RuntimeError, match="lacks"):
                    retarget(skeleton, meta, value)
        elif value == "AUTO":
            assert retarget(skeleton, meta, value) == {"FINISHED"}
            assert meta.animation_data.action.name == "metarig MPM"
        elif value == "PANEL":
            with pytest.raises(RuntimeError, match="Map bones"):
                retarget(skeleton, meta, value)
            assert bpy.ops.mpm.map_bones() == {"FINISHED"}
            assert retarget(skeleton, meta, value) == {"FINISHED"}
        elif value == "CUSTOM":
            settings.rig_map_path = ""
            with pytest.raises(RuntimeError, match="needs a map file"):
                retarget(skeleton, meta, value)
            path = tmp_path / "meta.yaml"
            path.write_text(rigmap_yaml.dump_rig_map(maps["blender_metarig"]))
            settings.rig_map_path = str(path)
            assert retarget(skeleton, meta, value) == {"FINISHED"}
        else:
            pytest.fail(f"rig value {value!r} has no case here")
        assert settings.rig == value

    for reduce in (False, True):  # Reduce keys: fewer keys where the motion allows
        settings.reduce_keys = reduce
        assert retarget(skeleton, meta, "AUTO") == {"FINISHED"}
        counts = keyed_frames(meta)
        if reduce:
            assert sum(counts) < 0.8 * 86 * len(counts) and min(counts) >= 2, counts
        else:
            assert set(counts) == {86}
