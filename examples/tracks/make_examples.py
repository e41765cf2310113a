"""Regenerate the example 2D tracks in this folder from a real CMU walk.

Run from the repository root:  .venv/bin/python examples/tracks/make_examples.py

The walk (examples/mocap/cmu_actions_train_walking_1.bvh, H36M-17 joints in metres, Y up) is
resampled to 30 fps and filmed by a level 1920x1080 pinhole camera (65° across the width) from
the walker's left front, 4.6 m from the middle of the walk; the walker crosses the image from
right to left. Joints the H36M-17 skeleton lacks (eyes, ears, toes, heels, fingers, mouth) are
put at fixed offsets from the head, nose, wrists and ankles along the body's own axes.
Confidences are made up the way detectors behave: high on the side facing the camera, lower on
the far side, lowest for the far ear and the far hand's fingers. Everything is deterministic (no
random numbers), so running this again rewrites the same files.

`make_tracks()` returns what each file holds, for tests/test_tracks.py to compare against.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mpm_backend.skeleton import BLAZEPOSE33, BODY25, COCO17, H36M17  # noqa: E402
from mpm_backend.tracks import Track, write_track  # noqa: E402
from training.data.cameras import Camera, focal_from_fov, look_at_rotation  # noqa: E402
from training.data.mocap import load_clip  # noqa: E402

HERE = Path(__file__).resolve().parent
CLIP = ROOT / "examples" / "mocap" / "cmu_actions_train_walking_1.bvh"
WIDTH, HEIGHT, FPS = 1920, 1080, 30.0
FOV_DEG = 65.0
CAMERA_POSITION = np.array([4.6, 1.4, 2.2])  # metres, world (Y up)
CAMERA_TARGET = np.array([0.6, 0.85, 0.0])
OPENPOSE_FRAMES = 30
# The COCO example has a second, farther person standing still in these frames (listed first in
# each frame's instances, so picking by list position alone would jump to them).
BYSTANDER_FRAMES = range(20, 70)
BYSTANDER_OFFSET = np.array([-2.6, 0.0, -1.4])  # from the walker's first pose, metres
UP = np.array([0.0, 1.0, 0.0])


def camera() -> Camera:
    focal = focal_from_fov(FOV_DEG, WIDTH)
    rotation = look_at_rotation(CAMERA_POSITION, CAMERA_TARGET)
    return Camera.from_pose(
        rotation, CAMERA_POSITION, [focal, focal], [WIDTH / 2, HEIGHT / 2], WIDTH, HEIGHT
    )


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def body_points(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Every named point any example layout needs, (T, 3) world metres each."""
    h = {name: joints[:, i] for i, name in enumerate(H36M17.joints)}
    lateral = (h["left_shoulder"] - h["right_shoulder"]) + (h["left_hip"] - h["right_hip"])
    lateral = _unit(lateral - (lateral @ UP)[:, None] * UP)  # towards the body's left
    forward = np.cross(lateral, UP)  # the way the body faces
    up = UP[None, :]
    points = dict(h)
    head, nose = h["head"], h["nose"]  # head is mid-eyes (docs/data.md)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        out = sign * lateral
        points[f"{side}_eye"] = head + 0.032 * out
        points[f"{side}_eye_inner"] = head + 0.018 * out
        points[f"{side}_eye_outer"] = head + 0.048 * out
        points[f"{side}_ear"] = head + 0.075 * out - 0.07 * forward - 0.01 * up
        points[f"{side}_mouth"] = nose - 0.035 * up - 0.01 * forward + 0.025 * out
        wrist, elbow = h[f"{side}_wrist"], h[f"{side}_elbow"]
        hand = _unit(wrist - elbow)
        points[f"{side}_pinky"] = wrist + 0.08 * hand - 0.025 * forward
        points[f"{side}_index"] = wrist + 0.09 * hand + 0.025 * forward
        points[f"{side}_thumb"] = wrist + 0.05 * hand + 0.045 * forward
        ankle = h[f"{side}_ankle"]
        points[f"{side}_heel"] = ankle - 0.06 * forward - 0.05 * up
        points[f"{side}_foot_index"] = ankle + 0.15 * forward - 0.06 * up
        points[f"{side}_big_toe"] = ankle + 0.15 * forward - 0.06 * up - 0.02 * out
        points[f"{side}_small_toe"] = ankle + 0.12 * forward - 0.06 * up + 0.04 * out
    points["neck"] = h["thorax"] + 0.05 * up  # OpenPose's neck sits above mid-shoulders
    points["mid_hip"] = h["pelvis"]
    return points


def _confidence(names: tuple[str, ...], far: np.ndarray, frames: int, low: float) -> np.ndarray:
    """(T, J) made-up detector scores: ~0.93 near side, ~0.65 far side, `low` for far ears and
    far fingers; a slow deterministic wobble so they are not constant."""
    t = np.arange(frames)[:, None]
    j = np.arange(len(names))[None, :]
    wobble = 0.04 * np.sin(0.37 * t + 1.3 * j)
    conf = np.full((frames, len(names)), 0.93) + wobble
    for index, name in enumerate(names):
        for side in ("left", "right"):
            if not name.startswith(side + "_"):
                continue
            on_far = far == side
            weak = name.endswith(("ear", "pinky", "index", "thumb", "heel", "small_toe"))
            conf[on_far, index] = (low if weak else 0.65) + wobble[on_far, index]
    return np.round(np.clip(conf, 0.05, 0.99), 3)


def project(cam: Camera, points: dict[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    world = np.stack([points[name] for name in names], axis=1)
    return cam.project(cam.world_to_camera(world))


def make_tracks() -> dict[str, dict]:
    """What each example file holds: keypoints in pixels as written, confidence, layout, ..."""
    clip = load_clip(CLIP, skip_frames=1, target_fps=FPS)
    cam = camera()
    points = body_points(clip.joints)
    frames = clip.joints.shape[0]
    depth_left = cam.world_to_camera(points["left_shoulder"])[:, 2]
    depth_right = cam.world_to_camera(points["right_shoulder"])[:, 2]
    far = np.where(depth_left > depth_right, "left", "right")

    tracks: dict[str, dict] = {}
    for name, layout, low in (
        ("coco", COCO17, 0.3),
        ("openpose", BODY25, 0.3),
        ("mediapipe", BLAZEPOSE33, 0.15),
        ("own", H36M17, 0.5),
    ):
        uv = np.round(project(cam, points, layout.joints), 2)
        inside = (uv >= 0).all() and (uv[..., 0] <= WIDTH).all() and (uv[..., 1] <= HEIGHT).all()
        assert inside, f"{name}: the camera does not see every joint"
        tracks[name] = {
            "layout": layout.name,
            "keypoints": uv,
            "confidence": _confidence(layout.joints, far, frames, low),
        }

    # OpenPose: 30 frames; the far ear is not detected (OpenPose writes 0, 0, 0 for that).
    op = tracks["openpose"]
    op["keypoints"], op["confidence"] = (
        op["keypoints"][:OPENPOSE_FRAMES].copy(),
        op["confidence"][:OPENPOSE_FRAMES].copy(),
    )
    for side in ("left", "right"):
        ear = BODY25.index(f"{side}_ear")
        rows = far[:OPENPOSE_FRAMES] == side
        op["keypoints"][rows, ear] = np.nan
        op["confidence"][rows, ear] = 0.0

    # MediaPipe: normalised x, y (6 decimals) and z (depth from the hips, in width units).
    mp = tracks["mediapipe"]
    size = np.array([WIDTH, HEIGHT], dtype=np.float64)
    mp["normalised"] = np.round(mp["keypoints"] / size, 6)
    mp["keypoints"] = mp["normalised"] * size
    cam_points = cam.world_to_camera(np.stack([points[n] for n in BLAZEPOSE33.joints], axis=1))
    hips = cam.world_to_camera((points["left_hip"] + points["right_hip"]) / 2)[:, None, :]
    mp["z"] = np.round((cam_points[..., 2] - hips[..., 2]) * cam.focal[0] / hips[..., 2] / WIDTH, 6)

    # The bystander for the COCO example: the walker's first pose, farther away, standing still.
    stand = {
        name: np.repeat(p[:1], frames, axis=0) + BYSTANDER_OFFSET for name, p in points.items()
    }
    tracks["coco"]["bystander"] = np.round(project(cam, stand, COCO17.joints), 2)
    for track in tracks.values():
        track["frames"] = track["keypoints"].shape[0]
    return tracks


def _pairs(uv: np.ndarray) -> list:
    return [[float(x), float(y)] for x, y in uv]


def _bbox(uv: np.ndarray) -> list:
    low, high = np.nanmin(uv, axis=0), np.nanmax(uv, axis=0)
    return [[round(float(v), 2) for v in (*low, *high)]]


def write_coco(track: dict, path: Path) -> None:
    """MMPose inferencer style (--pred-out-dir on a video): [{frame_id, instances: [...]}]."""
    records = []
    for t in range(track["frames"]):
        walker = {
            "keypoints": _pairs(track["keypoints"][t]),
            "keypoint_scores": [float(s) for s in track["confidence"][t]],
            "bbox": _bbox(track["keypoints"][t]),
            "bbox_score": 0.97,
        }
        instances = [walker]
        if t in BYSTANDER_FRAMES:
            bystander = {
                "keypoints": _pairs(track["bystander"][t]),
                "keypoint_scores": [0.8] * COCO17.num_joints,
                "bbox": _bbox(track["bystander"][t]),
                "bbox_score": 0.91,
            }
            instances = [bystander, walker]
        records.append({"frame_id": t, "instances": instances})
    path.write_text(json.dumps(records, separators=(",", ":")) + "\n")


def write_openpose(track: dict, folder: Path) -> None:
    """One BODY_25 file per frame, as `openpose --write_json` names them."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    for t in range(track["frames"]):
        flat = []
        for (x, y), c in zip(track["keypoints"][t], track["confidence"][t], strict=True):
            flat += [0.0, 0.0, 0.0] if c == 0 else [float(x), float(y), float(c)]
        frame = {
            "version": 1.3,
            "people": [
                {
                    "person_id": [-1],
                    "pose_keypoints_2d": flat,
                    "face_keypoints_2d": [],
                    "hand_left_keypoints_2d": [],
                    "hand_right_keypoints_2d": [],
                    "pose_keypoints_3d": [],
                    "face_keypoints_3d": [],
                    "hand_left_keypoints_3d": [],
                    "hand_right_keypoints_3d": [],
                }
            ],
        }
        (folder / f"walking_{t:012d}_keypoints.json").write_text(json.dumps(frame) + "\n")


def write_mediapipe(track: dict, path: Path) -> None:
    """One row per landmark: frame, landmark, x, y, z, visibility (x, y normalised to [0, 1])."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["frame", "landmark", "x", "y", "z", "visibility"])
        for t in range(track["frames"]):
            for j in range(BLAZEPOSE33.num_joints):
                x, y = track["normalised"][t, j]
                writer.writerow(
                    [t, j, f"{x:.6f}", f"{y:.6f}", f"{track['z'][t, j]:.6f}"]
                    + [f"{track['confidence'][t, j]:.3f}"]
                )


def own_track(track: dict) -> Track:
    return Track(
        keypoints=track["keypoints"],
        confidence=track["confidence"],
        layout=track["layout"],
        fps=FPS,
        image_size=(WIDTH, HEIGHT),
    )


def main() -> None:
    tracks = make_tracks()
    write_coco(tracks["coco"], HERE / "walking_coco.json")
    write_openpose(tracks["openpose"], HERE / "walking_openpose")
    write_mediapipe(tracks["mediapipe"], HERE / "walking_mediapipe.csv")
    write_track(own_track(tracks["own"]), HERE / "walking.npz")
    write_track(own_track(tracks["own"]), HERE / "walking.json")
    for path in sorted(HERE.iterdir()):
        size = (
            sum(p.stat().st_size for p in path.rglob("*")) if path.is_dir() else path.stat().st_size
        )
        print(f"{path.relative_to(ROOT)}: {size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
