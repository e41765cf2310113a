"""Smoothing filters (blender_addon.core.filters): what a jittery lifted joint keeps and loses."""

from __future__ import annotations

import numpy as np
import pytest

from blender_addon.core import filters

FPS = 30.0


def amplitude_at(signal: np.ndarray, freq: float, fps: float) -> float:
    """Amplitude of the sinusoid of frequency ``freq`` in ``signal`` (least squares)."""
    t = np.arange(len(signal)) / fps
    basis = np.stack(
        [np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t), np.ones_like(t)], 1
    )
    coef, *_ = np.linalg.lstsq(basis, signal, rcond=None)
    return float(np.hypot(coef[0], coef[1]))


def test_butterworth_removes_jitter_keeps_motion():
    t = np.arange(300) / FPS
    motion = 0.2 * np.sin(2 * np.pi * 1.0 * t)
    jitter = 0.01 * np.sin(2 * np.pi * 10.0 * t)
    out = filters.butterworth((motion + jitter)[:, None, None], FPS, cutoff_hz=4.0)[:, 0, 0]
    assert out.shape == t.shape
    assert amplitude_at(out, 1.0, FPS) == pytest.approx(0.2, rel=0.02)  # motion kept
    assert amplitude_at(out, 10.0, FPS) < 0.01 * 0.02  # jitter down to under 2 %
    # zero phase: the 1 Hz motion is not delayed
    core = slice(30, -30)
    assert np.max(np.abs(out[core] - motion[core])) < 0.004


def test_butterworth_short_clips_and_no_op_cutoff():
    x = np.random.default_rng(0).normal(size=(5, 17, 3))
    assert np.all(np.isfinite(filters.butterworth(x, FPS, 3.0)))  # padlen shortened
    assert np.array_equal(filters.butterworth(x[:2], FPS, 3.0), x[:2])
    assert np.array_equal(filters.butterworth(x, FPS, 20.0), x)  # above Nyquist


def test_one_euro_still_and_fast():
    rng = np.random.default_rng(1)
    t = np.arange(240) / FPS
    still = 1.0 + 0.005 * rng.normal(size=t.shape)
    out = filters.one_euro(still, FPS, min_cutoff=1.0, beta=3.0)
    assert np.std(out[30:]) < 0.3 * np.std(still[30:])  # 5 mm jitter down to 1.5 mm
    fast = 0.5 * np.sin(2 * np.pi * 1.0 * t)  # 3 m/s at its fastest
    adaptive = filters.one_euro(fast, FPS, min_cutoff=1.0, beta=3.0)
    fixed = filters.one_euro(fast, FPS, min_cutoff=1.0, beta=0.0)  # a plain 1 Hz smoother
    error = np.max(np.abs(adaptive[30:] - fast[30:]))
    assert error < 0.35 * np.max(np.abs(fixed[30:] - fast[30:]))
    # the lag in frames at the zero crossings, where the motion is fastest
    speed = np.gradient(fast) * FPS
    crossings = np.abs(fast) < 0.05
    lag_frames = np.abs(adaptive - fast)[crossings] / np.abs(speed[crossings] / FPS)
    assert np.max(lag_frames[10:]) < 1.5


def test_one_euro_per_channel_shapes():
    x = np.random.default_rng(2).normal(size=(50, 17, 3))
    assert filters.one_euro(x, FPS).shape == x.shape


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("cutoff", [0.05, 0.3, 0.8])
def test_numpy_butterworth_matches_scipy(order, cutoff):
    from scipy.signal import butter, sosfiltfilt

    x = np.random.default_rng(order).normal(size=(120, 4))
    fps = 30.0
    expected = sosfiltfilt(
        butter(order, cutoff, output="sos"), x, axis=0, padlen=3 * (2 * ((order + 1) // 2) + 1)
    )
    got = filters.butterworth(x, fps, cutoff * fps / 2, order)
    assert np.abs(got - expected).max() < 1e-10
