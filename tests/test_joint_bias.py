"""The joint-bias report (devtools.joint_bias): a lift that puts the thorax 5 cm low on a
turned body reads as a 50 mm bias down the trunk, whatever way the body faces."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from devtools import joint_bias
from mpm_backend.skeleton import H36M17

J = H36M17.index


def standing(turns: np.ndarray) -> np.ndarray:
    """(N, 17, 3) a standing body (x left, z up) turned by each of ``turns`` (N, 3, 3)."""
    pose = np.zeros((17, 3))
    for joint, xyz in {
        "left_hip": (0.1, 0, 0), "right_hip": (-0.1, 0, 0), "spine": (0, 0, 0.25),
        "thorax": (0, 0, 0.5), "left_shoulder": (0.18, 0, 0.5), "right_shoulder": (-0.18, 0, 0.5),
        "head": (0, -0.05, 0.7), "nose": (0, -0.1, 0.65),
        "left_elbow": (0.2, 0, 0.22), "right_elbow": (-0.2, 0, 0.22),
        "left_wrist": (0.2, 0, 0), "right_wrist": (-0.2, 0, 0),
        "left_knee": (0.1, 0, -0.45), "right_knee": (-0.1, 0, -0.45),
        "left_ankle": (0.1, 0, -0.9), "right_ankle": (-0.1, 0, -0.9),
    }.items():  # fmt: skip
        pose[J(joint)] = xyz
    return np.einsum("nij,kj->nki", turns, pose)


def test_a_low_thorax_is_a_bias_down_the_trunk_in_any_facing():
    turns = Rotation.random(50, random_state=0).as_matrix()
    truth = standing(turns)
    lifted = truth.copy()
    lifted[:, J("thorax")] -= 0.05 * turns[:, :, 2]  # 5 cm down the body's own trunk
    frames = joint_bias.body_frames(truth)
    np.testing.assert_allclose(
        np.einsum("nij,nkj->nki", frames, truth)[0], standing(np.eye(3)[None])[0], atol=1e-12
    )
    text = joint_bias.report(
        "test", np.einsum("nij,nkj->nki", frames, lifted), np.einsum("nij,nkj->nki", frames, truth)
    )
    row = next(line for line in text.splitlines() if line.startswith("| thorax |"))
    assert row.startswith("| thorax | +0, +0, -50 | 50 | 50 |"), row
    assert "| left_hip | +0, +0, +0 | 0 | 0 |" in text


def test_a_person_s_narrower_lifted_shoulders_show_in_their_row():
    truth = standing(Rotation.random(20, random_state=1).as_matrix())
    lifted = truth.copy()
    for side in ("left", "right"):  # each arm 3 cm in, towards the thorax
        inward = truth[:, J("thorax")] - truth[:, J(f"{side}_shoulder")]
        inward /= np.linalg.norm(inward, axis=-1)[:, None]
        for joint in ("shoulder", "elbow", "wrist"):
            lifted[:, J(f"{side}_{joint}")] += 0.03 * inward
    cells = joint_bias.person_row("lab", "p1", lifted, truth).strip("| ").split(" | ")
    # 6 of 17 joints 30 mm off: 10.6 mm overall, 18 mm over the ten upper-body joints, legs 0
    assert cells[:6] == ["lab", "p1", "20", "10.6", "18.0", "0.0"], cells
    assert cells[8:] == ["360", "300", "500", "500"], cells
    # on the person's own bones the arms are back; on their proportions at the lift's size
    # (its bones 6 cm shorter in all) the whole body is that much smaller about the root
    true_total = joint_bias.bone_lengths(truth).sum()
    smaller = 0.06 / true_total * np.linalg.norm(truth, axis=-1).mean() * 1000.0
    assert float(cells[6]) == 0.0
    assert float(cells[7]) == pytest.approx(smaller, abs=0.05)


def test_knees_pulled_to_a_middle_bend_show_by_the_true_bend():
    truth = np.repeat(standing(np.eye(3)[None]), 2, axis=0)
    lifted = truth.copy()
    for frame, (true_bend, lifted_bend) in enumerate(((5.0, 15.0), (80.0, 65.0))):
        for side in ("left", "right"):  # shins turned forward about the knee
            knee, ankle = J(f"{side}_knee"), J(f"{side}_ankle")
            for pose, bend in ((truth, true_bend), (lifted, lifted_bend)):
                shin = Rotation.from_euler("x", bend, degrees=True).apply([0.0, 0.0, -0.45])
                pose[frame, ankle] = pose[frame, knee] + shin
    np.testing.assert_allclose(joint_bias.knee_flexion_deg(truth), [[5, 5], [80, 80]], atol=1e-9)
    rows = joint_bias.knee_report(lifted, truth).splitlines()[2:]
    assert rows == ["| 0–15 | 2 | +10.0 | +10.0 |", "| 60–90 | 2 | -15.0 | -15.0 |"], rows
