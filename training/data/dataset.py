"""Training windows: cached 3D clips filmed by a fresh random camera, with detector-like 2D.

Each item is one window of one clip. Its camera, mirroring and 2D corruption are drawn from a
generator seeded by (seed, epoch, item index), so an item is the same whatever the worker count
or order, and different in every epoch (`set_epoch`). What an item holds, all float32 numpy:

    pose2d       (T, 17, 2)  corrupted 2D in screen-normalised coordinates; 0 where missing
    confidence   (T, 17)     detector-like confidence; 0 where missing
    pose2d_clean (T, 17, 2)  the exact projection, screen-normalised (target for 2D completion)
    pose3d       (T, 17, 3)  camera frame (x right, y down, z forward), root-relative, metres
    root         (T, 3)      pelvis in the camera frame, metres (target for the trajectory)
    intrinsics   (6,)        fx, fy, cx, cy, width, height in pixels
    valid        (T,)        False on frames padded to fill a short clip's window
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from mpm_backend.skeleton import H36M17, flip
from training.data.bodies import BodyConfig, DetectorConfig, detector_points_batch, repose_batch
from training.data.cache import load_split
from training.data.cameras import CameraConfig, normalise_screen, sample_cameras
from training.data.corruption import NoiseConfig, corrupt_2d_batch

PELVIS = H36M17.index("pelvis")


@dataclass
class WindowConfig:
    window: int = 81  # frames per item
    stride: int = 40  # frames between window starts; the last window of a clip ends at its end
    mirror_prob: float = 0.5  # chance to mirror the 3D motion (left ↔ right) before filming
    cameras: CameraConfig = field(default_factory=CameraConfig)
    noise: NoiseConfig | None = field(default_factory=NoiseConfig)  # None: clean 2D
    bodies: BodyConfig | None = None  # None: the mocap's own bodies (validation, evaluation)
    detector: DetectorConfig | None = None  # None: 2D at the joint centres


def window_starts(num_frames: int, window: int, stride: int) -> list[int]:
    """Starts covering every frame; the last window is aligned to the clip's end."""
    if num_frames <= window:
        return [0]
    starts = list(range(0, num_frames - window + 1, stride))
    if starts[-1] != num_frames - window:
        starts.append(num_frames - window)
    return starts


def mirror_world(joints: np.ndarray) -> np.ndarray:
    """Mirror a Y-up clip through the x = 0 plane and swap left/right, so it is a real person."""
    return flip(joints, H36M17)


class ClipWindows(Dataset):
    """Windows of one split of the clip cache, filmed anew every epoch."""

    def __init__(
        self, cache_dir: Path, split: str, config: WindowConfig | None = None, seed: int = 0
    ):
        self.config = config or WindowConfig()
        self.split = load_split(cache_dir, split)
        self.seed = seed
        self.epoch = 0
        self.items = [
            (c, s)
            for c in range(len(self.split))
            for s in window_starts(len(self.split.clip(c)), self.config.window, self.config.stride)
        ]

    def item_weights(self, shares: dict[str, float]) -> np.ndarray:
        """Sampling probability per item: each named source gets its share of the draws, the
        other sources split the rest in proportion to their windows (idle motion is long and
        narrow; it must not crowd out the actions)."""
        sources = np.array([self.split.clips[c].get("source", "") for c, _ in self.items])
        weights = np.zeros(len(self.items))
        named = [s for s in shares if np.any(sources == s)]
        rest = ~np.isin(sources, named)
        for source in named:
            weights[sources == source] = shares[source] / np.sum(sources == source)
        left = 1.0 - sum(shares[s] for s in named)
        if left < 0 or (left > 0 and not rest.any()):
            raise ValueError(
                f"source shares {shares} do not fit the sources {sorted(set(sources))}"
            )
        if rest.any():
            weights[rest] = left / rest.sum()
        return weights / weights.sum()

    def set_epoch(self, epoch: int) -> None:
        """New cameras and noise for every epoch, reproducibly."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return {key: value[0] for key, value in self.batch([index]).items()}

    def batch(self, indices: Sequence[int]) -> dict[str, np.ndarray]:
        """Items stacked (B, ...): each the same as on its own, for its draws come from its own
        generators; the arithmetic runs once a batch (numpy's per-call cost is most of a
        window's)."""
        window = self.config.window
        rngs, body_rngs, clips, valid, mirrored = [], [], [], [], []
        for index in indices:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            clip_index, start = self.items[index]
            joints = self.split.clip(clip_index)[start : start + window].astype(np.float64)
            valid.append(np.arange(window) < len(joints))
            if len(joints) < window:  # pad a short clip by holding its last frame
                pad = np.repeat(joints[-1:], window - len(joints), axis=0)
                joints = np.concatenate([joints, pad])
            clips.append(joints)
            mirrored.append(rng.random() < self.config.mirror_prob)
            rngs.append(rng)
            # Own generator: bodies and detector points do not shift the camera and noise draws.
            body_rngs.append(np.random.default_rng([self.seed, self.epoch, index, 2]))
        joints = np.stack(clips)
        joints[mirrored] = mirror_world(joints[mirrored])
        bodies = self.config.bodies
        if bodies:
            new = [b for b, body_rng in enumerate(body_rngs) if body_rng.random() < bodies.prob]
            if new:
                joints[new] = repose_batch(joints[new], [body_rngs[b] for b in new], bodies)
        detector = self.config.detector
        seen = detector_points_batch(joints, body_rngs, detector) if detector else None
        return film(joints, rngs, self.config, np.array(valid), seen)


def film(
    world: np.ndarray,
    rngs: Sequence[np.random.Generator],
    config: WindowConfig,
    valid: np.ndarray,
    seen: np.ndarray | None = None,
) -> dict:
    """Place a random camera, project, corrupt and normalise windows of world joints
    (B, T, 17, 3), window b drawing from rngs[b].

    `seen`: where a detector would mark the joints (bodies.detector_points); the 2D input comes
    from these, the 3D targets and the 2D completion target from the joints themselves.
    """
    cameras = sample_cameras(rngs, world, config.cameras)
    cam = cameras.world_to_camera(world)
    uv = cameras.project(cam)
    seen_uv = uv if seen is None else cameras.project(cameras.world_to_camera(seen))
    if config.noise is None:
        noisy, confidence = seen_uv.copy(), np.ones(uv.shape[:-1])
    else:
        noisy, confidence = corrupt_2d_batch(seen_uv, cameras.size, rngs, config.noise)
    missing = ~np.isfinite(noisy).all(axis=-1)
    width, height = (cameras.size[:, k, None, None] for k in (0, 1))
    pose2d = normalise_screen(noisy, width, height)
    pose2d[missing] = 0.0
    confidence = np.where(missing, 0.0, confidence)
    root = cam[:, :, PELVIS]
    return {
        "pose2d": pose2d.astype(np.float32),
        "confidence": confidence.astype(np.float32),
        "pose2d_clean": normalise_screen(uv, width, height).astype(np.float32),
        "pose3d": (cam - root[:, :, None]).astype(np.float32),
        "root": root.astype(np.float32),
        "intrinsics": np.concatenate(
            [cameras.focal, cameras.principal, cameras.size], axis=1
        ).astype(np.float32),
        "valid": valid,
    }


def make_loader(
    dataset: ClipWindows, batch_size: int, shuffle: bool, seed: int = 0, num_workers: int = 0
) -> DataLoader:
    """A DataLoader whose order depends only on the seed (and the dataset's epoch)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + dataset.epoch)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        num_workers=num_workers,
        drop_last=shuffle,
        persistent_workers=False,
    )
