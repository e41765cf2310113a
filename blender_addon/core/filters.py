"""Smoothing filters along axis 0 of any (T, ...) array: One-Euro (causal, for previews) and a
zero-phase Butterworth (offline, no lag). numpy only: Blender has no scipy.
"""

from __future__ import annotations

import numpy as np


def one_euro(
    x: np.ndarray,
    fps: float,
    min_cutoff: float = 1.0,
    beta: float = 1.0,
    d_cutoff: float = 1.0,
) -> np.ndarray:
    """One-Euro filter (Casiez, Roussel, Vogel 2012) along axis 0, each channel on its own.

    min_cutoff (Hz): cutoff when the channel is still (lower: less jitter, more lag);
    beta (1/units): how fast the cutoff rises with the channel's speed (units/s; higher: less
    lag on fast moves); d_cutoff (Hz): cutoff of the speed estimate. Causal, so it suits
    previews; `butterworth` is zero-phase. NaNs pass through and restart the filter.
    """
    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return x.copy()
    if fps <= 0 or min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
        raise ValueError("one_euro needs fps, min_cutoff, d_cutoff > 0 and beta >= 0")
    te = 1.0 / fps

    def alpha(cutoff: np.ndarray | float) -> np.ndarray | float:
        tau = 1.0 / (2.0 * np.pi * cutoff)
        return 1.0 / (1.0 + tau / te)

    out = np.empty_like(x)
    out[0] = x[0]
    value = x[0].copy()
    speed = np.zeros_like(x[0])
    a_d = alpha(d_cutoff)
    for i in range(1, len(x)):
        sample = x[i]
        restart = ~np.isfinite(value)
        raw_speed = (sample - value) * fps
        speed = np.where(restart, 0.0, speed + a_d * (raw_speed - speed))
        a = alpha(min_cutoff + beta * np.abs(speed))
        value = np.where(restart, sample, value + a * (sample - value))
        speed = np.nan_to_num(speed)
        out[i] = value
    return out


def butterworth(x: np.ndarray, fps: float, cutoff_hz: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass along axis 0 (forward and backward: no lag).

    ``order`` is the filter's (the magnitude response is applied twice). A cutoff at or above
    the Nyquist frequency returns the input; short clips use a shorter edge padding, and clips
    under 3 frames are returned as they are. Channels containing NaN are left unfiltered.
    Written in numpy (the same numbers as scipy's butter + sosfiltfilt): Blender has no scipy.
    """
    x = np.asarray(x, dtype=float)
    if cutoff_hz <= 0:
        raise ValueError("cutoff_hz must be positive")
    nyquist = 0.5 * fps
    if cutoff_hz >= nyquist or len(x) < 3:
        return x.copy()
    sos = butter_sos(order, cutoff_hz / nyquist)
    padlen = min(3 * (2 * len(sos) + 1), len(x) - 1)
    flat = x.reshape(len(x), -1)
    ok = np.all(np.isfinite(flat), axis=0)
    out = flat.copy()
    if np.any(ok):
        out[:, ok] = _sosfiltfilt(sos, flat[:, ok], padlen)
    return out.reshape(x.shape)


def butter_sos(order: int, cutoff: float) -> np.ndarray:
    """Digital Butterworth low-pass as second-order sections (rows b0 b1 b2 1 a1 a2); `cutoff`
    is a fraction of the Nyquist frequency. Analogue poles, pre-warped, bilinear transform."""
    k = np.arange(order)
    poles = (
        2.0 * np.tan(np.pi * cutoff / 2) * np.exp(1j * np.pi * (2 * k + order + 1) / (2 * order))
    )
    z = (1 + poles / 2) / (1 - poles / 2)
    z = z[np.argsort(-np.abs(z.imag))]  # conjugate pairs first, a real pole last
    sections = []
    taken = np.zeros(order, bool)
    for i in range(order):
        if taken[i]:
            continue
        taken[i] = True
        if abs(z[i].imag) > 1e-12:
            j = next(j for j in range(order) if not taken[j] and abs(z[j] - np.conj(z[i])) < 1e-9)
            taken[j] = True
            a = np.real(np.poly([z[i], z[j]]))
            b = np.array([1.0, 2.0, 1.0])
        else:
            a = np.array([1.0, -z[i].real, 0.0])
            b = np.array([1.0, 1.0, 0.0])
        b = b * a.sum() / b.sum()  # unit gain at DC
        sections.append(np.concatenate([b, a]))
    return np.array(sections)


def _sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """Filter (T, C) through the sections (transposed direct form II); zi (S, 2, C) start states."""
    y = x.copy()
    for s, (b0, b1, b2, _, a1, a2) in enumerate(sos):
        z1, z2 = zi[s, 0].copy(), zi[s, 1].copy()
        out = np.empty_like(y)
        for t in range(len(y)):
            v = y[t]
            o = b0 * v + z1
            z1 = b1 * v - a1 * o + z2
            z2 = b2 * v - a2 * o
            out[t] = o
        y = out
    return y


def _steady_state(sos: np.ndarray) -> np.ndarray:
    """(S, 2) section states for a unit step already in progress (no start-up transient)."""
    zi, scale = [], 1.0
    for b0, b1, b2, _, a1, a2 in sos:
        i_minus_a = np.array([[1.0 + a1, -1.0], [a2, 1.0]])
        zi.append(scale * np.linalg.solve(i_minus_a, np.array([b1 - a1 * b0, b2 - a2 * b0])))
        scale *= (b0 + b1 + b2) / (1.0 + a1 + a2)
    return np.array(zi)


def _sosfiltfilt(sos: np.ndarray, x: np.ndarray, padlen: int) -> np.ndarray:
    """Forward-backward filtering with odd extension at both ends, as scipy's sosfiltfilt."""
    ext = np.concatenate(
        [2 * x[:1] - x[padlen:0:-1], x, 2 * x[-1:] - x[-2 : -padlen - 2 : -1]], axis=0
    )
    zi = _steady_state(sos)[..., None]
    y = _sosfilt(sos, ext, zi * ext[0])
    y = _sosfilt(sos, y[::-1], zi * y[-1])[::-1]
    return y[padlen : len(y) - padlen]
