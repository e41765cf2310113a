"""Frame rates and resampling: the one place that owns the model frame rate.

Tracks arrive at any rate (24, 25, 29.97, 60, 120 fps, or irregular); the model sees MODEL_FPS.
Resampling is done on sample *times*, not frame counts, so that a clip keeps its duration and
going to the model rate and back lands on the original frame times. Also the filling of hidden
joints by linear interpolation in time (`interpolate_masked`). Torch-free.
"""

from __future__ import annotations

import numpy as np

from mpm_backend.skeleton import H36M17

MODEL_FPS = 30.0


# Rates cameras and mocap systems really use: whole numbers and the NTSC 1000/1001 family.
_STANDARD_RATES = np.concatenate(
    [np.arange(1.0, 241.0), [24000 / 1001, 30000 / 1001, 60000 / 1001]]
)


def snap_fps(fps: float, tolerance: float = 2e-4) -> float:
    """The standard rate a header's rounded frame time stands for, else fps unchanged.

    BVH headers write "Frame Time: 0.0083333" for 120 fps; taken literally that is 120.0005 fps
    and a 10-minute clip drifts by a third of a frame.
    """
    nearest = _STANDARD_RATES[np.argmin(np.abs(_STANDARD_RATES - fps))]
    return float(nearest) if abs(nearest - fps) <= tolerance * fps else float(fps)


def frame_times(num_frames: int, fps: float, start: float = 0.0) -> np.ndarray:
    """Times in seconds of num_frames frames sampled at fps, the first at start."""
    if fps <= 0 or not np.isfinite(fps):
        raise ValueError(f"frame rate must be a positive number, got {fps!r}")
    return start + np.arange(num_frames, dtype=np.float64) / fps


def resample_at(values: np.ndarray, times: np.ndarray, new_times: np.ndarray) -> np.ndarray:
    """Linearly interpolate values (T, ...) sampled at times (T,) onto new_times (N,).

    Times outside [times[0], times[-1]] take the nearest end value. NaN entries stay local:
    an output sample is NaN only if a neighbour it interpolates from is NaN, so a missing joint
    does not spread beyond the frames around it.
    """
    values = np.asarray(values, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    new_times = np.asarray(new_times, dtype=np.float64)
    if values.shape[0] != times.shape[0]:
        raise ValueError(f"{values.shape[0]} values but {times.shape[0]} times")
    if times.shape[0] == 0:
        raise ValueError("cannot resample an empty clip")
    if times.shape[0] == 1:
        return np.repeat(values, new_times.shape[0], axis=0)
    if np.any(np.diff(times) <= 0):
        raise ValueError("frame times must be strictly increasing")
    t = np.clip(new_times, times[0], times[-1])
    hi = np.clip(np.searchsorted(times, t, side="right"), 1, times.shape[0] - 1)
    lo = hi - 1
    w = (t - times[lo]) / (times[hi] - times[lo])
    w = w.reshape((-1,) + (1,) * (values.ndim - 1))
    # Where the weight is exactly 0 or 1, take the sample itself so a NaN neighbour does not leak.
    a, b = values[lo], values[hi]
    out = a * (1.0 - w) + b * w
    out = np.where(w == 0.0, a, out)
    return np.where(w == 1.0, b, out)


def min_at(values: np.ndarray, times: np.ndarray, new_times: np.ndarray) -> np.ndarray:
    """values (T, …) at new_times: the lower of the two bracketing samples (the sample itself
    where a new time falls on one), the same brackets as resample_at."""
    if len(times) == 1:
        return np.repeat(values, len(new_times), axis=0)
    t = np.clip(new_times, times[0], times[-1])
    hi = np.clip(np.searchsorted(times, t, side="right"), 1, len(times) - 1)
    lo = hi - 1
    w = ((t - times[lo]) / (times[hi] - times[lo])).reshape(-1, *[1] * (values.ndim - 1))
    a, b = values[lo], values[hi]
    return np.where(w == 0.0, a, np.where(w == 1.0, b, np.minimum(a, b)))


def resample(values: np.ndarray, fps: float, new_fps: float) -> np.ndarray:
    """Resample a clip (T, ...) at fps to new_fps over the same time span [0, (T-1)/fps]."""
    n = np.asarray(values).shape[0]
    duration = (n - 1) / fps if n > 0 else 0.0
    new_count = int(np.floor(duration * new_fps + 1e-6)) + 1 if n > 0 else 0
    if new_count == 0:
        return np.asarray(values, dtype=np.float64)
    return resample_at(values, frame_times(n, fps), frame_times(new_count, new_fps))


def interpolate_masked(values: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Fill hidden joints (T, J, C) by linear interpolation in time from their nearest visible
    frames, holding the nearest value at the ends; the numpy twin of `baselines.fill_missing`.

    A joint never visible takes its parent's filled position (H36M-17 parents), a never-visible
    root the mean of the seen joints, and with nothing visible everything is 0.
    """
    values = np.asarray(values, dtype=np.float64)
    visible = np.asarray(visible, dtype=bool)
    frames = values.shape[0]
    time, prev, nxt = _seen_around(visible)
    prev_c, next_c = np.clip(prev, 0, None), np.clip(nxt, None, frames - 1)
    cols = np.arange(visible.shape[1])[None, :]
    before, after = values[prev_c, cols], values[next_c, cols]
    weight = ((time - prev_c) / np.maximum(next_c - prev_c, 1))[..., None]
    filled = np.where(
        ((prev >= 0) & (nxt < frames))[..., None],
        before + weight * (after - before),
        np.where((prev >= 0)[..., None], before, after),
    )
    filled = np.where(visible[..., None], values, filled)
    return _fill_unseen(filled, visible.any(axis=0))


def _seen_around(visible: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame and joint (T, J): the frame index, the last frame ≤ it that shows the joint
    (-1 if none) and the next one ≥ it (T if none)."""
    frames = visible.shape[0]
    time = np.broadcast_to(np.arange(frames)[:, None], visible.shape)
    prev = np.maximum.accumulate(np.where(visible, time, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(visible, time, frames)[::-1], axis=0)[::-1]
    return time, prev, nxt


def _fill_unseen(filled: np.ndarray, ever: np.ndarray) -> np.ndarray:
    centroid = filled[:, ever].mean(axis=1) if ever.any() else np.zeros_like(filled[:, 0])
    parents = H36M17.parents if filled.shape[1] == H36M17.num_joints else (-1,) * filled.shape[1]
    out = filled.copy()
    for joint, parent in enumerate(parents):
        if not ever[joint]:
            out[:, joint] = centroid if parent < 0 else out[:, parent]
    return out
