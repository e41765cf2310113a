"""The joint matcher finds limb joints, head, eyes and rest axes from names + hierarchy alone.

Each convention gets a small rig with its real names, hierarchy and plausible rest positions
(built from one humanoid template below), and the test asserts which names are chosen.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mpm_backend.joint_matcher import SkeletonMatchError, match_skeleton, parse_name
from mpm_backend.skeleton import H36M17
from training.data.bvh import parse_bvh, read_bvh
from training.data.mocap import bone_length_deviation_mm, bvh_to_clip, load_clip, standing_height
from training.data.skeleton_maps import (
    DIRECT_JOINTS,
    MAPS_DIR,
    SkeletonMap,
    UnknownSkeletonError,
    detect_skeleton,
    rest_positions,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "mocap"
WALK = EXAMPLES / "cmu_actions_train_walking_1.bvh"
J = H36M17.index

# A humanoid at rest, canonical axes (x left, y up, z forward), metres: role -> (parent, offset).
# "{s}" roles exist per side; x offsets are mirrored for the right side.
TEMPLATE: dict[str, tuple[str | None, tuple[float, float, float]]] = {
    "root": (None, (0.0, 0.95, 0.0)),
    "spine": ("root", (0.0, 0.1, 0.0)),
    "chest": ("spine", (0.0, 0.25, 0.0)),
    "neck": ("chest", (0.0, 0.15, 0.0)),
    "head": ("neck", (0.0, 0.12, 0.0)),
    "face": ("head", (0.0, 0.05, 0.03)),
    "head_end": ("head", (0.0, 0.18, 0.0)),
    "eye_{s}": ("face", (0.03, 0.02, 0.05)),
    "pelvis": ("root", (0.0, 0.0, 0.0)),
    "hipbone_{s}": ("pelvis", (0.0, 0.0, 0.0)),
    "hip_{s}": ("hipbone_{s}", (0.1, -0.05, 0.0)),
    "thigh_twist_{s}": ("hip_{s}", (0.0, -0.2, 0.0)),
    "knee_{s}": ("hip_{s}", (0.0, -0.42, 0.0)),
    "calf_twist_{s}": ("knee_{s}", (0.0, -0.2, 0.0)),
    "ankle_{s}": ("knee_{s}", (0.0, -0.40, 0.0)),
    "toe_{s}": ("ankle_{s}", (0.0, -0.05, 0.12)),
    "heel_{s}": ("ankle_{s}", (0.0, -0.05, -0.05)),
    "breast_{s}": ("chest", (0.1, 0.1, 0.1)),
    "clavicle_{s}": ("chest", (0.03, 0.2, 0.0)),
    "shoulder_{s}": ("clavicle_{s}", (0.15, 0.0, 0.0)),
    "upper_twist_{s}": ("shoulder_{s}", (0.14, 0.0, 0.0)),
    "elbow_{s}": ("shoulder_{s}", (0.28, 0.0, 0.0)),
    "fore_twist_{s}": ("elbow_{s}", (0.12, 0.0, 0.0)),
    "wrist_{s}": ("elbow_{s}", (0.25, 0.0, 0.0)),
    "hand_{s}": ("wrist_{s}", (0.08, 0.0, 0.0)),
    "fingers_{s}": ("hand_{s}", (0.06, 0.0, 0.0)),
}
SIDE_FIELDS = {
    "left": {"side": "left", "Side": "Left", "s": "l", "S": "L"},
    "right": {"side": "right", "Side": "Right", "s": "r", "S": "R"},
}


def build(naming: dict[str, str], parents: dict[str, str] | None = None):
    """(names, parents, rest) of the template's roles present in `naming` (role -> name format).

    A role's parent is its nearest present ancestor, or the role named in `parents` (twist bones
    in between). Positions are absolute, so leaving roles out never moves the others.
    """
    parents = parents or {}
    roles, position = [], {}
    for role, (parent, offset) in TEMPLATE.items():
        for side in ("left", "right") if "{s}" in role else (None,):
            name = role.replace("{s}", side[0]) if side else role
            sign = -1.0 if side == "right" else 1.0
            up = parent.replace("{s}", side[0]) if (parent and side) else parent
            base = position[up] if up else np.zeros(3)
            position[name] = base + np.array(offset) * (sign, 1.0, 1.0)
            roles.append((name, role, side, up))
    names, index, parent_index, rest = [], {}, [], []
    for name, role, side, up in roles:
        if role not in naming:
            continue
        forced = parents.get(role)
        if forced:
            up = forced.replace("{s}", side[0]) if side else forced
        while up is not None and up not in index:
            up = next(r[3] for r in roles if r[0] == up)
        index[name] = len(names)
        names.append(naming[role].format(**SIDE_FIELDS[side]) if side else naming[role])
        parent_index.append(index[up] if up is not None else -1)
        rest.append(position[name])
    return names, np.array(parent_index), np.array(rest)


def chosen(names, parents, rest) -> dict[str, str]:
    match = match_skeleton(names, parents, rest)
    return {**match.joint_names(), "head": names[match.head]}


def expect(naming: dict[str, str], **extra: str) -> dict[str, str]:
    """The names the matcher must pick: the template roles hip..wrist and head of `naming`."""
    roles = {
        "hip": "hip",
        "knee": "knee",
        "ankle": "ankle",
        "shoulder": "shoulder",
        "elbow": "elbow",
        "wrist": "wrist",
    }
    out = {
        f"{side}_{joint}": naming[f"{role}_{{s}}"].format(**SIDE_FIELDS[side])
        for side in ("left", "right")
        for joint, role in roles.items()
    }
    out["head"] = naming["head"]
    out.update(extra)
    return out


def sided(**roles: str) -> dict[str, str]:
    return {f"{role}_{{s}}": name for role, name in roles.items()}


CMU_ASF = {
    "root": "root",
    "spine": "lowerback",
    "chest": "upperback",
    "neck": "lowerneck",
    "head": "head",
    **sided(
        hipbone="{s}hipjoint",
        hip="{s}femur",
        knee="{s}tibia",
        ankle="{s}foot",
        toe="{s}toes",
        clavicle="{s}clavicle",
        shoulder="{s}humerus",
        elbow="{s}radius",
        wrist="{s}wrist",
        hand="{s}hand",
        fingers="{s}fingers",
    ),
}
CMU_3DSMAX = {
    "root": "Hips",
    "chest": "Chest",
    "neck": "Neck",
    "head": "Head",
    **sided(
        hip="{Side}Hip",
        knee="{Side}Knee",
        ankle="{Side}Ankle",
        toe="{Side}Toe",
        clavicle="{Side}Collar",
        shoulder="{Side}Shoulder",
        elbow="{Side}Elbow",
        wrist="{Side}Wrist",
    ),
}
MIXAMO = {
    "root": "Hips",
    "spine": "Spine",
    "chest": "Spine1",
    "neck": "Neck",
    "head": "Head",
    "head_end": "HeadTop_End",
    **sided(
        eye="{Side}Eye",
        hip="{Side}UpLeg",
        knee="{Side}Leg",
        ankle="{Side}Foot",
        toe="{Side}ToeBase",
        clavicle="{Side}Shoulder",
        shoulder="{Side}Arm",
        elbow="{Side}ForeArm",
        wrist="{Side}Hand",
        fingers="{Side}HandIndex1",
    ),
}
DAZ = {
    "root": "hip",
    "spine": "abdomen",
    "chest": "chest",
    "neck": "neck",
    "head": "head",
    **sided(
        eye="{side}Eye",
        hipbone="{s}Buttock",
        hip="{s}Thigh",
        knee="{s}Shin",
        ankle="{s}Foot",
        clavicle="{s}Collar",
        shoulder="{s}Shldr",
        elbow="{s}ForeArm",
        wrist="{s}Hand",
        fingers="{s}Index1",
    ),
}
METARIG = {
    "root": "spine",
    "spine": "spine.001",
    "chest": "spine.003",
    "neck": "spine.004",
    "head": "spine.006",
    "face": "face",
    **sided(
        eye="eye.{S}",
        hipbone="pelvis.{S}",
        hip="thigh.{S}",
        knee="shin.{S}",
        ankle="foot.{S}",
        toe="toe.{S}",
        heel="heel.02.{S}",
        breast="breast.{S}",
        clavicle="shoulder.{S}",
        shoulder="upper_arm.{S}",
        elbow="forearm.{S}",
        wrist="hand.{S}",
    ),
}
REACTIDLE = {
    "root": "pelvis",
    "spine": "spine",
    "chest": "spine.001",
    "neck": "neck",
    "head": "face",
    "head_end": "face_end",
    **sided(
        hipbone="pelvis.{S}",
        hip="thigh.{S}",
        knee="shin.{S}",
        ankle="foot.{S}",
        toe="foot.{S}_end",
        clavicle="shoulder.{S}",
        shoulder="upper_arm.{S}",
        elbow="forearm.{S}",
        wrist="forearm.{S}_end",
    ),
}
UNREAL = {
    "root": "pelvis",
    "spine": "spine_01",
    "chest": "spine_02",
    "neck": "neck_01",
    "head": "head",
    **sided(
        hip="thigh_{s}",
        thigh_twist="thigh_twist_01_{s}",
        knee="calf_{s}",
        calf_twist="calf_twist_01_{s}",
        ankle="foot_{s}",
        toe="ball_{s}",
        clavicle="clavicle_{s}",
        shoulder="upperarm_{s}",
        upper_twist="upperarm_twist_01_{s}",
        elbow="lowerarm_{s}",
        fore_twist="lowerarm_twist_01_{s}",
        wrist="hand_{s}",
    ),
}
CHARACTER_CREATOR = {
    "root": "CC_Base_Hip",
    "pelvis": "CC_Base_Pelvis",
    "spine": "CC_Base_Waist",
    "chest": "CC_Base_Spine02",
    "neck": "CC_Base_NeckTwist01",
    "head": "CC_Base_Head",
    **sided(
        eye="CC_Base_{S}_Eye",
        hip="CC_Base_{S}_Thigh",
        thigh_twist="CC_Base_{S}_ThighTwist01",
        knee="CC_Base_{S}_Calf",
        ankle="CC_Base_{S}_Foot",
        toe="CC_Base_{S}_ToeBase",
        clavicle="CC_Base_{S}_Clavicle",
        shoulder="CC_Base_{S}_Upperarm",
        upper_twist="CC_Base_{S}_UpperarmTwist01",
        elbow="CC_Base_{S}_Forearm",
        fore_twist="CC_Base_{S}_ForearmTwist01",
        wrist="CC_Base_{S}_Hand",
    ),
}
AUTO_RIG_PRO = {
    "root": "root.x",
    "spine": "spine_01.x",
    "chest": "spine_02.x",
    "neck": "neck.x",
    "head": "head.x",
    **sided(
        hip="thigh.{s}",
        thigh_twist="thigh_twist.{s}",
        knee="leg.{s}",
        ankle="foot.{s}",
        toe="toes_01.{s}",
        clavicle="shoulder.{s}",
        shoulder="arm.{s}",
        elbow="forearm.{s}",
        wrist="hand.{s}",
    ),
}
BIPED = {
    "root": "Bip01 Pelvis",
    "spine": "Bip01 Spine",
    "neck": "Bip01 Neck",
    "head": "Bip01 Head",
    **sided(
        hip="Bip01 {S} Thigh",
        knee="Bip01 {S} Calf",
        ankle="Bip01 {S} Foot",
        clavicle="Bip01 {S} Clavicle",
        shoulder="Bip01 {S} UpperArm",
        elbow="Bip01 {S} Forearm",
        wrist="Bip01 {S} Hand",
    ),
}


def _prefixed(naming: dict[str, str], prefix: str) -> dict[str, str]:
    return {role: prefix + name for role, name in naming.items()}


CONVENTIONS = [  # (id, naming, parent overrides, convention, expected extras)
    ("cmu_asf", CMU_ASF, {}, "cmu_asf", {}),
    ("cmu_3dsmax", CMU_3DSMAX, {}, "cmu_3dsmax", {}),
    ("mixamo", MIXAMO, {}, "mixamo", {}),
    ("mixamo_namespace", _prefixed(MIXAMO, "mixamorig:"), {}, "mixamo", {}),
    ("mixamo_namespace1", _prefixed(MIXAMO, "mixamorig1:"), {}, "mixamo", {}),
    ("humanik", _prefixed(MIXAMO, "Character1_"), {}, "humanik", {}),
    ("daz", DAZ, {}, "daz", {}),
    ("metarig", METARIG, {}, "rigify", {}),
    ("rigify_def", _prefixed(METARIG, "DEF-"), {}, "rigify", {}),
    ("reactidle", REACTIDLE, {}, "rigify", {}),
    ("unreal", UNREAL, {}, "unreal", {}),
    # Character Creator: the twist bone sits between thigh and calf.
    (
        "character_creator",
        CHARACTER_CREATOR,
        {"knee_{s}": "thigh_twist_{s}", "elbow_{s}": "upper_twist_{s}"},
        "character_creator",
        {},
    ),
    ("auto_rig_pro", AUTO_RIG_PRO, {"knee_{s}": "thigh_twist_{s}"}, "auto_rig_pro", {}),
    ("3dsmax_biped", BIPED, {}, "3dsmax_biped", {}),
]


@pytest.mark.parametrize(
    "naming,parents,convention,extra", [c[1:] for c in CONVENTIONS], ids=[c[0] for c in CONVENTIONS]
)
def test_each_convention_finds_the_joints_at_the_anatomical_joints(
    naming, parents, convention, extra
):
    names, parent_index, rest = build(naming, parents)
    match = match_skeleton(names, parent_index, rest)
    assert match.convention == convention
    assert chosen(names, parent_index, rest) == expect(naming, **extra)
    assert set(match.joints) == set(DIRECT_JOINTS)
    # The template is Y up, facing +Z, left on +X: the canonical frame itself.
    np.testing.assert_array_equal(match.to_canonical, np.eye(3))


def test_eyes_are_found_below_the_head_when_present():
    for naming in (MIXAMO, DAZ, METARIG, CHARACTER_CREATOR):
        names, parents, rest = build(naming)
        match = match_skeleton(names, parents, rest)
        left = naming["eye_{s}"].format(**SIDE_FIELDS["left"])
        right = naming["eye_{s}"].format(**SIDE_FIELDS["right"])
        assert match.eyes is not None and [names[i] for i in match.eyes] == [left, right]
    names, parents, rest = build(CMU_ASF)
    assert match_skeleton(names, parents, rest).eyes is None


def test_metarig_head_is_spine_006_not_the_face_bone():
    names, parents, rest = build(METARIG)
    assert names[match_skeleton(names, parents, rest).head] == "spine.006"


def test_reactidle_wrist_is_the_forearm_end_site_with_a_note():
    names, parents, rest = build(REACTIDLE)
    match = match_skeleton(names, parents, rest)
    assert names[match.joints["left_wrist"]] == "forearm.L_end"
    assert "forearm.L" in match.notes["left_wrist"] and "end site" in match.notes["left_wrist"]
    assert names[match.head] == "face" and "head" not in match.notes


def test_auto_rig_pro_prefers_the_deform_chain_over_ref_and_controller_copies():
    names, parents, rest = build(AUTO_RIG_PRO, {"knee_{s}": "thigh_twist_{s}"})
    count = len(names)
    all_names, all_parents, all_rest = list(names), list(parents), [rest]
    for rename in (
        lambda n: re.sub(r"\.([lrx])$", r"_ref.\1", n),
        lambda n: "c_" + re.sub(r"\.([lrx])$", r"_fk.\1", n),
    ):
        all_names += [rename(n) for n in names]
        all_parents += [p + len(all_parents) - len(names) if p >= 0 else -1 for p in parents]
        all_rest.append(rest)
    assert len(all_names) == 3 * count
    picked = chosen(all_names, np.array(all_parents), np.concatenate(all_rest))
    assert picked == expect(AUTO_RIG_PRO)


@pytest.mark.parametrize(
    "style",
    [
        "{part}.{S}",
        "{part}_{S}",
        "{S}_{part}",
        "{Side}{part}",
        "{side}_{part}",
        "{part}_{s}",
        "{part}{Side}",
        "{s}{part}",
        "Bip01_{S}_{part}",
    ],
)
def test_side_spellings(style):
    parts = dict(
        hip="Thigh",
        knee="Shin",
        ankle="Foot",
        clavicle="Clavicle",
        shoulder="UpperArm",
        elbow="ForeArm",
        wrist="Hand",
    )
    naming = {"root": "Hips", "chest": "Chest", "head": "Head"}
    naming.update({f"{role}_{{s}}": style.replace("{part}", part) for role, part in parts.items()})
    names, parents, rest = build(naming)
    assert chosen(names, parents, rest) == expect(naming)


def test_name_rules():
    assert parse_name("mixamorig1:LeftUpLeg") == parse_name("LeftUpLeg")
    info = parse_name("CC_Base_L_UpperarmTwist01")
    assert info.side == "left" and info.excluded
    assert (parse_name("lfemur").side, parse_name("lfemur").key) == ("left", "femur")
    assert parse_name("lowerback").side is None  # "l" + "owerback" is no side
    assert parse_name("Armature|DEF-thigh.R").key == "thigh"
    assert parse_name("c_thigh_fk.l").decorations > parse_name("thigh.l").decorations
    assert parse_name("thigh_twist_01_l").excluded and parse_name("MCH-thigh.L").excluded
    assert parse_name("LHipJoint").key == "hipjoint"  # CMU's pelvis bone, not the hip joint


def test_rotated_file_axes_are_found_and_snapped():
    names, parents, rest = build(MIXAMO)
    # Blender's Z up, facing -Y, left on +X: canonical (x, y, z) -> file (x, -z, y).
    to_file = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    tilt = np.radians(10)  # a sloppy rest pose: still snapped
    tilted = np.array(
        [[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]]
    )
    match = match_skeleton(names, parents, rest @ tilted.T @ to_file.T * 100.0)  # centimetres
    np.testing.assert_array_equal(match.up, [0, 0, 1])
    np.testing.assert_array_equal(match.left, [1, 0, 0])
    np.testing.assert_array_equal(match.forward, [0, -1, 0])
    np.testing.assert_array_equal(match.to_canonical @ to_file, np.eye(3))
    # A 35 degree lean is not snapped; the frame stays orthonormal and right-handed.
    lean = np.radians(35)
    leaned = np.array(
        [[np.cos(lean), -np.sin(lean), 0], [np.sin(lean), np.cos(lean), 0], [0, 0, 1]]
    )
    frame = match_skeleton(names, parents, rest @ leaned.T).to_canonical
    np.testing.assert_allclose(frame @ frame.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(frame) == pytest.approx(1.0)
    np.testing.assert_allclose(frame[1], leaned[:, 1], atol=1e-12)  # up follows the lean


def test_axes_agree_with_the_yaml_maps_to_canonical():
    yaml_map = SkeletonMap.from_yaml(MAPS_DIR / "blender_metarig.yaml")  # Z up, facing -Y
    names, parents, rest = build(METARIG)
    to_file = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    match = match_skeleton(names, parents, rest @ to_file.T)
    np.testing.assert_array_equal(match.to_canonical, yaml_map.to_canonical)


def test_a_mirrored_file_is_consistent_and_defines_left():
    names, parents, rest = build(MIXAMO)
    match = match_skeleton(names, parents, rest * (-1.0, 1.0, 1.0))
    assert names[match.joints["left_hip"]] == "LeftUpLeg"
    np.testing.assert_array_equal(match.left, [-1, 0, 0])
    np.testing.assert_array_equal(match.forward, [0, 0, -1])


def test_left_hip_and_left_shoulder_on_opposite_sides_is_an_error():
    names, parents, rest = build(MIXAMO)
    arms = [i for i, n in enumerate(names) if re.search("Shoulder|Arm|Hand", n)]
    rest = rest.copy()
    rest[arms, 0] *= -1.0
    with pytest.raises(SkeletonMatchError, match="opposite sides"):
        match_skeleton(names, parents, rest)


def test_missing_joint_error_names_it_its_candidates_and_the_template():
    naming = {k: v for k, v in MIXAMO.items() if k != "wrist_{s}"}
    names, parents, rest = build(naming)
    with pytest.raises(SkeletonMatchError) as err:
        match_skeleton(names, parents, rest)
    message = str(err.value)
    assert "left_wrist" in message and "right_wrist" in message and "left_hip" not in message
    assert "TEMPLATE.yaml.example" in message
    assert isinstance(err.value, ValueError)


def test_a_knee_outside_the_hips_subtree_is_dropped():
    names, parents, rest = build(MIXAMO)
    parents = parents.copy()
    parents[names.index("LeftLeg")] = names.index("Hips")  # the knee no longer under the hip
    with pytest.raises(SkeletonMatchError, match=r"left_hip.*UpLeg"):
        match_skeleton(names, parents, rest)


def test_matcher_imports_without_torch_yaml_or_training():
    code = (
        "import sys, mpm_backend.joint_matcher; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'yaml', 'training', 'scipy')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# -- integration with the data pipeline --------------------------------------------------------


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.bvh")), ids=lambda p: p.stem)
def test_matcher_gives_the_same_clips_as_the_yaml_maps(path):
    with_yaml = load_clip(path)
    matched = load_clip(path, maps=[])
    assert matched.family == ("daz" if "dance" in path.stem else "cmu_asf")
    assert matched.metres_per_unit == with_yaml.metres_per_unit
    np.testing.assert_allclose(matched.joints, with_yaml.joints, rtol=0, atol=1e-9)


UNREAL_NAMES = {
    "root": "pelvis",
    "lfemur": "thigh_l",
    "ltibia": "calf_l",
    "lfoot": "foot_l",
    "lclavicle": "clavicle_l",
    "lhumerus": "upperarm_l",
    "lradius": "lowerarm_l",
    "lwrist": "hand_l",
    "rfemur": "thigh_r",
    "rtibia": "calf_r",
    "rfoot": "foot_r",
    "rclavicle": "clavicle_r",
    "rhumerus": "upperarm_r",
    "rradius": "lowerarm_r",
    "rwrist": "hand_r",
}


def test_a_file_no_yaml_map_knows_is_loaded_through_the_matcher():
    text = WALK.read_text()
    for cmu, unreal in UNREAL_NAMES.items():
        text = re.sub(rf"\b(ROOT|JOINT) {cmu}\b", rf"\1 {unreal}", text)
    bvh = parse_bvh(text, "unreal.bvh")
    clip = bvh_to_clip(bvh)
    assert clip.family == "unreal"
    np.testing.assert_allclose(clip.joints, load_clip(WALK).joints, rtol=0, atol=1e-9)
    skeleton_map = detect_skeleton(
        bvh.names, "unreal.bvh", parents=bvh.parents, rest=rest_positions(bvh.parents, bvh.offsets)
    )
    assert skeleton_map.joints["left_wrist"] == ("hand_l",) and skeleton_map.units is None
    assert skeleton_map.eyes.joint == ("head",) and skeleton_map.eyes.offset == (0.0, 0.07, 0.08)


def test_unknown_skeleton_error_says_what_the_matcher_could_not_place():
    text = WALK.read_text()
    for cmu in ("lfemur", "rfemur"):
        text = re.sub(rf"\bJOINT {cmu}\b", f"JOINT {cmu[0]}_leg_top", text)
    bvh = parse_bvh(text, "x.bvh")
    rest = rest_positions(bvh.parents, bvh.offsets)
    with pytest.raises(UnknownSkeletonError) as err:
        detect_skeleton(bvh.names, "x.bvh", None, bvh.parents, rest)
    message = str(err.value)
    assert "lacks lfemur" in message and "left_hip" in message and "TEMPLATE" in message


def test_rest_positions_sum_offsets_down_the_tree():
    parents = np.array([-1, 0, 1, 0])
    offsets = np.array([[1.0, 2, 3], [0, 1, 0], [0, 0, 2], [5, 0, 0]])
    np.testing.assert_array_equal(
        rest_positions(parents, offsets), [[1, 2, 3], [1, 3, 3], [1, 3, 5], [6, 2, 3]]
    )


@pytest.mark.parametrize("name", ["acted/001_acted.bvh", "genuine/014_genuine.bvh"])
def test_reactidle_loads_with_the_wrist_at_the_forearm_end(mocap_dir, name):
    path = mocap_dir / "reactidle" / name
    if not path.is_file():
        pytest.skip(f"{path} not found")
    clip = load_clip(path)
    assert clip.family == "rigify" and clip.metres_per_unit == 1.0
    assert 1.2 <= standing_height(clip) <= 1.8
    # The wrist is the forearm's end site: the elbow-wrist distance is the end site's offset.
    bvh = read_bvh(path)
    end = bvh.offsets[bvh.names.index("forearm.L_end")]
    forearm = np.linalg.norm(
        clip.joints[:, J("left_wrist")] - clip.joints[:, J("left_elbow")], axis=-1
    )
    np.testing.assert_allclose(forearm, np.linalg.norm(end), atol=1e-9)
    # Left on the left in every frame: on +x (the canonical left) and on the body's own left,
    # up x forward, with forward from the head to the nose (H36M head is mid-eyes).
    up = clip.joints[:, J("head")] - clip.joints[:, J("pelvis")]
    body_left = np.cross(up, clip.joints[:, J("nose")] - clip.joints[:, J("head")])
    for a, b in (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")):
        across = clip.joints[:, J(a)] - clip.joints[:, J(b)]
        assert np.all(across[:, 0] > 0) and np.all(np.sum(across * body_left, axis=-1) > 0), a
    deviation = bone_length_deviation_mm(clip.joints)
    for side in ("left", "right"):
        for a, b in (("hip", "knee"), ("knee", "ankle"), ("shoulder", "elbow"), ("elbow", "wrist")):
            assert deviation[f"{side}_{a}-{side}_{b}"] < 1e-3, (side, a, b)  # mm


def test_two_equally_good_legs_on_one_side_are_ambiguous():
    names, parents, rest = build(MIXAMO)
    extra = {"L_Thigh": "LeftUpLeg", "L_Shin": "LeftLeg", "L_Foot": "LeftFoot"}
    names, parents, rest = list(names), list(parents), list(rest)
    for new, like in extra.items():
        i = names.index(like)
        parent = names.index("Hips") if new == "L_Thigh" else len(names) - 1
        names.append(new)
        parents.append(parent)
        rest.append(rest[i] + (0.05, 0.0, 0.0))
    with pytest.raises(SkeletonMatchError, match=r"ambiguous left leg: .*LeftUpLeg.*L_Thigh"):
        match_skeleton(names, np.array(parents), np.array(rest))
