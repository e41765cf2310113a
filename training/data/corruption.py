"""Detector-like corruption of clean projected 2D joints, with confidences that track the error.

A model trained on perfect projections meets a real 2D detector's output at inference time:
keypoints that wobble from frame to frame, sit consistently off the mocap joint centre, swap left
and right for a few frames, go missing, leave the image, and carry confidences that are low when
the keypoint is wrong. `corrupt_2d` adds each of these, sized relative to the person in the image
so that a far-away person and a close-up are corrupted alike. `corrupt_2d_batch` does the same
for many windows at once, because numpy's per-call cost dominates on one small window.

Every random part draws from its own child generator of the one passed in, so the output is a
pure function of the seed, and turning one part off does not change the others' draws.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from mpm_backend.skeleton import H36M17
from training.data.masks import LIMBS

_TORSO = ("pelvis", "right_hip", "left_hip", "spine", "thorax", "left_shoulder", "right_shoulder")
_EXTREMITIES = ("left_wrist", "right_wrist", "left_ankle", "right_ankle")
_PARTS = ("jitter", "bias", "low_confidence", "swap", "missing", "dropout", "confidence")


@dataclass(frozen=True)
class NoiseConfig:
    """How a 2D detector's output differs from the projected mocap joints.

    Sizes are fractions of the person's size: the diagonal of the joints' 2D bounding box in that
    frame. A probability or scale of 0 turns its part off; `NoiseConfig.disabled()` turns all off.

    jitter_std (0.01): frame-to-frame wobble, std per axis of a torso-weight-1 joint (~1 %, the
        spread of HRNet/ViTPose keypoints on a still person).
    jitter_correlation (0.5): lag-one correlation of the wobble (an AR(1) process with the same
        std); detectors run on overlapping crops, so their errors are not white.
    jitter_torso_scale (0.7) / jitter_extremity_scale (1.6): jitter multipliers for the torso
        (pelvis, hips, spine, thorax, shoulders) and for wrists and ankles; the other joints get 1.
        Small, fast, often blurred extremities are the hardest to place.
    bias_std (0.02): a constant offset per joint per clip, std per axis; detectors' keypoint
        definitions differ from mocap joint centres (hips most of all) and are consistent about it.
    swap_prob (0.2): probability that a clip has one left/right swap of a limb pair (arms, legs,
        forearms or shins, chosen uniformly).
    swap_len_range ((1, 5)): length of the swap in frames, uniform inclusive.
    low_confidence_fraction (0.03): expected share of joint-frames where the detector only guesses
        (occluded or blurred joints); these come in runs per joint.
    low_confidence_len_range ((3, 15)): length of such a run in frames, uniform inclusive.
    low_confidence_offset_std (0.08): std per axis of the guess's offset, constant over the run.
    missing_fraction (0.01): expected share of joint-frames the detector drops (NaN, confidence 0),
        in runs per joint.
    missing_len_range ((1, 8)): length of such a run in frames, uniform inclusive.
    dropout_prob (0.05): probability that a clip has one run of whole frames with no detection
        (person lost, motion blur, a cut in the track).
    dropout_len_range ((1, 10)): length of that run in frames, uniform inclusive.
    mark_outside_missing (True): joints outside the image, as projected or after the noise, are
        NaN with confidence 0, because a detector cannot see them.
    confidence_half_error (0.08): the joint error (fraction of person size) at which confidence
        falls to one half; confidence = 1 / (1 + (error / confidence_half_error)²).
    confidence_noise_std (0.1): Gaussian noise on each confidence (detectors are not calibrated,
        and a model must not learn to read the error off the confidence).
    swap_confidence_scale (0.5) / low_confidence_scale (0.5): extra confidence factor for swapped
        and guessed joints, which detectors mark as uncertain even when the guess lands close.
    """

    jitter_std: float = 0.01
    jitter_correlation: float = 0.5
    jitter_torso_scale: float = 0.7
    jitter_extremity_scale: float = 1.6
    bias_std: float = 0.02
    swap_prob: float = 0.2
    swap_len_range: tuple[int, int] = (1, 5)
    low_confidence_fraction: float = 0.03
    low_confidence_len_range: tuple[int, int] = (3, 15)
    low_confidence_offset_std: float = 0.08
    missing_fraction: float = 0.01
    missing_len_range: tuple[int, int] = (1, 8)
    dropout_prob: float = 0.05
    dropout_len_range: tuple[int, int] = (1, 10)
    mark_outside_missing: bool = True
    confidence_half_error: float = 0.08
    confidence_noise_std: float = 0.1
    swap_confidence_scale: float = 0.5
    low_confidence_scale: float = 0.5

    @classmethod
    def disabled(cls) -> NoiseConfig:
        """Every part off: clean 2D in, the same 2D out, confidence 1 inside the image."""
        return cls(
            jitter_std=0.0,
            bias_std=0.0,
            swap_prob=0.0,
            low_confidence_fraction=0.0,
            missing_fraction=0.0,
            dropout_prob=0.0,
            confidence_noise_std=0.0,
        )


def corrupt_2d(
    uv: np.ndarray,
    width: int,
    height: int,
    rng: np.random.Generator,
    config: NoiseConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Make clean pixels (T, J, 2) look like a detector's: returns (noisy uv, confidence (T, J)).

    Missing joints are NaN with confidence 0; confidence is float32 in [0, 1]. A batch of one
    window, so a window comes out the same alone or batched.
    """
    clean = _validate_track(uv, batched=False)
    noisy, confidence = corrupt_2d_batch(clean[None], np.array([[width, height]]), [rng], config)
    return noisy[0], confidence[0]


def corrupt_2d_batch(
    uv: np.ndarray,
    sizes: np.ndarray,
    rngs: Sequence[np.random.Generator],
    config: NoiseConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Corrupt B windows (B, T, J, 2) at once, each in image sizes[b] = (width, height).

    Each window draws from its own generator exactly what `corrupt_2d` would draw from it, so its
    result does not depend on the batch; only the arithmetic is shared, where numpy's per-call
    overhead on small arrays would otherwise dominate. Returns (noisy uv, confidence (B, T, J)).
    """
    config = config or NoiseConfig()
    clean = _validate_track(uv, batched=True)
    sizes = np.asarray(sizes, dtype=np.float64)
    if len(clean) == 0 or sizes.shape != (len(clean), 2) or len(rngs) != len(clean):
        raise ValueError(f"need B ≥ 1 windows, sizes (B, 2) and B generators, got {len(clean)}")
    frames, joints = clean.shape[1:3]
    spawned = [rng.spawn(len(_PARTS)) for rng in rngs]
    part = {name: [kids[i] for kids in spawned] for i, name in enumerate(_PARTS)}
    size = person_size(clean)[..., None, None]  # (B, T, 1, 1)

    white = _each(part["jitter"], lambda rng: rng.standard_normal((frames, joints, 2)))
    noisy = clean + size * ar1_jitter(white, config)
    bias = _each(part["bias"], lambda rng: joint_bias(rng, joints, config.bias_std))
    noisy += size * bias[:, None]
    guessed = random_runs(
        part["low_confidence"],
        clean.shape[:3],
        config.low_confidence_fraction,
        config.low_confidence_len_range,
    )
    noisy += size * run_offsets(part["low_confidence"], guessed, config.low_confidence_offset_std)
    swapped = _each(part["swap"], lambda rng: limb_swap_mask(rng, frames, config))
    noisy = apply_swaps(noisy, swapped)

    shift = noisy - clean
    error = _length(shift[..., 0], shift[..., 1]) / size[..., 0]
    noise = _each(part["confidence"], lambda rng: rng.standard_normal((frames, joints)))
    confidence = confidence_from_error(error, config) + noise * config.confidence_noise_std
    confidence *= np.where(swapped, config.swap_confidence_scale, 1.0)
    confidence *= np.where(guessed, config.low_confidence_scale, 1.0)

    # a swap can bring in a partner the clean track lacks: missing too, not a NaN confidence
    missing = ~_finite(clean) | ~_finite(noisy)
    missing |= random_runs(
        part["missing"], clean.shape[:3], config.missing_fraction, config.missing_len_range
    )
    missing |= _each(part["dropout"], lambda rng: dropout_frames(rng, frames, config))[..., None]
    if config.mark_outside_missing:
        width, height = sizes[:, 0, None, None], sizes[:, 1, None, None]
        missing |= outside_image(clean, width, height) | outside_image(noisy, width, height)
    noisy[missing] = np.nan
    confidence[missing] = 0.0
    return noisy, np.clip(confidence, 0.0, 1.0).astype(np.float32)


def _each(
    rngs: Sequence[np.random.Generator], draw: Callable[[np.random.Generator], np.ndarray]
) -> np.ndarray:
    """One window's draw per generator, stacked."""
    return np.stack([draw(rng) for rng in rngs])


def _validate_track(uv: np.ndarray, batched: bool) -> np.ndarray:
    uv = np.array(uv, dtype=np.float64)
    if uv.ndim != 3 + batched or uv.shape[-2:] != (H36M17.num_joints, 2):
        layout = "(B, T, {}, 2)" if batched else "(T, {}, 2)"
        raise ValueError(f"uv must have shape {layout.format(H36M17.num_joints)}, got {uv.shape}")
    return uv


def person_size(uv: np.ndarray) -> np.ndarray:
    """(..., T) diagonal of the joints' 2D bounding box per frame of (..., T, J, 2), in pixels.

    Frames with fewer than two visible joints borrow their window's median size, so noise stays
    finite and proportionate around gaps.
    """
    finite = _finite(uv)
    if finite.all():  # the usual case, without the NaN-aware reductions' cost
        size = _length(*_extent(uv, uv))
        if (size > 0).all():
            return size
    high = np.where(finite[..., None], uv, -np.inf)
    low = np.where(finite[..., None], uv, np.inf)
    enough = finite.sum(axis=-1) >= 2
    size = np.where(enough, _length(*_extent(high, low)), np.nan)
    seen = enough.any(axis=-1)
    fallback = np.ones(size.shape[:-1])
    fallback[seen] = np.nanmedian(size[seen], axis=-1)
    size = np.where(np.isfinite(size) & (size > 0), size, fallback[..., None])
    return np.where(size > 0, size, 1.0)


def _extent(high: np.ndarray, low: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., T) width and height of the box from the highest of `high` to the lowest of `low`."""
    width = high[..., 0].max(axis=-1) - low[..., 0].min(axis=-1)
    return width, high[..., 1].max(axis=-1) - low[..., 1].min(axis=-1)


def _length(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Length of the vectors (x, y): np.linalg.norm's result, without its slow 2-long reduction."""
    return np.sqrt(np.square(x) + np.square(y))


def _finite(uv: np.ndarray) -> np.ndarray:
    """(...,) True where both coordinates of (..., 2) are finite."""
    return np.isfinite(uv[..., 0]) & np.isfinite(uv[..., 1])


def joint_jitter_scales(config: NoiseConfig) -> np.ndarray:
    """(J,) jitter multipliers: steady torso, wobbly extremities."""
    scales = np.ones(H36M17.num_joints)
    scales[[H36M17.index(name) for name in _TORSO]] = config.jitter_torso_scale
    scales[[H36M17.index(name) for name in _EXTREMITIES]] = config.jitter_extremity_scale
    return scales


def ar1_jitter(white: np.ndarray, config: NoiseConfig) -> np.ndarray:
    """(..., T, J, 2) AR(1) noise driven by standard normal `white`, filtered along T."""
    if config.jitter_std == 0.0:
        return np.zeros(white.shape)
    rho = float(np.clip(config.jitter_correlation, 0.0, 0.999))
    innovation = np.sqrt(1.0 - rho**2)
    # noise[t] = rho·noise[t−1] + innovation·white[t], noise[0] = white[0]: one IIR filter pass.
    start = (1.0 - innovation) * white[..., :1, :, :]
    noise, _ = lfilter([innovation], [1.0, -rho], white, axis=-3, zi=start)
    scales = config.jitter_std * joint_jitter_scales(config)
    return noise * np.stack([scales, scales], axis=-1)  # (J, 2): a fast, unbroadcast inner loop


def joint_bias(rng: np.random.Generator, num_joints: int, std: float) -> np.ndarray:
    """(J, 2) constant offset per joint for the whole clip, in person-size units."""
    return rng.standard_normal((num_joints, 2)) * std


def random_runs(
    rngs: Sequence[np.random.Generator],
    shape: tuple[int, int, int],
    fraction: float,
    len_range: tuple[int, int],
) -> np.ndarray:
    """(B, T, J) masks of per-joint runs covering about `fraction` of the joint-frames.

    Window b draws from rngs[b] only, so its mask does not depend on the other windows.
    """
    low, high = len_range
    start_prob = fraction / (0.5 * (low + high))
    starts = _each(rngs, lambda rng: rng.random(shape[1:])) < start_prob
    counts = starts.sum(axis=(1, 2))
    lengths = [rng.integers(low, high + 1, size=n) for rng, n in zip(rngs, counts, strict=True)]
    window, frame, joint = np.nonzero(starts)  # each window's starts in time order, as drawn
    ends = np.minimum(frame + np.concatenate(lengths), shape[1])
    edges = np.zeros((shape[0], shape[1] + 1, shape[2]), dtype=np.int32)
    np.add.at(edges, (window, frame, joint), 1)
    np.add.at(edges, (window, ends, joint), -1)
    return np.cumsum(edges[:, :-1], axis=1) > 0


def run_offsets(rngs: Sequence[np.random.Generator], runs: np.ndarray, std: float) -> np.ndarray:
    """(B, T, J, 2) offsets, constant over each run of `runs` (B, T, J) and zero elsewhere: a
    held-on guess. Window b draws from rngs[b], one (2,) normal per run, joint by joint."""
    by_joint = np.swapaxes(runs, 1, 2)  # runs numbered window, joint, then time, as drawn
    starts = by_joint.copy()
    starts[..., 1:] &= ~by_joint[..., :-1]
    counts = starts.sum(axis=(1, 2))
    offsets = np.zeros((*by_joint.shape, 2))
    draws = [rng.standard_normal((n, 2)) for rng, n in zip(rngs, counts, strict=True) if n]
    if draws:
        run_id = np.cumsum(starts.ravel()).reshape(by_joint.shape) - 1
        offsets[by_joint] = (np.concatenate(draws) * std)[run_id[by_joint]]
    return np.swapaxes(offsets, 1, 2)


def limb_swap_pairs() -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(left joints, right joints) for every limb in LIMBS that has a mirrored partner."""
    pairs = []
    for name, left in LIMBS.items():
        if name.startswith("left_"):
            pairs.append((left, LIMBS["right_" + name.removeprefix("left_")]))
    return pairs


def limb_swap_mask(rng: np.random.Generator, num_frames: int, config: NoiseConfig) -> np.ndarray:
    """(T, J) mask of joints whose left/right labels are swapped (both sides of one limb pair)."""
    mask = np.zeros((num_frames, H36M17.num_joints), dtype=bool)
    if num_frames == 0 or rng.random() >= config.swap_prob:
        return mask
    pairs = limb_swap_pairs()
    left, right = pairs[rng.integers(len(pairs))]
    low, high = config.swap_len_range
    length = min(int(rng.integers(low, high + 1)), num_frames)
    start = int(rng.integers(0, num_frames - length + 1))
    mask[start : start + length, list(left) + list(right)] = True
    return mask


def apply_swaps(uv: np.ndarray, swapped: np.ndarray) -> np.ndarray:
    """Exchange each swapped joint (..., T, J) with its mirror partner in the frames marked."""
    where = np.nonzero(swapped)
    mirrored = (*where[:-1], np.asarray(H36M17.flip_permutation)[where[-1]])
    out = uv.copy()
    out[where] = uv[mirrored]
    return out


def dropout_frames(rng: np.random.Generator, num_frames: int, config: NoiseConfig) -> np.ndarray:
    """(T,) mask of one run of frames lost entirely, with probability dropout_prob per clip."""
    mask = np.zeros(num_frames, dtype=bool)
    if num_frames == 0 or rng.random() >= config.dropout_prob:
        return mask
    low, high = config.dropout_len_range
    length = min(int(rng.integers(low, high + 1)), num_frames)
    start = int(rng.integers(0, num_frames - length + 1))
    mask[start : start + length] = True
    return mask


def confidence_from_error(error: np.ndarray, config: NoiseConfig) -> np.ndarray:
    """Confidence falling with the relative error, before the detector's noise is added."""
    ratio = error / config.confidence_half_error
    return 1.0 / (1.0 + ratio**2)


def outside_image(
    uv: np.ndarray, width: float | np.ndarray, height: float | np.ndarray
) -> np.ndarray:
    """(..., J) True where a point lies outside [0, width) × [0, height); sizes broadcast."""
    u, v = uv[..., 0], uv[..., 1]
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    return ~inside & _finite(uv)
