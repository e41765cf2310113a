"""The retargeting core (blender_addon.core: coords, rigmaps, retarget) without Blender, plus a
check against Blender's own pose evaluation through the bpy wheel.

A synthetic Mixamo-named rig is posed with known rotations; its joints are retargeted onto rigs
with another rest pose (A-pose vs T-pose), other bone rolls and other proportions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blender_addon.core import coords, retarget, rigmaps, rotations
from blender_addon.core.coords import JOINT_INDEX as J
from blender_addon.core.retarget import RestPose, pose_world_matrices, quaternion_to_matrix

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mocap"
PREFIX = "mixamorig:"


# --------------------------------------------------------------------------- synthetic rigs


def _rot(axis, angle):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    x, y, z = axis
    c, s, t = np.cos(angle), np.sin(angle), 1 - np.cos(angle)
    return np.array(
        [
            [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
            [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
            [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
        ]
    )


def make_rig(
    arm_drop_deg: float = 0.0,
    roll: float = 0.0,
    size: float = 1.0,
    leg_scale: float = 1.0,
    prefix: str = PREFIX,
    thigh: float = 0.44,
) -> RestPose:
    """A Mixamo-named human armature, Z up, facing -Y, feet on Z = 0.

    arm_drop_deg: 0 gives a T-pose, 45 an A-pose; roll: added to every bone's roll (radians,
    alternating sign so the rolls differ between bones); size: uniform scale; leg_scale: legs
    only (and the body raised so the feet stay on the floor); thigh: of the 0.85 m leg, the
    rest is the shin.
    """
    leg = 0.85 * leg_scale
    hip_z = leg + 0.08
    bones = []

    def add(name, parent, head, tail, r=0.0):
        k = len(bones)
        bones.append(
            (
                prefix + name,
                None if parent is None else prefix + parent,
                size * np.asarray(head, float),
                size * np.asarray(tail, float),
                r + roll * (1 if k % 2 else -1),
            )
        )

    add("Hips", None, (0, 0.0, hip_z), (0, 0.0, hip_z + 0.1), 0.2)
    add("Spine", "Hips", (0, 0.0, hip_z + 0.1), (0, 0.01, hip_z + 0.22))
    add("Spine1", "Spine", (0, 0.01, hip_z + 0.22), (0, 0.01, hip_z + 0.34))
    add("Spine2", "Spine1", (0, 0.01, hip_z + 0.34), (0, 0.0, hip_z + 0.48))
    add("Neck", "Spine2", (0, 0.0, hip_z + 0.5), (0, -0.01, hip_z + 0.58))
    add("Head", "Neck", (0, -0.01, hip_z + 0.58), (0, -0.01, hip_z + 0.78))
    shoulder_z = hip_z + 0.47
    drop = np.radians(arm_drop_deg)
    for side, sx in (("Left", 1.0), ("Right", -1.0)):
        add(
            f"{side}Shoulder",
            "Spine2",
            (sx * 0.03, 0.0, shoulder_z - 0.03),
            (sx * 0.17, 0.0, shoulder_z),
            0.5,
        )
        along = np.array([sx * np.cos(drop), 0.0, -np.sin(drop)])
        s0 = np.array([sx * 0.17, 0.0, shoulder_z])
        elbow, wrist, hand = s0 + 0.28 * along, s0 + 0.52 * along, s0 + 0.6 * along
        add(f"{side}Arm", f"{side}Shoulder", s0, elbow, 1.1)
        add(f"{side}ForeArm", f"{side}Arm", elbow, wrist, -0.7)
        add(f"{side}Hand", f"{side}ForeArm", wrist, hand)
        hip = np.array([sx * 0.1, 0.0, hip_z - 0.02])
        knee = hip + [0, 0.0, -thigh * leg_scale]
        ankle = knee + [0, 0.01, -(0.85 - thigh) * leg_scale]
        add(f"{side}UpLeg", "Hips", hip, knee, 0.3)
        add(f"{side}Leg", f"{side}UpLeg", knee, ankle, -0.4)
        add(f"{side}Foot", f"{side}Leg", ankle, ankle + [0, -0.12, -0.06])
        add(f"{side}ToeBase", f"{side}Foot", ankle + [0, -0.12, -0.06], ankle + [0, -0.18, -0.06])
    return RestPose.from_head_tail_roll(bones)


def mixamo_map(prefix: str = PREFIX) -> rigmaps.RigMap:
    return rigmaps.builtin_rig_maps()["mixamo"].with_prefix(prefix)


def known_motion(rest: RestPose, num: int = 240, fps: float = 30.0, prefix: str = PREFIX):
    """Basis quaternions (bone -> (T, 4)) and the root location of a walking-like motion with
    elbows and knees bending about their anatomical hinges, an asymmetric arm pose, a turn."""
    t = np.arange(num) / fps
    w = 2 * np.pi * 0.8 * t
    rotations = {}

    def hinge(bone, world_axis, angles):
        local_axis = rest.rotation(bone).T @ np.asarray(world_axis, float)
        mats = np.stack([_rot(local_axis, a) for a in angles])
        rotations[bone] = retarget.matrix_to_quaternion(mats)

    p = prefix
    hinge(p + "Hips", (0, 0, 1), 0.6 * np.sin(0.5 * w))  # turning left and right
    hinge(p + "Spine", (1, 0, 0), 0.15 * np.sin(w))
    hinge(p + "Spine1", (0, 0, 1), 0.2 * np.sin(w + 0.3))
    hinge(p + "Neck", (1, 0.3, 0), 0.2 * np.sin(w))
    hinge(p + "Head", (0, 0, 1), 0.4 * np.sin(0.7 * w))
    for side, sx, phase in (("Left", 1, 0.0), ("Right", -1, np.pi)):
        hinge(f"{p}{side}UpLeg", (1, 0, 0), -0.5 * np.sin(w + phase))
        hinge(f"{p}{side}Leg", (1, 0, 0), 0.15 + 0.6 * (1 + np.sin(w + phase + 1.0)))
        # the left arm raised forward and up, the right arm hanging: left/right asymmetric
        lift = 1.0 if side == "Left" else -1.2
        hinge(f"{p}{side}Arm", (0, 1, 0), sx * (-lift) + 0.3 * np.sin(w + phase))
        hinge(f"{p}{side}ForeArm", (0, 0, -sx), 0.3 + 0.5 * (1 + np.sin(w + phase)))
    travel = np.stack([0.3 * np.sin(0.5 * w), -1.2 * t, 0.03 * np.sin(2 * w)], -1)  # world
    location = travel @ rest.rotation(p + "Hips")  # the Hips bone's local axes
    return rotations, location


def source_joints(rest, rig_map, rotations, location):
    """H36M-17 joints of a posed rig, made the way the training data makes them."""
    pose = pose_world_matrices(rest, rotations, location, root_bone=rig_map.root)
    limbs = retarget.posed_joint_positions(rest, rig_map, pose)
    rest_joints = retarget.rest_joint_positions(rest, rig_map)
    num = len(location)
    out = np.zeros((num, 17, 3))
    for name, value in limbs.items():
        out[:, J[name]] = value
    out[:, J["pelvis"]] = 0.5 * (out[:, J["left_hip"]] + out[:, J["right_hip"]])
    out[:, J["thorax"]] = 0.5 * (out[:, J["left_shoulder"]] + out[:, J["right_shoulder"]])
    out[:, J["spine"]] = 0.5 * (out[:, J["pelvis"]] + out[:, J["thorax"]])
    head = rig_map.bone("Head" if not rig_map.prefix else rig_map.prefix + "Head").bone
    m = pose[head] @ np.linalg.inv(rest[head].matrix_local)
    for name in ("head", "nose"):
        p = np.append(rest_joints[J[name]], 1.0)
        out[:, J[name]] = (m @ p)[:, :3]
    return out, pose


def rig_joints(rest, rig_map, result):
    pose = pose_world_matrices(rest, result.rotations, result.locations)
    return retarget.posed_joint_positions(rest, rig_map, pose), pose


def step_angles(rotations: np.ndarray) -> np.ndarray:
    """Angle (degrees) between consecutive (T, 3, 3) rotations."""
    rel = np.einsum("tji,tjk->tik", rotations[:-1], rotations[1:])
    cos = (np.trace(rel, axis1=1, axis2=2) - 1) / 2
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


@pytest.fixture(scope="module")
def scene():
    source_rest = make_rig(arm_drop_deg=0.0, roll=0.0)  # T-pose
    rig_map = mixamo_map()
    rotations, location = known_motion(source_rest)
    joints, source_pose = source_joints(source_rest, rig_map, rotations, location)
    return source_rest, rig_map, joints, source_pose


# --------------------------------------------------------------------------- synthetic round trips

LIMBS = {
    "LeftUpLeg": ("left_hip", "left_knee"),
    "LeftLeg": ("left_knee", "left_ankle"),
    "RightUpLeg": ("right_hip", "right_knee"),
    "RightLeg": ("right_knee", "right_ankle"),
    "LeftArm": ("left_shoulder", "left_elbow"),
    "LeftForeArm": ("left_elbow", "left_wrist"),
    "RightArm": ("right_shoulder", "right_elbow"),
    "RightForeArm": ("right_elbow", "right_wrist"),
}


SOURCE_FLOOR = 0.06  # the synthetic rigs' ankle height when standing


def joint_errors_mm(posed, joints):
    return {
        n: float(np.linalg.norm(p - joints[:, J[n]], axis=-1).max()) * 1000
        for n, p in posed.items()
    }


def test_a_pose_rig_reproduces_t_pose_source(scene):
    source_rest, rig_map, joints, _ = scene
    target_rest = make_rig(arm_drop_deg=45.0, roll=0.9)  # A-pose, other rolls
    result = retarget.solve(joints, target_rest, rig_map, source_floor=SOURCE_FLOOR)
    posed, pose = rig_joints(target_rest, rig_map, result)
    assert result.scale == pytest.approx(1.0, abs=1e-9)
    worst = joint_errors_mm(posed, joints)
    legs = [n for n in worst if "hip" in n or "knee" in n or "ankle" in n]
    assert max(worst[n] for n in legs) < 1.0, worst
    # the arms hang from a spine whose bending three collinear trunk joints cannot show: the
    # shoulders may be off by a little, the arm segments themselves are exact
    assert max(worst.values()) < 2.0, worst
    for side in ("left", "right"):
        for a, b in (("shoulder", "elbow"), ("elbow", "wrist")):
            seg = posed[f"{side}_{b}"] - posed[f"{side}_{a}"]
            want = joints[:, J[f"{side}_{b}"]] - joints[:, J[f"{side}_{a}"]]
            assert np.max(np.linalg.norm(seg - want, axis=-1)) < 1e-3
    for bone, (a, b) in LIMBS.items():
        y = pose[PREFIX + bone][:, :3, 1]
        want = rotations.unit(joints[:, J[b]] - joints[:, J[a]])
        angle = np.degrees(np.arccos(np.clip(np.sum(y * want, -1), -1, 1)))
        assert angle.max() < 1.0, bone


def test_rigid_trunk_round_trip_is_exact():
    """Where the source's spine does not bend, every joint is reproduced within 1 mm."""
    source_rest = make_rig()
    rig_map = mixamo_map()
    rotations, location = known_motion(source_rest)
    rotations = {k: v for k, v in rotations.items() if not k.endswith(("Spine", "Spine1"))}
    joints, _ = source_joints(source_rest, rig_map, rotations, location)
    target_rest = make_rig(arm_drop_deg=45.0, roll=0.9)
    result = retarget.solve(joints, target_rest, rig_map, source_floor=SOURCE_FLOOR)
    posed, _ = rig_joints(target_rest, rig_map, result)
    worst = joint_errors_mm(posed, joints)
    assert max(worst.values()) < 1.0, worst


def posed_eyes_and_nose(rest, rig_map, result):
    """(T, 3) each: where the rig's head bone carries its rest eyes and nose."""
    pose = pose_world_matrices(rest, result.rotations, result.locations)
    head = PREFIX + "Head"
    m = pose[head] @ np.linalg.inv(rest[head].matrix_local)
    rest_joints = retarget.rest_joint_positions(rest, rig_map)
    return [(m @ np.append(rest_joints[J[n]], 1.0))[:, :3] for n in ("head", "nose")]


def test_neck_fit_puts_eyes_and_nose_back():
    """The neck turns about its base, not about the chest joint its direction starts from: the
    neck fit aims it so the eyes and nose land where the source's are (issue 5's round trip had
    them 2-3 cm off), while the head keeps its solved world rotation."""
    source_rest = make_rig()
    rig_map = mixamo_map()
    rotations, location = known_motion(source_rest)  # the neck tilts, the head turns
    rotations = {k: v for k, v in rotations.items() if not k.endswith(("Spine", "Spine1"))}
    joints, _ = source_joints(source_rest, rig_map, rotations, location)
    target_rest = make_rig(arm_drop_deg=45.0, roll=0.9)
    results = {
        fit: retarget.solve(joints, target_rest, rig_map, source_floor=SOURCE_FLOOR, fit_neck=fit)
        for fit in (False, True)
    }
    errors = {}
    for fit, result in results.items():
        got = posed_eyes_and_nose(target_rest, rig_map, result)
        errors[fit] = max(
            float(np.linalg.norm(g - joints[:, J[n]], axis=-1).max()) * 1000
            for g, n in zip(got, ("head", "nose"), strict=True)
        )
    assert errors[False] > 5.0  # what the fit is for
    assert errors[True] < 0.5, errors
    head, neck = PREFIX + "Head", PREFIX + "Neck"
    assert np.allclose(  # the head keeps its solved rotation; the neck turns smoothly
        results[True].world_rotations[head], results[False].world_rotations[head], atol=1e-9
    )
    assert step_angles(results[True].world_rotations[neck]).max() < 5.0


def test_quaternions_continuous_and_no_flips(scene):
    _, rig_map, joints, _ = scene
    target_rest = make_rig(arm_drop_deg=45.0, roll=0.9)
    result = retarget.solve(joints, target_rest, rig_map)
    for bone, q in result.rotations.items():
        assert np.all(np.isfinite(q))
        assert np.allclose(np.linalg.norm(q, axis=-1), 1.0)
        assert np.min(np.sum(q[1:] * q[:-1], axis=-1)) > 0, bone  # no sign flips
        # smooth motion in, smooth rotations out: no frame turns a bone by more than 10 deg
        assert step_angles(quaternion_to_matrix(q)).max() < 10.0, bone


def test_twist_follows_the_hinge(scene):
    """No twisted forearms: the forearm turns about the elbow's hinge only, so its twist about
    its own axis relative to the upper arm stays at the rest pose's; same for the shin."""
    _, rig_map, joints, _ = scene
    target_rest = make_rig(arm_drop_deg=45.0, roll=0.9)
    result = retarget.solve(joints, target_rest, rig_map)
    _, pose = rig_joints(target_rest, rig_map, result)
    limbs = {
        ("LeftArm", "LeftForeArm"): ("left_shoulder", "left_elbow", "left_wrist"),
        ("RightArm", "RightForeArm"): ("right_shoulder", "right_elbow", "right_wrist"),
        ("LeftUpLeg", "LeftLeg"): ("left_hip", "left_knee", "left_ankle"),
    }
    for (upper, lower), (a, b, c) in limbs.items():
        u, f = PREFIX + upper, PREFIX + lower
        rel_rest = target_rest.rotation(u).T @ target_rest.rotation(f)
        rel = np.einsum("tji,tjk->tik", pose[u][:, :3, :3], pose[f][:, :3, :3])
        change = np.einsum("ji,tjk->tik", rel_rest, rel)  # forearm's rotation from its rest
        # twist about the forearm's own Y axis (swing-twist decomposition)
        q = retarget.matrix_to_quaternion(change)
        twist = np.degrees(2 * np.arctan2(np.abs(q[:, 2]), np.abs(q[:, 0])))
        assert twist.max() < 1.0, (upper, twist.max())
        # the elbow's bend plane stays fixed in the upper arm's own frame: the rig's elbow
        # crease keeps facing the way the limb bends
        normal = rotations.unit(
            np.cross(joints[:, J[b]] - joints[:, J[a]], joints[:, J[c]] - joints[:, J[b]])
        )
        local = np.einsum("tji,tj->ti", pose[u][:, :3, :3], normal)
        spread = np.degrees(
            np.arccos(np.clip(local @ local.mean(0) / np.linalg.norm(local.mean(0)), -1, 1))
        )
        assert spread.max() < 1.0, (upper, spread.max())


def test_left_stays_left(scene):
    _, rig_map, joints, _ = scene
    # the source's left arm is raised, its right arm hangs
    assert np.mean(joints[:, J["left_wrist"], 2] > joints[:, J["right_wrist"], 2]) > 0.9
    result = retarget.solve(joints, make_rig(arm_drop_deg=45.0, roll=0.9), rig_map)
    posed, _ = rig_joints(make_rig(arm_drop_deg=45.0, roll=0.9), rig_map, result)
    assert np.mean(posed["left_wrist"][:, 2] > posed["right_wrist"][:, 2]) > 0.9
    for name in ("left_wrist", "right_wrist", "left_ankle", "right_ankle"):
        assert np.max(np.linalg.norm(posed[name] - joints[:, J[name]], axis=-1)) < 0.003


def test_root_moves_as_the_source_scaled(scene):
    _, rig_map, joints, _ = scene
    big = make_rig(arm_drop_deg=30.0, roll=-0.4, size=1.25)  # a taller character, cm-free
    result = retarget.solve(joints, big, rig_map)
    assert result.scale == pytest.approx(1.25, rel=1e-6)
    posed, pose = rig_joints(big, rig_map, result)
    pelvis = 0.5 * (posed["left_hip"] + posed["right_hip"])
    src = joints[:, J["pelvis"]]
    travel = pelvis[:, :2] - pelvis[:1, :2]
    assert np.allclose(travel, 1.25 * (src[:, :2] - src[:1, :2]), atol=1e-6)
    # feet still on the floor: the rig's lowest ankle is at its own rest ankle height
    rest_ankle = result.rest_joints[J["left_ankle"], 2]
    lowest = min(posed["left_ankle"][:, 2].min(), posed["right_ankle"][:, 2].min())
    assert lowest == pytest.approx(rest_ankle, abs=0.01)
    # other leg proportions: the root follows the leg-length ratio
    long_legs = make_rig(leg_scale=1.2)
    result = retarget.solve(joints, long_legs, rig_map)
    assert result.scale == pytest.approx(1.2, rel=0.01)
    # root motion off: the root's location stays at rest
    still = retarget.solve(joints, big, rig_map, root_motion=False)
    assert np.allclose(still.locations[still.root_bone], 0.0)


def test_armature_object_transform(scene):
    """A Mixamo FBX import: object rotated 90 deg about X, scaled 0.01, bones in centimetres."""
    _, rig_map, joints, _ = scene
    cm_rig = make_rig(arm_drop_deg=45.0, roll=0.9, size=100.0)
    # bake the FBX-like axis change into the rest pose: armature Y up
    to_y_up = np.eye(4)
    to_y_up[:3, :3] = _rot((1, 0, 0), -np.pi / 2)
    bones = [
        retarget.RestBone(
            b.name,
            b.parent,
            to_y_up @ b.matrix_local,
            to_y_up[:3, :3] @ b.head,
            to_y_up[:3, :3] @ b.tail,
            b.length,
        )
        for b in cm_rig.bones
    ]
    y_up_rig = RestPose(bones)
    matrix_world = np.eye(4)
    matrix_world[:3, :3] = 0.01 * _rot((1, 0, 0), np.pi / 2)
    result = retarget.solve(
        joints, y_up_rig, rig_map, armature_matrix=matrix_world, source_floor=SOURCE_FLOOR
    )
    same = retarget.solve(
        joints, make_rig(arm_drop_deg=45.0, roll=0.9), rig_map, source_floor=SOURCE_FLOOR
    )
    posed, _ = rig_joints(y_up_rig, rig_map, result)
    reference, _ = rig_joints(make_rig(arm_drop_deg=45.0, roll=0.9), rig_map, same)
    for name, p in posed.items():
        world = p @ matrix_world[:3, :3].T  # back to world metres
        assert np.max(np.linalg.norm(world - reference[name], axis=-1)) < 1e-6, name


def test_degenerate_frames_stay_finite_and_continuous(scene):
    _, rig_map, joints, _ = scene
    joints = joints.copy()
    num = len(joints)
    # frames 60-99: the left arm straight (no bend plane); 120-129: the forearm collapsed
    sh, el, wr = J["left_shoulder"], J["left_elbow"], J["left_wrist"]
    straight = slice(60, 100)
    direction = rotations.unit(joints[straight, el] - joints[straight, sh])
    joints[straight, wr] = joints[straight, el] + 0.24 * direction
    joints[120:130, wr] = joints[120:130, el]
    joints[140, :] = joints[140, J["pelvis"]]  # one frame with every joint at one point
    target_rest = make_rig(arm_drop_deg=45.0, roll=0.9)
    result = retarget.solve(joints, target_rest, rig_map)
    for bone, q in result.rotations.items():
        assert np.all(np.isfinite(q)), bone
        assert np.min(np.sum(q[1:] * q[:-1], axis=-1)) > 0, bone
    assert np.all(np.isfinite(result.locations[result.root_bone]))
    upper = quaternion_to_matrix(result.rotations[PREFIX + "LeftArm"])
    steps = step_angles(upper)
    # entering and leaving the straight stretch: no jump (the twist is carried, not reset)
    assert steps[55:105].max() < 15.0, steps[55:105].max()
    assert len(steps) == num - 1


def test_straight_arm_all_clip_uses_canonical_twist():
    """A rig whose rest arms and whose whole clip have straight arms: the twist comes from the
    canonical bend on both sides, so a T-pose source on a T-pose rig gives identity."""
    rest = make_rig(arm_drop_deg=0.0, roll=0.3)
    rig_map = mixamo_map()
    rest_joints = retarget.rest_joint_positions(rest, rig_map)
    joints = np.repeat(rest_joints[None], 5, axis=0)
    result = retarget.solve(joints, rest, rig_map)
    for bone, q in result.rotations.items():
        assert np.allclose(np.abs(q[:, 0]), 1.0, atol=1e-6), bone


def test_fk_matches_pose_formula():
    """pose_world_matrices is Blender's pose: parent pose x rest offset x basis."""
    rest = make_rig(roll=0.5)
    rotations, location = known_motion(rest, num=3)
    pose = pose_world_matrices(rest, rotations, location, root_bone=PREFIX + "Hips")
    arm, fore = PREFIX + "LeftArm", PREFIX + "LeftForeArm"
    basis = np.eye(4)
    basis[:3, :3] = quaternion_to_matrix(rotations[fore][1])
    expected = (
        pose[arm][1] @ np.linalg.inv(rest[arm].matrix_local) @ rest[fore].matrix_local @ basis
    )
    assert np.allclose(pose[fore][1], expected)


def test_quaternion_helpers_round_trip():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(100, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    m = quaternion_to_matrix(q)
    back = retarget.matrix_to_quaternion(m)
    assert np.allclose(np.abs(np.sum(back * q, -1)), 1.0)
    flipped = q.copy()
    flipped[::2] *= -1
    smooth = retarget.quaternion_continuity(
        np.repeat(q[:1], 10, 0) * np.where(np.arange(10) % 2, -1, 1)[:, None]
    )
    assert np.all(np.sum(smooth[1:] * smooth[:-1], -1) > 0)


def test_bone_matrix_from_roll_matches_blender_convention():
    m = retarget.bone_matrix_from_head_tail_roll(np.zeros(3), np.array([0, 0, 1.0]), 0.0)
    # a bone pointing up with no roll: Y along +Z, Z along -Y (Blender's convention)
    assert np.allclose(m[:, 1], [0, 0, 1])
    assert np.allclose(m[:, 2], [0, -1, 0])
    rolled = retarget.bone_matrix_from_head_tail_roll(np.zeros(3), np.array([0, 0, 1.0]), np.pi / 2)
    assert np.allclose(rolled[:, 1], [0, 0, 1])
    assert np.allclose(np.linalg.det(rolled), 1.0)


# --------------------------------------------------------------------------- coords


def test_camera_to_blender_axes():
    # camera: x right, y down, z forward; a person in front of the camera, facing it
    cam = np.array([[0.2, -1.0, 3.0]])  # right of centre, above the axis, 3 m away
    assert np.allclose(coords.camera_to_blender(cam), [[0.2, 3.0, 1.0]])
    assert np.allclose(coords.blender_to_camera(coords.camera_to_blender(cam)), cam)
    assert np.isclose(np.linalg.det(coords.CAMERA_TO_BLENDER), 1.0)


def test_camera_clip_to_blender_axes_and_root():
    rest = make_rig()
    rig_map = mixamo_map()
    rest_joints = retarget.rest_joint_positions(rest, rig_map)
    # the rig's rest pose as the backend would send it: camera frame, root-relative
    cam = coords.blender_to_camera(rest_joints - rest_joints[J["pelvis"]])
    cam = np.repeat(cam[None], 4, 0)
    root = np.array([[0.0, 0.2, 3.0], [0.1, 0.2, 3.0], [0.2, 0.2, 3.1], [0.3, 0.2, 3.2]])
    world = coords.camera_clip_to_blender(cam, root)
    assert np.allclose(world[:, J["pelvis"], 0], [0.0, 0.1, 0.2, 0.3])  # camera x -> X
    assert np.allclose(world[:, J["pelvis"], 1], [3.0, 3.0, 3.1, 3.2])  # depth -> Y
    assert np.allclose(world[:, J["pelvis"], 2], -0.2)  # camera y (down) -> -Z
    # facing -Y, left on +X
    assert world[0, J["left_hip"], 0] > world[0, J["right_hip"], 0]
    assert world[0, J["nose"], 1] < world[0, J["head"], 1] + 1e-9
