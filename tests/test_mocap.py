"""BVH → H36M-17 clips: skeleton detection, units, axes, derived joints, frame-rate handling."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mpm_backend.skeleton import H36M17
from training.data.bvh import parse_bvh, read_bvh
from training.data.mocap import bone_length_deviation_mm, bvh_to_clip, load_clip, standing_height
from training.data.skeleton_maps import UnknownSkeletonError, detect_skeleton, load_skeleton_maps

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mocap"
WALK = EXAMPLES / "cmu_actions_train_walking_1.bvh"
DANCE = EXAMPLES / "cmu_dance_indian_06_first3s.bvh"
J = H36M17.index

# Bones of the skeleton that are rigid (both ends are real joints of one bone).
RIGID = [
    ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"),
    ("right_knee", "right_ankle"),
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"),
]

# Mixamo / MotionBuilder names of the CMU skeleton's joints (the cgspeed BVH release's names).
CMU_TO_MIXAMO = {
    "root": "Hips",
    "lfemur": "LeftUpLeg",
    "ltibia": "LeftLeg",
    "lfoot": "LeftFoot",
    "rfemur": "RightUpLeg",
    "rtibia": "RightLeg",
    "rfoot": "RightFoot",
    "lhumerus": "LeftArm",
    "lradius": "LeftForeArm",
    "lwrist": "LeftHand",
    "rhumerus": "RightArm",
    "rradius": "RightForeArm",
    "rwrist": "RightHand",
    "head": "Head",
}


def bone(joints: np.ndarray, a: str, b: str) -> np.ndarray:
    return np.linalg.norm(joints[:, J(a)] - joints[:, J(b)], axis=-1)


def test_families_are_detected_from_joint_names():
    assert detect_skeleton(read_bvh(WALK).names).family == "cmu_actions"
    assert detect_skeleton(read_bvh(DANCE).names).family == "daz"


def test_unknown_skeleton_error_names_the_closest_family_and_the_template():
    text = (
        "HIERARCHY\nROOT foo\n{\n OFFSET 0 0 0\n CHANNELS 3 Xposition Yposition Zposition\n"
        " JOINT bar\n {\n  OFFSET 0 1 0\n  CHANNELS 3 Zrotation Xrotation Yrotation\n"
        "  End Site\n  {\n   OFFSET 0 1 0\n  }\n }\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\n0 0 0 0 0 0\n"
    )
    with pytest.raises(
        UnknownSkeletonError, match=r"unknown skeleton \(joints: foo, bar\).*TEMPLATE"
    ):
        detect_skeleton(parse_bvh(text).names, "x.bvh")


def test_shipped_maps_all_load_and_name_distinct_families():
    maps = load_skeleton_maps()
    assert sorted(m.family for m in maps) == ["blender_metarig", "cmu_actions", "daz", "mixamo"]


def test_cmu_actions_clip_in_metres_y_up_left_on_plus_x():
    clip = load_clip(WALK)
    assert clip.metres_per_unit == 1.0 and clip.fps == pytest.approx(120, rel=1e-4)
    tpose = clip.joints[0] - clip.joints[0, J("pelvis")]  # the conversion's T-pose, facing +Z
    assert tpose[J("left_wrist"), 0] > 0.5 > -0.5 > tpose[J("right_wrist"), 0]
    assert (
        tpose[J("head"), 1]
        > tpose[J("thorax"), 1]
        > tpose[J("pelvis"), 1]
        > tpose[J("left_knee"), 1]
    )
    assert tpose[J("nose"), 2] > tpose[J("head"), 2]  # the nose is in front of the eyes
    # This source's median bones (metres; docs/architecture.md, "Training sources' skeletons").
    assert np.median(bone(clip.joints, "left_hip", "left_knee")) == pytest.approx(0.43, abs=0.01)
    assert np.median(bone(clip.joints, "left_knee", "left_ankle")) == pytest.approx(0.41, abs=0.01)
    assert np.median(bone(clip.joints, "left_shoulder", "left_elbow")) == pytest.approx(
        0.28, abs=0.01
    )
    assert np.median(bone(clip.joints, "left_elbow", "left_wrist")) == pytest.approx(0.19, abs=0.01)
    assert np.median(bone(clip.joints, "left_shoulder", "right_shoulder")) == pytest.approx(
        0.40, abs=0.02
    )


def test_cmu_dance_is_centimetres_and_sized_like_design_says():
    clip = load_clip(DANCE)
    assert clip.family == "daz" and clip.metres_per_unit == 0.01
    assert np.median(bone(clip.joints, "left_hip", "left_knee")) == pytest.approx(0.37, abs=0.01)
    assert np.median(bone(clip.joints, "left_knee", "left_ankle")) == pytest.approx(0.45, abs=0.01)
    assert np.median(bone(clip.joints, "left_elbow", "left_wrist")) == pytest.approx(0.24, abs=0.01)
    assert np.median(bone(clip.joints, "left_shoulder", "right_shoulder")) == pytest.approx(
        0.23, abs=0.02
    )
    tpose = clip.joints[0] - clip.joints[0, J("pelvis")]
    assert tpose[J("left_wrist"), 0] > 0.5 > -0.5 > tpose[J("right_wrist"), 0]


def test_derived_joints_follow_the_common_rules():
    joints = load_clip(WALK).joints
    np.testing.assert_allclose(
        joints[:, J("pelvis")], 0.5 * (joints[:, J("left_hip")] + joints[:, J("right_hip")])
    )
    np.testing.assert_allclose(
        joints[:, J("thorax")],
        0.5 * (joints[:, J("left_shoulder")] + joints[:, J("right_shoulder")]),
    )
    np.testing.assert_allclose(
        joints[:, J("spine")], 0.5 * (joints[:, J("pelvis")] + joints[:, J("thorax")])
    )


def test_rigid_bones_keep_their_length_and_heights_are_human():
    for path in (WALK, DANCE):
        clip = load_clip(path, skip_frames=1)
        deviations = bone_length_deviation_mm(clip.joints)
        for a, b in RIGID:
            assert deviations[f"{H36M17.joints[H36M17.parents[J(b)]]}-{b}"] < 0.01, (path, a, b)
        assert 1.3 < standing_height(clip) < 1.7


def test_units_are_inferred_whatever_the_file_unit():
    bvh = read_bvh(WALK)
    reference = bvh_to_clip(bvh).joints
    position_columns = [i for i, c in enumerate(bvh.channels[0]) if c.endswith("position")]
    for unit_scale in (100.0, 1000.0, 1 / 0.0254):  # cm, mm, inches
        scaled = read_bvh(WALK)
        scaled.offsets = scaled.offsets * unit_scale
        scaled.motion[:, position_columns] *= unit_scale
        np.testing.assert_allclose(bvh_to_clip(scaled).joints, reference, atol=1e-6)


def test_mixamo_names_with_namespace_give_the_same_joints(tmp_path):
    text = WALK.read_text()
    for cmu, mixamo in CMU_TO_MIXAMO.items():
        text = re.sub(rf"\b(ROOT|JOINT) {cmu}\b", rf"\1 mixamorig:{mixamo}", text)
    renamed = parse_bvh(text, "renamed.bvh")
    clip = bvh_to_clip(renamed)
    assert clip.family == "mixamo"
    np.testing.assert_allclose(clip.joints, load_clip(WALK).joints, atol=1e-9)


def test_manifest_fps_overrides_a_wrong_header():
    # Pretend the header's 120 fps is wrong and the clip was really captured at 60 fps:
    # the clip then lasts twice as long and resampling to 30 fps gives twice the frames.
    header = load_clip(WALK, target_fps=30)
    true = load_clip(WALK, fps=60, target_fps=30)
    assert true.fps == header.fps == 30
    assert true.seconds == pytest.approx(2 * header.seconds, rel=0.02)
    np.testing.assert_allclose(true.joints[::2][: len(header.joints)], header.joints, atol=1e-9)


def test_resampling_to_30_fps_takes_every_fourth_frame():
    full = load_clip(WALK, skip_frames=1)
    at30 = load_clip(WALK, skip_frames=1, target_fps=30)
    np.testing.assert_allclose(at30.joints, full.joints[::4][: len(at30.joints)], atol=1e-9)
    assert len(at30.joints) == (len(full.joints) - 1) // 4 + 1
