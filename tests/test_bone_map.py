"""The panel's bone map (blender_addon/bone_map.py) on real armatures (the bpy wheel).

"Map bones" must put every limb and trunk role on the right bone for each naming family (the
Blender meta-rig, a generated Rigify rig, Mixamo with a namespace, the CMU BVH import, the
Unreal mannequin, Character Creator, Auto-Rig Pro and its _ref bones), warn where the matcher
guessed or nothing plays a role, save and load the edited map (file and .blend text) unchanged,
and a lift with Rig map "Panel map" must key the target with the edited bones.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

from blender_addon import bone_map  # noqa: E402
from blender_addon.anim import fcurve_list  # noqa: E402
from blender_addon.core import rigmap_yaml, rigmaps  # noqa: E402
from tests import test_blender_addon as base  # noqa: E402
from tests.test_auto_rigmap import (  # noqa: E402
    auto_rig_pro_bones,
    character_creator_bones,
    make_armature,
    mixamo_bones,
    unreal_bones,
)
from tests.test_blender_addon import TRACK, metarig, run_job  # noqa: E402

addon = base.addon  # its fixture, shared (engine and server: tests/conftest.py)
CMU_BVH = Path(rigmaps.BUILTIN_DIRS[0]) / "cmu_skeleton.bvh"


def _ref(name: str) -> str:
    """Auto-Rig Pro's reference bones: thigh.l → thigh_ref.l, root.x → root_ref.x."""
    stem, _, side = name.rpartition(".")
    return f"{stem}_ref.{side}"


def _rigify() -> bpy.types.Object:
    metarig()  # active: Rigify generates from it
    before = set(bpy.data.objects)
    bpy.ops.object.mode_set(mode="POSE")
    bpy.ops.pose.rigify_generate()
    bpy.ops.object.mode_set(mode="OBJECT")
    return next(o for o in bpy.data.objects if o not in before and o.type == "ARMATURE")


def _cmu() -> bpy.types.Object:
    bpy.ops.import_anim.bvh(filepath=str(CMU_BVH))
    return bpy.context.active_object


def _arp_ref() -> bpy.types.Object:
    bones = [(_ref(n), _ref(p) if p else None, h, t) for n, p, h, t in auto_rig_pro_bones()]
    return make_armature("arp_ref", bones)


TRUNK = ("root", "spine", "spine_upper", "chest", "neck", "head")
LIMBS = ("thigh", "shin", "foot", "upper_arm", "forearm")
# rig → (builder, trunk bones in TRUNK's order ("" unmapped), limb bones with {s} {S} {Side})
CASES: dict[str, tuple[Callable[[], bpy.types.Object], tuple, tuple]] = {
    "metarig": (metarig, ("spine", "spine.001", "spine.002", "spine.003", "spine.004", "spine.006"),
                ("thigh.{S}", "shin.{S}", "foot.{S}", "upper_arm.{S}", "forearm.{S}")),
    "rigify": (_rigify, ("torso", "", "spine_fk.002", "spine_fk.003", "neck", "head"),
               ("thigh_fk.{S}", "shin_fk.{S}", "foot_fk.{S}", "upper_arm_fk.{S}", "forearm_fk.{S}")),
    "mixamo": (lambda: make_armature("mixamo", mixamo_bones("mixamorig1:"), fbx=True),
               tuple("mixamorig1:" + n for n in ("Hips", "Spine", "Spine1", "Spine2", "Neck", "Head")),
               tuple("mixamorig1:{Side}" + n for n in ("UpLeg", "Leg", "Foot", "Arm", "ForeArm"))),
    "cmu_bvh": (_cmu, ("root", "lowerback", "upperback", "thorax", "lowerneck", "head"),
                ("{s}femur", "{s}tibia", "{s}foot", "{s}humerus", "{s}radius")),
    "unreal": (lambda: make_armature("unreal", unreal_bones()),
               ("pelvis", "spine_01", "spine_02", "spine_03", "neck_01", "head"),
               ("thigh_{s}", "calf_{s}", "foot_{s}", "upperarm_{s}", "lowerarm_{s}")),
    "character_creator": (lambda: make_armature("cc", character_creator_bones()),
                          tuple("CC_Base_" + n for n in ("Hip", "Waist", "Spine01", "Spine02", "NeckTwist01", "Head")),
                          tuple("CC_Base_{S}_" + n for n in ("Thigh", "Calf", "Foot", "Upperarm", "Forearm"))),
    "auto_rig_pro": (lambda: make_armature("arp", auto_rig_pro_bones()),
                     ("root.x", "spine_01.x", "", "spine_02.x", "neck.x", "head.x"),
                     ("thigh.{s}", "leg.{s}", "foot.{s}", "arm.{s}", "forearm.{s}")),
    "auto_rig_pro_ref": (_arp_ref, ("root_ref.x", "spine_01_ref.x", "", "spine_02_ref.x", "neck_ref.x", "head_ref.x"),
                         ("thigh_ref.{s}", "leg_ref.{s}", "foot_ref.{s}", "arm_ref.{s}", "forearm_ref.{s}")),
}  # fmt: skip


def expected_roles(rig: str) -> dict[str, str]:
    _, trunk, limbs = CASES[rig]
    out = dict(zip(TRUNK, trunk, strict=True))
    for S, s, side in (("L", "l", "Left"), ("R", "r", "Right")):
        for role, bone in zip(LIMBS, limbs, strict=True):
            out[f"{role}.{S}"] = bone.format(S=S, s=s, Side=side)
    return out


def map_bones(target: bpy.types.Object) -> dict[str, str]:
    """Press Map bones for ``target``; returns the list as role → bone."""
    bpy.context.scene.mpm_lift.target = target
    assert bpy.ops.mpm.map_bones() == {"FINISHED"}
    assert bpy.context.scene.mpm_lift.rig == "PANEL"
    return {row.role: row.bone for row in bpy.context.scene.mpm_bone_map.rows}


@pytest.mark.parametrize("rig", list(CASES))
def test_map_bones_puts_every_role_on_the_right_bone(addon, rig):
    target = CASES[rig][0]()
    assert map_bones(target) == expected_roles(rig)
    rows = bpy.context.scene.mpm_bone_map.rows
    names = {b.name for b in target.data.bones}
    for row in rows:  # an empty row warns; a certain one does not
        warning = bone_map.row_warning(row, names)
        assert bool(warning) == (not row.bone), row.label
    rig_map = bone_map.current_map(bpy.context.scene)
    assert rigmaps.missing_bones(rig_map, names) == []


def test_a_guess_of_the_matcher_warns_on_its_row(addon):
    """Without hand bones the matcher takes the wrists at the forearms' tails: those rows say so."""
    bones = [b for b in unreal_bones() if not b[0].startswith(("hand_", "lowerarm_twist"))]
    map_bones(make_armature("handless", bones))
    rows = {row.role: row for row in bpy.context.scene.mpm_bone_map.rows}
    assert "left_wrist" in rows["forearm.L"].warning and "right_wrist" in rows["forearm.R"].warning
    assert not rows["upper_arm.L"].warning


def test_a_rig_nothing_recognises_gets_empty_rows_and_a_message(addon):
    target = make_armature("prop", [("lid", None, (0, 0, 0), (0, 0, 0.3))])
    assert map_bones(target) and all(not b for b in map_bones(target).values())
    assert bpy.context.scene.mpm_lift.status.startswith("Map every row by hand")
    with pytest.raises(rigmaps.RigMapError, match="no bone for Root"):
        bone_map.current_map(bpy.context.scene)


def test_an_edited_map_saves_loads_and_lifts(addon, server, tmp_path):
    addon.address = server.address
    scene = bpy.context.scene
    target = CASES["character_creator"][0]()
    map_bones(target)
    settings = scene.mpm_bone_map
    neck = next(r for r in settings.rows if r.role == "neck")
    neck.bone = "CC_Base_NeckTwist02"  # the fix an animator makes in the list
    assert not bone_map.row_warning(neck, {b.name for b in target.data.bones})
    edited = bone_map.current_map(scene)
    assert "CC_Base_NeckTwist02" in edited.bone_names
    assert "CC_Base_NeckTwist01" not in edited.bone_names

    settings.path = str(tmp_path / "cc.yaml")
    assert bpy.ops.mpm.bone_map_save() == {"FINISHED"}
    saved = rigmap_yaml.rig_map_data(edited)
    assert rigmap_yaml.rig_map_data(rigmaps.load_rig_map(settings.path)) == saved
    for source in ("FILE", "TEXT"):
        settings.rows.clear()
        assert bpy.ops.mpm.bone_map_load(source=source) == {"FINISHED"}
        assert rigmap_yaml.rig_map_data(bone_map.current_map(scene)) == saved, source

    scene.mpm_lift.track_path = str(TRACK)
    scene.mpm_lift.rig = "PANEL"
    assert bpy.ops.mpm.lift() == {"FINISHED"}
    job = run_job()
    assert job.state == "done", job.message
    paths = {c.data_path for c in fcurve_list(target.animation_data.action, target)}
    assert 'pose.bones["CC_Base_NeckTwist02"].rotation_quaternion' in paths
    assert 'pose.bones["CC_Base_NeckTwist01"].rotation_quaternion' not in paths
    assert 'pose.bones["CC_Base_L_Foot"].rotation_quaternion' in paths  # the guessed foot


def test_load_refusals_say_why(addon, tmp_path):
    settings = bpy.context.scene.mpm_bone_map
    settings.path = ""
    with pytest.raises(RuntimeError, match="choose a Map file"):
        bpy.ops.mpm.bone_map_load(source="FILE")
    settings.text = "nothing here"
    with pytest.raises(RuntimeError, match="no text 'nothing here'"):
        bpy.ops.mpm.bone_map_load(source="TEXT")
    with pytest.raises(RuntimeError, match="needs a map"):
        bpy.ops.mpm.bone_map_save()
    bpy.context.scene.mpm_lift.target = None
    with pytest.raises(RuntimeError, match="needs a target armature"):
        bpy.ops.mpm.map_bones()
