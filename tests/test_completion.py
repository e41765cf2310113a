"""A model's 3D fill fitted to the seen joints: it meets the seen frames, bones keep their length."""

import numpy as np
import pytest

from mpm_backend.completion import blend_offsets, bone_lengths, fit_to_seen, keep_bone_lengths
from mpm_backend.skeleton import H36M17
from tests.synthetic import standing_pose

ELBOW, WRIST = H36M17.index("left_elbow"), H36M17.index("left_wrist")
SHOULDER = H36M17.index("left_shoulder")


def test_fill_meets_the_seen_frames_and_keeps_its_own_motion():
    frames = 120
    truth = np.sin(np.linspace(0, 6, frames))[:, None, None] * np.ones((1, 2, 3))
    visible = np.ones((frames, 2), bool)
    visible[30:90, 1] = False  # joint 1 hidden for 2 s at 30 fps
    drift = 0.2 + 0.002 * np.arange(frames)[:, None, None]  # a fill 20-38 cm off, drifting
    model_fill = truth + drift
    out = blend_offsets(model_fill, np.where(visible[..., None], truth, np.nan), visible)
    np.testing.assert_array_equal(out[visible], truth[visible])
    np.testing.assert_allclose(out, truth, atol=1e-12)  # a linear drift comes off exactly
    step = np.abs(np.diff(out[:, 1, 0]))
    assert step.max() <= np.abs(np.diff(truth[:, 1, 0])).max() + 1e-12  # no pop at the edges
    raw = np.where(visible[..., None], truth, model_fill)  # the model's fill pasted in: a pop
    assert np.abs(np.diff(raw[:, 1, 0])).max() > 0.2


def swinging_forearm(frames: int = 60) -> np.ndarray:
    """(T, 17, 3) a standing figure whose left forearm (26 cm) swings through 90 degrees."""
    pose = np.repeat(standing_pose()[None], frames, axis=0)
    angle = np.linspace(0.0, np.pi / 2, frames)
    direction = np.stack([np.zeros(frames), -np.cos(angle), np.sin(angle)], axis=-1)
    pose[:, WRIST] = pose[:, ELBOW] + 0.26 * direction
    return pose


def test_hidden_joints_keep_the_bone_lengths_the_seen_frames_show():
    truth = swinging_forearm()
    visible = np.ones(truth.shape[:2], bool)
    visible[20:40, [ELBOW, WRIST]] = False  # the forearm and upper arm hidden for 20 frames
    lengths = bone_lengths(np.where(visible[..., None], truth, np.nan), visible)
    assert lengths[WRIST] == pytest.approx(0.26)
    assert np.isnan(lengths[H36M17.index("pelvis")])
    fill = truth.copy()  # the model's fill: right directions, both bones 30 % too long
    fill[20:40, ELBOW] = truth[20:40, SHOULDER] + 1.3 * (
        truth[20:40, ELBOW] - truth[20:40, SHOULDER]
    )
    fill[20:40, WRIST] = fill[20:40, ELBOW] + 1.3 * (truth[20:40, WRIST] - truth[20:40, ELBOW])
    out = keep_bone_lengths(fill, visible, lengths)
    np.testing.assert_allclose(out[:, :WRIST], truth[:, :WRIST], atol=1e-12)  # elbow put back
    # The wrist: at the forearm's length from the placed elbow, towards the fill's wrist.
    forearm = out[20:40, WRIST] - out[20:40, ELBOW]
    np.testing.assert_allclose(np.linalg.norm(forearm, axis=-1), 0.26, atol=1e-12)
    towards = fill[20:40, WRIST] - out[20:40, ELBOW]
    np.testing.assert_allclose(np.cross(forearm, towards), 0.0, atol=1e-12)
    np.testing.assert_array_equal(out[visible], truth[visible])
    # Unknown lengths (never seen whole) leave the fill as it is.
    np.testing.assert_array_equal(keep_bone_lengths(fill, visible, np.full(17, np.nan)), fill)


def test_a_perfect_fill_comes_back_unchanged_and_a_shifted_one_is_corrected():
    truth = swinging_forearm()
    visible = np.ones(truth.shape[:2], bool)
    visible[10:50, WRIST] = False
    masked = np.where(visible[..., None], truth, np.nan)
    np.testing.assert_allclose(fit_to_seen(truth, masked, visible), truth, atol=1e-12)
    shifted = truth + np.array([0.05, -0.03, 0.1])  # the model's whole pose off by 12 cm
    np.testing.assert_allclose(fit_to_seen(shifted, masked, visible), truth, atol=1e-12)
