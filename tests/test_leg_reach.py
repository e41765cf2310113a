"""Planted legs reach the floor on a rig whose thigh and shin are in other proportions than
the source's (`core.leg_reach`): in a lunge with both feet down, copying bone directions alone
leaves the bent leg's foot off the floor, and the ground under the footprints slopes."""

from __future__ import annotations

import numpy as np
import pytest

from blender_addon.core import leg_reach, retarget, rigmaps
from blender_addon.core.coords import JOINT_INDEX as J
from tests.test_retarget_core import PREFIX, SOURCE_FLOOR, make_rig, mixamo_map, rig_joints

FRAMES = 45


def _knee(hip: np.ndarray, ankle: np.ndarray, thigh: float, shin: float, forward: np.ndarray):
    """The knee of a leg from ``hip`` to ``ankle`` bending toward ``forward`` (law of cosines)."""
    reach = ankle - hip
    distance = np.linalg.norm(reach, axis=-1, keepdims=True)
    toward = reach / distance
    bend = forward - (forward * toward).sum(-1, keepdims=True) * toward
    bend /= np.linalg.norm(bend, axis=-1, keepdims=True)
    cos = (thigh**2 + distance**2 - shin**2) / (2 * thigh * distance)
    return hip + thigh * (cos * toward + np.sqrt(1 - cos**2) * bend)


def lunge(rest: retarget.RestPose, rig_map) -> np.ndarray:
    """(T, 17, 3) the source rig in a lunge, swaying down and up: the left foot 0.4 m ahead
    with the knee well bent, the right 0.45 m behind and less bent, both ankles on the floor."""
    rest_joints = retarget.rest_joint_positions(rest, rig_map)
    height = 0.72 + 0.03 * np.cos(np.linspace(0, 2 * np.pi, FRAMES))  # the pelvis
    joints = np.repeat(rest_joints[None], FRAMES, axis=0)
    joints[:, :, 2] += (height - rest_joints[J["pelvis"], 2])[:, None]
    forward = np.array([0.0, -1.0, 0.0])  # the rig faces -Y
    for side, ahead in (("left", -0.40), ("right", 0.45)):
        hip = joints[:, J[f"{side}_hip"]]
        ankle = hip.copy()
        ankle[:, 1] += ahead
        ankle[:, 2] = SOURCE_FLOOR
        joints[:, J[f"{side}_ankle"]] = ankle
        joints[:, J[f"{side}_knee"]] = _knee(hip, ankle, 0.44, 0.41, forward)
    return joints


def knee_angles(joints: dict | np.ndarray, side: str) -> np.ndarray:
    hip, knee, ankle = (joints[f"{side}_{n}"] for n in ("hip", "knee", "ankle"))
    a, b = knee - hip, ankle - knee
    cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def solved(thigh: float) -> tuple[np.ndarray, dict]:
    """The lunge retargeted onto a rig whose thigh is ``thigh`` of its 0.85 m leg (the
    source's: 0.44): the source joints and the solve with both feet down and both in the air."""
    rig_map, rig = mixamo_map(), make_rig(thigh=thigh)
    source = lunge(make_rig(), rig_map)
    results = {}
    for down in (True, False):
        contacts = np.full((FRAMES, 2), down)
        results[down] = retarget.solve(
            source, rig, rig_map, source_floor=SOURCE_FLOOR, contacts=contacts
        )
    return source, results


@pytest.fixture(scope="module")
def lunging():
    """Longer thighs (0.46): the source joints by name, the rig's posed joints with both feet
    down and with both in the air, and its rest ankle height."""
    rig_map, rig = mixamo_map(), make_rig(thigh=0.46)
    source, results = solved(0.46)
    posed = {down: rig_joints(rig, rig_map, result)[0] for down, result in results.items()}
    rest_ankle = results[True].rest_joints[J["left_ankle"], 2]
    return {n: source[:, J[n]] for n in J}, posed, rest_ankle


def test_both_planted_feet_stand_on_the_floor_of_a_rig_with_long_thighs(lunging):
    source, posed, rest_ankle = lunging
    planted, free = posed[True], posed[False]
    for side in ("left", "right"):
        assert np.abs(planted[f"{side}_ankle"][:, 2] - rest_ankle).max() < 0.002, side
    # copying the bone directions alone leaves the front foot off the floor
    gap = free["left_ankle"][:, 2] - free["right_ankle"][:, 2]
    assert np.abs(gap).min() > 0.01, gap
    # so the front knee turned to reach it; the rig stands on the back foot, whose leg keeps
    # the source's bend
    turned = np.abs(knee_angles(planted, "left") - knee_angles(source, "left"))
    assert turned.min() > 1.0, turned
    assert np.abs(knee_angles(planted, "right") - knee_angles(source, "right")).max() < 0.5
    # the planted feet moved only up or down: where they stand across the floor is kept
    for side in ("left", "right"):
        across = planted[f"{side}_ankle"][:, :2] - planted[f"{side}_hip"][:, :2]
        free_across = free[f"{side}_ankle"][:, :2] - free[f"{side}_hip"][:, :2]
        assert np.abs(across - free_across).max() < 0.001, side


def test_feet_in_the_air_keep_the_sources_knees(lunging):
    source, posed, _ = lunging
    for side in ("left", "right"):
        assert np.abs(knee_angles(posed[False], side) - knee_angles(source, side)).max() < 0.1


def test_a_reach_turns_a_leg_by_at_most_a_few_degrees():
    """Thighs far longer than the source's (0.55 of the leg): the front foot gets only as near
    the floor as a turn of MAX_TURN_DEG takes it, a knee does not fold to reach."""
    _, results = solved(0.55)
    turns = {down: result.world_rotations for down, result in results.items()}
    for bone in ("LeftUpLeg", "LeftLeg", "RightUpLeg", "RightLeg"):
        y_planted = turns[True][PREFIX + bone][:, :, 1]
        y_free = turns[False][PREFIX + bone][:, :, 1]
        angle = np.degrees(np.arccos(np.clip((y_planted * y_free).sum(-1), -1, 1)))
        assert angle.max() < leg_reach.MAX_TURN_DEG + 0.01, bone


def test_held_feet_stay_still_across_the_floor_on_a_rig_in_other_proportions():
    """Copying bone directions onto longer thighs slides the rig's planted ankles across the
    floor as the lunge sways, though the source's stand still; with foot lock's hold
    (``hold_feet``) they stand, and on the floor."""
    rig_map, rig = mixamo_map(), make_rig(thigh=0.46)
    source = lunge(make_rig(), rig_map)
    contacts = np.ones((FRAMES, 2), dtype=bool)
    slides, heights = {}, {}
    for hold in (False, True):
        result = retarget.solve(
            source, rig, rig_map, source_floor=SOURCE_FLOOR, contacts=contacts, hold_feet=hold
        )
        posed = rig_joints(rig, rig_map, result)[0]
        ankles = np.stack([posed["left_ankle"], posed["right_ankle"]], axis=1)  # (T, 2, 3)
        slides[hold] = np.ptp(ankles[..., :2], axis=0).max()
        heights[hold] = ankles[..., 2] - result.rest_joints[J["left_ankle"], 2]
    assert slides[False] > 0.004, slides  # 4-5 mm over a 3 cm sway
    assert slides[True] < 0.001, slides
    assert np.abs(heights[True]).max() < 0.002


def test_a_split_thigh_has_its_knee_at_the_shins_head():
    """A thigh in two bones both mapped hip → knee (Rigify's deform thigh): the reach's knee is
    where the shin starts, not the first bone's end halfway down the thigh."""
    hip, middle, knee, ankle = (0.1, 0, 0.9), (0.1, 0, 0.68), (0.1, 0, 0.46), (0.1, 0.01, 0.05)
    rest = retarget.RestPose.from_head_tail_roll(
        [
            ("hips", None, np.array([0.0, 0, 0.9]), np.array([0.0, 0, 1.0]), 0.0),
            ("thigh", "hips", np.array(hip), np.array(middle), 0.0),
            ("thigh.001", "thigh", np.array(middle), np.array(knee), 0.0),
            ("shin", "thigh.001", np.array(knee), np.array(ankle), 0.0),
        ]
    )
    bend = rigmaps.Twist("bend", ("left_hip", "left_knee", "left_ankle"))
    rig_map = rigmaps.RigMap(
        family="split",
        root="hips",
        bones=tuple(
            rigmaps.BoneMap(name, direction, bend)
            for name, direction in (
                ("thigh", ("left_hip", "left_knee")),
                ("thigh.001", ("left_hip", "left_knee")),
                ("shin", ("left_knee", "left_ankle")),
            )
        ),
    )
    pose = retarget.pose_world_matrices(rest, {}, np.zeros((1, 3)), root_bone="hips")
    joints = retarget.posed_joint_positions(rest, rig_map, pose)
    for name, where in (("left_hip", hip), ("left_knee", knee), ("left_ankle", ankle)):
        assert np.allclose(joints[name][0], where), name


def test_the_reached_share_is_smoothed_without_passing_the_cap():
    """A share that the cap cuts for a few frames (a leg near straight) dips smoothly around
    them, never above what each frame allows: a share jumping frame by frame jerks the leg."""
    share = np.ones(30)
    share[12:15] = [0.4, 0.2, 0.5]
    smooth = leg_reach._smooth_below(share, leg_reach.SHARE_FRAMES)
    assert np.all(smooth <= share + 1e-12)
    assert np.abs(np.diff(smooth)).max() < 0.5 * np.abs(np.diff(share)).max()
    assert np.all(smooth[:6] == 1.0) and np.all(smooth[-6:] == 1.0)  # untouched away from it
