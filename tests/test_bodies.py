"""New bodies for old motion: real people's sizes, rigid bones, planted feet, detector points."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mpm_backend.skeleton import H36M17
from training.data.bodies import (
    BODY_LENGTH_PER_STATURE,
    BodyConfig,
    DetectorConfig,
    body_length,
    detector_points,
    detector_points_batch,
    repose,
    repose_batch,
)
from training.data.mocap import load_clip

WALK = Path(__file__).resolve().parents[1] / "examples/mocap/cmu_actions_train_walking_1.bvh"
j = H36M17.index
# a new body without the bone-angle changes or tilts, so a posture's own effect shows
STILL = dict(
    prob=1.0,
    arm_swing_deg=0.0,
    leg_swing_deg=0.0,
    elbow_flex_deg=0.0,
    knee_flex_deg=0.0,
    tilt_prob=0.0,
)


@pytest.fixture(scope="module")
def walk() -> np.ndarray:
    return load_clip(WALK, skip_frames=1, target_fps=30).joints[:81]


def lengths(joints: np.ndarray) -> np.ndarray:
    """(T, 16) bone lengths, by child joint."""
    parents = np.array(H36M17.parents[1:])
    return np.linalg.norm(joints[:, 1:] - joints[:, parents], axis=-1)


def test_reposed_bones_are_rigid_and_derived_joints_stay_midpoints(walk):
    for seed in range(20):
        body = repose(walk, np.random.default_rng(seed))
        # each bone keeps the mocap's length over time times one factor (the trunk and head
        # "bones" between derived joints bend with the spine, in the mocap too)
        ratio = lengths(body) / lengths(walk)
        np.testing.assert_array_less(ratio.std(axis=0), 1e-9)
        for mid, (a, b) in {
            "pelvis": ("left_hip", "right_hip"),
            "thorax": ("left_shoulder", "right_shoulder"),
            "spine": ("pelvis", "thorax"),
        }.items():
            np.testing.assert_allclose(body[:, j(mid)], 0.5 * (body[:, j(a)] + body[:, j(b)]))


def test_statures_follow_the_population(walk):
    statures = np.array(
        [
            body_length(repose(walk, np.random.default_rng(s))) / BODY_LENGTH_PER_STATURE
            for s in range(400)
        ]
    )
    adults = statures[statures > 1.45]
    # ANSUR II: men 1.756 ± 0.069 m, women 1.629 ± 0.064 m, half each; 10 % children.
    assert 1.66 < np.median(adults) < 1.72
    assert 0.05 < np.mean(statures < 1.45) < 0.16
    # the segment spreads (trunk 12 %) stretch the tallest of 400 by a few centimetres
    assert statures.min() > 1.0 and statures.max() < 2.1


def test_feet_stay_on_the_floor_and_strides_scale_with_the_legs(walk):
    for seed in range(10):
        body = repose(walk, np.random.default_rng(seed))
        legs = [j(n) - 1 for n in ("left_knee", "right_knee", "left_ankle", "right_ankle")]
        ratio = np.mean(lengths(body)[0, legs] / lengths(walk)[0, legs])
        lowest_mocap, lowest = walk[..., 1].min(axis=1), body[..., 1].min(axis=1)
        # the lowest joint follows the mocap's, scaled by the legs: planted stays planted
        floor = lowest_mocap.min()
        np.testing.assert_allclose(lowest - floor, (lowest_mocap - floor) * ratio, atol=1e-9)
        travel = np.linalg.norm(walk[-1, j("pelvis"), [0, 2]] - walk[0, j("pelvis"), [0, 2]])
        travel_new = np.linalg.norm(body[-1, j("pelvis"), [0, 2]] - body[0, j("pelvis"), [0, 2]])
        assert travel_new == pytest.approx(travel * ratio, rel=0.06)


def test_elbows_and_knees_stay_inside_their_limits(walk):
    config = BodyConfig(elbow_flex_deg=60.0, knee_flex_deg=60.0)
    for seed in range(10):
        body = repose(walk, np.random.default_rng(seed), config)
        for a, b, c in (
            ("left_hip", "left_knee", "left_ankle"),
            ("right_shoulder", "right_elbow", "right_wrist"),
        ):
            upper = body[:, j(b)] - body[:, j(a)]
            lower = body[:, j(c)] - body[:, j(b)]
            cosine = np.einsum("ti,ti->t", upper, lower) / (
                np.linalg.norm(upper, axis=-1) * np.linalg.norm(lower, axis=-1)
            )
            flexion = np.degrees(np.arccos(np.clip(cosine, -1, 1)))
            assert flexion.max() <= 150.0 + 1e-6


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cosine = np.einsum("...i,...i->...", a, b) / (
        np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    )
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def test_bent_bodies_lean_towards_the_face_and_crouched_ones_get_lower(walk):
    trunk = lambda joints: joints[:, j("thorax")] - joints[:, j("pelvis")]  # noqa: E731
    lean, depth = [], []
    for seed in range(40):
        bent = repose(
            walk,
            np.random.default_rng(seed),
            BodyConfig(**STILL, bend_prob=1.0, lean_deg=0.0, crouch_prob=0.0),
        )
        face = walk[:, j("nose")] - walk[:, j("head")]
        # the thorax moves towards where the face looks, by at most the configured angle
        moved = trunk(bent) / np.linalg.norm(trunk(bent), axis=-1, keepdims=True) - trunk(
            walk
        ) / np.linalg.norm(trunk(walk), axis=-1, keepdims=True)
        assert np.all(np.einsum("ti,ti->t", moved, face) >= -1e-9)
        lean.append(_angle_deg(trunk(bent), trunk(walk)).max())
        crouched = repose(
            walk, np.random.default_rng(seed), BodyConfig(**STILL, bend_prob=0.0, crouch_prob=1.0)
        )
        upright = repose(
            walk, np.random.default_rng(seed), BodyConfig(**STILL, bend_prob=0.0, crouch_prob=0.0)
        )
        height = lambda joints: joints[:, j("pelvis"), 1] - joints[..., 1].min(axis=1)  # noqa: E731
        depth.append((height(upright) - height(crouched)).max() / height(upright).mean())
    assert max(lean) <= 90.0 + 1e-6 and np.median(lean) > 25.0
    # the deepest crouches take the pelvis down by more than a third of its height
    assert min(depth) >= -1e-9 and max(depth) > 0.35


def _angle_from_down_deg(bone: np.ndarray) -> np.ndarray:
    """(T,) degrees between Y-up bones (T, 3) and straight down."""
    return _angle_deg(bone, np.broadcast_to([0.0, -1.0, 0.0], bone.shape))


def test_crouches_squat_with_the_heels_down_like_real_people(walk):
    # A full squat bends the knees past 150 deg with the shins leaning well forward (the heels
    # down, or on the toes), some with the knees far apart (docs/data.md).
    knees, shins, spread = [], [], []
    for seed in range(40):
        body = repose(
            walk, np.random.default_rng(seed), BodyConfig(**STILL, bend_prob=0.0, crouch_prob=1.0)
        )
        thigh = body[:, j("left_knee")] - body[:, j("left_hip")]
        shin = body[:, j("left_ankle")] - body[:, j("left_knee")]
        deepest = int(np.argmax(_angle_deg(thigh, shin)))
        knees.append(_angle_deg(thigh, shin)[deepest])
        shins.append(_angle_from_down_deg(shin)[deepest])
        knees_apart = np.linalg.norm(body[:, j("left_knee")] - body[:, j("right_knee")], axis=-1)
        hips = np.linalg.norm(body[:, j("left_hip")] - body[:, j("right_hip")], axis=-1)
        spread.append((knees_apart / hips)[deepest])
        # the feet stay on the floor: nothing goes under the window's lowest mocap point
        assert body[..., 1].min() >= walk[..., 1].min() - 1e-6
    assert max(knees) >= 150.0 and max(knees) <= 160.0 + 1e-6
    # the knee comes forward of the foot: shins lean well forward, not only by a few degrees
    assert np.percentile(shins, 75) > 40.0
    # splayed crouches take the knees out, three hip widths apart (2.3 without splay)
    assert max(spread) > 3.0


def test_tilted_bodies_lie_on_the_floor(walk):
    config = BodyConfig(prob=1.0, tilt_prob=1.0, bend_prob=0.0, crouch_prob=0.0)
    up = np.array([0.0, 1.0, 0.0])
    tilts = []
    for seed in range(30):
        body = repose(walk, np.random.default_rng(seed), config)
        trunk = body[:, j("thorax")] - body[:, j("pelvis")]
        tilts.append(_angle_deg(trunk, up).max())
        assert body[..., 1].min() >= walk[..., 1].min() - 1e-9  # nothing under the floor
    assert max(tilts) > 70.0


def test_detector_points_sit_where_detectors_mark_them(walk):
    config = DetectorConfig(prob=1.0)
    up = walk[0, j("thorax")] - walk[0, j("pelvis")]
    up /= np.linalg.norm(up)
    shoulder_up, hip_down, hip_out = [], [], []
    for seed in range(200):
        seen = detector_points(walk, np.random.default_rng(seed), config)
        moved = seen[0] - walk[0]
        shoulder_up.append(moved[j("left_shoulder")] @ up)
        hip_down.append(-moved[j("right_hip")] @ up)
        outward = walk[0, j("right_hip")] - walk[0, j("pelvis")]
        hip_out.append(moved[j("right_hip")] @ outward / np.linalg.norm(outward))
        # the runtime's derived joints, from the moved points
        np.testing.assert_allclose(
            seen[:, j("pelvis")], 0.5 * (seen[:, j("left_hip")] + seen[:, j("right_hip")])
        )
    stature = body_length(walk) / BODY_LENGTH_PER_STATURE
    # shoulders on top of the shoulder (~1.8 % of stature), hips lower and wider on average
    assert np.median(shoulder_up) / stature == pytest.approx(0.018, abs=0.004)
    assert np.mean(hip_down) > 0.005 * stature and np.mean(hip_out) > 0.004 * stature
    assert max(np.abs(shoulder_up).max(), np.abs(hip_down).max()) < 0.08 * stature


def test_a_new_body_moves_the_3d_by_centimetres_and_keeps_the_camera(mini_cache):
    from training.data.dataset import ClipWindows, WindowConfig

    plain = ClipWindows(mini_cache, "train", WindowConfig(), seed=3)
    varied = ClipWindows(
        mini_cache,
        "train",
        WindowConfig(bodies=BodyConfig(prob=1.0), detector=DetectorConfig()),
        seed=3,
    )
    a, b = plain[0], varied[0]
    # same camera and noise draws, another person: the 3D differs by centimetres, not metres
    difference = np.linalg.norm(a["pose3d"] - b["pose3d"], axis=-1).mean()
    assert 0.005 < difference < 0.2
    np.testing.assert_array_equal(a["intrinsics"], b["intrinsics"])


def test_a_batch_of_windows_gets_the_bodies_each_window_gets_alone(walk):
    # The loader re-poses a step's windows together; each window's person, angles, posture and
    # detector offsets must still be its own generator's, so the batch changes no draw. Every
    # posture is on (crouches, bends, tilts) so each batched branch is met.
    config = BodyConfig(crouch_prob=0.5, bend_prob=0.5, tilt_prob=0.5, child_prob=0.3)
    windows = np.stack([walk, walk[::-1], walk + [0.5, 0.0, -1.0], walk[:, :, [0, 1, 2]] * 1.1])
    together = repose_batch(windows, [np.random.default_rng(s) for s in range(4)], config)
    for s, window in enumerate(windows):
        alone = repose(window, np.random.default_rng(s), config)
        np.testing.assert_allclose(together[s], alone, rtol=0, atol=1e-12)
    seen_config = DetectorConfig(prob=0.5)
    seen = detector_points_batch(
        together, [np.random.default_rng(9 + s) for s in range(4)], seen_config
    )
    for s, window in enumerate(together):
        alone = detector_points(window, np.random.default_rng(9 + s), seen_config)
        np.testing.assert_allclose(seen[s], alone, rtol=0, atol=1e-12)
    assert sum(not np.array_equal(seen[s], together[s]) for s in range(4)) not in (0, 4)
