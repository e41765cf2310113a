"""The contact classifier's trainer (`devtools.contact_training`) end to end on an example clip:
real cameras, the shipped model's lift, the add-on's levelling, the mocap's contacts."""

from __future__ import annotations

import numpy as np

from blender_addon.core import contact_model
from devtools import contact_training


def test_a_classifier_trained_on_lifted_stretches_finds_their_contacts(mini_mocap, engine):
    """Stretches of the example dance (train split), each filmed and lifted as its own track,
    come back with features for both feet and the mocap's contacts frame for frame; a few
    hundred steps on them learn contacts the shipped reader accepts, and find most of them."""
    items = contact_training.examples(
        engine,
        mini_mocap,
        "train",
        {"cmu_dance"},
        per_file=6,
        seed=0,
        reposed=0.5,
        lengths=(30, 60),
    )
    assert len(items) == 6
    width = len(contact_model.FEATURES) * len(contact_model.OFFSETS_S)
    for _, features, truth, level in items:
        assert 30 <= len(truth) <= 60
        assert features.shape == (len(truth), 2, width) and truth.shape == (len(truth), 2)
        assert level.shape == (len(truth), 17, 3)
    assert 0.2 < np.mean([t.mean() for *_, t, _ in items]) < 1.0  # some swing, some stance
    weights = contact_training.train(items, steps=300, seed=0)
    scores = contact_training.scores(items, weights)
    assert scores["recall"] >= 0.8 and scores["precision"] >= 0.7, scores
