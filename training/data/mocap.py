"""Motion capture (BVH, ASF/AMC) → H36M-17 joint clips in metres, Y-up world frame, any frame rate.

Either reader gives joint positions in file units and file axes (a `JointMotion`); a skeleton map
(detected from the joint names) says which joints are which, the axes of the file, and where eyes
and nose are. Units come from the file (ASF), else the map, else the skeleton's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mpm_backend.skeleton import H36M17
from mpm_backend.timebase import resample, snap_fps
from training.data.asf import Amc, Asf, find_skeleton, read_amc, read_asf
from training.data.asf import forward_kinematics as asf_forward_kinematics
from training.data.bvh import Bvh, forward_kinematics, read_bvh
from training.data.skeleton_maps import (
    DIRECT_JOINTS,
    UNITS_TO_METRES,
    PointSpec,
    SkeletonMap,
    bare_name,
    detect_skeleton,
    rest_from_pose,
)

# Hip to eyes along the body (thigh + shin + pelvis-thorax + thorax-eyes) of an adult, metres;
# used to tell metres from centimetres, inches or CMU units when a map does not say.
TYPICAL_BODY_LENGTH_M = 1.5
# AMC files carry no frame rate; CMU and HDM05 both capture at 120 Hz.
AMC_DEFAULT_FPS = 120.0
SUFFIXES = (".bvh", ".amc")


@dataclass
class MocapClip:
    """One clip of H36M-17 joints: (T, 17, 3) metres, Y up (floor near y = 0)."""

    joints: np.ndarray
    fps: float
    family: str
    source: str
    metres_per_unit: float
    lowest: np.ndarray  # (T,) height of the lowest joint (toes, end sites), metres

    @property
    def num_frames(self) -> int:
        return self.joints.shape[0]

    @property
    def seconds(self) -> float:
        return self.num_frames / self.fps


@dataclass(eq=False)
class JointMotion:
    """What either reader gives the mapping: joints parents first, file units and axes.

    BVH and ASF/AMC files both become this, so one mapping serves every format. Rotations are
    global and identity in the rest pose, so a point fixed in a joint's frame (the eyes in the
    head's) is ``position + rotation @ offset`` whatever the format.
    """

    names: list[str]
    parents: np.ndarray  # (J,)
    positions: np.ndarray  # (T, J, 3) file units
    rotations: np.ndarray  # (T, J, 3, 3)
    fps: float
    source: str
    is_end_site: np.ndarray  # (J,)
    metres_per_unit: float | None = None  # known from the file (ASF units), else None

    @property
    def num_frames(self) -> int:
        return self.positions.shape[0]


def bvh_motion(bvh: Bvh) -> JointMotion:
    """Forward kinematics of a parsed BVH; its unit is unknown (BVH has no unit field)."""
    positions, rotations = forward_kinematics(bvh)
    return JointMotion(
        names=bvh.names,
        parents=bvh.parents,
        positions=positions,
        rotations=rotations,
        fps=bvh.fps,
        source=bvh.source,
        is_end_site=bvh.is_end_site,
    )


def asf_motion(asf: Asf, amc: Amc, fps: float = AMC_DEFAULT_FPS) -> JointMotion:
    """Forward kinematics of an AMC on its ASF; units from the ASF's ``:units length``."""
    pose = asf_forward_kinematics(asf, amc)
    return JointMotion(
        names=pose.names,
        parents=pose.parents,
        positions=pose.positions,
        rotations=pose.rotations,
        fps=fps,
        source=pose.source,
        is_end_site=pose.is_end_site,
        metres_per_unit=pose.metres_per_unit,
    )


def read_motion(
    path: str | Path, skeleton: str | Path | None = None, fps: float | None = None
) -> JointMotion:
    """Read any supported file by its suffix; an ``.amc`` needs its ``.asf`` (found if not given)."""
    path = Path(path)
    match path.suffix.lower():
        case ".bvh":
            return bvh_motion(read_bvh(path))
        case ".amc":
            asf = read_asf(skeleton if skeleton is not None else find_skeleton(path))
            return asf_motion(asf, read_amc(path, asf), fps or AMC_DEFAULT_FPS)
        case _:
            raise ValueError(
                f"{path}: unsupported motion file {path.suffix!r}; supported: {', '.join(SUFFIXES)}"
            )


def rest_pose(motion: JointMotion) -> np.ndarray | None:
    """Rest pose for the joint matcher, which places joints when no YAML map names them."""
    return rest_from_pose(motion.parents, motion.positions, motion.rotations)


class _JointLookup:
    """Finds joints by bare name, with the map's candidates, naming what is missing."""

    def __init__(self, motion: JointMotion, skeleton_map: SkeletonMap):
        self.by_name = {bare_name(n): i for i, n in enumerate(motion.names)}
        self.source = motion.source
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


def motion_to_clip(
    motion: JointMotion, skeleton_map: SkeletonMap | None = None, fps: float | None = None
) -> MocapClip:
    """Map joint motion onto H36M-17 in metres and canonical axes; fps overrides the file's."""
    skeleton_map = skeleton_map or detect_skeleton(
        motion.names, motion.source, parents=motion.parents, rest=rest_pose(motion)
    )
    lookup = _JointLookup(motion, skeleton_map)
    positions, rotations = motion.positions, motion.rotations
    to_file_axes = skeleton_map.to_canonical.T  # canonical -> file axes (orthonormal)
    direct = {name: positions[:, lookup(skeleton_map.joints[name])] for name in DIRECT_JOINTS}

    def assemble(metres_per_unit: float) -> np.ndarray:
        to_file_units = to_file_axes / metres_per_unit
        eyes = _point(skeleton_map.eyes, positions, rotations, lookup, to_file_units)
        nose = _point(skeleton_map.nose, positions, rotations, lookup, to_file_units)
        return derive_h36m17(direct, eyes, nose)

    if motion.metres_per_unit is not None:  # the file says (ASF units)
        metres_per_unit = motion.metres_per_unit
    elif skeleton_map.units is not None:
        metres_per_unit = UNITS_TO_METRES[skeleton_map.units]
    else:  # eyes/nose offsets are in metres; a first guess of the unit is good enough to size them
        metres_per_unit = infer_metres_per_unit(assemble(1.0))
        metres_per_unit = infer_metres_per_unit(assemble(metres_per_unit))
    to_metres = skeleton_map.to_canonical * metres_per_unit
    joints = assemble(metres_per_unit) @ to_metres.T
    lowest = (positions @ to_metres.T)[..., 1].min(axis=1)
    return MocapClip(
        joints=joints,
        fps=float(fps) if fps else snap_fps(motion.fps),
        family=skeleton_map.family,
        source=motion.source,
        metres_per_unit=metres_per_unit,
        lowest=lowest,
    )


def bvh_to_clip(
    bvh: Bvh, skeleton_map: SkeletonMap | None = None, fps: float | None = None
) -> MocapClip:
    """Map a parsed BVH onto H36M-17 in metres and canonical axes; fps overrides the header."""
    return motion_to_clip(bvh_motion(bvh), skeleton_map, fps)


def load_clip(
    path: str | Path,
    fps: float | None = None,
    target_fps: float | None = None,
    skip_frames: int = 0,
    maps: list[SkeletonMap] | None = None,
    skeleton: str | Path | None = None,
) -> MocapClip:
    """Read a BVH or ASF/AMC file as an H36M-17 clip, optionally dropping leading frames and
    resampling.

    fps overrides the file's frame rate (the manifest knows better for some files; AMC files have
    none and default to 120); without it, a BVH header's rounded frame time is snapped to the
    standard rate it stands for; skip_frames drops e.g. the reference T-pose that CMU BVH
    conversions put in front; skeleton is an ``.amc``'s ``.asf`` (found beside it if not given).
    """
    motion = read_motion(path, skeleton, fps)
    skeleton_map = detect_skeleton(
        motion.names, motion.source, maps, motion.parents, rest_pose(motion)
    )
    clip = motion_to_clip(motion, skeleton_map, fps)
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
