"""The learned foot-contact classifier (`blender_addon.core.contact_model`) on real mocap: the
feet it finds down against the mocap's own contacts, at two frame rates, mirrored, and the
hysteresis that turns its probabilities into contacts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blender_addon.core import cleanup, contact_model
from blender_addon.core.coords import JOINT_INDEX
from blender_addon.core.filters import butterworth
from devtools.quality_metrics import contacts as mocap_contacts
from training.data.mocap import load_clip

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mocap"
MIRROR = [
    JOINT_INDEX[n.replace("left", "@").replace("right", "left").replace("@", "right")]
    for n in JOINT_INDEX
]


def blender_clip(name: str, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """An example clip's joints, Y up (the mocap's) and Z up (what cleanup takes)."""
    y_up = load_clip(EXAMPLES / name, fps=120, target_fps=fps).joints
    return y_up, np.stack([y_up[..., 0], -y_up[..., 2], y_up[..., 1]], axis=-1)


def found(z_up: np.ndarray, fps: float) -> np.ndarray:
    copy = butterworth(z_up, fps, cleanup.CONTACT_SMOOTH_HZ)
    return cleanup.contacts_from_probability(contact_model.probability(copy, fps), fps)


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_a_walk_s_steps_are_found_at_any_frame_rate(fps):
    """A CMU walk: nine in ten foot-frames the mocap has planted are found, and at most a
    quarter of what is found is not planted in the mocap (the hysteresis holds a contact a
    frame or two into its heel strike and toe-off), at 30 and at 60 frames a second alike."""
    y_up, z_up = blender_clip("cmu_actions_train_walking_1.bvh", fps)
    true, held = mocap_contacts(y_up, fps), found(z_up, fps)
    assert (held & true).sum() / true.sum() >= 0.9
    assert (held & true).sum() / held.sum() >= 0.75
    for k in range(2):  # steps, not one long contact: each foot swings at least once
        assert len(cleanup._runs(held[:, k])) >= 1 and not held[:, k].all()


def test_mirrored_motion_gives_the_mirrored_contacts():
    """Both feet are read by the same weights, the lateral features mirrored: a mirrored clip
    (x negated, left and right swapped) gives each foot the other's probability."""
    _, z_up = blender_clip("cmu_dance_indian_06_first3s.bvh", 30.0)
    mirrored = z_up * [-1.0, 1.0, 1.0]
    mirrored = mirrored[:, MIRROR]
    np.testing.assert_allclose(
        contact_model.probability(mirrored, 30.0)[:, ::-1],
        contact_model.probability(z_up, 30.0),
        atol=1e-9,
    )


def test_a_contact_spans_its_run_over_off_that_rises_over_on():
    """Offline hysteresis, the same both ways in time: a run over OFF counts whole where it
    rises over ON somewhere, a run that never does is dropped, short gaps close and short
    contacts go."""
    on, off = contact_model.ON, contact_model.OFF
    low, mid, high = off / 2, (on + off) / 2, (on + 1.0) / 2
    p = np.full((40, 2), low)
    p[5:15, 0] = [mid, mid, high, high, mid, mid, mid, high, mid, mid]  # one contact 5-15
    p[20:30, 0] = mid  # never over ON: no contact
    p[5:35, 1] = high
    p[19, 1] = low  # a one-frame gap (under 0.05 s at 30 fps): closed
    p[38:40, 1] = high  # two frames (under 0.1 s): dropped
    contacts = cleanup.contacts_from_probability(p, 30.0)
    assert cleanup._runs(contacts[:, 0]) == [(5, 15)]
    assert cleanup._runs(contacts[:, 1]) == [(5, 35)]


def test_weights_for_other_features_are_refused_with_what_to_do():
    """The shipped weights fit the features this code makes; weights trained on other features
    (FEATURES or OFFSETS_S changed without retraining) are refused, saying how to retrain."""
    weights = contact_model.load_weights()
    assert weights["features"] == len(contact_model.FEATURES) * len(contact_model.OFFSETS_S)
    features = np.zeros((5, 2, weights["features"] + 1))
    with pytest.raises(ValueError, match="devtools.contact_training"):
        contact_model.classify(features, weights)


def test_no_contact_is_read_where_nobody_was_seen_and_short_dropouts_are_bridged():
    """A walker who enters half a second in (the lift's guess before: the first pose, held
    still) gets no contact before being seen, and the ones after are read on the seen frames
    alone (a foot still in the guess is no planted foot); a two-frame dropout later is bridged."""
    _, walk = blender_clip("cmu_actions_train_walking_1.bvh", 30.0)
    joints = np.concatenate([np.repeat(walk[:1], 15, axis=0), walk])
    seen = np.arange(len(joints)) >= 15
    options = cleanup.CleanupOptions(foot_lock=True)
    contacts = cleanup.clean_joints(joints, 30.0, options, seen).contacts
    assert not contacts[:15].any()
    np.testing.assert_array_equal(contacts[15:], cleanup.learned_contacts(walk, 30.0))
    dropout = seen.copy()
    dropout[50:52] = False
    bridged = cleanup.clean_joints(joints, 30.0, options, dropout).contacts
    np.testing.assert_array_equal(bridged, contacts)
