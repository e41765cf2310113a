"""Rigs no YAML map knows retarget through the joint matcher's map (blender_addon.core.auto_rigmap).

Real bpy armatures with Unreal mannequin, Character Creator, Auto-Rig Pro and namespaced Mixamo
names (twist bones, A- and T-poses, odd bone rolls, a Y-up centimetre FBX-style armature) are
detected, mapped and solved on a synthetic walk whose left arm rises: every limb bone must point
along its source segment (< 2 degrees, every frame), and left must stay left. The auto maps of the
meta-rig, a Mixamo rig and the CMU BVH armature must equal the shipped YAML maps.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_addon import build, presets  # noqa: E402
from blender_addon import result as scene_result  # noqa: E402
from blender_addon.core import (  # noqa: E402
    auto_rigmap,
    coords,
    leg_reach,
    rest_pose,
    retarget,
    rigmaps,
    rotations,
)
from blender_addon.core.coords import JOINT_INDEX as J  # noqa: E402
from blender_addon.core.retarget import RestPose, pose_world_matrices  # noqa: E402
from blender_addon.jobs import LiftOptions  # noqa: E402
from tests.synthetic import walking_figure  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mocap"
SIDES = {"left": 1.0, "right": -1.0}
Bone = tuple[str, str | None, np.ndarray, np.ndarray]  # name, parent, head, tail (Z up, metres)


# --------------------------------------------------------------------------- rest bodies


def body(arm_drop_deg: float = 0.0) -> dict[str, np.ndarray]:
    """Rest joints of a 1.75 m figure, Blender axes: Z up, facing -Y, its left on +X.

    arm_drop_deg: 0 a T-pose, 45 an A-pose; the elbows bend a little forward.
    """
    p = {
        "floor": (0.0, 0.0, 0.0),
        "pelvis": (0.0, 0.0, 0.95),
        "spine1": (0.0, 0.0, 1.05),
        "spine2": (0.0, 0.01, 1.17),
        "spine3": (0.0, 0.01, 1.29),
        "chest_top": (0.0, 0.0, 1.42),
        "neck": (0.0, 0.0, 1.45),
        "head": (0.0, -0.01, 1.57),
        "head_top": (0.0, -0.01, 1.75),
    }
    drop = np.radians(arm_drop_deg)
    for side, sx in SIDES.items():
        s = side[0]
        along = np.array([sx * np.cos(drop), 0.0, -np.sin(drop)])
        shoulder = np.array([sx * 0.17, 0.0, 1.42])
        elbow = shoulder + 0.28 * along
        wrist = elbow + 0.25 * along + (0.0, -0.03, 0.0)
        p |= {
            f"eye_{s}": (sx * 0.03, -0.09, 1.64),
            f"clavicle_{s}": (sx * 0.03, 0.0, 1.40),
            f"shoulder_{s}": shoulder,
            f"elbow_{s}": elbow,
            f"wrist_{s}": wrist,
            f"hand_end_{s}": wrist + 0.08 * along,
            f"hip_{s}": (sx * 0.1, 0.0, 0.93),
            f"knee_{s}": (sx * 0.1, -0.01, 0.52),
            f"ankle_{s}": (sx * 0.1, 0.02, 0.10),
            f"ball_{s}": (sx * 0.1, -0.10, 0.02),
            f"toe_{s}": (sx * 0.1, -0.16, 0.02),
        }
    return {k: np.asarray(v, dtype=float) for k, v in p.items()}


def mid(p: dict, a: str, b: str, t: float = 0.5) -> np.ndarray:
    return p[a] + t * (p[b] - p[a])


def unreal_bones() -> list[Bone]:
    """UE mannequin: root on the floor, pelvis, spine_01..03, twist bones as limb children."""
    p = body(arm_drop_deg=0.0)
    bones: list[Bone] = [
        ("root", None, p["floor"], p["floor"] + (0.0, 0.2, 0.0)),
        ("pelvis", "root", p["pelvis"], p["spine1"]),
        ("spine_01", "pelvis", p["spine1"], p["spine2"]),
        ("spine_02", "spine_01", p["spine2"], p["spine3"]),
        ("spine_03", "spine_02", p["spine3"], p["chest_top"]),
        ("neck_01", "spine_03", p["neck"], p["head"]),
        ("head", "neck_01", p["head"], p["head_top"]),
    ]
    for s in "lr":
        bones += [
            (f"clavicle_{s}", "spine_03", p[f"clavicle_{s}"], p[f"shoulder_{s}"]),
            (f"upperarm_{s}", f"clavicle_{s}", p[f"shoulder_{s}"], p[f"elbow_{s}"]),
            (f"upperarm_twist_01_{s}", f"upperarm_{s}", mid(p, f"shoulder_{s}", f"elbow_{s}"), p[f"elbow_{s}"]),
            (f"lowerarm_{s}", f"upperarm_{s}", p[f"elbow_{s}"], p[f"wrist_{s}"]),
            (f"lowerarm_twist_01_{s}", f"lowerarm_{s}", mid(p, f"elbow_{s}", f"wrist_{s}"), p[f"wrist_{s}"]),
            (f"hand_{s}", f"lowerarm_{s}", p[f"wrist_{s}"], p[f"hand_end_{s}"]),
            (f"thigh_{s}", "pelvis", p[f"hip_{s}"], p[f"knee_{s}"]),
            (f"thigh_twist_01_{s}", f"thigh_{s}", mid(p, f"hip_{s}", f"knee_{s}"), p[f"knee_{s}"]),
            (f"calf_{s}", f"thigh_{s}", p[f"knee_{s}"], p[f"ankle_{s}"]),
            (f"calf_twist_01_{s}", f"calf_{s}", mid(p, f"knee_{s}", f"ankle_{s}"), p[f"ankle_{s}"]),
            (f"foot_{s}", f"calf_{s}", p[f"ankle_{s}"], p[f"ball_{s}"]),
            (f"ball_{s}", f"foot_{s}", p[f"ball_{s}"], p[f"toe_{s}"]),
        ]  # fmt: skip
    return bones


def character_creator_bones() -> list[Bone]:
    """CC3/CC4: BoneRoot, Hip with a Pelvis child carrying the legs and a Waist carrying the
    spine, two neck twists, eyes, twist bones beside the limbs; an A-pose."""
    p = body(arm_drop_deg=45.0)
    bones: list[Bone] = [
        ("CC_Base_BoneRoot", None, p["floor"], p["floor"] + (0.0, 0.0, 0.2)),
        ("CC_Base_Hip", "CC_Base_BoneRoot", p["pelvis"], p["spine1"]),
        ("CC_Base_Pelvis", "CC_Base_Hip", p["pelvis"], p["pelvis"] - (0.0, 0.0, 0.1)),
        ("CC_Base_Waist", "CC_Base_Hip", p["spine1"], p["spine2"]),
        ("CC_Base_Spine01", "CC_Base_Waist", p["spine2"], p["spine3"]),
        ("CC_Base_Spine02", "CC_Base_Spine01", p["spine3"], p["chest_top"]),
        ("CC_Base_NeckTwist01", "CC_Base_Spine02", p["neck"], mid(p, "neck", "head")),
        ("CC_Base_NeckTwist02", "CC_Base_NeckTwist01", mid(p, "neck", "head"), p["head"]),
        ("CC_Base_Head", "CC_Base_NeckTwist02", p["head"], p["head_top"]),
    ]
    for s, S in (("l", "L"), ("r", "R")):
        bones += [
            (f"CC_Base_{S}_Eye", "CC_Base_Head", p[f"eye_{s}"], p[f"eye_{s}"] - (0.0, 0.02, 0.0)),
            (f"CC_Base_{S}_Clavicle", "CC_Base_Spine02", p[f"clavicle_{s}"], p[f"shoulder_{s}"]),
            (f"CC_Base_{S}_Upperarm", f"CC_Base_{S}_Clavicle", p[f"shoulder_{s}"], p[f"elbow_{s}"]),
            (f"CC_Base_{S}_UpperarmTwist01", f"CC_Base_{S}_Upperarm", p[f"shoulder_{s}"], mid(p, f"shoulder_{s}", f"elbow_{s}")),
            (f"CC_Base_{S}_Forearm", f"CC_Base_{S}_Upperarm", p[f"elbow_{s}"], p[f"wrist_{s}"]),
            (f"CC_Base_{S}_ForearmTwist01", f"CC_Base_{S}_Forearm", mid(p, f"elbow_{s}", f"wrist_{s}"), p[f"wrist_{s}"]),
            (f"CC_Base_{S}_Hand", f"CC_Base_{S}_Forearm", p[f"wrist_{s}"], p[f"hand_end_{s}"]),
            (f"CC_Base_{S}_Thigh", "CC_Base_Pelvis", p[f"hip_{s}"], p[f"knee_{s}"]),
            (f"CC_Base_{S}_ThighTwist01", f"CC_Base_{S}_Thigh", p[f"hip_{s}"], mid(p, f"hip_{s}", f"knee_{s}")),
            (f"CC_Base_{S}_Calf", f"CC_Base_{S}_Thigh", p[f"knee_{s}"], p[f"ankle_{s}"]),
            (f"CC_Base_{S}_CalfTwist01", f"CC_Base_{S}_Calf", mid(p, f"knee_{s}", f"ankle_{s}"), p[f"ankle_{s}"]),
            (f"CC_Base_{S}_Foot", f"CC_Base_{S}_Calf", p[f"ankle_{s}"], p[f"ball_{s}"]),
            (f"CC_Base_{S}_ToeBase", f"CC_Base_{S}_Foot", p[f"ball_{s}"], p[f"toe_{s}"]),
        ]  # fmt: skip
    return bones


def auto_rig_pro_bones() -> list[Bone]:
    """Auto-Rig Pro deform names: root.x is the hips, shoulder.l the clavicle, leg.l the shin,
    the thigh twist between thigh and shin (so the thigh ends mid-thigh); a 30 degree A-pose."""
    p = body(arm_drop_deg=30.0)
    bones: list[Bone] = [
        ("root.x", None, p["pelvis"], p["spine1"]),
        ("spine_01.x", "root.x", p["spine1"], p["spine3"]),
        ("spine_02.x", "spine_01.x", p["spine3"], p["chest_top"]),
        ("neck.x", "spine_02.x", p["neck"], p["head"]),
        ("head.x", "neck.x", p["head"], p["head_top"]),
    ]
    for s in "lr":
        bones += [
            (f"shoulder.{s}", "spine_02.x", p[f"clavicle_{s}"], p[f"shoulder_{s}"]),
            (f"arm.{s}", f"shoulder.{s}", p[f"shoulder_{s}"], p[f"elbow_{s}"]),
            (f"forearm.{s}", f"arm.{s}", p[f"elbow_{s}"], p[f"wrist_{s}"]),
            (f"hand.{s}", f"forearm.{s}", p[f"wrist_{s}"], p[f"hand_end_{s}"]),
            (f"thigh.{s}", "root.x", p[f"hip_{s}"], mid(p, f"hip_{s}", f"knee_{s}")),
            (f"thigh_twist.{s}", f"thigh.{s}", mid(p, f"hip_{s}", f"knee_{s}"), p[f"knee_{s}"]),
            (f"leg.{s}", f"thigh_twist.{s}", p[f"knee_{s}"], p[f"ankle_{s}"]),
            (f"foot.{s}", f"leg.{s}", p[f"ankle_{s}"], p[f"ball_{s}"]),
            (f"toes_01.{s}", f"foot.{s}", p[f"ball_{s}"], p[f"toe_{s}"]),
        ]
    return bones


def mixamo_bones(prefix: str = "") -> list[Bone]:
    """Mixamo names (HeadTop_End, LeftToe_End leaves included), T-pose."""
    p = body(arm_drop_deg=0.0)
    bones: list[Bone] = [
        ("Hips", None, p["pelvis"], p["spine1"]),
        ("Spine", "Hips", p["spine1"], p["spine2"]),
        ("Spine1", "Spine", p["spine2"], p["spine3"]),
        ("Spine2", "Spine1", p["spine3"], p["chest_top"]),
        ("Neck", "Spine2", p["neck"], p["head"]),
        ("Head", "Neck", p["head"], p["head_top"]),
        ("HeadTop_End", "Head", p["head_top"], p["head_top"] + (0.0, 0.0, 0.05)),
    ]
    for side, s in (("Left", "l"), ("Right", "r")):
        bones += [
            (f"{side}Shoulder", "Spine2", p[f"clavicle_{s}"], p[f"shoulder_{s}"]),
            (f"{side}Arm", f"{side}Shoulder", p[f"shoulder_{s}"], p[f"elbow_{s}"]),
            (f"{side}ForeArm", f"{side}Arm", p[f"elbow_{s}"], p[f"wrist_{s}"]),
            (f"{side}Hand", f"{side}ForeArm", p[f"wrist_{s}"], p[f"hand_end_{s}"]),
            (f"{side}UpLeg", "Hips", p[f"hip_{s}"], p[f"knee_{s}"]),
            (f"{side}Leg", f"{side}UpLeg", p[f"knee_{s}"], p[f"ankle_{s}"]),
            (f"{side}Foot", f"{side}Leg", p[f"ankle_{s}"], p[f"ball_{s}"]),
            (f"{side}ToeBase", f"{side}Foot", p[f"ball_{s}"], p[f"toe_{s}"]),
            (f"{side}Toe_End", f"{side}ToeBase", p[f"toe_{s}"], p[f"toe_{s}"] + (0.0, -0.03, 0.0)),
        ]
    return [(prefix + n, prefix + q if q else None, h, t) for n, q, h, t in bones]


# --------------------------------------------------------------------------- bpy armatures

# An FBX import's object transform (Mixamo): rotation X 90 degrees, scale 0.01, so armature
# space is Y up in centimetres.
FBX_MATRIX = np.array(
    [[0.01, 0.0, 0.0, 0.0], [0.0, 0.0, -0.01, 0.0], [0.0, 0.01, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
)


def make_armature(name: str, bones: list[Bone], fbx: bool = False):
    """A real armature object from (name, parent, head, tail) in world Z-up metres, with bone
    rolls that differ bone to bone; ``fbx``: Mixamo's object transform, bones in its axes."""
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(obj)
    if fbx:
        obj.rotation_euler = (np.pi / 2, 0.0, 0.0)
        obj.scale = (0.01, 0.01, 0.01)
    to_armature = np.linalg.inv(FBX_MATRIX[:3, :3]) if fbx else np.eye(3)
    for other in bpy.context.view_layer.objects:
        if other is not None:  # an earlier test's removed object can linger as None
            other.select_set(False)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    bpy.ops.object.mode_set(mode="EDIT")
    edit = data.edit_bones
    for k, (bone, parent, head, tail) in enumerate(bones):
        eb = edit.new(bone)
        eb.head = to_armature @ head
        eb.tail = to_armature @ tail
        eb.roll = 0.4 * ((k % 5) - 2)
        if parent is not None:
            eb.parent = edit[parent]
    bpy.ops.object.mode_set(mode="OBJECT")
    bpy.context.view_layer.update()
    return obj


@pytest.fixture
def armature():
    made = []

    def make(name: str, bones: list[Bone], fbx: bool = False):
        made.append(make_armature(name, bones, fbx))
        return made[-1]

    yield make
    for obj in made:
        data = obj.data
        bpy.data.objects.remove(obj, do_unlink=True)
        bpy.data.armatures.remove(data)


# --------------------------------------------------------------------------- motion


def walk_left_arm_raised(num_frames: int = 60) -> np.ndarray:
    """(T, 17, 3) Blender axes (Z up, facing -Y): a walk in place whose left arm rises forward
    to above the shoulder while its elbow bends; the right arm hangs and swings."""
    y_up = walking_figure(num_frames)  # facing +z, left +x
    joints = np.stack([y_up[..., 0], -y_up[..., 2], y_up[..., 1]], -1)
    t = np.linspace(0.0, 1.0, num_frames)
    raise_angle = np.radians(150.0) * t  # about the left-right axis, forward and up
    bend = np.radians(20.0 + 50.0 * t)
    shoulder = joints[:, J["left_shoulder"]]
    for i in range(num_frames):
        turn = _rotation_x(-raise_angle[i])  # -X rotation takes "down" to "forward" (-Y)
        elbow = shoulder[i] + turn @ (joints[i, J["left_elbow"]] - shoulder[i])
        forearm = (
            turn @ _rotation_x(-bend[i]) @ (joints[i, J["left_wrist"]] - joints[i, J["left_elbow"]])
        )
        joints[i, J["left_elbow"]] = elbow
        joints[i, J["left_wrist"]] = elbow + forearm
    return joints


def _rotation_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def limb_angles_deg(rest: RestPose, rig_map: rigmaps.RigMap, result, target: np.ndarray):
    """bone -> (T,) angle between its posed Y axis and its source segment (armature space)."""
    pose = pose_world_matrices(rest, result.rotations, result.locations)
    out = {}
    for b in rig_map.bones:
        if b.direction in rest_pose.LIMB_SEGMENTS:
            a, c = (J[n] for n in b.direction)
            want = rotations.unit(target[:, c] - target[:, a])
            y = rotations.unit(pose[b.bone][:, :3, 1])
            out[b.bone] = np.degrees(np.arccos(np.clip(np.sum(y * want, -1), -1.0, 1.0)))
    return out, pose


# --------------------------------------------------------------------------- detection + solve

LIMB_PAIRS = {  # joint pair -> the bone each rig must map along it (its left and right)
    ("hip", "knee"): {"unreal": "thigh_{s}", "cc": "CC_Base_{S}_Thigh", "arp": "thigh.{s}", "mixamo": "mixamorig1:{Side}UpLeg"},
    ("knee", "ankle"): {"unreal": "calf_{s}", "cc": "CC_Base_{S}_Calf", "arp": "leg.{s}", "mixamo": "mixamorig1:{Side}Leg"},
    ("shoulder", "elbow"): {"unreal": "upperarm_{s}", "cc": "CC_Base_{S}_Upperarm", "arp": "arm.{s}", "mixamo": "mixamorig1:{Side}Arm"},
    ("elbow", "wrist"): {"unreal": "lowerarm_{s}", "cc": "CC_Base_{S}_Forearm", "arp": "forearm.{s}", "mixamo": "mixamorig1:{Side}ForeArm"},
}  # fmt: skip
TRUNK = {  # rig -> bone -> direction (root, spine, neck, head)
    "unreal": {
        "pelvis": ("right_hip", "left_hip"),
        "spine_01": ("pelvis", "spine"),
        "spine_02": ("spine", "thorax"),
        "spine_03": ("right_shoulder", "left_shoulder"),
        "neck_01": ("thorax", "head"),
        "head": ("head", "nose"),
    },
    "cc": {
        "CC_Base_Hip": ("right_hip", "left_hip"),
        "CC_Base_Waist": ("pelvis", "spine"),
        "CC_Base_Spine01": ("spine", "thorax"),
        "CC_Base_Spine02": ("right_shoulder", "left_shoulder"),
        "CC_Base_NeckTwist01": ("thorax", "head"),
        "CC_Base_Head": ("head", "nose"),
    },
    "arp": {
        "root.x": ("right_hip", "left_hip"),
        "spine_01.x": ("pelvis", "spine"),
        "spine_02.x": ("right_shoulder", "left_shoulder"),
        "neck.x": ("thorax", "head"),
        "head.x": ("head", "nose"),
    },
    "mixamo": {
        "mixamorig1:Hips": ("right_hip", "left_hip"),
        "mixamorig1:Spine": ("pelvis", "spine"),
        "mixamorig1:Spine1": ("spine", "thorax"),
        "mixamorig1:Spine2": ("right_shoulder", "left_shoulder"),
        "mixamorig1:Neck": ("thorax", "head"),
        "mixamorig1:Head": ("head", "nose"),
    },
}
RIGS: dict[str, tuple[Callable[[], list[Bone]], bool, str]] = {  # builder, fbx, family
    "unreal": (unreal_bones, False, "auto:unreal"),
    "cc": (character_creator_bones, False, "auto:character_creator"),
    "arp": (auto_rig_pro_bones, False, "auto:auto_rig_pro"),
    "mixamo": (lambda: mixamo_bones("mixamorig1:"), True, "auto:mixamo"),
}


def expected_bones(rig: str) -> dict[str, tuple[str, str]]:
    out = dict(TRUNK[rig])
    for (a, b), names in LIMB_PAIRS.items():
        for side, fields in (("left", ("l", "L", "Left")), ("right", ("r", "R", "Right"))):
            bone = names[rig].format(s=fields[0], S=fields[1], Side=fields[2])
            out[bone] = (f"{side}_{a}", f"{side}_{b}")
    return out


@pytest.mark.parametrize("rig", list(RIGS))
def test_rig_without_yaml_map_retargets_through_the_matcher(rig, armature):
    builder, fbx, family = RIGS[rig]
    obj = armature(f"auto_{rig}", builder(), fbx)
    names = [b.name for b in obj.data.bones]
    skeleton = auto_rigmap.Skeleton.from_bones(obj.data.bones)
    detected = rigmaps.detect_rig_map(names, skeleton=skeleton)
    if rig == "mixamo":  # the shipped YAML map comes first; the auto map is the fallback
        assert (detected.family, detected.prefix) == ("mixamo", "mixamorig1:")
        rig_map = auto_rigmap.rig_map_for_skeleton(skeleton)
    else:
        rig_map = detected
    assert rig_map.family == family
    assert {b.bone: b.direction for b in rig_map.bones} == expected_bones(rig)
    assert rig_map.root == next(iter(TRUNK[rig]))
    assert rig_map.warnings == ()

    joints = walk_left_arm_raised()
    matrix = np.array(obj.matrix_world)
    rest = RestPose.from_bpy_bones(obj.data.bones)
    result = retarget.solve(joints, rest, rig_map, armature_matrix=matrix)
    target = coords.to_armature_space(joints, matrix)
    angles, pose = limb_angles_deg(rest, rig_map, result, target)
    assert len(angles) == 8
    worst = {bone: float(a.max()) for bone, a in angles.items()}
    legs = {b.bone for b in rig_map.bones if b.direction[0].endswith(("hip", "knee"))}
    # a planted leg turns up to MAX_TURN_DEG more to reach the floor on the rig's proportions
    for bone, angle in worst.items():
        assert angle < 2.0 + (leg_reach.MAX_TURN_DEG if bone in legs else 0.0), worst

    # left stays left: the raised arm is the rig's left one, on the character's left
    limbs = {b.direction: b.bone for b in rig_map.bones}
    up = coords.armature_up(matrix)
    hand = {
        side: pose[limbs[(f"{side}_elbow", f"{side}_wrist")]][:, :3, 3]
        + rest[limbs[(f"{side}_elbow", f"{side}_wrist")]].length
        * pose[limbs[(f"{side}_elbow", f"{side}_wrist")]][:, :3, 1]
        for side in SIDES
    }
    raised = joints[:, J["left_wrist"], 2] > joints[:, J["right_wrist"], 2] + 0.2
    assert raised[-10:].all()
    assert np.all((hand["left"] - hand["right"])[raised] @ up > 0)
    thigh = {side: pose[limbs[(f"{side}_hip", f"{side}_knee")]][:, :3, 3] for side in SIDES}
    source_left = target[:, J["left_hip"]] - target[:, J["right_hip"]]
    assert np.all(np.sum((thigh["left"] - thigh["right"]) * source_left, -1) > 0)


def test_the_add_on_and_batch_pick_the_auto_map(armature):
    """The panel's Auto rig option and the batch's armature choice both fall back to the matcher."""
    prop = armature("a_prop", [("lid", None, np.zeros(3), np.array([0.0, 0.0, 0.3]))])
    rig = armature("unreal_character", unreal_bones())
    rig_map = scene_result.rig_map_for(rig, LiftOptions(rig="AUTO"))
    assert rig_map.family == "auto:unreal" and rig_map.root == "pelvis"
    assert presets.pick_armature([prop, rig]) is rig  # "a_prop" sorts first; no map fits it
    with pytest.raises(rigmaps.RigMapError, match="cannot place"):
        scene_result.rig_map_for(prop, LiftOptions(rig="AUTO"))


def test_auto_map_keys_play_back_in_blender(armature):
    """Blender's own evaluation of the solved channels equals the numpy forward kinematics (the
    Unreal rig: a floor root above the mapped pelvis, twist bones following their parents)."""
    obj = armature("auto_unreal_keys", unreal_bones())
    rest = RestPose.from_bpy_bones(obj.data.bones)
    rig_map = rigmaps.detect_rig_map(
        rest.names, skeleton=auto_rigmap.Skeleton.from_bones(obj.data.bones)
    )
    joints = walk_left_arm_raised()
    result = retarget.solve(joints, rest, rig_map)
    pose = pose_world_matrices(rest, result.rotations, result.locations)
    for pb in obj.pose.bones:
        pb.rotation_mode = "QUATERNION"
    for frame in (0, 30, 59):
        for name, q in result.rotations.items():
            obj.pose.bones[name].rotation_quaternion = q[frame]
        obj.pose.bones[result.root_bone].location = result.locations[result.root_bone][frame]
        bpy.context.view_layer.update()
        for name in rest.names:
            assert np.allclose(np.array(obj.pose.bones[name].matrix), pose[name][frame], atol=1e-4)


def test_rest_joints_come_from_the_matched_joints_not_bone_tails(armature):
    """Auto-Rig Pro's thigh ends at its twist bone, mid-thigh: the knee is the shin's head, so
    the leg length (and the root motion's scale) is the real one; CC's eyes give the head."""
    arp = armature("auto_arp_rest", auto_rig_pro_bones())
    rest = RestPose.from_bpy_bones(arp.data.bones)
    rig_map = auto_rigmap.rig_map_for_skeleton(auto_rigmap.Skeleton.from_bones(arp.data.bones))
    joints = retarget.rest_joint_positions(rest, rig_map)
    p = body(30.0)
    for joint, key in (
        ("left_knee", "knee_l"),
        ("right_ankle", "ankle_r"),
        ("left_wrist", "wrist_l"),
    ):
        assert np.linalg.norm(joints[J[joint]] - p[key]) * 1000 < 0.01, joint  # mm
    assert rest_pose.leg_length(joints[None])[0] == pytest.approx(0.41 + 0.42, abs=0.005)

    cc = armature("auto_cc_rest", character_creator_bones())
    rest = RestPose.from_bpy_bones(cc.data.bones)
    rig_map = auto_rigmap.rig_map_for_skeleton(auto_rigmap.Skeleton.from_bones(cc.data.bones))
    eyes = [s.bone for s in rig_map.rest_joints["head"].mean]
    assert eyes == ["CC_Base_L_Eye", "CC_Base_R_Eye"]
    head = retarget.rest_joint_positions(rest, rig_map)[J["head"]]
    assert np.allclose(head, [0.0, -0.09, 1.64], atol=1e-5)


def test_a_forearm_without_hand_takes_the_wrist_at_its_tail_and_says_so(armature):
    bones = [b for b in unreal_bones() if not b[0].startswith(("hand_", "lowerarm_twist"))]
    obj = armature("auto_no_hands", bones)
    rig_map = rigmaps.detect_rig_map(
        [b.name for b in obj.data.bones], skeleton=auto_rigmap.Skeleton.from_bones(obj.data.bones)
    )
    assert rig_map.rest_joints["left_wrist"].bone == "lowerarm_l"
    assert rig_map.rest_joints["left_wrist"].at == "tail"
    assert any(w.startswith("left_wrist = ") and "lowerarm_l" in w for w in rig_map.warnings)
    assert rig_map.bone("lowerarm_r").direction == ("right_elbow", "right_wrist")


def test_the_error_names_the_joints_the_matcher_cannot_place(armature):
    bones = [b for b in unreal_bones() if not b[0].startswith(("calf_", "foot_", "ball_"))]
    obj = armature("auto_no_shins", bones)
    names = [b.name for b in obj.data.bones]
    skeleton = auto_rigmap.Skeleton.from_bones(obj.data.bones)
    with pytest.raises(rigmaps.RigMapError) as info:
        rigmaps.detect_rig_map(names, skeleton=skeleton)
    message = str(info.value)
    assert "cannot place left_hip, left_knee, left_ankle" in message
    assert "right_knee" in message and "closest is" in message
    assert "rigs/TEMPLATE.yaml.example" in message
    # without the skeleton, detection stays the YAML maps' alone
    with pytest.raises(rigmaps.RigMapError, match="no rig map fits") as info:
        rigmaps.detect_rig_map(names)
    assert "joint matcher" not in str(info.value)


def test_parents_by_name_or_index_and_any_bone_order_give_one_map():
    bones = unreal_bones()[::-1]  # children before parents
    names = [b[0] for b in bones]
    heads = np.array([b[2] for b in bones])
    tails = np.array([b[3] for b in bones])
    by_name = auto_rigmap.rig_map_from_skeleton(names, [b[1] for b in bones], heads, tails)
    index = [names.index(b[1]) if b[1] else -1 for b in bones]
    by_index = auto_rigmap.rig_map_from_skeleton(names, index, heads, tails)
    assert by_name.bones == by_index.bones and by_name.root == "pelvis"


# --------------------------------------------------------------------------- YAML agreement


def assert_same_as_yaml(obj, family: str) -> rigmaps.RigMap:
    """The auto map maps the YAML map's bones along the same joints with the same twists."""
    names = [b.name for b in obj.data.bones]
    yaml_map = rigmaps.detect_rig_map(names)
    assert yaml_map.family == family
    auto = auto_rigmap.rig_map_for_skeleton(auto_rigmap.Skeleton.from_bones(obj.data.bones))
    assert auto.root == yaml_map.root
    assert {b.bone: b for b in auto.bones} == {b.bone: b for b in yaml_map.bones}
    assert auto.feet == yaml_map.feet and len(auto.feet) == 2  # planted flat like the YAML's
    # the limb joints the auto map names explicitly are where the YAML map's bone ends put them
    rest = RestPose.from_bpy_bones(obj.data.bones)
    up = coords.armature_up(np.array(obj.matrix_world))
    both = [retarget.rest_joint_positions(rest, m, up) for m in (yaml_map, auto)]
    limbs = [J[j] for j in auto.rest_joints if j not in ("head", "nose")]
    assert len(limbs) == 12
    assert np.allclose(both[0][limbs], both[1][limbs], atol=1e-6)
    return auto


def test_auto_map_equals_the_mixamo_yaml(armature):
    obj = armature("auto_vs_mixamo", mixamo_bones("mixamorig:"), fbx=True)
    auto = assert_same_as_yaml(obj, "mixamo")
    assert auto.family == "auto:mixamo"


def test_auto_map_equals_the_cmu_bvh_yaml():
    before = set(bpy.data.objects)
    bpy.ops.import_anim.bvh(filepath=str(EXAMPLES / "cmu_actions_train_walking_1.bvh"))
    (obj,) = set(bpy.data.objects) - before
    try:
        assert assert_same_as_yaml(obj, "cmu_bvh").family == "auto:cmu_asf"
    finally:
        bpy.data.objects.remove(obj, do_unlink=True)


def test_auto_map_equals_the_metarig_yaml_but_takes_the_head_from_the_eyes():
    import addon_utils

    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    obj = bpy.context.object
    try:
        auto = assert_same_as_yaml(obj, "blender_metarig")
        # the meta-rig has eye bones: mid-eyes, as the data pipeline takes the head joint
        assert [s.bone for s in auto.rest_joints["head"].mean] == ["eye.L", "eye.R"]
    finally:
        bpy.data.objects.remove(obj, do_unlink=True)


# --------------------------------------------------------------------------- extension


def test_the_extension_vendors_the_matcher(tmp_path, monkeypatch):
    """The built extension carries joint_matcher beside the other backend modules and the
    add-on's auto maps import it from there, not from a checkout."""
    build.stage(tmp_path / "mpm_lift_staged")
    vendored = tmp_path / "mpm_lift_staged" / "_vendor" / "mpm_backend" / "joint_matcher.py"
    assert vendored.is_file() and "from mpm_backend" not in vendored.read_text()
    monkeypatch.syspath_prepend(str(tmp_path))
    staged = importlib.import_module("mpm_lift_staged.core.auto_rigmap")
    assert staged.joint_matcher.__name__ == "mpm_lift_staged._vendor.mpm_backend.joint_matcher"
