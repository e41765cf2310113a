"""Synthetic people and cameras for tests: a standing H36M-17 figure, a walk in place, a front camera."""

from __future__ import annotations

import numpy as np

from mpm_backend.skeleton import H36M17
from training.data.cameras import Camera, look_at_rotation

# A person standing at the origin, facing +z, Y-up, metres; their left is world +x.
# Head top at 1.70 m, ankles 0.10 m above the floor, plausible bone lengths.
STANDING_POSE = {
    "pelvis": (0.0, 0.95, 0.0),
    "right_hip": (-0.11, 0.93, 0.0),
    "right_knee": (-0.11, 0.52, 0.02),
    "right_ankle": (-0.11, 0.10, -0.01),
    "left_hip": (0.11, 0.93, 0.0),
    "left_knee": (0.11, 0.52, 0.02),
    "left_ankle": (0.11, 0.10, -0.01),
    "spine": (0.0, 1.19, 0.0),
    "thorax": (0.0, 1.44, 0.0),
    "nose": (0.0, 1.57, 0.09),
    "head": (0.0, 1.70, 0.01),
    "left_shoulder": (0.19, 1.43, 0.0),
    "left_elbow": (0.23, 1.15, -0.02),
    "left_wrist": (0.25, 0.90, 0.03),
    "right_shoulder": (-0.19, 1.43, 0.0),
    "right_elbow": (-0.23, 1.15, -0.02),
    "right_wrist": (-0.25, 0.90, 0.03),
}


def standing_pose() -> np.ndarray:
    """(17, 3) H36M-17 standing pose, facing +z."""
    return np.array([STANDING_POSE[name] for name in H36M17.joints], dtype=np.float64)


def walking_figure(num_frames: int = 90, fps: float = 30.0, travel: float = 0.0) -> np.ndarray:
    """(T, 17, 3) stick figure walking in place (knees lift, arms swing, body sways a little).

    `travel` moves it that many metres along +z over the clip, for cameras that must avoid it.
    """
    phase = 2.0 * np.pi * 0.9 * np.arange(num_frames) / fps
    clip = np.repeat(standing_pose()[None], num_frames, axis=0)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        lift = np.maximum(0.0, sign * np.sin(phase))
        swing = -sign * np.sin(phase)
        clip[:, H36M17.index(f"{side}_knee"), 1] += 0.12 * lift
        clip[:, H36M17.index(f"{side}_knee"), 2] += 0.25 * lift
        clip[:, H36M17.index(f"{side}_ankle"), 1] += 0.20 * lift
        clip[:, H36M17.index(f"{side}_ankle"), 2] += 0.05 * lift
        clip[:, H36M17.index(f"{side}_elbow"), 2] += 0.07 * swing
        clip[:, H36M17.index(f"{side}_wrist"), 2] += 0.15 * swing
    sway = np.stack(
        [
            0.03 * np.sin(phase / 2.0),
            0.01 * np.abs(np.sin(phase)),
            travel * np.arange(num_frames) / max(num_frames - 1, 1),
        ],
        axis=-1,
    )
    return clip + sway[:, None, :]


def front_camera(distance: float = 4.0, width: int = 1920, height: int = 1080) -> Camera:
    """A level camera at chest height in front of the figure (on +z), looking along -z."""
    eye = np.array([0.0, 1.0, distance])
    rotation = look_at_rotation(eye, np.array([0.0, 1.0, 0.0]))
    focal = np.array([1400.0, 1400.0])
    principal = np.array([width / 2.0, height / 2.0])
    return Camera.from_pose(rotation, eye, focal, principal, width, height)


def film(camera: Camera, clip: np.ndarray) -> np.ndarray:
    return camera.project(camera.world_to_camera(clip))


def inside_image(uv: np.ndarray, camera: Camera) -> np.ndarray:
    u, v = uv[..., 0], uv[..., 1]
    return (u >= 0) & (u < camera.width) & (v >= 0) & (v < camera.height)
