"""Feet on the floor, read by a small learned classifier from the levelled lift. numpy only.

A lifted planted foot drifts, sinks and lags like a slow step does, so no threshold on one
foot's height and speed tells them apart; the classifier looks at both feet, the pelvis and
the knees over half a second around each frame. It was trained (`python -m devtools.contact_training`)
on lifts of the training split's mocap filmed by random cameras, against the mocap's own
contacts; its weights are `contact_model.json` beside this module.

Joint arrays are (T, 17, 3) H36M-17 in Blender's frame (Z up, metres) on a level floor, as
`cleanup` takes them, already low-passed (`cleanup.CONTACT_SMOOTH_HZ`).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from .coords import ANKLES, JOINT_INDEX, PELVIS, ankle_floor_height
from .rest_pose import leg_length
from .rotations import unit

WEIGHTS = Path(__file__).with_name("contact_model.json")
# Where around each frame the classifier looks (seconds): a landing shows in the lift over
# about a quarter of a second either side.
OFFSETS_S = (-0.267, -0.133, -0.067, 0.0, 0.067, 0.133, 0.267)
# A contact is a run of probability over OFF that rises over ON somewhere
# (`cleanup.contacts_from_probability`). Under 0.5: a planted foot missed slides, which an
# animator sees at once, where a swing held a frame long bends the leg by a few degrees.
ON, OFF = 0.25, 0.15
FEATURES = (
    "ankle height",
    "other ankle height",
    "ankle speed",
    "other ankle speed",
    "ankle vertical speed",
    "pelvis speed",
    "pelvis height",
    "ankle ahead of the pelvis",
    "ankle out to its side",
    "knee flexion",
    "other knee flexion",
    "feet apart",
    "ankle speed against the pelvis",
)
SIDES = (("left_hip", "left_knee", "left_ankle"), ("right_hip", "right_knee", "right_ankle"))


def knee_flexion(joints: np.ndarray) -> np.ndarray:
    """(T, 2) left and right knee flexion, radians: 0 straight, the shin's turn off the thigh."""
    out = []
    for side in SIDES:
        hip, knee, ankle = (joints[:, JOINT_INDEX[n]] for n in side)
        thigh, shin = unit(knee - hip), unit(ankle - knee)
        out.append(np.arccos(np.clip(np.sum(thigh * shin, axis=-1), -1.0, 1.0)))
    return np.stack(out, axis=1)


def frame_features(joints: np.ndarray, fps: float) -> np.ndarray:
    """(T, 2, len(FEATURES)) per frame and foot (left, right), in leg lengths and seconds;
    each foot's own side first, its lateral offset mirrored so both feet read alike."""
    joints = np.nan_to_num(np.asarray(joints, dtype=float))
    leg = max(float(np.nanmedian(leg_length(joints))), 0.1)  # metres: the features' unit
    floor = ankle_floor_height(joints)
    velocity = np.gradient(joints, axis=0) * fps / leg if len(joints) > 1 else 0.0 * joints
    ankles, pelvis = list(ANKLES), joints[:, PELVIS]
    height = (joints[:, ankles, 2] - floor) / leg
    speed = np.linalg.norm(velocity[:, ankles, :2], axis=-1)
    pelvis_speed = np.linalg.norm(velocity[:, PELVIS, :2], axis=-1)
    relative = np.linalg.norm(velocity[:, ankles, :2] - velocity[:, None, PELVIS, :2], axis=-1)
    right = joints[:, JOINT_INDEX["right_hip"], :2] - joints[:, JOINT_INDEX["left_hip"], :2]
    right /= np.maximum(np.linalg.norm(right, axis=-1, keepdims=True), 1e-9)
    forward = np.stack([-right[:, 1], right[:, 0]], axis=-1)  # Z × right: the body's front
    offset = (joints[:, ankles, :2] - pelvis[:, None, :2]) / leg
    flexion = knee_flexion(joints)
    apart = np.linalg.norm(offset[:, 0] - offset[:, 1], axis=-1)
    out = np.zeros((len(joints), 2, len(FEATURES)))
    for k, outward in ((0, -1.0), (1, 1.0)):
        out[:, k] = np.stack(
            [
                height[:, k],
                height[:, 1 - k],
                speed[:, k],
                speed[:, 1 - k],
                velocity[:, ANKLES[k], 2],
                pelvis_speed,
                (pelvis[:, 2] - floor) / leg,
                np.sum(offset[:, k] * forward, axis=-1),
                outward * np.sum(offset[:, k] * right, axis=-1),
                flexion[:, k],
                flexion[:, 1 - k],
                apart,
                relative[:, k],
            ],
            axis=-1,
        )
    return out


def window_features(joints: np.ndarray, fps: float) -> np.ndarray:
    """(T, 2, len(OFFSETS_S) × len(FEATURES)): each frame's features at OFFSETS_S around it
    (the clip's end frames repeated past its ends)."""
    frames = frame_features(joints, fps)
    index = np.arange(len(frames))
    shifted = [frames[np.clip(index + int(round(o * fps)), 0, len(frames) - 1)] for o in OFFSETS_S]
    return np.concatenate(shifted, axis=-1) if len(frames) else frames


@functools.cache
def load_weights(path: Path = WEIGHTS) -> dict[str, list]:
    """The classifier's input scaling and layers (`devtools.contact_training` writes them)."""
    return json.loads(Path(path).read_text())


def classify(features: np.ndarray, weights: dict | None = None) -> np.ndarray:
    """(...) probability of contact for window features (..., F) (`window_features`)."""
    weights = weights or load_weights()
    if features.shape[-1] != weights["features"]:
        raise ValueError(
            f"the contact classifier's weights take {weights['features']} features, this code "
            f"makes {features.shape[-1]}: retrain them (python -m devtools.contact_training)"
        )
    x = (features - np.asarray(weights["mean"])) / np.asarray(weights["std"])
    layers = weights["layers"]
    for i, layer in enumerate(layers):
        x = x @ np.asarray(layer["weight"]).T + np.asarray(layer["bias"])
        if i < len(layers) - 1:
            x = np.tanh(x)
    return 1.0 / (1.0 + np.exp(-x[..., 0]))


def probability(joints: np.ndarray, fps: float, weights: dict | None = None) -> np.ndarray:
    """(T, 2) probability that the left / right foot is on the floor."""
    return classify(window_features(joints, fps), weights)
