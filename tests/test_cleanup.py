"""Cleanup (blender_addon.core.cleanup): smoothing steps, foot contacts and lock, root motion,
key reduction; numbers an animator would check."""

from __future__ import annotations

import numpy as np
import pytest

from blender_addon.core import cleanup, contact_model
from blender_addon.core.coords import JOINT_INDEX
from blender_addon.core.filters import butterworth

FPS = 30.0


def walking_feet(num: int = 240, fps: float = FPS) -> tuple[np.ndarray, np.ndarray]:
    """A stepping figure: each ankle alternates 0.5 s planted (with 6 mm drift and jitter)
    and 0.5 s swinging forward 0.6 m, 10 cm up. Returns joints and the planted truth."""
    rng = np.random.default_rng(3)
    t = np.arange(num) / fps
    joints = np.zeros((num, 17, 3))
    joints[:, :, 2] = 1.0
    truth = np.zeros((num, 2), dtype=bool)
    for k, (name, phase) in enumerate((("left", 0.0), ("right", 0.5))):
        cycle = (t / 1.0 + phase) % 1.0
        step = np.floor(t / 1.0 + phase)
        planted = cycle < 0.5
        swing = np.clip((cycle - 0.5) / 0.5, 0, 1)
        x = 0.6 * (step + np.where(planted, 0.0, 0.5 - 0.5 * np.cos(np.pi * swing)))
        z = 0.05 + np.where(planted, 0.0, 0.1 * np.sin(np.pi * swing))
        drift = np.where(planted, 0.012 * (cycle - 0.25), 0.0)  # 6 mm slide during a stance
        ankle = np.stack([x + drift, np.full(num, 0.1 if name == "left" else -0.1), z], -1)
        ankle[:, :2] += 0.001 * rng.normal(size=(num, 2)) * planted[:, None]
        joints[:, JOINT_INDEX[f"{name}_ankle"]] = ankle
        joints[:, JOINT_INDEX[f"{name}_knee"]] = ankle + [0.02, 0.0, 0.42]
        joints[:, JOINT_INDEX[f"{name}_hip"]] = ankle + [0.0, 0.0, 0.85]
        truth[:, k] = planted
    return joints, truth


def test_foot_contacts_found_with_hysteresis():
    joints, truth = walking_feet()
    contacts = cleanup.detect_foot_contacts(joints, FPS)
    agreement = np.mean(contacts == truth)
    assert agreement > 0.85
    # no flicker: every contact lasts at least the minimum duration
    for k in range(2):
        for start, end in cleanup._runs(contacts[:, k]):
            assert end - start >= 3


def test_a_planted_foot_the_lift_drags_along_with_a_running_body():
    """A lifted planted foot drifts with the body: at 0.7 m/s under a body running at 2 m/s it
    is down (slower than half the body), the swinging foot is not; the same drift on a body
    standing still is movement."""
    num = 60
    joints = np.zeros((num, 17, 3))
    t = np.arange(num) / FPS
    joints[:, JOINT_INDEX["pelvis"], 1] = 2.0 * t
    joints[:, JOINT_INDEX["left_ankle"]] = np.stack([0.1 + 0 * t, 0.7 * t, 0.05 + 0 * t], -1)
    joints[:, JOINT_INDEX["right_ankle"]] = np.stack([-0.1 + 0 * t, 4.0 * t, 0.1 + 0 * t], -1)
    contacts = cleanup.detect_foot_contacts(joints, FPS, floor=0.05)
    assert contacts[:, 0].mean() > 0.9 and not contacts[:, 1].any()
    joints[:, JOINT_INDEX["pelvis"], 1] = 0.0
    assert not cleanup.detect_foot_contacts(joints, FPS, floor=0.05)[:, 0].any()


def landing_foot(num: int = 60) -> np.ndarray:
    """A foot that swings in 25 cm up at 3 m/s, comes down at frame 20 still sliding at 0.8 m/s
    (the lift smooths its landing) and is still from frame 30; the other foot stays up."""
    joints = np.zeros((num, 17, 3))
    speed = np.where(np.arange(num) < 20, 3.0, np.where(np.arange(num) < 30, 0.8, 0.0))
    x = np.concatenate([[0.0], np.cumsum(speed[1:]) / FPS])
    z = np.where(np.arange(num) < 20, 0.25, 0.05)
    joints[:, JOINT_INDEX["left_ankle"]] = np.stack([x, np.zeros(num), z], -1)
    joints[:, JOINT_INDEX["right_ankle"]] = [0.0, -0.2, 0.4]
    return joints


def test_a_contact_leads_back_to_a_landing_the_lift_smoothed():
    """A landed foot still sliding slower than lift-off reads as planted only once it stops;
    with a lead the contact starts up to that long before, never back into the swing."""
    joints = landing_foot()
    start = {
        lead: cleanup._runs(cleanup.detect_foot_contacts(joints, FPS, floor=0.05, lead=lead)[:, 0])
        for lead in (0.0, 0.2, 1.0)
    }
    assert [len(runs) for runs in start.values()] == [1, 1, 1]
    plain, led, far = (runs[0][0] for runs in start.values())
    assert plain >= 28  # the slide (0.8 m/s) is over the landing speed: late by a third of a second
    assert led == plain - round(0.2 * FPS)
    assert 20 <= far <= 22  # back to where the foot came down, not into the 3 m/s swing
    assert not cleanup.detect_foot_contacts(joints, FPS, floor=0.05, lead=1.0)[:20, 0].any()


def lifting_foot(low_frames: int, num: int = 60) -> np.ndarray:
    """A foot still until frame 30, then moving at 3 m/s: for ``low_frames`` frames along the
    floor (the lift sets it moving before it lifts), then 25 cm up; the other foot stays up."""
    joints = np.zeros((num, 17, 3))
    frames = np.arange(num)
    x = np.maximum(frames - 30, 0) * 3.0 / FPS
    z = np.where(frames < 30 + low_frames, 0.05, 0.3)
    joints[:, JOINT_INDEX["left_ankle"]] = np.stack([x, np.zeros(num), z], -1)
    joints[:, JOINT_INDEX["right_ankle"]] = [0.0, -0.2, 0.4]
    return joints


def test_a_contact_trails_a_lift_off_only_while_the_foot_stays_low():
    """The lift sets a planted foot moving a frame or two before it lifts: the contact goes on
    up to ``trail`` after the foot reads as lifted, while the ankle stays at landing height, and
    not a frame into a foot already in the air."""

    def end(joints: np.ndarray, trail: float) -> int:
        contacts = cleanup.detect_foot_contacts(joints, FPS, floor=0.05, trail=trail)[:, 0]
        (run,) = cleanup._runs(contacts)
        return run[1]

    low, raised = lifting_foot(low_frames=10), lifting_foot(low_frames=0)
    plain = end(low, 0.0)
    assert 29 <= plain <= 31
    assert end(low, 2 / FPS) == plain + 2
    # never past the frame the foot leaves the floor, however long the trail
    assert end(low, 1.0) == 30 + 10
    assert end(raised, 1.0) == 30


def test_foot_lock_holds_a_smoothed_landing_from_where_the_foot_came_down():
    """The cleanup's threshold contacts (foot lock holds them and the retarget plants) lead back
    to the landing: the rig's foot stops sliding when the foot comes down, not a third of a
    second later. (They are read on the motion low-passed at CONTACT_SMOOTH_HZ, which spreads
    this foot's instant 20 cm drop over a frame or two.)"""
    options = cleanup.CleanupOptions(foot_lock=True, contacts="thresholds")
    contacts = cleanup.clean_joints(landing_foot(), FPS, options).contacts[:, 0]
    runs = cleanup._runs(contacts)
    assert len(runs) == 1 and 20 <= runs[0][0] <= 23, runs


def test_a_planted_foot_the_lift_jitters_still_reads_as_planted():
    """A planted ankle the lift shakes across the floor by 5 cm (std, frame to frame) moves
    faster than the landing speed in most frames; contacts are read on the steady motion
    (CONTACT_SMOOTH_HZ), so the foot is held by the thresholds (this stick figure is no body
    the classifier knows), however the animation itself is smoothed (here: not at all)."""
    num = 60
    joints = np.zeros((num, 17, 3))
    for side, y in (("left", 0.1), ("right", -0.1)):
        joints[:, JOINT_INDEX[f"{side}_hip"]] = [0.0, y, 0.9]
        joints[:, JOINT_INDEX[f"{side}_knee"]] = [0.02, y, 0.5]
        joints[:, JOINT_INDEX[f"{side}_ankle"]] = [0.0, y, 0.1]
    left = JOINT_INDEX["left_ankle"]
    joints[:, left, :2] += np.random.default_rng(0).normal(0.0, 0.05, (num, 2))
    joints[:, JOINT_INDEX["right_ankle"], 2] = 0.5  # the other foot is up
    raw = cleanup.detect_foot_contacts(joints, FPS)[:, 0]
    assert raw.sum() < num / 2  # read frame by frame, the shake looks like a swing
    options = cleanup.CleanupOptions(foot_lock=True, contacts="thresholds")
    cleaned = cleanup.clean_joints(joints, FPS, options)
    assert cleaned.contacts[:, 0].all()
    assert np.ptp(cleaned.joints[:, left, :2], axis=0).max() < 0.001  # it stands, to a millimetre


def test_a_clip_that_opens_mid_stance_is_planted_from_its_first_frame():
    """No landing before frame 0: a foot on the floor creeping at 0.7 m/s for a third of a
    second, then still, is planted from frame 0 however short the lead."""
    num = 40
    joints = np.zeros((num, 17, 3))
    x = 0.7 * np.minimum(np.arange(num), 10) / FPS
    joints[:, JOINT_INDEX["left_ankle"]] = np.stack([x, np.zeros(num), np.full(num, 0.05)], -1)
    joints[:, JOINT_INDEX["right_ankle"]] = [0.0, -0.2, 0.4]
    plain = cleanup.detect_foot_contacts(joints, FPS, floor=0.05)[:, 0]
    led = cleanup.detect_foot_contacts(joints, FPS, floor=0.05, lead=0.1)[:, 0]
    assert not plain[:5].any() and plain[-20:].all()
    assert led.all()


def test_foot_lock_holds_ankles_and_leaves_the_rest():
    joints, _ = walking_feet()
    contacts = cleanup.detect_foot_contacts(joints, FPS)
    blend = 4
    locked = cleanup.foot_lock(joints, contacts, blend_frames=blend, move_body=False)
    for k, name in enumerate(("left", "right")):
        ankle = JOINT_INDEX[f"{name}_ankle"]
        before = 0.0
        for start, end in cleanup._runs(contacts[:, k]):
            xy = locked[start:end, ankle, :2]
            assert np.max(np.linalg.norm(xy - xy[0], axis=-1)) <= 0.001  # drift <= 1 mm
            raw = joints[start:end, ankle, :2]
            before = max(before, np.max(np.linalg.norm(raw - raw[0], axis=-1)))
        assert before > 0.004  # there was sliding to remove
        # far from any contact: unchanged
        near = np.zeros(len(joints), dtype=bool)
        for start, end in cleanup._runs(contacts[:, k]):
            near[max(0, start - blend) : end + blend] = True
        assert np.array_equal(locked[~near, ankle], joints[~near, ankle])
        # leg lengths kept by moving the knee
        hip, knee = JOINT_INDEX[f"{name}_hip"], JOINT_INDEX[f"{name}_knee"]
        for a, b in ((hip, knee), (knee, ankle)):
            lengths = np.linalg.norm(locked[:, a] - locked[:, b], axis=-1)
            original = np.linalg.norm(joints[:, a] - joints[:, b], axis=-1)
            assert np.max(np.abs(lengths - original)) < 1e-6
    others = [j for j in range(17) if j not in (2, 3, 5, 6)]
    assert np.array_equal(locked[:, others], joints[:, others])


def test_foot_lock_moves_the_body_with_a_drifting_root():
    """Both planted feet drifting 8 cm together (the lifted root's depth wandering): the whole
    body takes the drift, so the legs keep their directions, and the ankles stay held."""
    num = 60
    joints = np.zeros((num, 17, 3))
    for name, x in (("left", 0.1), ("right", -0.1)):
        joints[:, JOINT_INDEX[f"{name}_ankle"]] = [x, 0.0, 0.05]
        joints[:, JOINT_INDEX[f"{name}_knee"]] = [x, -0.03, 0.47]
        joints[:, JOINT_INDEX[f"{name}_hip"]] = [x, 0.0, 0.9]
    drift = np.linspace(-0.04, 0.04, num)  # metres along Y over two seconds
    joints[..., 1] += drift[:, None]
    contacts = np.ones((num, 2), dtype=bool)
    locked = cleanup.foot_lock(joints, contacts, fps=FPS)
    moved = cleanup.foot_lock(joints, contacts, fps=FPS, move_body=False)
    ankle, knee, hip = (JOINT_INDEX[f"left_{j}"] for j in ("ankle", "knee", "hip"))
    assert np.ptp(locked[:, ankle, 1]) < 0.002  # held within 2 mm, from 8 cm
    shin = locked[:, ankle] - locked[:, knee]
    shin_raw = joints[:, ankle] - joints[:, knee]
    cosine = np.sum(shin * shin_raw, -1) / np.linalg.norm(shin, axis=-1) ** 2
    assert np.degrees(np.arccos(np.clip(cosine, -1, 1))).max() < 0.5  # the shin keeps its line
    bent = moved[:, hip] - moved[:, knee]
    turn = np.degrees(np.arccos(np.clip(bent[:, 2] / np.linalg.norm(bent, axis=-1), -1, 1)))
    assert turn.max() > 2.0  # the legs alone would have bent by degrees


def test_a_heel_the_lift_raises_before_lift_off_comes_up_and_jitter_stays_down():
    """A planted ankle the lift holds 3-8 mm off the floor (jitter), raises 3 cm for a moment
    mid-contact (its error), then raises 4 cm over the contact's last 0.2 s (a heel coming up
    before the foot leaves): the jitter and the bump are held on the floor, the heel rises
    with the lift, less the tolerance."""
    num, floor = 40, 0.05
    joints = np.zeros((num, 17, 3))
    for name, x in (("left", 0.1), ("right", -0.1)):  # knees bent: every ankle within reach
        joints[:, JOINT_INDEX[f"{name}_ankle"]] = [x, 0.0, floor]
        joints[:, JOINT_INDEX[f"{name}_knee"]] = [x, -0.2, 0.47]
        joints[:, JOINT_INDEX[f"{name}_hip"]] = [x, 0.0, 0.9]
    ankle, knee = JOINT_INDEX["left_ankle"], JOINT_INDEX["left_knee"]
    span = round(cleanup.HEEL_SECONDS * FPS)
    height = 0.003 + 0.005 * (np.arange(num) % 2)  # 3 or 8 mm up, frame by frame
    height[15:20] = 0.03  # a bump mid-contact
    rise = np.linspace(0.0, 0.04, span + 1)[1:]
    height[-span:] = 0.003 + rise
    joints[:, ankle, 2] += height
    joints[:, knee] = joints[:, ankle] + [0.0, -0.2, 0.42]  # the shin moves with the ankle
    contacts = np.ones((num, 2), dtype=bool)
    locked = cleanup.foot_lock(joints, contacts, floor=floor, fps=FPS, move_body=False)
    held = locked[:, ankle, 2] - floor
    assert np.abs(held[:-span]).max() < 0.001  # the jitter and the bump: on the floor
    expected = np.maximum(rise - rise[0] - cleanup.HEEL_RISE, 0.0)  # from the window's start
    np.testing.assert_allclose(held[-span:], expected, atol=0.001)  # the heel: up with the lift
    assert held[-1] > 0.025


def test_foot_lock_blends_without_jumps():
    joints, _ = walking_feet()
    contacts = cleanup.detect_foot_contacts(joints, FPS)
    locked = cleanup.foot_lock(joints, contacts, blend_frames=4)
    ankle = JOINT_INDEX["left_ankle"]
    step_raw = np.max(np.linalg.norm(np.diff(joints[:, ankle], axis=0), axis=-1))
    step_locked = np.max(np.linalg.norm(np.diff(locked[:, ankle], axis=0), axis=-1))
    assert step_locked < step_raw + 0.01


def test_a_blend_leaves_a_moved_body_s_foot_where_the_body_put_it():
    """Stepping while the lifted root's depth wanders 15 cm: the body takes the drift, and
    after a lift-off the blend fades only what the legs still held, so the free foot never
    outruns the lifted one (faded whole, the hold pulled it back towards the unmoved path,
    then let go: 1 cm a frame faster)."""
    joints, planted = walking_feet()
    t = np.arange(len(joints)) / FPS
    joints[..., 1] += (0.15 * np.sin(2 * np.pi * 0.25 * t))[:, None]
    locked = cleanup.foot_lock(joints, planted, fps=FPS)
    ankle = JOINT_INDEX["left_ankle"]
    fastest_raw = np.linalg.norm(np.diff(joints[:, ankle], axis=0), axis=-1).max()
    fastest = np.linalg.norm(np.diff(locked[:, ankle], axis=0), axis=-1).max()
    assert fastest < fastest_raw + 0.002


def test_root_in_place():
    joints, _ = walking_feet()
    joints[:, JOINT_INDEX["pelvis"]] = [0.3, 0.0, 1.0]
    joints[:, JOINT_INDEX["pelvis"], 0] += np.linspace(0, 3, len(joints))
    joints[:, JOINT_INDEX["pelvis"], 2] += 0.02 * np.sin(np.arange(len(joints)))
    out = cleanup.root_motion(joints, "in_place")
    pelvis = out[:, JOINT_INDEX["pelvis"]]
    assert np.allclose(pelvis[:, :2], pelvis[0, :2])
    assert np.allclose(pelvis[:, 2], joints[:, JOINT_INDEX["pelvis"], 2])  # bobbing kept
    rel = out - out[:, JOINT_INDEX["pelvis"]][:, None]
    assert np.allclose(rel, joints - joints[:, JOINT_INDEX["pelvis"]][:, None])
    assert np.array_equal(cleanup.root_motion(joints, "full"), joints)
    origin = cleanup.root_motion(joints, "in_place", anchor="origin")
    assert np.allclose(origin[:, JOINT_INDEX["pelvis"], :2], 0.0)


def test_reduce_keys_within_tolerance_and_few_keys():
    t = np.arange(1800) / FPS
    # a minute of a slow move: half a metre over ten seconds with a gentle sway
    smooth = 0.5 * np.tanh((t - 30) / 5) + 0.05 * np.sin(2 * np.pi * 0.1 * t)
    tol = 1e-3  # 1 mm
    kept = cleanup.reduce_keys(smooth, tol)
    assert kept[0] == 0 and kept[-1] == len(t) - 1
    rebuilt = np.interp(np.arange(len(t)), kept, smooth[kept])
    assert np.max(np.abs(rebuilt - smooth)) <= tol
    assert len(kept) < 0.1 * len(t)
    # channels: one index array each, each within tolerance; shared keys bound all channels
    both = np.stack([smooth, 0.1 * np.cos(2 * np.pi * 0.2 * t)], 1)
    per_channel = cleanup.reduce_keys(both, tol)
    assert len(per_channel) == 2
    for c, idx in enumerate(per_channel):
        rebuilt = np.interp(np.arange(len(t)), idx, both[idx, c])
        assert np.max(np.abs(rebuilt - both[:, c])) <= tol
    shared = cleanup.reduce_keys(both, tol, shared=True)
    for c in range(2):
        rebuilt = np.interp(np.arange(len(t)), shared, both[shared, c])
        assert np.max(np.abs(rebuilt - both[:, c])) <= tol
    # a constant curve needs its two end keys only; a step keeps its corners
    assert list(cleanup.reduce_keys(np.ones(100), tol)) == [0, 99]
    step = np.r_[np.zeros(50), np.ones(50)]
    idx = cleanup.reduce_keys(step, tol)
    assert {49, 50} <= set(idx.tolist())


def test_clean_joints_runs_each_step():
    joints, _ = walking_feet()
    joints[:, JOINT_INDEX["pelvis"], 0] = np.linspace(0, 2, len(joints))
    same, contacts, _ = cleanup.clean_joints(joints, FPS)
    assert np.array_equal(same, joints)  # no step on by default; contacts are still found
    copy = butterworth(joints, FPS, cleanup.CONTACT_SMOOTH_HZ)
    np.testing.assert_array_equal(
        contacts,
        cleanup.contacts_from_probability(contact_model.probability(copy, FPS), FPS),
    )
    options = cleanup.CleanupOptions(contacts="thresholds")
    np.testing.assert_array_equal(
        cleanup.clean_joints(joints, FPS, options).contacts,
        cleanup.detect_foot_contacts(
            copy, FPS, lead=cleanup.CONTACT_LEAD, trail=cleanup.CONTACT_TRAIL
        ),
    )
    options = cleanup.CleanupOptions(
        smoothing="butterworth", cutoff_hz=5.0, foot_lock=True, root="in_place"
    )
    out, contacts, shift = cleanup.clean_joints(joints, FPS, options)
    assert contacts.shape == (len(joints), 2) and contacts.any()
    # the body's move by foot lock, which the footage camera follows
    locked = cleanup.clean_joints(joints, FPS, cleanup.CleanupOptions(foot_lock=True))
    pelvis = JOINT_INDEX["pelvis"]
    moved = locked.joints[:, pelvis] - joints[:, pelvis]
    np.testing.assert_allclose(locked.body_shift, moved, atol=1e-12)
    assert shift.shape == (len(joints), 3)
    assert np.allclose(out[:, JOINT_INDEX["pelvis"], :2], out[0, JOINT_INDEX["pelvis"], :2])
    with pytest.raises(ValueError, match="smoothing"):
        cleanup.clean_joints(joints, FPS, cleanup.CleanupOptions(smoothing="gaussian"))
    with pytest.raises(ValueError, match="contacts"):
        cleanup.clean_joints(joints, FPS, cleanup.CleanupOptions(contacts="guess"))


def test_reduce_channels_shares_keys_per_property():
    t = np.arange(300) / FPS
    q = np.stack([np.cos(0.2 * t), np.sin(0.2 * t), np.zeros_like(t), np.zeros_like(t)], 1)
    loc = np.stack([0.5 * t, np.zeros_like(t), 0.9 + 0.01 * np.sin(t)], 1)
    kept = cleanup.reduce_channels({"Hips": q}, {"Hips": loc})
    assert set(kept) == {("Hips", "rotation_quaternion"), ("Hips", "location")}
    idx = kept[("Hips", "location")]
    rebuilt = np.stack([np.interp(np.arange(len(t)), idx, loc[idx, c]) for c in range(3)], 1)
    assert np.max(np.abs(rebuilt - loc)) <= 1e-3
    assert len(kept[("Hips", "rotation_quaternion")]) < len(t) // 4
