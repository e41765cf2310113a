"""Windowed inference: run a model on overlapping windows of sequences of any length, stitched.

A sequence longer than the model's window is cut into windows of `window` frames, neighbours
sharing `overlap` frames; the outputs are cross-faded over the shared frames with raised-cosine
weights that sum to 1, so there are no seams. Windows of equal length from many sequences are
batched together, `batch` per call, in a fixed order (same input → same output bits on the same
device). Used by the runtime (`mpm_backend.inference`) and by the evaluation (`training.evaluate`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from mpm_backend.protocol import Cancelled  # raised when cancelled() says True between batches
from mpm_backend.skeleton import H36M17


def window_starts(num_frames: int, window: int, overlap: int) -> list[int]:
    """Starts of windows of `window` frames covering the clip, `overlap` frames shared between
    neighbours; the last window ends at the clip's end (so it may overlap more)."""
    if num_frames <= window:
        return [0]
    stride = max(window - overlap, 1)
    starts = list(range(0, num_frames - window + 1, stride))
    if starts[-1] != num_frames - window:
        starts.append(num_frames - window)
    return starts


def blend_weights(length: int, ramp: int, fade_in: bool, fade_out: bool) -> np.ndarray:
    """(length,) weights of one window: raised-cosine ramps at the ends shared with neighbours.

    Where two windows overlap by exactly `ramp` frames their ramps sum to 1, a seamless
    cross-fade; weights are never 0, so normalising by their sum is always defined.
    """
    weights = np.ones(length)
    ramp = min(ramp, length // 2)
    if ramp > 0:
        up = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
        if fade_in:
            weights[:ramp] = up
        if fade_out:
            weights[length - ramp :] = up[::-1]
    return weights


def device_of(model: object) -> torch.device:
    """The device of a module's parameters (CPU for anything else)."""
    if isinstance(model, nn.Module):
        for tensor in model.parameters():
            return tensor.device
    return torch.device("cpu")


@contextmanager
def inference_mode(model: object) -> Iterator[None]:
    """Eval mode and no autograd for the duration; the module's mode is restored afterwards."""
    was_training = isinstance(model, nn.Module) and model.training
    if isinstance(model, nn.Module):
        model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        if was_training:
            model.train()


def to_tensor(array: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """A numpy array on `device`; floating point becomes float32, other dtypes stay."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    return tensor.to(device=device, dtype=torch.float32 if tensor.is_floating_point() else None)


def count_batches(lengths: Sequence[int], window: int, overlap: int, batch: int) -> int:
    """How many calls windowed_apply makes for sequences of these lengths (progress totals)."""
    overlap = int(np.clip(overlap, 0, window - 1))
    per_length: dict[int, int] = {}
    for frames in lengths:
        if frames:
            length = min(window, frames)
            count = len(window_starts(frames, length, overlap))
            per_length[length] = per_length.get(length, 0) + count
    return sum(-(-n // batch) for n in per_length.values())


def windowed_apply(
    fn: Callable[..., torch.Tensor | tuple[torch.Tensor, ...]],
    sequences: Sequence[tuple[np.ndarray, ...]],
    window: int,
    overlap: int,
    batch: int = 64,
    device: torch.device | str = "cpu",
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list:
    """Run fn on overlapping windows of many sequences at once and stitch each back together.

    Each sequence is a tuple of arrays sharing their first (time) axis; fn takes the batched
    windows of each, (B, W, …), and returns (B, W, …), or a tuple of such outputs. Windows of
    equal length from all sequences are batched together (a clip shorter than `window` is one
    window of its length); outputs are blended with `blend_weights`.

    Returns, per sequence, float32 (T, …) — or, when fn returns a tuple, a tuple of them. An
    empty sequence gives (0, 17, 3) zeros (per output). Before every batch `cancelled()` is
    asked and `Cancelled` raised when it says True; after every batch `progress(done, total)`
    is told how many of the `total` batches are done.
    """
    if window < 1 or batch < 1:
        raise ValueError(f"window and batch must be positive, got {window} and {batch}")
    overlap = int(np.clip(overlap, 0, window - 1))
    jobs: dict[int, list[tuple[int, int]]] = {}
    for index, arrays in enumerate(sequences):
        frames = len(arrays[0])
        if frames:
            length = min(window, frames)
            for start in window_starts(frames, length, overlap):
                jobs.setdefault(length, []).append((index, start))
    total_batches = sum(-(-len(items) // batch) for items in jobs.values())
    done = 0
    sums: list[list[np.ndarray] | None] = [None] * len(sequences)
    totals = [np.zeros(len(arrays[0])) for arrays in sequences]
    single = True
    for length, items in jobs.items():
        for first in range(0, len(items), batch):
            if cancelled is not None and cancelled():
                raise Cancelled(f"cancelled after {done} of {total_batches} batches")
            chunk = items[first : first + batch]
            inputs = [
                to_tensor(np.stack([sequences[i][k][s : s + length] for i, s in chunk]), device)
                for k in range(len(sequences[chunk[0][0]]))
            ]
            returned = fn(*inputs)
            single = not isinstance(returned, tuple | list)
            outputs = [
                out.detach().float().cpu().numpy() for out in ((returned,) if single else returned)
            ]
            for row, (index, start) in enumerate(chunk):
                frames = len(totals[index])
                weights = blend_weights(length, overlap, start > 0, start + length < frames)
                if sums[index] is None:
                    sums[index] = [np.zeros((frames, *out.shape[2:])) for out in outputs]
                for acc, out in zip(sums[index], outputs, strict=True):
                    shaped = weights.reshape(-1, *[1] * (out.ndim - 2))
                    acc[start : start + length] += shaped * out[row]
                totals[index][start : start + length] += weights
            done += 1
            if progress is not None:
                progress(done, total_batches)
    outputs_per_call = next((len(s) for s in sums if s is not None), 1)
    results: list = []
    for index, total in enumerate(totals):
        if sums[index] is None:
            stitched = [
                np.zeros((0, H36M17.num_joints, 3), np.float32) for _ in range(outputs_per_call)
            ]
        else:
            stitched = [
                (acc / total.reshape(-1, *[1] * (acc.ndim - 1))).astype(np.float32)
                for acc in sums[index]
            ]
        results.append(stitched[0] if single else tuple(stitched))
    return results
