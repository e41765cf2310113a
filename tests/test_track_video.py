"""Video → 2D track with MediaPipe, on real footage from Debian's opencv-doc (scripts/fetch_footage.sh)
and on the shipped rendered clip with exact truth (examples/video).

Skipped unless the video extra (scripts/install_video.sh) is there; the footage tests also need the
footage (build/footage). CI installs both.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mediapipe")

from mpm_backend.inference import Engine  # noqa: E402
from mpm_backend.skeleton import BLAZEPOSE33, H36M17  # noqa: E402
from mpm_backend.track import VideoError, detect, main  # noqa: E402
from mpm_backend.tracks import read_track  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FOOTAGE = Path(os.environ.get("MPM_FOOTAGE_DIR", REPO / "build" / "footage"))
CLIP = REPO / "examples" / "video"  # rendered: video.mp4 and its exact truth.npz
needs_footage = pytest.mark.skipif(
    not (FOOTAGE / "vtest.avi").is_file(),
    reason=f"no footage in {FOOTAGE}: run scripts/fetch_footage.sh",
)


def test_the_track_command_on_the_shipped_clip_finds_the_walker_and_keeps_left_left(tmp_path):
    out = tmp_path / "walk.json"
    done = subprocess.run(
        [sys.executable, "-m", "mpm_backend.track", str(CLIP / "video.mp4"), "--out", str(out)],
        cwd=tmp_path,  # as a user would, from anywhere
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(CLIP / "truth.npz") as npz:
        truth = {k: npz[k] for k in ("joints_camera", "fps", "width", "height")}
    frames = len(truth["joints_camera"])
    track = read_track(out)
    assert frames == 108 and len(track.keypoints) == frames
    assert track.fps == pytest.approx(30.0) and float(truth["fps"]) == 30.0
    assert track.image_size == (int(truth["width"]), int(truth["height"])) == (640, 480)
    found = np.isfinite(track.keypoints).all(-1).any(-1)
    assert found.mean() >= 0.95, found.mean()
    assert f"a person in {found.sum()}" in done.stdout

    lifted = (
        Engine("default", device="cpu")
        .lift(track.keypoints, track.layout, track.fps, track.image_size, track.confidence)
        .joints3d.astype(np.float64)
    )  # root-relative, camera frame (the truth's OpenCV axes)
    pelvis = H36M17.index("pelvis")
    true = truth["joints_camera"] - truth["joints_camera"][:, pelvis : pelvis + 1]
    for joint in ("wrist", "ankle"):
        for side, other in (("left", "right"), ("right", "left")):
            mine = lifted[:, H36M17.index(f"{side}_{joint}")]
            to_same = np.linalg.norm(mine - true[:, H36M17.index(f"{side}_{joint}")], axis=-1)
            to_other = np.linalg.norm(mine - true[:, H36M17.index(f"{other}_{joint}")], axis=-1)
            # Measured: every frame, for both wrists and ankles (the pairs are ~0.4 m apart).
            assert (to_same < to_other).mean() >= 0.9, (side, joint, (to_same < to_other).mean())


@needs_footage
def test_a_full_body_person_is_found_lifted_and_looks_human(tmp_path):
    assert main([str(FOOTAGE / "basketball1.png"), "--out", str(tmp_path / "bb.json")]) == 0
    track = read_track(tmp_path / "bb.json")
    assert track.layout == BLAZEPOSE33.name and track.image_size == (640, 480)
    assert track.confidence.max() > 0.9 and np.isfinite(track.keypoints).all()
    result = Engine("default", device="cpu").lift(
        track.keypoints, track.layout, 30.0, track.image_size, track.confidence
    )
    pose = result.joints3d[0]  # camera frame: x right, y down, metres
    j = H36M17.index
    height = pose[j("left_ankle"), 1] / 2 + pose[j("right_ankle"), 1] / 2 - pose[j("head"), 1]
    assert 1.2 < height < 2.1, height  # ankles to head, a person's size
    for side in ("left", "right"):
        assert pose[j(f"{side}_ankle"), 1] > pose[j(f"{side}_hip"), 1]  # feet below hips
    # Left and right as the image shows them: the same order along the image's x axis.
    u = {s: track.keypoints[0, BLAZEPOSE33.index(f"{s}_hip"), 0] for s in ("left", "right")}
    x = {s: pose[j(f"{s}_hip"), 0] for s in ("left", "right")}
    assert np.sign(u["left"] - u["right"]) == np.sign(x["left"] - x["right"])


@needs_footage
def test_frames_without_a_person_are_masked_and_timing_comes_from_the_video():
    track = detect(FOOTAGE / "vtest.avi", max_frames=20, progress=False)
    assert track.fps == pytest.approx(10.0) and track.image_size == (768, 576)
    assert len(track.keypoints) == 20
    missing = track.confidence.max(axis=1) == 0
    assert np.isnan(track.keypoints[missing]).all()  # masked, not guessed


def test_unreadable_video_says_so(tmp_path):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(VideoError, match="cannot open"):
        detect(bad, progress=False)
    assert main([str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "t.json")]) == 2


@needs_footage
def test_the_backend_lifts_a_video_it_may_read_and_refuses_others(tmp_path):
    from mpm_backend import protocol as wire
    from mpm_backend.client import BackendError, Client
    from tests.live_backend import live_server

    other = tmp_path / "elsewhere.png"
    other.write_bytes((FOOTAGE / "basketball1.png").read_bytes())
    with live_server(Engine("default", device="cpu"), allow_dirs=[FOOTAGE]) as server:
        with Client(server.address, timeout=60) as client:
            assert str(FOOTAGE.resolve()) in client.info()["allowed_dirs"]
            reply = client.lift_video(str(FOOTAGE / "basketball1.png"))
            assert reply.arrays["keypoints"].shape == (1, 33, 2)
            assert reply.arrays["joints3d"].shape == (1, 17, 3)
            assert reply.result["image_size"] == [640, 480]
            for path in (other, FOOTAGE / ".." / "elsewhere.png", Path("/etc/passwd")):
                with pytest.raises(BackendError) as caught:
                    client.lift_video(str(path))
                assert caught.value.code == wire.FORBIDDEN
                assert str(FOOTAGE.resolve()) in caught.value.message
            assert client.ping()["pong"]


@needs_footage
def test_blender_lift_video_to_3d_through_the_backend():
    bpy = pytest.importorskip("bpy")
    import addon_utils

    from blender_addon import jobs, result
    from tests.live_backend import live_server

    bpy.ops.wm.read_homefile(use_empty=True)
    addon_utils.enable("blender_addon", default_set=True)
    addon_utils.enable("rigify", default_set=True)
    try:
        bpy.ops.object.armature_human_metarig_add()
        rig = bpy.context.active_object
        with live_server(Engine("default", device="cpu"), allow_dirs=[FOOTAGE]) as server:
            prefs = bpy.context.preferences.addons["blender_addon"].preferences
            prefs.address = server.address
            settings = bpy.context.scene.mpm_lift
            settings.video_path = str(FOOTAGE / "basketball1.png")
            settings.target = rig
            assert bpy.ops.mpm.lift_video() == {"FINISHED"}
            job = jobs.ACTIVE
            while job.step() is not None:
                pass
        assert job.state == "done", job.message
        skeleton = bpy.data.objects[result.SKELETON_NAME]
        joints = result.stored_joints(skeleton)  # Blender world, Z up
        j = H36M17.index
        assert joints.shape == (1, 17, 3)
        assert 1.2 < joints[0, j("head"), 2] - joints[0, :, 2].min() < 2.1  # a person's height
        assert joints[0, j("left_ankle"), 2] < joints[0, j("left_hip"), 2]  # feet below hips
        assert rig.animation_data.action is not None
    finally:
        addon_utils.disable("blender_addon", default_set=True)
