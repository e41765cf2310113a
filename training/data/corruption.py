"""Detector-like corruption of clean projected 2D joints, with confidences that track the error.

A model trained on perfect projections meets a real 2D detector's output at inference time:
keypoints that wobble from frame to frame, sit consistently off the mocap joint centre, swap left
and right for a few frames, go missing, leave the image, and carry confidences that are low when
the keypoint is wrong. `corrupt_2d` adds each of these, sized relative to the person in the image
so that a far-away person and a close-up are corrupted alike.

Every random part draws from its own child generator of the one passed in, so the output is a
pure function of the seed, and turning one part off does not change the others' draws.
"""

from __future__ import annotations

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

    Missing joints are NaN with confidence 0; confidence is float32 in [0, 1].
    """
    config = config or NoiseConfig()
    clean = _validate_track(uv)
    rngs = dict(zip(_PARTS, rng.spawn(len(_PARTS)), strict=True))
    size = person_size(clean)[:, None, None]  # (T, 1, 1)

    noisy = clean + size * temporal_jitter(rngs["jitter"], clean.shape, config)
    noisy += size * joint_bias(rngs["bias"], clean.shape[1], config.bias_std)
    guessed = random_runs(
        rngs["low_confidence"],
        clean.shape[:2],
        config.low_confidence_fraction,
        config.low_confidence_len_range,
    )
    noisy += size * run_offsets(rngs["low_confidence"], guessed, config.low_confidence_offset_std)
    swapped = limb_swap_mask(rngs["swap"], clean.shape[0], config)
    noisy = apply_swaps(noisy, swapped)

    error = np.linalg.norm(noisy - clean, axis=-1) / size[..., 0]
    confidence = confidence_from_error(rngs["confidence"], error, config)
    confidence *= np.where(swapped, config.swap_confidence_scale, 1.0)
    confidence *= np.where(guessed, config.low_confidence_scale, 1.0)

    missing = ~np.isfinite(clean).all(axis=-1)
    missing |= random_runs(
        rngs["missing"], clean.shape[:2], config.missing_fraction, config.missing_len_range
    )
    missing |= dropout_frames(rngs["dropout"], clean.shape[0], config)[:, None]
    if config.mark_outside_missing:
        missing |= outside_image(clean, width, height) | outside_image(noisy, width, height)
    noisy[missing] = np.nan
    confidence[missing] = 0.0
    return noisy, np.clip(confidence, 0.0, 1.0).astype(np.float32)


def _validate_track(uv: np.ndarray) -> np.ndarray:
    uv = np.array(uv, dtype=np.float64)
    if uv.ndim != 3 or uv.shape[1:] != (H36M17.num_joints, 2):
        raise ValueError(f"uv must have shape (T, {H36M17.num_joints}, 2), got {uv.shape}")
    return uv


def person_size(uv: np.ndarray) -> np.ndarray:
    """(T,) diagonal of the joints' 2D bounding box per frame, in pixels.

    Frames with fewer than two visible joints borrow the clip's median size, so noise stays
    finite and proportionate around gaps.
    """
    finite = np.isfinite(uv).all(axis=-1)
    if finite.all():  # the usual case, without the NaN-aware reductions' cost
        size = np.linalg.norm(uv.max(axis=1) - uv.min(axis=1), axis=-1)
        if (size > 0).all():
            return size
    points = np.where(finite[..., None], uv, np.nan)
    size = np.full(uv.shape[0], np.nan)
    enough = finite.sum(axis=1) >= 2
    if enough.any():
        extent = np.nanmax(points[enough], axis=1) - np.nanmin(points[enough], axis=1)
        size[enough] = np.linalg.norm(extent, axis=-1)
    fallback = np.nanmedian(size) if enough.any() else 1.0
    size = np.where(np.isfinite(size) & (size > 0), size, fallback)
    return np.where(size > 0, size, 1.0)


def joint_jitter_scales(config: NoiseConfig) -> np.ndarray:
    """(J,) jitter multipliers: steady torso, wobbly extremities."""
    scales = np.ones(H36M17.num_joints)
    scales[[H36M17.index(name) for name in _TORSO]] = config.jitter_torso_scale
    scales[[H36M17.index(name) for name in _EXTREMITIES]] = config.jitter_extremity_scale
    return scales


def temporal_jitter(
    rng: np.random.Generator, shape: tuple[int, ...], config: NoiseConfig
) -> np.ndarray:
    """(T, J, 2) AR(1) noise with per-axis std jitter_std · joint scale, in person-size units."""
    white = rng.standard_normal(shape)
    if config.jitter_std == 0.0:
        return np.zeros(shape)
    rho = float(np.clip(config.jitter_correlation, 0.0, 0.999))
    innovation = np.sqrt(1.0 - rho**2)
    # noise[t] = rho·noise[t−1] + innovation·white[t], noise[0] = white[0]: one IIR filter pass
    # (a Python loop over frames was a quarter of the training loader's time).
    start = (1.0 - innovation) * white[:1]
    noise, _ = lfilter([innovation], [1.0, -rho], white, axis=0, zi=start)
    return noise * (config.jitter_std * joint_jitter_scales(config))[None, :, None]


def joint_bias(rng: np.random.Generator, num_joints: int, std: float) -> np.ndarray:
    """(J, 2) constant offset per joint for the whole clip, in person-size units."""
    return rng.standard_normal((num_joints, 2)) * std


def random_runs(
    rng: np.random.Generator,
    shape: tuple[int, int],
    fraction: float,
    len_range: tuple[int, int],
) -> np.ndarray:
    """(T, J) mask of per-joint runs covering about `fraction` of the joint-frames."""
    mask = np.zeros(shape, dtype=bool)
    low, high = len_range
    start_prob = fraction / (0.5 * (low + high))
    starts = np.argwhere(rng.random(shape) < start_prob)
    lengths = rng.integers(low, high + 1, size=len(starts))
    for (t, j), length in zip(starts, lengths, strict=True):
        mask[t : t + length, j] = True
    return mask


def run_offsets(rng: np.random.Generator, runs: np.ndarray, std: float) -> np.ndarray:
    """(T, J, 2) offsets, constant over each run of `runs` and zero elsewhere: a held-on guess."""
    by_joint = runs.T  # (J, T): runs numbered joint by joint, in time order, as drawn
    starts = by_joint & ~np.pad(by_joint, ((0, 0), (1, 0)))[:, :-1]
    offsets = np.zeros((*by_joint.shape, 2))
    if starts.any():
        draws = rng.standard_normal((int(starts.sum()), 2)) * std
        run_id = np.cumsum(starts.ravel()).reshape(by_joint.shape) - 1
        offsets[by_joint] = draws[run_id[by_joint]]
    return offsets.transpose(1, 0, 2)


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
    """Exchange each swapped joint with its mirror partner in the frames marked."""
    mirrored = uv[:, H36M17.flip_permutation]
    return np.where(swapped[..., None], mirrored, uv)


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


def confidence_from_error(
    rng: np.random.Generator, error: np.ndarray, config: NoiseConfig
) -> np.ndarray:
    """(T, J) confidence falling with the relative error, plus a little noise (clipped later)."""
    ratio = error / config.confidence_half_error
    confidence = 1.0 / (1.0 + ratio**2)
    return confidence + rng.standard_normal(error.shape) * config.confidence_noise_std


def outside_image(uv: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T, J) True where a point lies outside [0, width) × [0, height)."""
    u, v = uv[..., 0], uv[..., 1]
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    return ~inside & np.isfinite(uv).all(axis=-1)
