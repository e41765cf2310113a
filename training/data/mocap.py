"""BVH motion → H36M-17 joint clips in metres, Y-up world frame, at any frame rate.

The BVH reader gives positions in file units and file axes; a skeleton map (detected from the
joint names) says which joints are which, the axes of the file, and where eyes and nose are.
Units are taken from the map or, when it says nothing, inferred from the skeleton's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mpm_backend.skeleton import H36M17
from mpm_backend.timebase import resample, snap_fps
from training.data.bvh import Bvh, forward_kinematics, read_bvh
from training.data.skeleton_maps import (
    DIRECT_JOINTS,
    UNITS_TO_METRES,
    PointSpec,
    SkeletonMap,
    bare_name,
    detect_skeleton,
)

# Hip to eyes along the body (thigh + shin + pelvis-thorax + thorax-eyes) of an adult, metres;
# used to tell metres from centimetres, inches or CMU units when a map does not say.
TYPICAL_BODY_LENGTH_M = 1.5


@dataclass
class MocapClip:
    """One clip of H36M-17 joints: (T, 17, 3) metres, Y up (floor near y = 0)."""

    joints: np.ndarray
    fps: float
    family: str
    source: str
    metres_per_unit: float
    lowest: np.ndarray  # (T,) height of the lowest BVH joint (toes, end sites), metres

    @property
    def num_frames(self) -> int:
        return self.joints.shape[0]

    @property
    def seconds(self) -> float:
        return self.num_frames / self.fps


class _JointLookup:
    """Finds BVH joints by bare name, with the map's candidates, naming what is missing."""

    def __init__(self, bvh: Bvh, skeleton_map: SkeletonMap):
        self.by_name = {bare_name(n): i for i, n in enumerate(bvh.names)}
        self.source = bvh.source
        self.family = skeleton_map.family

    def __call__(self, candidates: tuple[str, ...]) -> int:
        for name in candidates:
            if name in self.by_name:
                return self.by_name[name]
        raise ValueError(
            f"{self.source}: detected as {self.family!r} but has no joint named "
            f"{' or '.join(candidates)}; fix the file or its skeleton map"
        )


def _point(spec: PointSpec, positions, rotations, lookup, to_file_units: np.ndarray) -> np.ndarray:
    """(T, 3) file-unit positions of an eyes/nose point."""
    if spec.between:
        return np.mean([positions[:, lookup((n,))] for n in spec.between], axis=0)
    j = lookup(spec.joint)
    return positions[:, j] + rotations[:, j] @ (to_file_units @ np.asarray(spec.offset))


def derive_h36m17(direct: dict[str, np.ndarray], eyes: np.ndarray, nose: np.ndarray) -> np.ndarray:
    """Assemble (T, 17, 3) from the 12 direct joints plus eyes and nose; see skeleton_maps."""
    joints = np.empty(eyes.shape[:-1] + (H36M17.num_joints, 3))
    for name, values in direct.items():
        joints[..., H36M17.index(name), :] = values
    pelvis = 0.5 * (direct["left_hip"] + direct["right_hip"])
    thorax = 0.5 * (direct["left_shoulder"] + direct["right_shoulder"])
    joints[..., H36M17.index("pelvis"), :] = pelvis
    joints[..., H36M17.index("thorax"), :] = thorax
    joints[..., H36M17.index("spine"), :] = 0.5 * (pelvis + thorax)
    joints[..., H36M17.index("head"), :] = eyes
    joints[..., H36M17.index("nose"), :] = nose
    return joints


def infer_metres_per_unit(joints_file_units: np.ndarray) -> float:
    """Pick the length unit under which the skeleton is adult-sized.

    The candidate units differ by a factor of 2.2 or more, so a person of 1.0-2.2 m is never
    ambiguous.
    """
    sample = joints_file_units[:: max(1, len(joints_file_units) // 100)]
    j = H36M17.index

    def bone(a: str, b: str) -> float:
        return float(np.median(np.linalg.norm(sample[:, j(a)] - sample[:, j(b)], axis=-1)))

    length = (
        0.5 * (bone("left_hip", "left_knee") + bone("right_hip", "right_knee"))
        + 0.5 * (bone("left_knee", "left_ankle") + bone("right_knee", "right_ankle"))
        + bone("pelvis", "thorax")
        + bone("thorax", "head")
    )
    if not np.isfinite(length) or length <= 0:
        raise ValueError("cannot infer units: the skeleton has no extent")
    return min(
        UNITS_TO_METRES.values(),
        key=lambda s: abs(np.log(length * s / TYPICAL_BODY_LENGTH_M)),
    )


def bvh_to_clip(
    bvh: Bvh, skeleton_map: SkeletonMap | None = None, fps: float | None = None
) -> MocapClip:
    """Map a parsed BVH onto H36M-17 in metres and canonical axes; fps overrides the header."""
    skeleton_map = skeleton_map or detect_skeleton(bvh.names, bvh.source)
    lookup = _JointLookup(bvh, skeleton_map)
    positions, rotations = forward_kinematics(bvh)
    to_file_axes = skeleton_map.to_canonical.T  # canonical -> file axes (orthonormal)
    direct = {name: positions[:, lookup(skeleton_map.joints[name])] for name in DIRECT_JOINTS}

    def assemble(metres_per_unit: float) -> np.ndarray:
        to_file_units = to_file_axes / metres_per_unit
        eyes = _point(skeleton_map.eyes, positions, rotations, lookup, to_file_units)
        nose = _point(skeleton_map.nose, positions, rotations, lookup, to_file_units)
        return derive_h36m17(direct, eyes, nose)

    if skeleton_map.units is not None:
        metres_per_unit = UNITS_TO_METRES[skeleton_map.units]
    else:  # eyes/nose offsets are in metres; a first guess of the unit is good enough to size them
        metres_per_unit = infer_metres_per_unit(assemble(1.0))
        metres_per_unit = infer_metres_per_unit(assemble(metres_per_unit))
    to_metres = skeleton_map.to_canonical * metres_per_unit
    joints = assemble(metres_per_unit) @ to_metres.T
    lowest = (positions @ to_metres.T)[..., 1].min(axis=1)
    return MocapClip(
        joints=joints,
        fps=float(fps) if fps else snap_fps(bvh.fps),
        family=skeleton_map.family,
        source=bvh.source,
        metres_per_unit=metres_per_unit,
        lowest=lowest,
    )


def load_clip(
    path: str | Path,
    fps: float | None = None,
    target_fps: float | None = None,
    skip_frames: int = 0,
    maps: list[SkeletonMap] | None = None,
) -> MocapClip:
    """Read a BVH file as an H36M-17 clip, optionally dropping leading frames and resampling.

    fps overrides the header's frame time (the manifest knows better for some files); without
    it, the header's rounded frame time is snapped to the standard rate it stands for;
    skip_frames drops e.g. the reference T-pose that CMU conversions put in front.
    """
    bvh = read_bvh(path)
    skeleton_map = detect_skeleton(bvh.names, bvh.source, maps)
    clip = bvh_to_clip(bvh, skeleton_map, fps)
    if skip_frames:
        clip.joints, clip.lowest = clip.joints[skip_frames:], clip.lowest[skip_frames:]
    if target_fps and clip.num_frames > 0 and abs(target_fps - clip.fps) > 1e-9:
        clip.joints = resample(clip.joints, clip.fps, target_fps)
        clip.lowest = resample(clip.lowest, clip.fps, target_fps)
        clip.fps = float(target_fps)
    return clip


def standing_height(clip: MocapClip) -> float:
    """Lowest joint to head (mid-eyes), median over standing frames, metres.

    Standing frames are those whose lowest-to-head distance is at least 95 % of its 95th
    percentile, the rule the shared manifest's height_m uses.
    """
    extent = clip.joints[:, H36M17.index("head"), 1] - clip.lowest
    if extent.size == 0:
        return float("nan")
    standing = extent >= 0.95 * np.percentile(extent, 95)
    return float(np.median(extent[standing]))


def bone_length_deviation_mm(joints: np.ndarray) -> dict[str, float]:
    """Per H36M-17 bone: largest distance of its length from its median over the clip, mm."""
    out = {}
    for parent, child in H36M17.bones:
        length = np.linalg.norm(joints[:, child] - joints[:, parent], axis=-1)
        deviation = np.max(np.abs(length - np.median(length))) if length.size else 0.0
        out[f"{H36M17.joints[parent]}-{H36M17.joints[child]}"] = float(deviation * 1000.0)
    return out
