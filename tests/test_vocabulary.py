"""The add-on's option words (blender_addon/core/vocabulary.py) agree with what reads them."""

from __future__ import annotations

import numpy as np

from blender_addon.core import cleanup, rigmaps, vocabulary


def test_every_rig_preset_names_a_shipped_map():
    assert set(vocabulary.RIG_PRESETS.values()) <= set(rigmaps.builtin_rig_maps())


def test_every_smoothing_word_is_a_cleanup_mode():
    """A word cleanup does not know would silently mean no smoothing."""
    rng = np.random.default_rng(0)
    joints = np.cumsum(rng.normal(0, 0.01, (60, 17, 3)), axis=0)
    results = {}
    for word in vocabulary.SMOOTHING.values():
        options = cleanup.CleanupOptions(smoothing=word, foot_lock=False)
        results[word] = cleanup.clean_joints(joints, 30.0, options).joints
    assert not np.allclose(results["one_euro"], results["none"])
    assert not np.allclose(results["butterworth"], results["none"])


def test_each_table_is_one_to_one():
    for rows in (
        vocabulary.RIG_PRESET_ROWS,
        vocabulary.SMOOTHING_ROWS,
        vocabulary.ROOT_MOTION_ROWS,
        vocabulary.LEVEL_ROWS,
        vocabulary.PEOPLE_ROWS,
    ):
        values, words = [r[0] for r in rows], [r[1] for r in rows]
        assert len(set(values)) == len(values) and len(set(words)) == len(words)
