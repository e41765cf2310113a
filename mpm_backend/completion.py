"""Fitting a model's 3D fill of hidden joints to what is seen. Torch-free.

A model completes a hidden limb's motion well but does not place it exactly: its fill misses the
frames that show the joint, so a limb pops where it disappears and comes back, and its bones
stretch. Two corrections, both from the visible joints alone:

- `blend_offsets`: the model predicts visible joints too, so at every frame that shows a joint its
  error there is known; interpolated across the gap and added, the fill meets the seen frames
  exactly and keeps its own motion in between (as motion in-betweening does).
- `keep_bone_lengths`: bones do not stretch. Each hidden joint goes at its bone's length (the median
  over frames that show both ends) from its parent, towards where the fill put it, parents first.

`blend_offsets` serves the completed 2D of a lift too. What each correction gains is measured in
docs/model.md ("3D completion fitted to the seen joints").
"""

from __future__ import annotations

import numpy as np

from mpm_backend.skeleton import H36M17
from mpm_backend.timebase import interpolate_masked


def blend_offsets(fill: np.ndarray, values: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Visible joints (T, J, C) as given; hidden ones from `fill` plus its error at the nearest
    frames that show the joint, interpolated linearly in time (held at a track's ends)."""
    visible = np.asarray(visible, dtype=bool)
    values = np.where(visible[..., None], values, 0.0)
    error = interpolate_masked(values - fill, visible)  # reads the visible entries only
    return np.where(visible[..., None], values, fill + error)


def bone_lengths(values: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """(J,) length of each joint's bone to its H36M-17 parent: the median over frames that show
    both ends; NaN for the root and for bones never seen whole."""
    visible = np.asarray(visible, dtype=bool)
    lengths = np.full(len(H36M17.parents), np.nan)
    for joint, parent in enumerate(H36M17.parents):
        both = visible[:, joint] & visible[:, parent] if parent >= 0 else False
        if np.any(both):
            bones = values[both, joint] - values[both, parent]
            lengths[joint] = np.median(np.linalg.norm(bones, axis=-1))
    return lengths


def keep_bone_lengths(pose: np.ndarray, visible: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """`pose` (T, 17, 3) with every hidden joint moved along the line from its (already placed)
    parent through it to its bone's length; visible joints and bones of unknown length stay."""
    visible = np.asarray(visible, dtype=bool)
    out = np.array(pose, dtype=np.float64)
    for joint, parent in enumerate(H36M17.parents):  # parents come before their children
        hidden = ~visible[:, joint]
        if parent < 0 or np.isnan(lengths[joint]) or not hidden.any():
            continue
        bone = out[hidden, joint] - out[hidden, parent]
        norm = np.linalg.norm(bone, axis=-1, keepdims=True)
        out[hidden, joint] = out[hidden, parent] + lengths[joint] * bone / np.maximum(norm, 1e-9)
    return out


def fit_to_seen(fill: np.ndarray, values: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """A model's 3D fill (T, 17, 3) fitted to the seen joints: offsets blended, then the bone
    lengths the seen frames show kept. Visible joints come back as given."""
    blended = blend_offsets(fill, values, visible)
    return keep_bone_lengths(blended, visible, bone_lengths(blended, visible))
