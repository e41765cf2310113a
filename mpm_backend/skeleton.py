"""Joint layouts: the one place that knows joint orders, parents and left/right pairs.

The internal layout is H36M-17 in the VideoPose3D / MotionBERT order (docs/architecture.md). Every
other module imports joint indices from here instead of writing numbers of its own.
Torch-free: Blender imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np


@dataclass(frozen=True)
class Layout:
    """A named joint order with its kinematic tree and left/right pairing."""

    name: str
    joints: tuple[str, ...]
    parents: tuple[int, ...]  # -1 for the root
    left: tuple[int, ...]
    right: tuple[int, ...]  # right[i] mirrors left[i]

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        return self.joints.index(joint)

    @property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """(parent, child) pairs, in joint order."""
        return tuple((p, c) for c, p in enumerate(self.parents) if p >= 0)

    @property
    def flip_permutation(self) -> np.ndarray:
        """Index array that swaps every left joint with its right partner."""
        perm = np.arange(self.num_joints)
        perm[list(self.left)] = self.right
        perm[list(self.right)] = self.left
        return perm


H36M17 = Layout(
    name="h36m17",
    joints=(
        "pelvis",
        "right_hip",
        "right_knee",
        "right_ankle",
        "left_hip",
        "left_knee",
        "left_ankle",
        "spine",
        "thorax",
        "nose",
        "head",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
    ),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    left=(4, 5, 6, 11, 12, 13),
    right=(1, 2, 3, 14, 15, 16),
)

# Face points for a skeleton or rig with no eye or nose joints, fixed in the frame of a head joint
# at the top of the neck (metres; left, up, forward): the eyes as the cmu_dance figure's eye joints
# sit, the nose tip in front of them. Where eye joints exist, the nose is given from the head joint
# with HEAD_NOSE_OFFSET_WITH_EYES. The YAML maps (training/data/skeleton_maps, blender_addon/rigs/) state
# the same numbers for their families; tests keep them equal.
HEAD_EYES_OFFSET = (0.0, 0.07, 0.08)
HEAD_NOSE_OFFSET = (0.0, 0.03, 0.11)
HEAD_NOSE_OFFSET_WITH_EYES = (0.0, 0.04, 0.11)

# Each segment between H36M-17 joint centres as a fraction of stature, adults: the proportions
# of Drillis & Contini (1966) as tabled in Winter's Biomechanics, from landmarks to joint centres
# (docs/data.md "Bodies"). Each segment is measured between the joints named, both sides averaged.
PROPORTIONS: dict[str, float] = {
    "thigh": 0.245,
    "shin": 0.246,
    "trunk": 0.280,  # mid-hips to mid-shoulders
    "head": 0.135,  # mid-shoulders to mid-eyes
    "hip_width": 0.105,
    "shoulder_width": 0.245,
    "upper_arm": 0.186,
    "forearm": 0.146,
}
_MEASURED: dict[str, tuple[tuple[str, str], ...]] = {
    "thigh": (("left_hip", "left_knee"), ("right_hip", "right_knee")),
    "shin": (("left_knee", "left_ankle"), ("right_knee", "right_ankle")),
    "trunk": (("pelvis", "thorax"),),
    "head": (("thorax", "head"),),
    "hip_width": (("left_hip", "right_hip"),),
    "shoulder_width": (("left_shoulder", "right_shoulder"),),
    "upper_arm": (("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow")),
    "forearm": (("left_elbow", "left_wrist"), ("right_elbow", "right_wrist")),
}
# The same pairs flattened (joint indices), with the segment each belongs to.
_PAIR_HEADS, _PAIR_TAILS = zip(
    *[(H36M17.index(a), H36M17.index(b)) for pairs in _MEASURED.values() for a, b in pairs],
    strict=True,
)
_PAIR_SEGMENTS = np.array([segment for segment, pairs in _MEASURED.items() for _ in pairs])
# Stature from the bones along the body (pose-independent, unlike a standing height).
BODY_LENGTH_PER_STATURE = sum(PROPORTIONS[s] for s in ("thigh", "shin", "trunk", "head"))


def segment_lengths(joints: np.ndarray) -> dict[str, float | np.ndarray]:
    """Each PROPORTIONS segment's length in a clip (T, 17, 3): medians over frames, sides averaged.

    A batch of clips (B, T, 17, 3) gives (B,) arrays: the training data measures every window.
    """
    joints = np.asarray(joints, dtype=float)
    bones = joints[..., list(_PAIR_HEADS), :] - joints[..., list(_PAIR_TAILS), :]
    medians = np.median(np.linalg.norm(bones, axis=-1), axis=-2)
    lengths = {s: np.mean(medians[..., _PAIR_SEGMENTS == s], axis=-1) for s in _MEASURED}
    return {s: float(v) for s, v in lengths.items()} if joints.ndim == 3 else lengths


def body_length(joints: np.ndarray) -> float | np.ndarray:
    """Thigh + shin + pelvis→thorax + thorax→head of a clip (T, 17, 3), medians over frames
    (a batch of clips: one per clip)."""
    lengths = segment_lengths(joints)
    return sum(lengths[s] for s in ("thigh", "shin", "trunk", "head"))


def stature(joints: np.ndarray) -> float:
    """Standing height (m) of the person in a clip (T, 17, 3), from bones, not from a pose."""
    return body_length(joints) / BODY_LENGTH_PER_STATURE


# COCO-17 (the COCO keypoint challenge order). It has no pelvis or neck joint, so the nose,
# the only unpaired joint, is the root: that keeps the tree mirror-symmetric (a joint's mirror
# has its parent's mirror as parent). Shoulders hang from the nose, hips from the same-side
# shoulder.
COCO17 = Layout(
    name="coco17",
    joints=(
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ),
    parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
    left=(1, 3, 5, 7, 9, 11, 13, 15),
    right=(2, 4, 6, 8, 10, 12, 14, 16),
)

# MediaPipe Pose (BlazePose) 33 landmarks in the official order. MediaPipe's "mouth_left" and
# "mouth_right" are renamed left_mouth/right_mouth so every sided name starts with its side.
# Like COCO-17 it has no pelvis, so the nose is the root (mirror-symmetric tree); the eye
# landmarks chain inner -> eye -> outer -> ear; fingers and feet hang from wrist and ankle.
BLAZEPOSE33 = Layout(
    name="blazepose33",
    joints=(
        "nose",
        "left_eye_inner",
        "left_eye",
        "left_eye_outer",
        "right_eye_inner",
        "right_eye",
        "right_eye_outer",
        "left_ear",
        "right_ear",
        "left_mouth",
        "right_mouth",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_pinky",
        "right_pinky",
        "left_index",
        "right_index",
        "left_thumb",
        "right_thumb",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
        "left_heel",
        "right_heel",
        "left_foot_index",
        "right_foot_index",
    ),
    parents=(
        -1,
        0,
        1,
        2,
        0,
        4,
        5,
        3,
        6,
        0,
        0,
        0,
        0,
        11,
        12,
        13,
        14,
        15,
        16,
        15,
        16,
        15,
        16,
        11,
        12,
        23,
        24,
        25,
        26,
        27,
        28,
        27,
        28,
    ),
    left=(1, 2, 3, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31),
    right=(4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32),
)

# OpenPose BODY_25. Its MidHip is the natural root, matching H36M's pelvis; the neck hangs from
# it, and head and arms from the neck. All three foot points hang from the ankle (the foot is
# one rigid piece), not the toe-to-toe chain OpenPose draws. Parents are not all below their
# child's index here (MidHip is joint 8); the tree is still valid.
BODY25 = Layout(
    name="body25",
    joints=(
        "nose",
        "neck",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "mid_hip",
        "right_hip",
        "right_knee",
        "right_ankle",
        "left_hip",
        "left_knee",
        "left_ankle",
        "right_eye",
        "left_eye",
        "right_ear",
        "left_ear",
        "left_big_toe",
        "left_small_toe",
        "left_heel",
        "right_big_toe",
        "right_small_toe",
        "right_heel",
    ),
    parents=(
        1,
        8,
        1,
        2,
        3,
        1,
        5,
        6,
        -1,
        8,
        9,
        10,
        8,
        12,
        13,
        0,
        0,
        15,
        16,
        14,
        14,
        14,
        11,
        11,
        11,
    ),
    left=(5, 6, 7, 12, 13, 14, 16, 18, 19, 20, 21),
    right=(2, 3, 4, 9, 10, 11, 15, 17, 22, 23, 24),
)

LAYOUTS: dict[str, Layout] = {
    layout.name: layout for layout in (H36M17, COCO17, BLAZEPOSE33, BODY25)
}

# Other spellings people use; keys are normalised by _normalise_name.
_ALIASES: dict[str, str] = {
    "h36m": "h36m17",
    "human36m": "h36m17",
    "coco": "coco17",
    "mediapipe": "blazepose33",
    "mediapipepose": "blazepose33",
    "blazepose": "blazepose33",
    "openpose": "body25",
}


def _normalise_name(name: str) -> str:
    """Lower-case and drop separators so 'BODY_25', 'body-25' and 'Body25' all match."""
    return "".join(ch for ch in name.strip().lower() if ch not in "-_ .")


def get_layout(name: str) -> Layout:
    """Look a layout up by name or alias, case-insensitively (array headers carry names)."""
    if not isinstance(name, str):
        raise TypeError(f"layout name must be a str, got {type(name).__name__}")
    key = _normalise_name(name)
    key = _ALIASES.get(key, key)
    if key in LAYOUTS:
        return LAYOUTS[key]
    known = ", ".join(sorted(LAYOUTS)) + " (aliases: " + ", ".join(sorted(_ALIASES)) + ")"
    raise ValueError(f"unknown joint layout {name!r}; known layouts: {known}")


def layout_for_joint_count(j: int) -> Layout:
    """Guess a layout from a joint count, refusing where the count does not decide it."""
    if j == 17:
        raise ValueError(
            "17 joints is ambiguous: H36M-17 and COCO-17 both have 17 joints; "
            "pass the layout name ('h36m17' or 'coco17')"
        )
    matches = [layout for layout in LAYOUTS.values() if layout.num_joints == j]
    if len(matches) == 1:
        return matches[0]
    counts = ", ".join(f"{layout.name}: {layout.num_joints}" for layout in LAYOUTS.values())
    raise ValueError(f"no known layout has {j} joints; known layouts: {counts}")


def validate_layout(layout: Layout) -> None:
    """Raise ValueError unless the layout is one tree with consistent, name-matching sides.

    Run on every built-in layout at import, so a typo in a table fails loudly at once.
    """
    n = layout.num_joints
    problems: list[str] = []
    if len(set(layout.joints)) != n:
        problems.append("joint names repeat")
    if len(layout.parents) != n:
        problems.append(f"{len(layout.parents)} parents for {n} joints")
    elif any(not -1 <= p < n or p == c for c, p in enumerate(layout.parents)):
        problems.append("a parent index is out of range or a joint is its own parent")
    else:
        roots = [c for c, p in enumerate(layout.parents) if p < 0]
        if len(roots) != 1:
            problems.append(f"expected exactly one root, found {len(roots)}")
        for joint in range(n):
            steps, current = 0, joint
            while current >= 0 and steps <= n:
                current, steps = layout.parents[current], steps + 1
            if current >= 0:
                problems.append(f"joint {layout.joints[joint]!r} is on a cycle")
                break
    left, right = layout.left, layout.right
    if len(left) != len(right):
        problems.append(f"{len(left)} left joints but {len(right)} right joints")
    if set(left) & set(right) or len(set(left)) != len(left) or len(set(right)) != len(right):
        problems.append("left and right must be disjoint and free of repeats")
    if any(not 0 <= i < n for i in left + right):
        problems.append("a left/right index is out of range")
    else:
        for li, ri in zip(left, right, strict=False):  # a length mismatch is reported above
            left_name, right_name = layout.joints[li], layout.joints[ri]
            if not left_name.startswith("left_") or right_name != "right_" + left_name[5:]:
                problems.append(f"pair ({left_name!r}, {right_name!r}) is not a left/right mirror")
        paired = set(left) | set(right)
        unpaired = [
            name
            for i, name in enumerate(layout.joints)
            if name.startswith(("left_", "right_")) and i not in paired
        ]
        if unpaired:
            problems.append(f"sided joints without a pair: {unpaired}")
    if problems:
        raise ValueError(f"layout {layout.name!r} is invalid: " + "; ".join(problems))


for _layout in LAYOUTS.values():
    validate_layout(_layout)


# How each H36M-17 joint is made from a source layout: a tuple of alternatives, each the source
# joints whose mean gives the joint. Per frame the first alternative whose parts are all present
# (finite, confidence > 0) wins; when none is, the first is used (so the result is NaN or has
# confidence 0). Sided limb joints share their names across layouts and copy straight over.
_Recipe = dict[str, tuple[tuple[str, ...], ...]]
_MID_HIPS = ("left_hip", "right_hip")
_MID_SHOULDERS = ("left_shoulder", "right_shoulder")
_MID_EYES = ("left_eye", "right_eye")
_MID_EARS = ("left_ear", "right_ear")
_SIDED_COPIES: _Recipe = {
    name: ((name,),) for name in H36M17.joints if name.startswith(("left_", "right_"))
}

_RECIPES: dict[str, _Recipe] = {
    # COCO-17: head is mid-eyes, or mid-ears in frames where an eye is missing.
    "coco17": {
        **_SIDED_COPIES,
        "pelvis": (_MID_HIPS,),
        "thorax": (_MID_SHOULDERS,),
        "nose": (("nose",),),
        "head": (_MID_EYES, _MID_EARS),
    },
    # BlazePose-33: head is mid of its left_eye/right_eye (not the inner/outer corners), or
    # mid-ears in frames where an eye is missing.
    "blazepose33": {
        **_SIDED_COPIES,
        "pelvis": (_MID_HIPS,),
        "thorax": (_MID_SHOULDERS,),
        "nose": (("nose",),),
        "head": (_MID_EYES, _MID_EARS),
    },
    # BODY_25: pelvis is its own MidHip (OpenPose trained it as the mid-hips point), falling back
    # to mid-hips where MidHip is missing. Thorax is mid-shoulders, not OpenPose's Neck, so the
    # thorax means the same point whichever detector produced the track (Neck sits higher, at
    # the base of the throat). Head is mid-eyes, or mid-ears where an eye is missing.
    "body25": {
        **_SIDED_COPIES,
        "pelvis": (("mid_hip",), _MID_HIPS),
        "thorax": (_MID_SHOULDERS,),
        "nose": (("nose",),),
        "head": (_MID_EYES, _MID_EARS),
    },
}

# Joints made from already converted H36M-17 joints, after the recipe: spine = mid(pelvis, thorax).
_FROM_H36M: _Recipe = {"spine": (("pelvis", "thorax"),)}


def _check_recipes() -> None:
    """Every H36M-17 joint must be made exactly once, from joints the source layout has."""
    for name, recipe in _RECIPES.items():
        made = list(recipe) + list(_FROM_H36M)
        if sorted(made) != sorted(H36M17.joints):
            raise ValueError(f"recipe for {name!r} does not make each H36M-17 joint exactly once")
        source = LAYOUTS[name]
        for alternatives in recipe.values():
            for parts in alternatives:
                for part in parts:
                    source.index(part)


_check_recipes()


def _resolve(layout: str | Layout) -> Layout:
    """Accept a name or a Layout; a Layout must be a known one (recipes are keyed by name)."""
    if isinstance(layout, Layout):
        if LAYOUTS.get(layout.name) != layout:
            raise ValueError(
                f"layout {layout.name!r} is not one of the known layouts: {', '.join(LAYOUTS)}"
            )
        return layout
    return get_layout(layout)


def _as_points(points: np.ndarray, layout: Layout, caller: str) -> np.ndarray:
    """Check (..., J, D) with D in {2, 3}; return a float copy (ints become float64)."""
    array = np.asarray(points)
    j = layout.num_joints
    if array.ndim < 2 or array.shape[-2] != j or array.shape[-1] not in (2, 3):
        raise ValueError(
            f"{caller}: points for layout {layout.name!r} must have shape (..., {j}, 2) or "
            f"(..., {j}, 3); got {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float64)
    return array.copy()


def _check_confidence_shape(
    confidence: np.ndarray, points: np.ndarray, layout: Layout, caller: str
) -> np.ndarray:
    """Confidence must be the points' shape without D."""
    array = np.asarray(confidence)
    if array.shape != points.shape[:-1]:
        raise ValueError(
            f"{caller}: confidence for layout {layout.name!r} must have shape "
            f"{points.shape[:-1]} (the points' shape without D); got {array.shape}"
        )
    return array


def _effective_confidence(
    points: np.ndarray, confidence: np.ndarray | None, layout: Layout, caller: str
) -> np.ndarray:
    """Confidence as given (ones when None), with 0 where a point or its confidence is not finite."""
    if confidence is None:
        conf = np.ones(points.shape[:-1], dtype=points.dtype)
    else:
        given = _check_confidence_shape(confidence, points, layout, caller)
        conf = given.astype(points.dtype, copy=True)
        conf[~np.isfinite(conf)] = 0
    conf[~np.isfinite(points).all(axis=-1)] = 0
    return conf


def _combine(
    points: np.ndarray,
    confidence: np.ndarray,
    alternatives: list[list[int]],
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of each alternative's parts (confidence: their minimum); per frame the first present."""
    chosen_points = chosen_conf = chosen_present = None
    for parts in alternatives:
        part_points = points[..., parts, :].mean(axis=-2)
        part_conf = confidence[..., parts].min(axis=-1)
        present = (part_conf > 0) & np.isfinite(part_points).all(axis=-1)
        if chosen_points is None:
            chosen_points, chosen_conf, chosen_present = part_points, part_conf, present
            continue
        use = ~chosen_present & present
        chosen_points = np.where(use[..., None], part_points, chosen_points)
        chosen_conf = np.where(use, part_conf, chosen_conf)
        chosen_present = chosen_present | use
    assert chosen_points is not None and chosen_conf is not None
    return chosen_points, chosen_conf


def to_h36m17(
    points: np.ndarray,
    layout: str | Layout,
    confidence: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Convert (..., J, D) points of any known layout to H36M-17, the model's internal order.

    Sided joints copy; pelvis, thorax, spine and head are midpoints (see the per-layout notes on
    _RECIPES). A derived joint's confidence is the minimum of its parts'; a NaN part makes it
    NaN with confidence 0. confidence (..., J) defaults to ones, and is 0 wherever a point is
    NaN. H36M-17 input comes back as a copy. Returns (points (..., 17, D), confidence (..., 17)).
    """
    source = _resolve(layout)
    source_points = _as_points(points, source, "to_h36m17")
    source_conf = _effective_confidence(source_points, confidence, source, "to_h36m17")
    if source.name == H36M17.name:
        return source_points, source_conf

    leading, dims = source_points.shape[:-2], source_points.shape[-1]
    out_points = np.full(leading + (H36M17.num_joints, dims), np.nan, dtype=source_points.dtype)
    out_conf = np.zeros(leading + (H36M17.num_joints,), dtype=source_points.dtype)
    for stage_source, stage_points, stage_conf, recipe in (
        (source, source_points, source_conf, _RECIPES[source.name]),
        (H36M17, out_points, out_conf, _FROM_H36M),
    ):
        for target, alternatives in recipe.items():
            indices = [[stage_source.index(part) for part in parts] for parts in alternatives]
            target_index = H36M17.index(target)
            made_points, made_conf = _combine(stage_points, stage_conf, indices)
            out_points[..., target_index, :] = made_points
            out_conf[..., target_index] = made_conf
    return out_points, out_conf


@overload
def flip(
    points: np.ndarray,
    layout: str | Layout,
    confidence: None = None,
    *,
    width: float | None = None,
) -> np.ndarray: ...


@overload
def flip(
    points: np.ndarray,
    layout: str | Layout,
    confidence: np.ndarray,
    *,
    width: float | None = None,
) -> tuple[np.ndarray, np.ndarray]: ...


def flip(
    points: np.ndarray,
    layout: str | Layout,
    confidence: np.ndarray | None = None,
    *,
    width: float | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Mirror a pose horizontally: x -> -x and every left joint swaps with its right partner.

    Needed for flip augmentation and test-time flipping; swapping the joints keeps a mirrored
    left arm labelled as the (new) right arm. For 2D pixel coordinates pass the image width to
    mirror as x -> width - x instead. flip is its own inverse: flipping twice (with the same
    width) gives back the input. Returns the points, or (points, confidence) when confidence is
    given (permuted the same way, values unchanged).
    """
    resolved = _resolve(layout)
    source_points = _as_points(points, resolved, "flip")
    if width is not None and source_points.shape[-1] != 2:
        raise ValueError(
            f"flip: width mirrors 2D pixel coordinates; got {source_points.shape[-1]}D points"
        )
    permutation = resolved.flip_permutation
    mirrored = source_points[..., permutation, :]
    mirrored[..., 0] = -mirrored[..., 0] if width is None else width - mirrored[..., 0]
    if confidence is None:
        return mirrored
    given = _check_confidence_shape(confidence, source_points, resolved, "flip")
    return mirrored, given[..., permutation].copy()
