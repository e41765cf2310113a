"""The one place for axis conventions: the backend's camera frame to Blender's Z-up world.

The backend's 3D joints are H36M-17 in metres in the camera frame (x right, y down, z forward),
root-relative (pelvis at the origin), plus an optional camera-frame root trajectory (T, 3).
Blender is Z-up in metres and a character faces -Y. `camera_to_blender` maps
X = x, Y = z, Z = -y: a person facing the camera faces -Y in Blender, and their left side (on the
image's right, +x) lands on +X, where Blender rigs keep their ``.L`` bones.

This module also holds the only import of the joint order (`mpm_backend.skeleton`), so the
vendored copy inside the Blender extension rewrites one line.
"""

from __future__ import annotations

import numpy as np

from ..deps import skeleton  # the joint order's owner (vendored in the built extension)

H36M17 = skeleton.H36M17

JOINT_NAMES: tuple[str, ...] = H36M17.joints
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}
NUM_JOINTS = len(JOINT_NAMES)
LEFT: tuple[int, ...] = H36M17.left
RIGHT: tuple[int, ...] = H36M17.right

stature = skeleton.stature  # a clip's standing height from its bones (m)

PELVIS = JOINT_INDEX["pelvis"]
ANKLES = (JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"])

# Rows: Blender X, Y, Z in camera coordinates. A proper rotation (det +1).
CAMERA_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

# Height of the ankle joint above the sole, metres, when the foot is flat: what the training data
# (CMU mocap through training.data.mocap) has, so the lifter's feet rest at about this height.
DEFAULT_ANKLE_HEIGHT = 0.05


def camera_to_blender(points: np.ndarray) -> np.ndarray:
    """(..., 3) camera-frame points (x right, y down, z forward) -> Blender (Z up, facing -Y)."""
    points = np.asarray(points, dtype=float)
    return points @ CAMERA_TO_BLENDER.T


def blender_to_camera(points: np.ndarray) -> np.ndarray:
    """Inverse of `camera_to_blender`."""
    points = np.asarray(points, dtype=float)
    return points @ CAMERA_TO_BLENDER


def ankle_floor_height(joints: np.ndarray, percentile: float = 2.0) -> float:
    """Height (Z) of the ankles when the feet are on the floor, from a clip (T, 17, 3), Z up.

    The lower ankle of each frame, at a low percentile over the clip (0 gives the lowest ankle
    of the whole clip; a couple of percent ignores a few outlier frames).
    """
    joints = np.asarray(joints, dtype=float)
    lower = np.min(joints[:, list(ANKLES), 2], axis=1)
    lower = lower[np.isfinite(lower)]
    if lower.size == 0:
        return 0.0
    return float(np.percentile(lower, percentile))


def estimate_up(joints: np.ndarray) -> np.ndarray:
    """Unit vector along which the body stands, from a Blender-frame clip (T, 17, 3).

    The median over frames of the pelvis-to-thorax direction, where the trunk is the most upright
    (frames whose trunk axis is within the 50 % closest to the median). Meant for undoing a camera
    pitch: a person filmed by a camera tilted down stands tilted in the camera frame.
    """
    joints = np.asarray(joints, dtype=float)
    trunk = joints[:, JOINT_INDEX["thorax"]] - joints[:, PELVIS]
    norm = np.linalg.norm(trunk, axis=-1, keepdims=True)
    ok = np.isfinite(norm[:, 0]) & (norm[:, 0] > 1e-6)
    if not np.any(ok):
        return np.array([0.0, 0.0, 1.0])
    axis = trunk[ok] / norm[ok]
    mean = np.median(axis, axis=0)
    mean /= np.linalg.norm(mean)
    closeness = axis @ mean
    keep = closeness >= np.median(closeness)
    up = np.median(axis[keep], axis=0)
    return up / np.linalg.norm(up)


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation (3, 3) taking unit vector a to unit vector b."""
    a = np.asarray(a, dtype=float) / np.linalg.norm(a)
    b = np.asarray(b, dtype=float) / np.linalg.norm(b)
    v = np.cross(a, b)
    c = float(a @ b)
    if c < -1.0 + 1e-9:  # opposite: half a turn about any axis perpendicular to a
        axis = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(axis) < 1e-6:
            axis = np.cross(a, [0.0, 1.0, 0.0])
        axis /= np.linalg.norm(axis)
        return 2.0 * np.outer(axis, axis) - np.eye(3)
    vx = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)


def camera_clip_to_blender(joints: np.ndarray, root: np.ndarray | None = None) -> np.ndarray:
    """The backend's output (camera frame) -> joints (T, 17, 3) in Blender's axes, metres.

    joints: (T, 17, 3) camera-frame joints, root-relative (or absolute when ``root`` is None).
    root: optional (T, 3) camera-frame pelvis trajectory, added. Still the camera's frame, only
    turned to Blender's axes: `world.level_world` makes the floor level and places the start.
    """
    joints = np.asarray(joints, dtype=float)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"joints must be (T, {NUM_JOINTS}, 3), got {joints.shape}")
    if root is not None:
        root = np.asarray(root, dtype=float)
        if root.shape != (len(joints), 3):
            raise ValueError(f"root must be ({len(joints)}, 3), got {root.shape}")
        joints = joints + root[:, None, :]
    return camera_to_blender(joints)


def to_armature_space(points: np.ndarray, matrix_world: np.ndarray | None) -> np.ndarray:
    """Blender-world-oriented points (..., 3) into an armature's space, ignoring its location.

    The motion plays relative to the armature object: its rotation and scale apply (a Mixamo FBX
    import has rotation X 90 degrees and scale 0.01, so its armature space is Y up in
    centimetres), its location does not (the armature's placement is where the motion starts).
    """
    points = np.asarray(points, dtype=float)
    if matrix_world is None:
        return points.copy()
    linear = np.asarray(matrix_world, dtype=float)[:3, :3]
    return points @ np.linalg.inv(linear).T


def armature_up(matrix_world: np.ndarray | None) -> np.ndarray:
    """World +Z expressed in an armature's space (unit vector)."""
    if matrix_world is None:
        return np.array([0.0, 0.0, 1.0])
    linear = np.asarray(matrix_world, dtype=float)[:3, :3]
    up = np.linalg.inv(linear) @ np.array([0.0, 0.0, 1.0])
    return up / np.linalg.norm(up)
