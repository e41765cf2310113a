"""Detector-like 2D corruption: reproducibility, each part on its own, scaling, confidences."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import spearmanr

from mpm_backend.skeleton import H36M17
from tests.synthetic import film, front_camera, walking_figure
from training.data.cameras import sample_camera
from training.data.corruption import (
    NoiseConfig,
    ar1_jitter,
    corrupt_2d,
    corrupt_2d_batch,
    joint_jitter_scales,
    limb_swap_pairs,
    person_size,
    run_offsets,
)

WIDTH, HEIGHT = 1920, 1080
OFF = NoiseConfig.disabled()


def clean_track(num_frames: int = 120) -> np.ndarray:
    """(T, 17, 2) pixels of the walking figure filmed from the front, wholly inside the image."""
    uv = film(front_camera(), walking_figure(num_frames))
    assert np.isfinite(uv).all()
    assert (uv > 50).all() and (uv[..., 0] < WIDTH - 50).all() and (uv[..., 1] < HEIGHT - 50).all()
    return uv


def corrupt(uv: np.ndarray, seed: int, config: NoiseConfig) -> tuple[np.ndarray, np.ndarray]:
    return corrupt_2d(uv, WIDTH, HEIGHT, np.random.default_rng(seed), config)


def test_same_seed_gives_identical_output_and_another_seed_does_not() -> None:
    uv = clean_track()
    config = replace(NoiseConfig(), swap_prob=1.0, dropout_prob=1.0)
    noisy_a, conf_a = corrupt(uv, 1, config)
    noisy_b, conf_b = corrupt(uv, 1, config)
    noisy_c, conf_c = corrupt(uv, 2, config)
    np.testing.assert_array_equal(noisy_a, noisy_b)
    np.testing.assert_array_equal(conf_a, conf_b)
    assert not np.array_equal(noisy_a, noisy_c, equal_nan=True)
    assert not np.array_equal(conf_a, conf_c)


def test_output_types_and_ranges() -> None:
    uv = clean_track()
    noisy, confidence = corrupt(uv, 3, NoiseConfig())
    assert noisy.shape == uv.shape and confidence.shape == uv.shape[:2]
    assert confidence.dtype == np.float32
    assert (confidence >= 0).all() and (confidence <= 1).all()
    missing = np.isnan(noisy).any(axis=-1)
    assert (np.isnan(noisy[missing])).all()
    assert (confidence[missing] == 0).all()


def test_a_batch_corrupts_each_window_as_it_would_be_alone() -> None:
    # The loader's contract: a window's noise comes from its own generator only, so an item is the
    # same whatever batch it is made in, and whatever image sizes its neighbours have.
    uv = clean_track(num_frames=81)
    windows = np.stack([uv, 0.5 * uv, uv + [WIDTH / 2, 0.0], uv, uv - [0.0, 100.0]])
    windows[3, 10:20, 3] = np.nan
    windows[3, 30] = np.nan
    sizes = np.array([[WIDTH, HEIGHT]] * 3 + [[HEIGHT, WIDTH], [WIDTH, HEIGHT]])
    config = replace(NoiseConfig(), swap_prob=0.5, dropout_prob=0.5, missing_fraction=0.05)
    rngs = [np.random.default_rng(seed) for seed in range(len(windows))]
    noisy, confidence = corrupt_2d_batch(windows, sizes, rngs, config)
    assert noisy.shape == windows.shape and confidence.shape == windows.shape[:3]
    assert np.isnan(noisy).any(axis=(1, 2, 3)).all()
    for seed, (window, (width, height)) in enumerate(zip(windows, sizes, strict=True)):
        alone = corrupt_2d(window, width, height, np.random.default_rng(seed), config)
        np.testing.assert_allclose(noisy[seed], alone[0], rtol=0, atol=1e-9)
        np.testing.assert_allclose(confidence[seed], alone[1], rtol=0, atol=1e-6)


def test_everything_off_returns_the_exact_2d() -> None:
    uv = clean_track()
    noisy, confidence = corrupt(uv, 4, OFF)
    np.testing.assert_array_equal(noisy, uv)
    np.testing.assert_array_equal(confidence, 1.0)


def test_default_config_turned_off_part_by_part_is_exact() -> None:
    parts_off = {
        "jitter_std": 0.0,
        "bias_std": 0.0,
        "swap_prob": 0.0,
        "low_confidence_fraction": 0.0,
        "missing_fraction": 0.0,
        "dropout_prob": 0.0,
    }
    uv = clean_track()
    noisy, _ = corrupt(uv, 5, replace(NoiseConfig(), **parts_off))
    np.testing.assert_array_equal(noisy, uv)


def test_jitter_alone_moves_every_joint_a_little_and_is_temporally_correlated() -> None:
    uv = clean_track(num_frames=2000)
    noisy, confidence = corrupt(uv, 6, replace(OFF, jitter_std=0.01))
    residual = (noisy - uv) / person_size(uv)[:, None, None]
    assert np.isfinite(noisy).all()
    assert 0.008 < residual.std() < 0.013
    lag_one = np.mean(
        [np.corrcoef(residual[1:, j, 0], residual[:-1, j, 0])[0, 1] for j in range(17)]
    )
    assert 0.4 < lag_one < 0.6
    wrists = [H36M17.index("left_wrist"), H36M17.index("right_wrist")]
    torso = [H36M17.index("pelvis"), H36M17.index("thorax")]
    assert residual[:, wrists].std() > 1.8 * residual[:, torso].std()
    assert (confidence < 1).any()


def test_the_jitter_is_the_ar1_recursion_it_documents() -> None:
    config = NoiseConfig()
    white = np.random.default_rng(3).standard_normal((50, 17, 2))
    noise = ar1_jitter(white, config)
    rho = config.jitter_correlation
    expected = np.empty_like(white)
    expected[0] = white[0]
    for t in range(1, len(white)):
        expected[t] = rho * expected[t - 1] + np.sqrt(1 - rho**2) * white[t]
    scale = config.jitter_std * joint_jitter_scales(config)[None, :, None]
    np.testing.assert_allclose(noise, expected * scale, rtol=1e-12, atol=1e-15)


def test_jitter_std_scales_with_person_size() -> None:
    uv = clean_track(num_frames=1000)
    centre = np.array([WIDTH / 2, HEIGHT / 2])
    small = centre + 0.4 * (uv - centre)
    large = centre + 0.8 * (uv - centre)
    config = replace(OFF, jitter_std=0.01)
    std_small = np.nanstd(corrupt(small, 7, config)[0] - small)
    std_large = np.nanstd(corrupt(large, 8, config)[0] - large)
    assert std_large / std_small == pytest.approx(2.0, rel=0.1)


def test_person_size_is_the_box_diagonal_with_or_without_hidden_joints() -> None:
    # A whole track takes person_size's shortcut; one hidden joint sends it down the NaN-aware
    # path. Both must give each frame's bounding-box diagonal, in pixels.
    uv = clean_track()
    diagonal = np.linalg.norm(uv.max(axis=1) - uv.min(axis=1), axis=-1)
    np.testing.assert_allclose(person_size(uv), diagonal, rtol=1e-12)
    gappy = uv.copy()
    gappy[0, H36M17.index("nose")] = np.nan
    np.testing.assert_allclose(person_size(gappy)[1:], diagonal[1:], rtol=1e-12)
    assert 0 < person_size(gappy)[0] <= diagonal[0]


def test_bias_alone_is_a_constant_offset_per_joint_relative_to_size() -> None:
    uv = clean_track()
    noisy, _ = corrupt(uv, 9, replace(OFF, bias_std=0.02))
    relative = (noisy - uv) / person_size(uv)[:, None, None]
    np.testing.assert_allclose(relative, np.broadcast_to(relative[0], relative.shape), atol=1e-12)
    assert 0.005 < np.abs(relative[0]).mean() < 0.05


def test_swap_alone_exchanges_one_limb_pair_for_a_few_consecutive_frames() -> None:
    uv = clean_track()
    pairs = {tuple(sorted(left + right)) for left, right in limb_swap_pairs()}
    for seed in range(30):
        noisy, confidence = corrupt(uv, seed, replace(OFF, swap_prob=1.0))
        changed = (noisy != uv).any(axis=-1)
        frames = np.flatnonzero(changed.any(axis=1))
        assert 1 <= len(frames) <= 5
        assert np.array_equal(frames, np.arange(frames[0], frames[-1] + 1))
        joints = tuple(np.flatnonzero(changed.any(axis=0)))
        assert joints in pairs
        flipped = uv[:, H36M17.flip_permutation]
        np.testing.assert_array_equal(noisy[changed], flipped[changed])
        assert confidence[changed].max() <= 0.5 + 1e-6


def test_a_swap_that_brings_in_a_missing_partner_marks_it_missing() -> None:
    uv = clean_track()
    left, right = list(H36M17.left), list(H36M17.right)
    uv[:, left] = np.nan  # whichever limb pair is swapped, its left joint is missing
    for seed in range(10):
        noisy, confidence = corrupt(uv, seed, replace(OFF, swap_prob=1.0))
        swapped_in = np.isnan(noisy[:, right]).any(axis=-1)
        assert swapped_in.any()  # the case under test happened
        assert np.isfinite(confidence).all()
        assert (confidence[np.isnan(noisy).any(axis=-1)] == 0.0).all()


def test_swap_probability_per_clip() -> None:
    uv = clean_track(num_frames=30)
    config = replace(OFF, swap_prob=0.2)
    swapped = [not np.array_equal(corrupt(uv, seed, config)[0], uv) for seed in range(500)]
    assert 0.15 < np.mean(swapped) < 0.25


def test_missing_alone_blanks_joints_with_zero_confidence() -> None:
    uv = clean_track(num_frames=600)
    noisy, confidence = corrupt(uv, 10, replace(OFF, missing_fraction=0.05))
    missing = np.isnan(noisy).any(axis=-1)
    assert 0.03 < missing.mean() < 0.07
    assert (confidence[missing] == 0).all() and (confidence[~missing] == 1).all()
    np.testing.assert_array_equal(noisy[~missing], uv[~missing])


def test_dropout_alone_removes_a_run_of_whole_frames() -> None:
    uv = clean_track()
    for seed in range(20):
        noisy, confidence = corrupt(uv, seed, replace(OFF, dropout_prob=1.0))
        lost = np.isnan(noisy).any(axis=-1)
        frames = np.flatnonzero(lost.any(axis=1))
        assert lost[frames].all()
        assert 1 <= len(frames) <= 10
        assert np.array_equal(frames, np.arange(frames[0], frames[-1] + 1))
        assert (confidence[frames] == 0).all()


def test_low_confidence_alone_holds_a_displaced_guess_with_low_confidence() -> None:
    uv = clean_track(num_frames=600)
    noisy, confidence = corrupt(uv, 11, replace(OFF, low_confidence_fraction=0.05))
    guessed = (noisy != uv).any(axis=-1)
    assert 0.02 < guessed.mean() < 0.09
    assert confidence[guessed].mean() < 0.4
    assert (confidence[~guessed] == 1).all()


def test_each_low_confidence_run_holds_one_offset_of_its_own() -> None:
    runs = np.zeros((10, 3), dtype=bool)
    runs[0:2, 0] = runs[5:10, 0] = True  # two runs of one joint, one at the clip's end
    runs[1:4, 2] = True  # a run of another joint, overlapping the first in time
    offsets = run_offsets([np.random.default_rng(0)], runs[None], std=1.0)[0]
    assert offsets.shape == (10, 3, 2)
    assert (offsets[~runs] == 0).all()
    held = [offsets[0:2, 0], offsets[5:10, 0], offsets[1:4, 2]]
    for run in held:
        assert (run == run[0]).all() and (run[0] != 0).all()
    assert len({tuple(run[0]) for run in held}) == 3
    # Drawn run by run, joint by joint: the first joint's first run takes the first two draws.
    first = np.random.default_rng(0).standard_normal(2)
    assert np.array_equal(held[0][0], first)


def test_confidence_falls_as_the_error_grows() -> None:
    # A real-ish case: the walking figure filmed by sampled cameras, default detector noise.
    clip = walking_figure(num_frames=240)
    for seed in range(10):
        camera = sample_camera(np.random.default_rng(seed), clip)
        uv = film(camera, clip)
        noisy, confidence = corrupt_2d(
            uv, camera.width, camera.height, np.random.default_rng(1000 + seed)
        )
        seen = np.isfinite(noisy).all(axis=-1)
        error = np.linalg.norm(noisy - uv, axis=-1)[seen]
        correlation = spearmanr(confidence[seen], error).statistic
        assert correlation < -0.3, (seed, correlation)


def test_joints_outside_the_image_are_missing() -> None:
    uv = clean_track()
    shifted = uv + [WIDTH / 2 + 100, 0.0]  # the figure's right half leaves the image
    outside = shifted[..., 0] >= WIDTH
    assert outside.any() and (~outside).any()
    noisy, confidence = corrupt(shifted, 12, OFF)
    assert np.isnan(noisy[outside]).all() and (confidence[outside] == 0).all()
    np.testing.assert_array_equal(noisy[~outside], shifted[~outside])
    kept, kept_confidence = corrupt(shifted, 12, replace(OFF, mark_outside_missing=False))
    np.testing.assert_array_equal(kept, shifted)
    assert (kept_confidence == 1).all()


def test_noise_that_pushes_a_joint_outside_makes_it_missing() -> None:
    uv = clean_track()
    wrist = H36M17.index("left_wrist")
    uv[:, wrist, 0] = WIDTH - 0.5  # on the last pixel column; any push right leaves the image
    noisy, confidence = corrupt(uv, 13, replace(OFF, jitter_std=0.01))
    pushed = np.isnan(noisy[:, wrist, 0])
    assert 0.3 < pushed.mean() < 0.7
    assert (confidence[pushed, wrist] == 0).all()


def test_missing_input_stays_missing() -> None:
    uv = clean_track()
    uv[5, 3] = np.nan
    noisy, confidence = corrupt(uv, 14, NoiseConfig())
    assert np.isnan(noisy[5, 3]).all() and confidence[5, 3] == 0


def test_wrong_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="17"):
        corrupt_2d(np.zeros((5, 18, 2)), WIDTH, HEIGHT, np.random.default_rng(0))
