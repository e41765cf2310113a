"""Feet the foot lock holds (blender_addon.core.cleanup): a wide stance's foot the lift holds in
the air, legs whose lifted bones change length, and where a held foot is pinned; in the
centimetres an animator sees."""

from __future__ import annotations

import numpy as np

from blender_addon.core import cleanup
from blender_addon.core.coords import JOINT_INDEX

FPS = 30.0
FLOOR = 0.05  # the ankles' height when standing
LEFT, RIGHT = JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]


def stance(trunk_x: float, right_up: float, spread: float = 0.6, num: int = 60) -> np.ndarray:
    """Two feet ``spread`` apart along X, the left on the floor, the right ``right_up`` metres
    over it and creeping 0.2 m/s (the lift's drift); the trunk over X = ``trunk_x``."""
    joints = np.zeros((num, 17, 3))
    creep = 0.2 * np.arange(num) / FPS
    joints[:, LEFT] = [-spread / 2, 0.0, FLOOR]
    joints[:, RIGHT] = np.stack(
        [np.full(num, spread / 2), creep, np.full(num, FLOOR + right_up)], axis=-1
    )
    joints[:, JOINT_INDEX["pelvis"]] = [trunk_x, 0.0, 0.9]
    joints[:, JOINT_INDEX["thorax"]] = [trunk_x, 0.0, 1.4]
    for side, ankle, x in (("left", LEFT, -0.1), ("right", RIGHT, 0.1)):
        hip = joints[:, JOINT_INDEX["pelvis"]] + [x, 0.0, 0.0]
        joints[:, JOINT_INDEX[f"{side}_hip"]] = hip
        joints[:, JOINT_INDEX[f"{side}_knee"]] = (hip + joints[:, ankle]) / 2 + [0.0, -0.1, 0.0]
    return joints


def test_a_wide_stance_foot_the_lift_holds_up_is_down_and_held():
    """The lift puts one foot of a wide stance 18 cm up (over the 16 cm lift-off height) while
    the body stands between the feet: it is down, and held to under a millimetre a frame."""
    joints = stance(trunk_x=0.0, right_up=0.18)
    contacts = cleanup.detect_foot_contacts(joints, FPS, floor=FLOOR)
    assert contacts.all()
    assert not cleanup.detect_foot_contacts(joints, FPS, floor=FLOOR, balance=False)[:, 1].any()
    held = cleanup.foot_lock(joints, contacts, fps=FPS)
    steps = np.linalg.norm(np.diff(held[:, RIGHT, :2], axis=0), axis=-1)
    assert np.max(steps) < 0.001  # from 0.67 cm a frame


def test_given_the_floor_the_held_foot_stands_on_it_both_legs_sharing_the_change():
    """With the floor given (as `clean_joints` gives it), that foot comes down the 18 cm onto
    the floor: the body lowers by the planted feet's shared part (9 cm), the left knee bends
    and the right straightens for the rest, thigh and shin at their lengths."""
    joints = stance(trunk_x=0.0, right_up=0.18)
    for side, ankle in (("left", LEFT), ("right", RIGHT)):  # long legs: the foot reaches
        hip = joints[:, JOINT_INDEX[f"{side}_hip"]]
        joints[:, JOINT_INDEX[f"{side}_knee"]] = (hip + joints[:, ankle]) / 2 + [0.0, -0.3, 0.0]
    contacts = cleanup.detect_foot_contacts(joints, FPS, floor=FLOOR)
    held = cleanup.foot_lock(joints, contacts, floor=FLOOR, fps=FPS)
    assert np.abs(held[:, [LEFT, RIGHT], 2] - FLOOR).max() < 0.001  # the right from 18 cm up
    for side, ankle in (("left", LEFT), ("right", RIGHT)):
        hip, knee = JOINT_INDEX[f"{side}_hip"], JOINT_INDEX[f"{side}_knee"]
        for a, b in ((hip, knee), (knee, ankle)):
            before = np.linalg.norm(joints[:, b] - joints[:, a], axis=-1)
            after = np.linalg.norm(held[:, b] - held[:, a], axis=-1)
            np.testing.assert_allclose(after, before, atol=1e-6)
    pelvis = JOINT_INDEX["pelvis"]
    np.testing.assert_allclose(held[:, pelvis, 2], joints[:, pelvis, 2] - 0.09, atol=1e-3)


def test_a_free_foot_stays_out_of_the_floor_the_lowered_body_would_put_it_under():
    """The stance's raised foot held for a second, then lifted and skimming 2 cm over the
    floor: the body, lowered while both were held, comes back up slowly (it moves smoothly), so
    for a few frames it would carry the free foot under the floor; the foot stays on it."""
    joints = stance(trunk_x=0.0, right_up=0.18)
    for side, ankle in (("left", LEFT), ("right", RIGHT)):
        hip = joints[:, JOINT_INDEX[f"{side}_hip"]]
        joints[:, JOINT_INDEX[f"{side}_knee"]] = (hip + joints[:, ankle]) / 2 + [0.0, -0.3, 0.0]
    joints[30:, RIGHT, 2] = FLOOR + 0.02
    contacts = np.ones((len(joints), 2), bool)
    contacts[30:, 1] = False
    held = cleanup.foot_lock(joints, contacts, floor=FLOOR, fps=FPS)
    pelvis = JOINT_INDEX["pelvis"]
    lowered = joints[32, pelvis, 2] - held[32, pelvis, 2]
    assert lowered > 0.02  # 2 cm down would put the skimming foot under the floor
    assert held[:, RIGHT, 2].min() > FLOOR - 1e-6


def test_a_raised_foot_is_not_pinned():
    """Standing on one leg (the trunk over the other foot), a foot 30 cm up or feet too close to
    tell which one the body stands on: the raised foot stays in the air, free."""
    for joints in (
        stance(trunk_x=-0.25, right_up=0.18),  # the body over the left foot
        stance(trunk_x=0.0, right_up=0.35),  # higher than a stance holds a foot
        stance(trunk_x=0.0, right_up=0.18, spread=0.2),  # feet together
    ):
        contacts = cleanup.detect_foot_contacts(joints, FPS, floor=FLOOR)
        assert contacts[:, 0].all() and not contacts[:, 1].any()


def planted_legs(num: int = 60) -> tuple[np.ndarray, float, float]:
    """Both feet planted while the hips sway 10 cm, as a lift gives them: the thighs and shins
    point right but stretch and shrink by up to 12 % from frame to frame (depth errors), so the
    lifted ankles wobble. Returns the joints and the true thigh and shin lengths."""
    thigh, shin = 0.42, 0.43
    t = np.arange(num) / FPS
    joints = np.zeros((num, 17, 3))
    sway = 0.1 * np.sin(np.pi * t)
    joints[:, JOINT_INDEX["pelvis"]] = np.stack([sway, np.zeros(num), np.full(num, 0.92)], -1)
    joints[:, JOINT_INDEX["thorax"]] = joints[:, JOINT_INDEX["pelvis"]] + [0.0, 0.0, 0.5]
    rng = np.random.default_rng(5)
    for y, side in ((0.1, "left"), (-0.1, "right")):
        hip = np.stack([sway, np.full(num, y), np.full(num, 0.92)], -1)
        ankle = np.array([0.0, y, FLOOR])
        reach = np.linalg.norm(ankle - hip, axis=-1)
        down = (ankle - hip) / reach[:, None]
        along = (thigh**2 - shin**2 + reach**2) / (2 * reach)
        knee = hip + down * along[:, None]
        knee[:, 1] -= np.sqrt(np.maximum(thigh**2 - along**2, 0.0))  # knees bent forward (-Y)
        stretch = 1.0 + 0.12 * rng.uniform(-1, 1, size=(num, 2))
        joints[:, JOINT_INDEX[f"{side}_hip"]] = hip
        joints[:, JOINT_INDEX[f"{side}_knee"]] = hip + (knee - hip) * stretch[:, :1]
        joints[:, JOINT_INDEX[f"{side}_ankle"]] = (
            joints[:, JOINT_INDEX[f"{side}_knee"]] + (ankle - knee) * stretch[:, 1:]
        )
    return joints, thigh, shin


def rig_ankle(joints: np.ndarray, side: str, thigh: float, shin: float) -> np.ndarray:
    """(T, 3) the ankle of a rig whose thigh and shin keep their lengths and take the joints'
    bone directions, from the joints' hip: what the retarget does."""
    hip, knee, ankle = (joints[:, JOINT_INDEX[f"{side}_{j}"]] for j in ("hip", "knee", "ankle"))
    up, down = knee - hip, ankle - knee
    return (
        hip
        + thigh * up / np.linalg.norm(up, axis=-1, keepdims=True)
        + shin * down / np.linalg.norm(down, axis=-1, keepdims=True)
    )


def test_a_held_foot_stands_still_on_a_rig_whose_legs_keep_their_lengths():
    """Held on the lifted legs as they are, the rig's feet (same bone directions, constant
    lengths) slide up to a centimetre a frame; with the legs evened first, under a millimetre."""
    joints, thigh, shin = planted_legs()
    options = cleanup.CleanupOptions(foot_lock=True)
    cleaned = cleanup.clean_joints(joints, FPS, options)
    assert cleaned.contacts.all()
    old = cleanup.foot_lock(joints, np.ones((len(joints), 2), bool), fps=FPS)

    def rig_steps(result: np.ndarray, side: str) -> np.ndarray:
        ankle = rig_ankle(result, side, thigh, shin)
        return np.linalg.norm(np.diff(ankle[:, :2], axis=0), axis=-1)

    for side in ("left", "right"):
        assert np.max(rig_steps(cleaned.joints, side)) < 0.001
        assert np.percentile(rig_steps(old, side), 95) > 0.005  # over half a centimetre a frame
    for a, b in (("hip", "knee"), ("knee", "ankle")):  # even, and the directions kept
        i, j = JOINT_INDEX[f"left_{a}"], JOINT_INDEX[f"left_{b}"]
        evened = cleanup.even_legs(joints)
        lengths = np.linalg.norm(evened[:, j] - evened[:, i], axis=-1)
        assert np.ptp(lengths) < 1e-9
        before, after = joints[:, j] - joints[:, i], evened[:, j] - evened[:, i]
        cosine = np.sum(before * after, -1) / np.linalg.norm(before, axis=-1) / lengths
        assert np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))).max() < 1e-4


def test_a_foot_is_pinned_where_it_stands_not_where_it_slid_in():
    """A contact that opens with the foot still sliding in (14 frames at 0.4 m/s) and then
    stands 10 frames: the pin is where it stands, not 4 cm back along the slide."""
    joints = np.zeros((24, 17, 3))
    x = np.minimum(np.arange(24), 14) * 0.4 / FPS
    joints[:, LEFT] = np.stack([x, np.zeros(24), np.full(24, FLOOR)], -1)
    joints[:, RIGHT] = [0.0, -0.2, 0.4]
    contacts = np.zeros((24, 2), bool)
    contacts[:, 0] = True
    held = cleanup.foot_lock(joints, contacts, move_body=False, keep_leg_lengths=False, fps=FPS)
    assert abs(np.median(joints[:, LEFT, 0]) - x[-1]) > 0.03  # a plain median would be off
    assert np.max(np.abs(held[:, LEFT, 0] - x[-1])) < 0.002
