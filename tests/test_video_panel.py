"""A 10-second 720p video lifted from the panel, as an animator does it: "Lift video to 3D" on a
meta-rig target through a live backend (the video uploaded over the wire: the backend may read
no folder of ours) ends with the camera, the footage behind it and the keyed rig in place.

Skipped unless the video extra (scripts/install_video.sh) is there. Slow: BlazePose on 300
frames.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
pytest.importorskip("mediapipe")
cv2 = pytest.importorskip("cv2")

import addon_utils  # noqa: E402
from bpy_extras.object_utils import world_to_camera_view  # noqa: E402

from blender_addon import footage_camera, result  # noqa: E402
from mpm_backend.inference import Engine  # noqa: E402
from mpm_backend.skeleton import to_h36m17  # noqa: E402
from tests.live_backend import live_server  # noqa: E402
from tests.test_blender_addon import run_job  # noqa: E402

pytestmark = pytest.mark.slow

CLIP = Path(__file__).resolve().parents[1] / "examples" / "video" / "video.mp4"
WIDTH, HEIGHT, FPS, FRAMES = 1280, 720, 30, 300


def video_720p(path: Path) -> Path:
    """The shipped 640×480 walker scaled 1.5× and centred in 1280×720, played forth and back
    (so no frame jumps) for 10 s."""
    capture = cv2.VideoCapture(str(CLIP))
    frames = []
    while (read := capture.read())[0]:
        frames.append(cv2.resize(read[1], (960, 720), interpolation=cv2.INTER_LINEAR))
    order = np.concatenate([np.arange(len(frames)), np.arange(len(frames) - 2, 0, -1)])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    for k in range(FRAMES):
        canvas = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
        canvas[:, 160:1120] = frames[order[k % len(order)]]
        writer.write(canvas)
    writer.release()
    return path


@pytest.fixture
def scene(tmp_path):
    with live_server(Engine("default", device="cpu")) as server:  # no --allow-dir
        bpy.ops.wm.read_homefile(use_empty=True)
        addon_utils.enable("blender_addon", default_set=True)
        bpy.context.preferences.addons["blender_addon"].preferences.address = server.address
        yield bpy.context.scene
        addon_utils.disable("blender_addon", default_set=True)


def test_a_10_second_720p_video_ends_with_camera_footage_and_keyed_rig(scene, tmp_path):
    video = video_720p(tmp_path / "walk720.mp4")
    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    rig = bpy.context.active_object
    settings = scene.mpm_lift
    settings.video_path, settings.target = str(video), rig
    tick = time.monotonic()
    assert bpy.ops.mpm.lift_video() == {"FINISHED"}
    job = run_job(600)
    assert job.state == "done", job.message
    print(f"10-s 720p video lifted from the panel in {time.monotonic() - tick:.1f} s")

    # The camera, with the footage behind it, the scene at the video's size, rate and range.
    camera = bpy.data.objects[footage_camera.CAMERA_NAME]
    assert scene.camera == camera
    clip = camera.data.background_images[0].clip
    assert tuple(clip.size) == (WIDTH, HEIGHT) and clip.frame_duration == FRAMES
    assert (scene.render.resolution_x, scene.render.resolution_y) == (WIDTH, HEIGHT)
    assert scene.render.fps / scene.render.fps_base == pytest.approx(FPS)
    assert (scene.frame_start, scene.frame_end) == (1, FRAMES)

    # The rig keyed over the whole clip, its thigh swinging as the walker's does.
    assert rig.animation_data and rig.animation_data.action
    swing = []
    for frame in range(1, FRAMES + 1, 5):
        scene.frame_set(frame)
        pb = rig.pose.bones["thigh.L"]
        d = np.array(rig.matrix_world @ pb.tail) - np.array(rig.matrix_world @ pb.head)
        swing.append(np.degrees(np.arccos(-d[2] / np.linalg.norm(d))))  # from hanging straight
    assert np.ptp(swing) > 15, swing  # a walk swings the thigh by tens of degrees

    # The keyed skeleton seen through the camera stands on the walker in the footage.
    skeleton = bpy.data.objects[result.SKELETON_NAME]
    detected, _ = to_h36m17(job.track.keypoints, job.track.layout, job.track.confidence)
    errors = []
    for frame in range(0, FRAMES, 15):
        scene.frame_set(1 + frame)
        co = skeleton.matrix_world @ skeleton.pose.bones["mpm_pelvis"].head
        x, y, _ = world_to_camera_view(scene, camera, co)
        errors.append(
            np.hypot(x * WIDTH - detected[frame, 0, 0], (1 - y) * HEIGHT - detected[frame, 0, 1])
        )
    assert np.median(errors) / WIDTH < 0.015, errors
