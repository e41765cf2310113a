"""Occlusion masks in the MPM paper's styles; True means masked (hidden from the model).

Pre-training hides joints and frames at random (`spatio_temporal_mask`); the occluded-2D task
hides random joints (`random_joint_mask`) or whole limbs over a span of time (`limb_tube_mask`),
which is how people, props and the body itself hide keypoints in real footage.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mpm_backend.skeleton import H36M17


def _limb(*names: str) -> tuple[int, ...]:
    return tuple(H36M17.index(name) for name in names)


LIMBS: dict[str, tuple[int, ...]] = {
    "left_arm": _limb("left_shoulder", "left_elbow", "left_wrist"),
    "right_arm": _limb("right_shoulder", "right_elbow", "right_wrist"),
    "left_leg": _limb("left_hip", "left_knee", "left_ankle"),
    "right_leg": _limb("right_hip", "right_knee", "right_ankle"),
    "left_forearm": _limb("left_elbow", "left_wrist"),
    "right_forearm": _limb("right_elbow", "right_wrist"),
    "left_shin": _limb("left_knee", "left_ankle"),
    "right_shin": _limb("right_knee", "right_ankle"),
}


def random_joint_mask(
    rng: np.random.Generator, num_frames: int, num_joints: int, joints_per_frame: int
) -> np.ndarray:
    """(T, J) mask with exactly `joints_per_frame` distinct joints hidden in every frame."""
    if not 0 <= joints_per_frame <= num_joints:
        raise ValueError(f"joints_per_frame must be in [0, {num_joints}], got {joints_per_frame}")
    ranks = rng.random((num_frames, num_joints)).argsort(axis=1).argsort(axis=1)
    return ranks < joints_per_frame


def limb_tube_mask(
    rng: np.random.Generator,
    num_frames: int,
    num_joints: int,
    n_limbs: int = 1,
    min_len: int = 1,
    max_len: int | None = None,
    limbs: Sequence[str] | None = None,
) -> np.ndarray:
    """(T, J) mask hiding `n_limbs` distinct limbs, each over its own contiguous span of frames.

    Span lengths are uniform in [min_len, max_len] (max_len defaults to the whole clip, and both
    are clipped to it); `limbs` restricts the choice to some LIMBS names.
    """
    if num_joints != H36M17.num_joints:
        raise ValueError(f"limb masks are defined for H36M-17, got {num_joints} joints")
    names = list(limbs) if limbs is not None else list(LIMBS)
    if not 0 <= n_limbs <= len(names):
        raise ValueError(f"n_limbs must be in [0, {len(names)}], got {n_limbs}")
    mask = np.zeros((num_frames, num_joints), dtype=bool)
    if num_frames == 0:
        return mask
    longest = num_frames if max_len is None else min(max_len, num_frames)
    shortest = min(max(min_len, 1), longest)
    for choice in rng.choice(len(names), size=n_limbs, replace=False):
        start, stop = _random_span(rng, num_frames, shortest, longest)
        mask[start:stop, list(LIMBS[names[choice]])] = True
    return mask


def _random_span(
    rng: np.random.Generator, num_frames: int, min_len: int, max_len: int
) -> tuple[int, int]:
    length = int(rng.integers(min_len, max_len + 1))
    start = int(rng.integers(0, num_frames - length + 1))
    return start, start + length


def frame_drop_mask(rng: np.random.Generator, num_frames: int, ratio: float) -> np.ndarray:
    """(T,) mask dropping exactly round(ratio·T) frames (half rounds up), always keeping one."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"ratio must be in [0, 1], got {ratio}")
    if num_frames <= 0:
        raise ValueError(f"num_frames must be positive, got {num_frames}")
    num_dropped = min(int(np.floor(ratio * num_frames + 0.5)), num_frames - 1)
    mask = np.zeros(num_frames, dtype=bool)
    mask[rng.choice(num_frames, size=num_dropped, replace=False)] = True
    return mask


def spatio_temporal_mask(
    rng: np.random.Generator,
    num_frames: int,
    num_joints: int,
    frame_ratio: float = 0.6,
    joints_per_frame: int = 5,
) -> tuple[np.ndarray, np.ndarray]:
    """The paper's pre-training mask: (T,) dropped frames and (T, J) masked joints of kept frames.

    Joints are masked only in kept frames (a dropped frame is gone as a whole), so the share of
    hidden joint-frames is 1 - (1 - frame_ratio)·(J - joints_per_frame)/J ≈ 71.8 % by default.
    """
    frame_mask = frame_drop_mask(rng, num_frames, frame_ratio)
    joint_mask = random_joint_mask(rng, num_frames, num_joints, joints_per_frame)
    joint_mask &= ~frame_mask[:, None]
    return frame_mask, joint_mask


def hidden_joints(frame_mask: np.ndarray, joint_mask: np.ndarray) -> np.ndarray:
    """(T, J) union of a frame mask and a joint mask: every joint-frame the model does not see."""
    return np.asarray(frame_mask, dtype=bool)[:, None] | np.asarray(joint_mask, dtype=bool)
