"""Occlusion masks: exact counts, ratios, contiguous limb tubes, determinism per seed."""

from __future__ import annotations

import numpy as np
import pytest

from mpm_backend.skeleton import H36M17
from training.data.masks import (
    LIMBS,
    frame_drop_mask,
    hidden_joints,
    limb_tube_mask,
    random_joint_mask,
    spatio_temporal_mask,
)

J = H36M17.num_joints


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def is_contiguous(flags: np.ndarray) -> bool:
    frames = np.flatnonzero(flags)
    return len(frames) == 0 or frames[-1] - frames[0] + 1 == len(frames)


def test_limbs_are_the_named_h36m_joints() -> None:
    expected = {
        "left_arm": ("left_shoulder", "left_elbow", "left_wrist"),
        "right_arm": ("right_shoulder", "right_elbow", "right_wrist"),
        "left_leg": ("left_hip", "left_knee", "left_ankle"),
        "right_leg": ("right_hip", "right_knee", "right_ankle"),
        "left_forearm": ("left_elbow", "left_wrist"),
        "right_forearm": ("right_elbow", "right_wrist"),
        "left_shin": ("left_knee", "left_ankle"),
        "right_shin": ("right_knee", "right_ankle"),
    }
    assert set(LIMBS) == set(expected)
    for name, joints in expected.items():
        assert tuple(H36M17.joints[i] for i in LIMBS[name]) == joints
    for name in ("arm", "leg", "forearm", "shin"):
        mirrored = H36M17.flip_permutation[list(LIMBS[f"left_{name}"])]
        assert tuple(mirrored) == LIMBS[f"right_{name}"]


@pytest.mark.parametrize("joints_per_frame", [0, 1, 5, 16, 17])
def test_random_joint_mask_hides_exactly_k_distinct_joints_per_frame(joints_per_frame: int) -> None:
    mask = random_joint_mask(rng(0), 243, J, joints_per_frame)
    assert mask.shape == (243, J) and mask.dtype == bool
    assert (mask.sum(axis=1) == joints_per_frame).all()


def test_random_joint_mask_covers_joints_evenly_and_is_seeded() -> None:
    mask = random_joint_mask(rng(1), 5000, J, 5)
    np.testing.assert_allclose(mask.mean(axis=0), 5 / J, atol=0.02)
    np.testing.assert_array_equal(
        random_joint_mask(rng(2), 50, J, 5), random_joint_mask(rng(2), 50, J, 5)
    )
    assert not np.array_equal(
        random_joint_mask(rng(2), 50, J, 5), random_joint_mask(rng(3), 50, J, 5)
    )


def test_random_joint_mask_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError):
        random_joint_mask(rng(0), 10, J, J + 1)


@pytest.mark.parametrize("n_limbs", [1, 2, 3])
def test_limb_tubes_hide_whole_limbs_over_a_contiguous_span(n_limbs: int) -> None:
    for seed in range(50):
        mask = limb_tube_mask(rng(seed), 81, J, n_limbs=n_limbs, min_len=10, max_len=40)
        hidden = np.flatnonzero(mask.any(axis=0))
        limbs_used = [
            name for name, joints in LIMBS.items() if all(mask[:, j].any() for j in joints)
        ]
        assert set(hidden) <= set().union(*(LIMBS[name] for name in limbs_used))
        for joint in hidden:
            # A joint shared by two chosen limbs (arm and forearm) may carry two overlapping tubes.
            if sum(joint in LIMBS[name] for name in limbs_used) == 1:
                assert is_contiguous(mask[:, joint])
                assert 10 <= mask[:, joint].sum() <= 40


def test_single_limb_tube_masks_one_limb_exactly() -> None:
    for seed in range(50):
        mask = limb_tube_mask(rng(seed), 60, J, n_limbs=1, min_len=5, max_len=20)
        hidden = tuple(np.flatnonzero(mask.any(axis=0)))
        assert hidden in {tuple(sorted(joints)) for joints in LIMBS.values()}
        columns = mask[:, list(hidden)]
        assert (columns == columns[:, :1]).all()  # the whole limb over the same span
        assert is_contiguous(columns[:, 0]) and 5 <= columns[:, 0].sum() <= 20


def test_limb_tube_defaults_and_restriction() -> None:
    mask = limb_tube_mask(rng(4), 30, J, limbs=["left_leg"])
    assert set(np.flatnonzero(mask.any(axis=0))) == set(LIMBS["left_leg"])
    assert 1 <= mask[:, LIMBS["left_leg"][0]].sum() <= 30
    whole = limb_tube_mask(rng(5), 30, J, min_len=30, limbs=["right_arm"])
    assert whole[:, list(LIMBS["right_arm"])].all()
    np.testing.assert_array_equal(
        limb_tube_mask(rng(6), 40, J, 2), limb_tube_mask(rng(6), 40, J, 2)
    )


@pytest.mark.parametrize(
    ("num_frames", "ratio", "dropped"),
    [(243, 0.6, 146), (27, 0.6, 16), (10, 0.25, 3), (10, 0.0, 0), (10, 1.0, 9), (1, 0.9, 0)],
)
def test_frame_drop_mask_drops_exactly_round_ratio_frames(
    num_frames: int, ratio: float, dropped: int
) -> None:
    mask = frame_drop_mask(rng(7), num_frames, ratio)
    assert mask.shape == (num_frames,) and mask.dtype == bool
    assert mask.sum() == dropped
    assert (~mask).any()


def test_frame_drop_mask_is_seeded() -> None:
    np.testing.assert_array_equal(
        frame_drop_mask(rng(8), 100, 0.5), frame_drop_mask(rng(8), 100, 0.5)
    )
    assert not np.array_equal(frame_drop_mask(rng(8), 100, 0.5), frame_drop_mask(rng(9), 100, 0.5))


def test_spatio_temporal_mask_matches_the_paper_ratio() -> None:
    frame_mask, joint_mask = spatio_temporal_mask(rng(10), 243, J)
    assert frame_mask.sum() == 146
    assert not joint_mask[frame_mask].any()  # a dropped frame carries no joint mask
    assert (joint_mask[~frame_mask].sum(axis=1) == 5).all()
    hidden = hidden_joints(frame_mask, joint_mask)
    assert hidden.mean() == pytest.approx(1 - 0.4 * 12 / 17, abs=0.005)  # ≈ 0.718


def test_spatio_temporal_mask_is_seeded() -> None:
    first = spatio_temporal_mask(rng(11), 81, J)
    again = spatio_temporal_mask(rng(11), 81, J)
    other = spatio_temporal_mask(rng(12), 81, J)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], other[1])
