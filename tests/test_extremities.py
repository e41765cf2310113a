"""Hands and feet from the detector's own points (blender_addon.core.extremities), on Blender's
Human meta-rig (real bpy): a CMU walk with known hands and feet added, projected through a known
perspective camera into a BlazePose-33 track; the keyed hands and feet must point where the
truth does, follow the forearm where the points go missing, and never pop.
"""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

import addon_utils  # noqa: E402

from blender_addon import result  # noqa: E402
from blender_addon.core import extremities, retarget, rigmaps  # noqa: E402
from blender_addon.core.coords import JOINT_INDEX as J  # noqa: E402
from blender_addon.core.extremities import TrackPoints  # noqa: E402
from blender_addon.core.rotations import unit  # noqa: E402
from blender_addon.jobs import LiftOptions  # noqa: E402
from mpm_backend.skeleton import BLAZEPOSE33, BODY25, COCO17  # noqa: E402
from tests.test_feet import step_angles, walking  # noqa: E402

HANDS = {"hand.L": "left", "hand.R": "right"}
FEET = {"foot.L": "left", "foot.R": "right"}
SPEED = np.degrees(extremities.MAX_SPEED)  # degrees a second
GAP = slice(40, 70)  # frames where the left hand's points are missing
# The camera: 7 m in front (-Y) of the walk's middle, 1.3 m up, looking at it, 1,400 px focal.
FOCAL, CENTRE = 1400.0, np.array([960.0, 540.0])


def rotation_about(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations by angles (T,) about unit axes (T, 3)."""
    k = np.zeros((len(axis), 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k -= np.swapaxes(k, 1, 2)
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def camera(joints: np.ndarray):
    """A projection (N..., 3) -> (N..., 2) pixels of a pinhole camera facing the walk (+Y)."""
    target = np.nanmean(joints[:, J["pelvis"]], axis=0)
    eye = target + np.array([1.5, -7.0, 0.4])
    forward = unit(target - eye)
    right = unit(np.cross(forward, [0.0, 0.0, 1.0]))
    down = np.cross(forward, right)
    rot = np.stack([right, down, forward])  # camera x right, y down, z forward

    def project(points: np.ndarray) -> np.ndarray:
        c = (points - eye) @ rot.T
        return FOCAL * c[..., :2] / c[..., 2:] + CENTRE

    return project


def true_hands(rest, plain, bone: str) -> tuple[np.ndarray, np.ndarray]:
    """(T, 3) the hand's true direction (wrist to knuckles) and side axis (index to pinky): the
    hand as it would follow the forearm (``plain``: a solve without points), flexed 25-55
    degrees towards the palm and twisted back and forth 30 degrees."""
    along, across = extremities.palm_axes(rest, bone)
    forearm = rest[bone].parent
    follow = plain.world_rotations[forearm] @ (rest.rotation(forearm).T @ rest.rotation(bone))
    t = np.arange(len(follow))
    flex = np.broadcast_to(unit(np.cross(along, across)), (len(t), 3))
    turn = rotation_about(flex, np.radians(40 + 15 * np.sin(2 * np.pi * t / 45)))
    turn = turn @ rotation_about(
        np.broadcast_to(along, (len(t), 3)), np.radians(30 * np.sin(2 * np.pi * t / 60))
    )
    hand = follow @ turn
    return hand @ along, hand @ across


def true_feet(joints: np.ndarray, side: str) -> np.ndarray:
    """(T, 3) the foot's true heel-to-toe direction: forward, pitched 30 degrees toe-down."""
    hips = joints[:, J["left_hip"]] - joints[:, J["right_hip"]]
    forward = unit(np.cross(hips, [0.0, 0.0, 1.0]))  # left +X, up +Z: forward -Y
    forward = unit(forward * [1.0, 1.0, 0.0])
    return unit(forward * np.cos(np.radians(30)) - np.array([0.0, 0.0, np.sin(np.radians(30))]))


def blazepose_track(joints: np.ndarray, hands: dict, layout=BLAZEPOSE33) -> TrackPoints:
    """The walk (T, 17, 3) with its known hands (side -> `true_hands`) and feet, seen by
    `camera`, as a 2D track."""
    project = camera(joints)
    num = len(joints)
    points = np.full((num, layout.num_joints, 2), np.nan)
    confidence = np.zeros((num, layout.num_joints))

    def put(name: str, p3: np.ndarray) -> None:
        if name in layout.joints:
            points[:, layout.index(name)] = project(p3)
            confidence[:, layout.index(name)] = 0.9

    for name in extremities.FIT_JOINTS:
        put(name, joints[:, J[name]])
    for side in ("left", "right"):
        wrist = joints[:, J[f"{side}_wrist"]]
        direction, across = hands[side]
        put(f"{side}_index", wrist + 0.09 * direction - 0.04 * across)
        put(f"{side}_pinky", wrist + 0.08 * direction + 0.04 * across)
        put(f"{side}_thumb", wrist + 0.04 * direction - 0.06 * across)
        heel = joints[:, J[f"{side}_ankle"]] - 0.07 * true_feet(joints, side)
        put(f"{side}_heel", heel)
        toe = heel + 0.24 * true_feet(joints, side)
        put(f"{side}_foot_index", toe)
        outward = np.array([1.0 if side == "left" else -1.0, 0.0, 0.0]) * 0.03
        put(f"{side}_big_toe", toe - outward)  # BODY_25: mid(big, small toe) is the toe
        put(f"{side}_small_toe", toe + outward)
    return TrackPoints(points, confidence, layout.name)


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip(np.sum(unit(a) * unit(b), axis=-1), -1.0, 1.0)))


@pytest.fixture(scope="module")
def metarig():
    bpy.ops.wm.read_homefile(use_empty=True)
    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    rig = bpy.context.active_object
    rest = retarget.RestPose.from_bpy_bones(rig.data.bones)
    rig_map = rigmaps.resolve(rigmaps.builtin_rig_maps()["blender_metarig"], rest.names)
    joints, fps = walking(step=4)  # 30 fps
    return rig, rest, rig_map, joints, fps


@pytest.fixture(scope="module")
def plain(metarig):
    _, rest, rig_map, joints, fps = metarig
    return retarget.solve(joints, rest, rig_map, fps=fps)


@pytest.fixture(scope="module")
def hands(metarig, plain):
    rest = metarig[1]
    return {side: true_hands(rest, plain, bone) for bone, side in HANDS.items()}


@pytest.fixture(scope="module")
def solved(metarig, plain, hands):
    rig, rest, rig_map, joints, fps = metarig
    points = blazepose_track(joints, hands)
    gap = points.confidence.copy()
    for name in ("left_index", "left_pinky", "left_thumb"):
        gap[GAP, BLAZEPOSE33.index(name)] = 0.0
    gapped = TrackPoints(points.keypoints, gap, points.layout)
    # the feet in the air throughout, not lifted out of the floor (no root motion)
    air = {"fps": fps, "contacts": np.zeros((len(joints), 2), bool), "root_motion": False}
    return {
        "points": retarget.solve(joints, rest, rig_map, fps=fps, points=points),
        "gap": retarget.solve(joints, rest, rig_map, fps=fps, points=gapped),
        "none": plain,
        "air": retarget.solve(joints, rest, rig_map, points=points, **air),
        "air_none": retarget.solve(joints, rest, rig_map, **air),
    }


def test_the_track_points_reach_the_keyed_hand(metarig, hands):
    """Through the add-on's own keying (`result.retarget_onto`), the meta-rig's hands as Blender
    poses them point where the true hands do (within 12 degrees, median within 4; a 340-pixel
    figure's hand spans some 17 pixels, and the affine camera misses the perspective)."""
    rig, rest, _, joints, fps = metarig
    scene = bpy.context.scene
    scene.render.fps = 30
    options = LiftOptions(rig="AUTO", frame_offset=1)
    points = blazepose_track(joints, hands)
    result.retarget_onto(scene, rig, joints, fps, options, points=points)
    frames = range(0, len(joints), 3)
    for bone, side in HANDS.items():
        along, _ = extremities.palm_axes(rest, bone)
        truth, _ = hands[side]
        keyed = []
        for f in frames:
            scene.frame_set(1 + f)
            m = np.array(rig.pose.bones[bone].matrix)[:3, :3]
            keyed.append(unit(m @ along))
        errors = angle_deg(np.array(keyed), truth[list(frames)])
        print(bone, "max", errors.max().round(2), "median", np.median(errors).round(2))
        assert errors.max() < 12.0 and np.median(errors) < 4.0, (bone, errors)


def test_hand_direction_and_palm_follow_the_points(metarig, solved, hands):
    """Solved hands (world rotations) against the truth: direction within 12 degrees (median 4),
    the palm's side axis within 35 (median 10: index to pinky is 8 cm, 3 to 15 pixels here,
    and the affine camera misses the perspective); following the forearm: 25-55 degrees off."""
    _, rest, _, joints, _ = metarig
    for bone, side in HANDS.items():
        along, across = extremities.palm_axes(rest, bone)
        assert across is not None  # the meta-rig has its fingers
        truth, truth_side = hands[side]
        world = solved["points"].world_rotations[bone]
        direction = angle_deg(world @ along, truth)
        palm = angle_deg(world @ across, truth_side)
        forearm = solved["none"].world_rotations[rest[bone].parent]
        follow = forearm @ (rest.rotation(rest[bone].parent).T @ rest.rotation(bone))
        follow = angle_deg(follow @ along, truth)
        print(bone, "direction median/max", np.median(direction).round(2), direction.max().round(2),
              "palm median/max", np.median(palm).round(2), palm.max().round(2),
              "following median", np.median(follow).round(2))  # fmt: skip
        assert direction.max() < 12.0 and np.median(direction) < 4.0, (bone, direction.max())
        assert palm.max() < 35.0 and np.median(palm) < 10.0, (bone, palm.max())
        assert np.median(follow) > 25.0
        assert bone not in solved["none"].rotations  # without points: not keyed, as before


def test_missing_points_follow_the_forearm_without_pops(metarig, solved):
    """Where the left hand's knuckles go missing it eases back onto the forearm (identity basis
    inside the gap), then back onto the points; no frame turns it faster than its forearm
    plus `extremities.MAX_SPEED`."""
    *_, fps = metarig
    basis = solved["gap"].rotations["hand.L"]
    inside = slice(GAP.start + 6, GAP.stop - 6)
    off_rest = np.degrees(2 * np.arccos(np.clip(np.abs(basis[inside, 0]), -1, 1)))
    assert off_rest.max() < 0.5, off_rest.max()
    world = solved["gap"].world_rotations["hand.L"]
    steps = step_angles(world)
    forearm = step_angles(solved["gap"].world_rotations["forearm.L"])
    print("hand step max", steps.max().round(2), "forearm step max", forearm.max().round(2))
    bound = forearm.max() + SPEED / fps + 0.5  # the parent's turn and the capped relative one
    assert steps.max() < bound, steps.max()
    plain = step_angles(solved["points"].world_rotations["hand.L"])
    assert plain.max() < bound, plain.max()


def test_feet_off_the_floor_follow_heel_and_toe(metarig, solved):
    """A foot off the floor (here: no contacts at all) has its sole (heel to toe, level at
    rest) within 16 degrees of the true heel-to-toe line (median 8: the foot points almost at
    the camera, and its length comes from body proportions), where following the shin it is
    some 19 off; in contact it stays as flat as without points."""
    _, rest, _, joints, _ = metarig
    up = np.array([0.0, 0.0, 1.0])
    for k, (bone, side) in enumerate(FEET.items()):
        r_rest = rest.rotation(bone)
        sole = r_rest.T @ unit(r_rest[:, 1] - (r_rest[:, 1] @ up) * up)
        truth = true_feet(joints, side)
        world = solved["air"].world_rotations[bone]
        errors = angle_deg(world @ sole, truth)
        before = angle_deg(solved["air_none"].world_rotations[bone] @ sole, truth)
        print(bone, "air median", np.median(errors).round(2), "max", errors.max().round(2),
              "following median", np.median(before).round(2))  # fmt: skip
        assert np.median(errors) < 8.0 and errors.max() < 16.0, (bone, errors.max())
        assert np.median(before) > np.median(errors) + 10.0
        down = solved["points"].contacts[:, k]
        planted = solved["points"].world_rotations[bone][down] @ sole
        flat = angle_deg(planted, solved["none"].world_rotations[bone][down] @ sole)
        assert flat.max() < 2.0, flat.max()  # the floor lift's easing reaches a frame or two in
        steps = step_angles(solved["points"].world_rotations[bone])
        shin = step_angles(solved["none"].world_rotations[bone])
        print(bone, "step max", steps.max().round(2), "without points", shin.max().round(2))
        assert steps.max() < shin.max() + 5.0


def test_layouts_without_the_points_leave_hands_and_feet_as_before(metarig, plain, hands):
    """COCO-17 has no hand, heel or toe points: the solve is the one without points."""
    _, rest, rig_map, joints, fps = metarig
    coco = blazepose_track(joints, hands, COCO17)
    with_coco = retarget.solve(joints, rest, rig_map, fps=fps, points=coco)
    assert set(with_coco.rotations) == set(plain.rotations)
    for bone in plain.rotations:
        np.testing.assert_allclose(with_coco.rotations[bone], plain.rotations[bone])


def test_hand_bones_found_on_the_shipped_maps(metarig):
    _, rest, rig_map, *_ = metarig
    assert extremities.hand_bones(rest, rig_map) == HANDS


def test_the_skeleton_keeps_the_points_for_retargeting_later(metarig, hands):
    """`result.store_points` keeps a BlazePose track's points on the MPM skeleton and
    `stored_points` gives them back for **Retarget onto target**; COCO-17 stores none."""
    _, _, _, joints, _ = metarig
    obj = bpy.data.objects.new("points holder", None)
    obj["mpm_frames"] = len(joints)
    points = blazepose_track(joints, hands)
    result.store_points(obj, points)
    back = result.stored_points(obj)
    assert back is not None and back.layout == "blazepose33"
    np.testing.assert_allclose(back.keypoints, points.keypoints, rtol=1e-6)
    np.testing.assert_allclose(back.confidence, points.confidence, rtol=1e-6)
    other = bpy.data.objects.new("coco holder", None)
    result.store_points(other, blazepose_track(joints, hands, COCO17))
    assert result.stored_points(other) is None


def test_a_generated_rigify_rig_turns_its_fk_hands(metarig, hands):
    """On Rigify the hand control hangs under a helper (``MCH-hand_fk``) and the fingers under
    another copy of the hand: ``hand_fk`` is still found, and points where the true hand does."""
    _, _, _, joints, fps = metarig
    bpy.ops.object.armature_human_metarig_add()  # active and selected: what rigify_generate needs
    bpy.ops.pose.rigify_generate()
    rig = bpy.context.view_layer.objects.active
    rest = retarget.RestPose.from_bpy_bones(rig.data.bones)
    rig_map = rigmaps.resolve(rigmaps.builtin_rig_maps()["rigify"], rest.names)
    found = extremities.hand_bones(rest, rig_map)
    assert found == {"hand_fk.L": "left", "hand_fk.R": "right"}
    solved = retarget.solve(joints, rest, rig_map, fps=fps, points=blazepose_track(joints, hands))
    for bone, side in found.items():
        along, across = extremities.palm_axes(rest, bone)
        assert across is not None
        errors = angle_deg(solved.world_rotations[bone] @ along, hands[side][0])
        print(bone, "median", np.median(errors).round(2), "max", errors.max().round(2))
        assert np.median(errors) < 4.0 and errors.max() < 12.0


def test_body25_turns_the_feet_from_heels_and_toes_and_leaves_the_hands(metarig, solved, hands):
    """BODY_25 has heels and big and small toes but no hand points: feet in the air as with
    BlazePose's, hands not keyed."""
    _, rest, rig_map, joints, fps = metarig
    air = {"fps": fps, "contacts": np.zeros((len(joints), 2), bool), "root_motion": False}
    body25 = blazepose_track(joints, hands, BODY25)
    found = retarget.solve(joints, rest, rig_map, points=body25, **air)
    assert "hand.L" not in found.rotations and "hand.R" not in found.rotations
    up = np.array([0.0, 0.0, 1.0])
    for bone, side in FEET.items():
        r_rest = rest.rotation(bone)
        sole = r_rest.T @ unit(r_rest[:, 1] - (r_rest[:, 1] @ up) * up)
        errors = angle_deg(found.world_rotations[bone] @ sole, true_feet(joints, side))
        print(bone, "BODY_25 air median", np.median(errors).round(2), "max", errors.max().round(2))
        assert np.median(errors) < 8.0 and errors.max() < 16.0


def test_lifting_is_exact_through_an_affine_camera():
    """Through an affine camera, one of the two mirror images is the true direction, and the
    side axis perpendicular to it is the true one."""
    rng = np.random.default_rng(0)
    cameras = rng.normal(size=(50, 2, 3)) * 300.0
    direction = unit(rng.normal(size=(50, 3)))
    side = unit(np.cross(direction, rng.normal(size=(50, 3))))
    seen = 0.09 * np.einsum("tij,tj->ti", cameras, direction)
    both = extremities.lift_both(cameras, seen, 0.09)
    errors = np.minimum(angle_deg(both[0], direction), angle_deg(both[1], direction))
    assert errors.max() < 1e-3
    across = np.einsum("tij,tj->ti", cameras, side)
    assert angle_deg(extremities.lift_side(cameras, across, direction), side).max() < 1e-3


def test_detector_jitter_does_not_shake_the_hand(metarig, hands):
    """1.5-pixel jitter on every point (hands some 17 pixels long, so their tilt out of the
    picture is barely readable): the hand stays near its truth (median within 12 degrees) and
    turns no faster than the forearm plus `extremities.MAX_SPEED`."""
    _, rest, rig_map, joints, fps = metarig
    points = blazepose_track(joints, hands)
    rng = np.random.default_rng(1)
    noisy = points.keypoints + rng.normal(scale=1.5, size=points.keypoints.shape)
    jittered = TrackPoints(noisy, points.confidence, points.layout)
    found = retarget.solve(joints, rest, rig_map, fps=fps, points=jittered)
    for bone, side in HANDS.items():
        along, _ = extremities.palm_axes(rest, bone)
        errors = angle_deg(found.world_rotations[bone] @ along, hands[side][0])
        steps = step_angles(found.world_rotations[bone])
        forearm = step_angles(found.world_rotations[rest[bone].parent])
        print(bone, "jitter median", np.median(errors).round(2), "max", errors.max().round(2),
              "step max", steps.max().round(2), "forearm", forearm.max().round(2))  # fmt: skip
        assert np.median(errors) < 12.0
        assert steps.max() < forearm.max() + SPEED / fps + 0.5


def test_the_running_mean_keeps_the_length_of_a_clip_shorter_than_its_kernel():
    from blender_addon.core.extremities import _smooth

    values = np.arange(6.0).reshape(1, 2, 3)
    assert np.allclose(_smooth(values, np.ones(1), 1), values)  # one frame: itself
    two = np.stack([np.zeros((2, 3)), np.ones((2, 3))])
    assert np.allclose(_smooth(two, np.ones(2), 2), 0.5)
