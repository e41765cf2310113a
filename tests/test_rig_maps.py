"""Rig maps against real rigs: every shipped family detected from its bone names, a missing
bone named, left kept left in every map, and Blender's own evaluation of a meta-rig walk and a
generated Rigify rig (bpy wheel) against the numpy solve.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blender_addon.core import leg_reach, rest_pose, retarget, rigmaps, rotations
from blender_addon.core.coords import JOINT_INDEX as J
from blender_addon.core.retarget import RestPose, pose_world_matrices
from tests.test_retarget_core import make_rig

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mocap"
PREFIX = "mixamorig:"


RIGIFY_NAMES = (
    [
        "root",
        "torso",
        "hips",
        "chest",
        "neck",
        "head",
        "spine_fk",
        "spine_fk.001",
        "spine_fk.002",
        "spine_fk.003",
        "MCH-spine",
        "DEF-spine",
        "DEF-spine.001",
        "DEF-spine.006",
        "ORG-spine",
        "DEF-thigh.L",
        "DEF-shin.L",
        "DEF-upper_arm.L",
        "DEF-forearm.L",
        "DEF-thigh.R",
        "DEF-shin.R",
        "DEF-upper_arm.R",
        "DEF-forearm.R",
        "ORG-thigh.L",
        "shoulder.L",
        "shoulder.R",
        "breast.L",
    ]
    + [
        f"{b}_{k}.{s}"
        for b in ("thigh", "shin", "upper_arm", "forearm")
        for k in ("fk", "ik")
        for s in "LR"
    ]
    + [
        "thigh_parent.L",
        "thigh_parent.R",
        "upper_arm_parent.L",
        "upper_arm_parent.R",
    ]
)
METARIG_NAMES = [
    "spine",
    "spine.001",
    "spine.002",
    "spine.003",
    "spine.004",
    "spine.005",
    "spine.006",
    "shoulder.L",
    "upper_arm.L",
    "forearm.L",
    "hand.L",
    "shoulder.R",
    "upper_arm.R",
    "forearm.R",
    "hand.R",
    "thigh.L",
    "shin.L",
    "foot.L",
    "toe.L",
    "thigh.R",
    "shin.R",
    "foot.R",
    "toe.R",
    "pelvis.L",
    "pelvis.R",
    "breast.L",
    "breast.R",
]
MIXAMO_NAMES = [
    "Hips",
    "Spine",
    "Spine1",
    "Spine2",
    "Neck",
    "Head",
    "HeadTop_End",
    "LeftShoulder",
    "LeftArm",
    "LeftForeArm",
    "LeftHand",
    "RightShoulder",
    "RightArm",
    "RightForeArm",
    "RightHand",
    "LeftUpLeg",
    "LeftLeg",
    "LeftFoot",
    "LeftToeBase",
    "RightUpLeg",
    "RightLeg",
    "RightFoot",
    "RightToeBase",
]
CMU_ASF_NAMES = [
    "root",
    "lhipjoint",
    "lfemur",
    "ltibia",
    "lfoot",
    "ltoes",
    "rhipjoint",
    "rfemur",
    "rtibia",
    "rfoot",
    "rtoes",
    "lowerback",
    "upperback",
    "thorax",
    "lowerneck",
    "upperneck",
    "head",
    "lclavicle",
    "lhumerus",
    "lradius",
    "lwrist",
    "lhand",
    "rclavicle",
    "rhumerus",
    "rradius",
    "rwrist",
    "rhand",
]
CMU_MB_NAMES = [
    "Hips",
    "LHipJoint",
    "LeftUpLeg",
    "LeftLeg",
    "LeftFoot",
    "LeftToeBase",
    "RHipJoint",
    "RightUpLeg",
    "RightLeg",
    "RightFoot",
    "RightToeBase",
    "LowerBack",
    "Spine",
    "Spine1",
    "Neck",
    "Neck1",
    "Head",
    "LeftShoulder",
    "LeftArm",
    "LeftForeArm",
    "LeftHand",
    "RightShoulder",
    "RightArm",
    "RightForeArm",
    "RightHand",
]
DAZ_NAMES = [
    "hip",
    "abdomen",
    "chest",
    "neck",
    "head",
    "leftEye",
    "rightEye",
    "lCollar",
    "lShldr",
    "lForeArm",
    "lHand",
    "rCollar",
    "rShldr",
    "rForeArm",
    "rHand",
    "lButtock",
    "lThigh",
    "lShin",
    "lFoot",
    "rButtock",
    "rThigh",
    "rShin",
    "rFoot",
]


@pytest.mark.parametrize(
    ("names", "family", "prefix"),
    [
        (METARIG_NAMES, "blender_metarig", ""),
        (RIGIFY_NAMES, "rigify", ""),
        (MIXAMO_NAMES, "mixamo", ""),
        (["mixamorig:" + n for n in MIXAMO_NAMES], "mixamo", "mixamorig:"),
        (["mixamorig7:" + n for n in MIXAMO_NAMES], "mixamo", "mixamorig7:"),
        (CMU_ASF_NAMES, "cmu_bvh", ""),
        (CMU_MB_NAMES, "cmu_motionbuilder", ""),
        (DAZ_NAMES, "daz", ""),
    ],
)
def test_detect_family(names, family, prefix):
    rig_map = rigmaps.detect_rig_map(names)
    assert rig_map.family == family
    assert rig_map.prefix == prefix
    assert all(b.bone in names for b in rig_map.bones)
    assert all(b in names for b in rig_map.feet)  # feet the armature lacks are dropped


def test_missing_bone_is_named():
    names = [n for n in MIXAMO_NAMES if n != "LeftForeArm"]
    mixamo = rigmaps.builtin_rig_maps()["mixamo"]
    with pytest.raises(rigmaps.RigMapError, match="LeftForeArm") as info:
        rigmaps.resolve(mixamo, names)
    assert "mixamo" in str(info.value)
    # detection with a detect bone gone names the closest family and the bone
    with pytest.raises(rigmaps.RigMapError, match="mixamo.*LeftForeArm"):
        rigmaps.detect_rig_map(names)
    # the solver refuses an armature that lacks a mapped bone
    rest = make_rig(prefix="")
    keep = [b for b in rest.bones if b.name != "LeftHand"]
    broken = RestPose(b for b in keep if b.name != "LeftForeArm")
    with pytest.raises(rigmaps.RigMapError, match="LeftForeArm"):
        retarget.solve(np.zeros((2, 17, 3)), broken, mixamo)


def test_custom_map_from_path(tmp_path):
    template = Path(rigmaps.builtin_rig_dir()) / "TEMPLATE.yaml.example"
    text = template.read_text()
    path = tmp_path / "my_rig.yaml"
    path.write_text(text)
    custom = rigmaps.load_rig_map(path)
    assert custom.family and custom.root in custom.bone_names
    assert rigmaps.rig_map_by_name(path).family == custom.family
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "family: bad\nroot: Hips\nbones:\n  Hips: {direction: [pelvis, chin], twist: {line: [right_hip, left_hip]}}\n"
    )
    with pytest.raises(rigmaps.RigMapError, match="chin"):
        rigmaps.load_rig_map(bad)


def _side_of(bone: str) -> str | None:
    bare = bone.rsplit(":", 1)[-1]
    if "Left" in bare or bare.endswith((".L", "_L")) or (bare[0] == "l" and bare[1:2].isupper()):
        return "left"
    if "Right" in bare or bare.endswith((".R", "_R")) or (bare[0] == "r" and bare[1:2].isupper()):
        return "right"
    if bare[0] in "lr" and bare[1:] in ("femur", "tibia", "humerus", "radius"):  # CMU ASF
        return "left" if bare[0] == "l" else "right"
    return None


def test_every_shipped_map_keeps_left_left():
    maps = rigmaps.builtin_rig_maps()
    assert {"blender_metarig", "rigify", "mixamo", "cmu_bvh", "cmu_motionbuilder"} <= set(maps)
    for rig_map in maps.values():
        assert rig_map.root in rig_map.bone_names
        limbs = 0
        for b in rig_map.bones:
            sides = {n.split("_")[0] for n in b.direction + b.twist.joint_names}
            sides &= {"left", "right"}
            if b.direction in rest_pose.LIMB_SEGMENTS:
                limbs += 1
                assert sides == {_side_of(b.bone)}, (rig_map.family, b.bone)
        assert limbs == 8, rig_map.family


# --------------------------------------------------------------------------- real rest poses (bpy)


@pytest.fixture(scope="module")
def metarig():
    bpy = pytest.importorskip("bpy")
    import addon_utils

    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    obj = bpy.context.object
    yield bpy, obj
    bpy.data.objects.remove(obj, do_unlink=True)


def walking_z_up() -> np.ndarray:
    from training.data.mocap import load_clip

    clip = load_clip(EXAMPLES / "cmu_actions_train_walking_1.bvh", skip_frames=1)
    y_up = clip.joints
    return np.stack([y_up[..., 0], -y_up[..., 2], y_up[..., 1]], -1)  # Y up -> Z up


def test_metarig_walk_matches_blender(metarig):
    bpy, obj = metarig
    rest = RestPose.from_bpy_bones(obj.data.bones)
    rig_map = rigmaps.detect_rig_map(rest.names)
    assert rig_map.family == "blender_metarig"
    joints = walking_z_up()
    result = retarget.solve(joints, rest, rig_map)
    pose = pose_world_matrices(rest, result.rotations, result.locations)
    # bone directions against the source's joint directions
    errors = []
    for b in rig_map.bones:
        if b.direction in rest_pose.LIMB_SEGMENTS:
            a, c = (J[n] for n in b.direction)
            want = rotations.unit(joints[:, c] - joints[:, a])
            errors.append(
                np.degrees(np.arccos(np.clip(np.sum(pose[b.bone][:, :3, 1] * want, -1), -1, 1)))
            )
    assert np.median(np.concatenate(errors)) < 3.0
    # Blender's own evaluation of the keyed channels equals the numpy forward kinematics
    for pb in obj.pose.bones:
        pb.rotation_mode = "QUATERNION"
    for frame in (0, 120, 300):
        for name, q in result.rotations.items():
            obj.pose.bones[name].rotation_quaternion = q[frame]
        obj.pose.bones[result.root_bone].location = result.locations[result.root_bone][frame]
        bpy.context.view_layer.update()
        for name in [*rest.names[:40], *rig_map.feet, "toe.L", "heel.02.R"]:
            assert np.allclose(
                np.array(obj.pose.bones[name].matrix), pose[name][frame], atol=1e-4
            ), name
    # feet on the floor, root travelling as the source scaled by the leg ratio
    posed = retarget.posed_joint_positions(rest, rig_map, pose)
    lowest = min(posed["left_ankle"][:, 2].min(), posed["right_ankle"][:, 2].min())
    assert abs(lowest - result.rest_joints[J["left_ankle"], 2]) < 0.01
    travel = posed["left_hip"][-1, :2] - posed["left_hip"][0, :2]
    src = joints[-1, J["left_hip"], :2] - joints[0, J["left_hip"], :2]
    assert np.allclose(travel, result.scale * src, atol=0.05)


@pytest.mark.slow
def test_generated_rigify_fk_controls_drive_the_deform_chain(metarig):
    """Generate a Rigify rig (about 5 s), set the map's properties (FK, neck/head follow), key
    the solved FK controls: Blender's own evaluation puts the ORG limb bones along the source's
    limbs and the controls where the numpy forward kinematics says."""
    bpy, _ = metarig  # rigify enabled; a fresh, unposed meta-rig to generate from
    before = set(bpy.data.objects)
    bpy.ops.object.armature_human_metarig_add()
    meta = bpy.context.object
    bpy.ops.object.mode_set(mode="POSE")
    bpy.ops.pose.rigify_generate()
    bpy.ops.object.mode_set(mode="OBJECT")
    rig = next(
        o for o in bpy.data.objects if o not in before and o is not meta and o.type == "ARMATURE"
    )
    try:
        rest = RestPose.from_bpy_bones(rig.data.bones)
        rig_map = rigmaps.detect_rig_map(rest.names)
        assert rig_map.family == "rigify"
        for bone, props in rig_map.properties.items():
            for key, value in props.items():
                rig.pose.bones[bone][key] = value
        joints = walking_z_up()
        result = retarget.solve(joints, rest, rig_map)
        pose = pose_world_matrices(
            rest, result.rotations, result.locations, bones=[*rig_map.bone_names, *rig_map.feet]
        )
        for name in result.rotations:
            rig.pose.bones[name].rotation_mode = "QUATERNION"
        planted = [int(np.argmax(result.contacts[:, k])) for k in (0, 1)]
        for frame in (0, 150, 300, *planted):
            for name, q in result.rotations.items():
                rig.pose.bones[name].rotation_quaternion = q[frame]
            rig.pose.bones[result.root_bone].location = result.locations[result.root_bone][frame]
            bpy.context.view_layer.update()
            for name in [*rig_map.bone_names, *rig_map.feet]:
                assert np.allclose(
                    np.array(rig.pose.bones[name].matrix), pose[name][frame], atol=1e-4
                ), name
            # the FK foot controls drive the ORG feet: planted, the sole keeps its rest slope,
            # or rolls down onto its toes where the ankle stands higher than a flat foot reaches
            for foot, org in (("foot_fk.L", "ORG-foot.L"), ("foot_fk.R", "ORG-foot.R")):
                y = np.array(rig.pose.bones[org].matrix)[:3, 1]
                assert np.allclose(y, result.world_rotations[foot][frame][:, 1], atol=1e-4)
                # its toes bend by the FK toe control (not the mechanism bone above it)
                toe, org_toe = foot.replace("foot", "toe"), org.replace("foot", "toe")
                toe_y = np.array(rig.pose.bones[org_toe].matrix)[:3, 1]
                assert np.allclose(toe_y, result.world_rotations[toe][frame][:, 1], atol=1e-4)
                assert f"MCH-{toe}" not in result.rotations
                if result.foot_weights[frame, int(rig_map.feet[foot] == "right")] == 1.0:
                    rest_y = np.array(rig.data.bones[org].matrix_local)[:3, 1]
                    assert y[2] < rest_y[2] + 1e-4, org
            for org, (a, b) in {
                "ORG-thigh.L": ("left_hip", "left_knee"),
                "ORG-shin.R": ("right_knee", "right_ankle"),
                "ORG-upper_arm.L": ("left_shoulder", "left_elbow"),
                "ORG-forearm.R": ("right_elbow", "right_wrist"),
            }.items():
                y = np.array(rig.pose.bones[org].matrix)[:3, 1]
                want = rotations.unit(joints[frame, J[b]] - joints[frame, J[a]])
                reach = leg_reach.MAX_TURN_DEG if a.endswith(("hip", "knee")) else 0.0  # planted
                assert np.degrees(np.arccos(np.clip(y @ want, -1, 1))) < 0.5 + reach, org
    finally:
        for obj in set(bpy.data.objects) - before:
            bpy.data.objects.remove(obj, do_unlink=True)
