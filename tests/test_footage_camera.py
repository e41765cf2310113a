"""The footage beside the result, in real Blender (the bpy wheel): "Lift video to 3D" on the
shipped clip through a live backend leaves a camera whose lens and placement match the solve,
so the keyed skeleton seen through it lands on the person in the video, with the video behind.

Skipped unless the video extra (scripts/install_video.sh) is there.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
pytest.importorskip("mediapipe")

import addon_utils  # noqa: E402
from bpy_extras.object_utils import world_to_camera_view  # noqa: E402
from mathutils import Quaternion  # noqa: E402

from blender_addon import footage_camera, jobs, result  # noqa: E402
from blender_addon.core import cleanup, coords, world  # noqa: E402
from mpm_backend import screen  # noqa: E402
from mpm_backend.inference import Engine  # noqa: E402
from mpm_backend.skeleton import to_h36m17  # noqa: E402
from tests.live_backend import live_server  # noqa: E402
from tests.test_blender_addon import run_job  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "examples" / "video"  # video.mp4: 108 frames at 30 fps, 640×480
VIDEO = CLIP / "video.mp4"
TRACK = ROOT / "examples" / "tracks" / "walking.json"
WIDTH, HEIGHT, FRAMES, FPS = 640, 480, 108, 30
# skeleton bone end → the H36M-17 joint it sits on
POINTS = {
    "pelvis": ("mpm_pelvis", "head"),
    "left_hip": ("mpm_thigh.L", "head"),
    "right_hip": ("mpm_thigh.R", "head"),
    "thorax": ("mpm_chest", "tail"),
    "head": ("mpm_head", "tail"),
}


@pytest.fixture(scope="module")
def server():
    with live_server(Engine("default", device="cpu"), allow_dirs=[CLIP]) as server:
        yield server


@pytest.fixture
def addon(server):
    bpy.ops.wm.read_homefile(use_empty=True)
    addon_utils.enable("blender_addon", default_set=True)
    bpy.context.preferences.addons["blender_addon"].preferences.address = server.address
    bpy.context.scene.render.fps = 24  # not the video's: the lift sets it
    yield bpy.context.scene
    addon_utils.disable("blender_addon", default_set=True)


def lift_video(scene) -> jobs.LiftJob:
    scene.mpm_lift.video_path = str(VIDEO)
    assert bpy.ops.mpm.lift_video() == {"FINISHED"}
    job = run_job(120)
    assert job.state == "done", job.message
    return job


def cameras() -> list:
    return [o for o in bpy.data.objects if o.type == "CAMERA"]


def projected(scene, camera, skeleton, frame: int) -> dict[str, np.ndarray]:
    """Pixels (from the top-left) of the keyed skeleton's joints seen through the camera."""
    scene.frame_set(frame)
    out = {}
    for joint, (bone, end) in POINTS.items():
        co = skeleton.matrix_world @ getattr(skeleton.pose.bones[bone], end)
        x, y, _ = world_to_camera_view(scene, camera, co)
        out[joint] = np.array([x * WIDTH, (1.0 - y) * HEIGHT])
    return out


def test_a_video_lift_leaves_a_camera_that_sees_the_skeleton_on_the_person(addon):
    scene = addon
    job = lift_video(scene)
    camera = bpy.data.objects[footage_camera.CAMERA_NAME]
    assert cameras() == [camera] and scene.camera == camera
    assert footage_camera.CAMERA_NAME in job.message

    # The lens: the backend's assumed 65° across the long side, as Blender computes it.
    focal = screen.default_focal(WIDTH, HEIGHT)
    want = math.degrees(2 * math.atan(WIDTH / (2 * focal)))
    assert footage_camera.DEFAULT_FOV_DEG == screen.DEFAULT_FOV_DEG
    assert camera.data.sensor_fit == "HORIZONTAL"
    assert math.degrees(camera.data.angle_x) == pytest.approx(want, abs=0.5)
    assert want == pytest.approx(65.0, abs=1e-6)

    # The footage: the clip behind the camera, the scene at its size, rate and range.
    background = camera.data.background_images[0]
    assert camera.data.show_background_images and background.source == "MOVIE_CLIP"
    clip = background.clip
    assert clip.filepath == str(VIDEO) and tuple(clip.size) == (WIDTH, HEIGHT)
    assert clip.frame_duration == FRAMES and clip.fps == pytest.approx(FPS)
    assert (scene.render.resolution_x, scene.render.resolution_y) == (WIDTH, HEIGHT)
    assert scene.render.fps / scene.render.fps_base == pytest.approx(FPS)
    assert (scene.frame_start, scene.frame_end) == (1, FRAMES)
    assert clip.frame_start == scene.frame_start

    # The camera follows the solve's path on every axis: foot lock's shared drift moves the
    # body sideways too, and a camera keyed only in height left it off the person.
    prepared = result.prepare_joints(job.request.arrays, job.track.fps, job.options)
    _, path = footage_camera.camera_path(prepared.level, FRAMES)
    assert np.ptp(path[:, :2], axis=0).max() > 0.005  # this clip's drift is sideways too
    keyed = []
    for index in range(FRAMES):
        scene.frame_set(scene.frame_start + index)
        keyed.append(np.array(camera.matrix_world.translation))
    np.testing.assert_allclose(keyed, path, atol=1e-4)

    # The real check: the keyed skeleton through the camera lands on the 2D detections
    # (measured: median 0.3-0.6 % of the width per joint, at most 1.4 %).
    skeleton = bpy.data.objects[result.SKELETON_NAME]
    detected, _ = to_h36m17(job.track.keypoints, job.track.layout, job.track.confidence)
    median, worst = image_errors(scene, camera, skeleton, detected)
    assert max(median.values()) < 0.015 and max(worst.values()) < 0.03, (median, worst)
    # and it would tell a wrong camera: pitched 3° more, the joints land 3.7-4.4 % off
    camera.rotation_quaternion = camera.rotation_quaternion @ Quaternion((1, 0, 0), math.radians(3))
    median, _ = image_errors(scene, camera, skeleton, detected)
    assert min(median.values()) > 0.03, median


def image_errors(scene, camera, skeleton, detected) -> tuple[dict, dict]:
    """Per joint: median and largest distance, over every 6th frame, from the keyed skeleton
    seen through the camera to the detected 2D joint, as a fraction of the image width."""
    errors = {joint: [] for joint in POINTS}
    for index in range(0, FRAMES, 6):
        seen = projected(scene, camera, skeleton, scene.frame_start + index)
        for joint, uv in seen.items():
            errors[joint].append(np.linalg.norm(uv - detected[index, result.J(joint)]) / WIDTH)
    return (
        {joint: float(np.median(e)) for joint, e in errors.items()},
        {joint: float(np.max(e)) for joint, e in errors.items()},
    )


def test_the_camera_path_undoes_levelling_shift_and_scale_exactly():
    """The rendered clip's exact camera-frame joints, levelled, grounded and scaled as a lift
    is: seen from `camera_path`'s camera with the render's K they land on the exact pixels."""
    with np.load(CLIP / "truth.npz") as npz:
        cam, pixels, K = npz["joints_camera"], npz["joints_2d"], npz["K"]
    joints, level = world.level_world(coords.camera_to_blender(cam), FPS)
    joints, factor = world.scale_to_height(joints, 1.85)
    level = dataclasses.replace(level, scale=factor)
    assert np.ptp(level.ground) > 0.0 and factor != pytest.approx(1.0, abs=0.05)
    # foot lock then moves the whole body by the planted feet's shared drift
    options = cleanup.CleanupOptions(foot_lock=True, smoothing="none")
    joints, _, shift = cleanup.clean_joints(joints, FPS, options)
    assert np.abs(shift).max() > 0.001
    level = dataclasses.replace(level, body_shift=shift)
    rotation, location = footage_camera.camera_path(level, len(joints))
    local = np.einsum("ji,tkj->tki", rotation, joints - location[:, None])  # Rᵀ (p - c)
    x, y, z = local[..., 0], -local[..., 1], -local[..., 2]  # Blender camera → OpenCV
    u, v = K[0, 0] * x / z + K[0, 2], K[1, 1] * y / z + K[1, 2]
    trunk = [result.J(j) for j in ("pelvis", "spine", "thorax", "nose", "head")]  # not the legs
    np.testing.assert_allclose(np.stack([u, v], -1)[:, trunk], pixels[:, trunk], atol=1e-3)


def test_a_track_lift_without_a_video_adds_no_camera(addon):
    scene = addon
    scene.mpm_lift.track_path = str(TRACK)
    assert bpy.ops.mpm.lift() == {"FINISHED"}
    assert run_job(120).state == "done"
    assert cameras() == [] and len(bpy.data.movieclips) == 0 and scene.camera is None
    assert scene.render.fps == 24  # a track file's keys go at the scene's rate, as before


def test_footage_of_another_size_is_refused_and_the_scene_is_left_as_it_was(addon):
    scene = addon
    scene.mpm_lift.track_path = str(TRACK)  # 1920×1080, not the video's 640×480
    scene.mpm_lift.video_path = str(VIDEO)
    before = (sorted(o.name for o in bpy.data.objects), scene.render.fps, scene.render.resolution_x)
    assert bpy.ops.mpm.lift() == {"FINISHED"}
    job = run_job(120)
    assert job.state == "failed" and "640×480 but the track's image is 1920×1080" in job.message
    after = (sorted(o.name for o in bpy.data.objects), scene.render.fps, scene.render.resolution_x)
    assert after == before and len(bpy.data.movieclips) == 0 and len(bpy.data.actions) == 0


def test_a_second_lift_replaces_the_camera_and_takes_the_panels_focal_length(addon, tmp_path):
    """A video lift, then the video's own track lifted with a known focal length (the render's
    K): one camera and one clip remain, with the lens of that focal length."""
    from mpm_backend.track import detect
    from mpm_backend.tracks import write_track

    scene = addon
    lift_video(scene)
    first = bpy.data.objects[footage_camera.CAMERA_NAME].data.lens
    with np.load(CLIP / "truth.npz") as npz:
        focal = float(npz["K"][0, 0])  # 461.4 px: 69.5° across 640 px
    scene.mpm_lift.track_path = str(write_track(detect(VIDEO, progress=False), tmp_path / "t.npz"))
    scene.mpm_lift.focal_px = focal
    assert bpy.ops.mpm.lift() == {"FINISHED"}
    job = run_job(120)
    assert job.state == "done", job.message
    camera = bpy.data.objects[footage_camera.CAMERA_NAME]
    assert cameras() == [camera] and scene.camera == camera and len(bpy.data.movieclips) == 1
    assert len(bpy.data.cameras) == 1 and camera.data.lens != pytest.approx(first, abs=0.1)
    assert [a.name for a in bpy.data.actions if "camera" in a.name] == ["MPM camera"]
    want = math.degrees(2 * math.atan(WIDTH / (2 * focal)))
    assert math.degrees(camera.data.angle_x) == pytest.approx(want, abs=0.5)
    assert want == pytest.approx(69.48, abs=0.01)
    skeleton = bpy.data.objects[job.objects[0]]
    detected, _ = to_h36m17(job.track.keypoints, job.track.layout, job.track.confidence)
    median, worst = image_errors(scene, camera, skeleton, detected)
    assert max(median.values()) < 0.015 and max(worst.values()) < 0.03, (median, worst)


def test_a_result_that_fails_late_leaves_the_scene_and_its_settings_as_they_were(addon):
    """The camera is the last thing made: when it fails, the skeleton, its action and the clip
    go again, and the frame rate, resolution and scene camera come back."""
    scene = addon
    job = lift_video(scene)
    first = scene.camera
    scene.render.fps, scene.render.resolution_x = 24, 1920
    state = (
        sorted(o.name for o in bpy.data.objects), sorted(a.name for a in bpy.data.actions),
        sorted(c.name for c in bpy.data.movieclips), scene.render.fps, scene.render.resolution_x,
    )  # fmt: skip
    prepared = result.prepare_joints(job.request.arrays, job.track.fps, job.options)
    broken = dataclasses.replace(prepared.level, ground=prepared.level.ground[:-1])
    with pytest.raises(ValueError, match="the level has 107 frames, the clip 108"):
        result.apply(
            scene, job.track, job.request.arrays, job.options, prepared._replace(level=broken)
        )
    after = (
        sorted(o.name for o in bpy.data.objects), sorted(a.name for a in bpy.data.actions),
        sorted(c.name for c in bpy.data.movieclips), scene.render.fps, scene.render.resolution_x,
    )  # fmt: skip
    assert after == state and scene.camera == first
