"""Resampling keeps time right: durations, exact frames, NaN locality, the manifest's fps."""

import numpy as np
import pytest

from mpm_backend.timebase import (
    MODEL_FPS,
    frame_times,
    resample,
    resample_at,
    snap_fps,
)


def test_model_fps_is_30():
    assert MODEL_FPS == 30.0


def test_120_to_30_takes_every_fourth_frame_exactly():
    x = np.random.default_rng(0).normal(size=(121, 17, 3))
    y = resample(x, 120.0, 30.0)
    assert y.shape == (31, 17, 3)
    np.testing.assert_allclose(y, x[::4], atol=1e-12)


def test_duration_is_kept_for_odd_rates():
    # 10 s of a 29.97 fps track at 30 fps: same span, one sample per 1/30 s.
    n = 300
    t = frame_times(n, 30000 / 1001)
    y = resample(np.sin(t)[:, None], 30000 / 1001, MODEL_FPS)
    new_t = frame_times(len(y), MODEL_FPS)
    assert new_t[-1] <= t[-1] + 1e-9 and t[-1] - new_t[-1] < 1 / MODEL_FPS
    np.testing.assert_allclose(y[:, 0], np.sin(new_t), atol=2e-4)


def test_there_and_back_lands_on_original_frames():
    fps = 24.0
    t = frame_times(97, fps)
    x = np.stack([np.sin(2 * t), np.cos(3 * t)], axis=-1)
    at_model = resample_at(x, t, frame_times(int(t[-1] * MODEL_FPS) + 1, MODEL_FPS))
    back = resample_at(at_model, frame_times(len(at_model), MODEL_FPS), t)
    # Linear interpolation of a smooth signal twice: error well under 1 % of its amplitude.
    assert np.abs(back - x)[:-2].max() < 0.01


def test_nan_stays_local():
    x = np.arange(10, dtype=float)[:, None].repeat(2, axis=1)
    x[5, 0] = np.nan
    y = resample_at(x, np.arange(10.0), np.array([1.0, 3.5, 4.5, 5.0, 6.0, 7.5]))
    assert np.isnan(y[[2, 3], 0]).all()  # frames next to the missing one
    assert not np.isnan(y[[0, 1, 4, 5], 0]).any() and not np.isnan(y[:, 1]).any()


@pytest.mark.parametrize("bad", [0.0, -30.0, float("nan")])
def test_bad_fps_is_rejected(bad):
    with pytest.raises(ValueError, match="frame rate"):
        frame_times(10, bad)


def test_rounded_header_frame_times_snap_to_standard_rates():
    assert snap_fps(1 / 0.0083333) == 120.0
    assert snap_fps(1 / 0.0166667) == 60.0
    assert snap_fps(1 / 0.033367) == pytest.approx(30000 / 1001)
    assert snap_fps(1 / 0.041666) == 24.0
    assert snap_fps(47.3) == 47.3  # an odd rate is left alone
