"""Metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mpm_backend.skeleton import H36M17
from training import metrics


def _poses(n: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    poses = rng.normal(scale=0.3, size=(n, 17, 3))
    return poses - poses[:, :1]


def test_rotation_scale_translation_gives_zero_p_mpjpe_but_not_mpjpe():
    gt = _poses()
    rotation = Rotation.from_euler("xyz", [20, -35, 70], degrees=True).as_matrix()
    pred = 1.3 * gt @ rotation.T + np.array([0.1, -0.2, 0.3])
    assert metrics.p_mpjpe(pred, gt) == pytest.approx(0.0, abs=1e-6)
    assert metrics.mpjpe(pred, gt) > 100.0
    aligned = metrics.procrustes_align(pred, gt)
    np.testing.assert_allclose(aligned, gt, atol=1e-9)


def test_mirror_image_is_not_aligned_away():
    """The reflection fix: a mirrored pose cannot be rotated onto the original."""
    gt = _poses()
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    assert metrics.p_mpjpe(mirrored, gt) > 10.0
    aligned = metrics.procrustes_align(mirrored, gt)
    # The alignment is a proper similarity transform: determinant of the fit stays positive.
    x = mirrored[0] - mirrored[0].mean(0)
    y = aligned[0] - aligned[0].mean(0)
    fit, *_ = np.linalg.lstsq(x, y, rcond=None)
    assert np.linalg.det(fit) > 0


def test_procrustes_never_worse_than_scale_never_worse_than_raw():
    gt = _poses(20)
    pred = gt + np.random.default_rng(1).normal(scale=0.05, size=gt.shape)
    assert metrics.p_mpjpe(pred, gt) <= metrics.n_mpjpe(pred, gt) + 1e-9
    assert metrics.n_mpjpe(pred, gt) <= metrics.mpjpe(pred, gt) + 1e-9


def test_constant_offset():
    gt = _poses(10)
    offset = np.array([0.03, 0.04, 0.0])  # 50 mm
    pred = gt + offset
    assert metrics.mpjpe(pred, gt) == pytest.approx(50.0)
    assert metrics.mpjve(pred, gt) == pytest.approx(0.0, abs=1e-9)
    assert metrics.accel_error(pred, gt) == pytest.approx(0.0, abs=1e-9)
    assert metrics.pck(pred, gt) == 100.0
    assert metrics.pck(pred, gt, threshold_mm=49.0) == 0.0


def test_scale_only():
    gt = _poses()
    assert metrics.n_mpjpe(0.8 * gt, gt) == pytest.approx(0.0, abs=1e-9)
    assert metrics.mpjpe(0.8 * gt, gt) > 0


def test_velocity_and_acceleration_by_hand():
    gt = np.zeros((4, 17, 3))
    pred = np.zeros((4, 17, 3))
    pred[2, 5, 0] = 0.01  # one joint jumps 10 mm in frame 2
    # velocities of joint 5: 0, +10, -10 mm → errors 0, 10, 10 over 3×17 entries
    assert metrics.mpjve(pred, gt) == pytest.approx(20.0 / (3 * 17))
    # accelerations: +10-0 = 10, -10-10 = -20 → 10, 20 over 2×17 entries
    assert metrics.accel_error(pred, gt) == pytest.approx(30.0 / (2 * 17))
    mask = np.zeros((4, 17), dtype=bool)
    mask[:, 5] = True
    assert metrics.mpjve(pred, gt, mask) == pytest.approx(20.0 / 3)
    assert metrics.mpjpe(pred, gt, mask) == pytest.approx(10.0 / 4)


def test_pck_and_auc_on_constructed_errors():
    errs = np.array([0.0, 10.0, 100.0, 149.0, 150.0, 151.0, 300.0, 1000.0])
    assert metrics.pck_from_errors(errs) == pytest.approx(5 / 8 * 100)
    thresholds = np.linspace(0, 150, 31)
    expected = np.mean([(errs <= t).mean() for t in thresholds]) * 100
    assert metrics.auc_from_errors(errs) == pytest.approx(expected)
    assert metrics.auc_from_errors(np.zeros(5)) == 100.0
    assert metrics.auc_from_errors(np.full(5, 151.0)) == 0.0
    # error exactly 75 mm: PCK is 0 below 75 and 100 from 75 on → 16 of 31 thresholds
    assert metrics.auc_from_errors(np.array([75.0])) == pytest.approx(16 / 31 * 100)


def test_pck_and_auc_from_poses():
    gt = np.zeros((1, 17, 3))
    pred = np.zeros((1, 17, 3))
    pred[0, :, 0] = np.linspace(0.0, 0.32, 17)  # 0, 20, …, 320 mm
    assert metrics.pck(pred, gt) == pytest.approx(8 / 17 * 100)  # 0..140 mm
    assert 0 < metrics.auc(pred, gt) < metrics.pck(pred, gt)


def test_per_joint_and_mask():
    gt = np.zeros((2, 17, 3))
    pred = np.zeros((2, 17, 3))
    knee = H36M17.index("left_knee")
    pred[:, knee, 1] = 0.02
    per_joint = metrics.per_joint_mpjpe(pred, gt)
    assert per_joint["left_knee"] == pytest.approx(20.0)
    assert per_joint["pelvis"] == 0.0
    assert list(per_joint) == list(H36M17.joints)
    mask = np.zeros((2, 17), dtype=bool)
    mask[0, knee] = True
    masked = metrics.per_joint_mpjpe(pred, gt, mask)
    assert masked["left_knee"] == pytest.approx(20.0)
    assert np.isnan(masked["pelvis"])
    assert np.isnan(metrics.mpjpe(pred, gt, np.zeros((2, 17), dtype=bool)))


def test_summarise_pools_frame_weighted_without_cross_sequence_differences():
    a_gt = _poses(5, seed=2)
    b_gt = _poses(3, seed=3)
    a_pred = a_gt + np.array([0.01, 0.0, 0.0])  # 10 mm everywhere
    b_pred = b_gt + np.array([0.0, 0.04, 0.0])  # 40 mm everywhere
    out = metrics.summarise([a_pred, b_pred], [a_gt, b_gt])
    assert out["mpjpe"] == pytest.approx((5 * 10 + 3 * 40) / 8)
    assert out["mpjve"] == pytest.approx(0.0, abs=1e-9)  # a jump between a and b is not counted
    assert out["frames"] == 8 and out["scored"] == 8 * 17
    assert set(out) >= {"mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "accel", "pck150", "auc"}
    assert out["per_joint"]["head"] == pytest.approx(out["mpjpe"])


def test_shape_errors():
    with pytest.raises(ValueError):
        metrics.mpjpe(np.zeros((2, 17, 3)), np.zeros((3, 17, 3)))
    with pytest.raises(ValueError):
        metrics.mpjpe(np.zeros((2, 17, 3)), np.zeros((2, 17, 3)), np.zeros((2, 16), bool))
