"""Live mode: the streaming lifter against the offline lift, the stream ops over real sockets,
and the add-on's Live toggle in the bpy wheel."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from mpm_backend import protocol as wire
from mpm_backend.client import BackendError, Client
from mpm_backend.screen import normalise_screen
from mpm_backend.skeleton import BLAZEPOSE33, COCO17, H36M17
from mpm_backend.streams import StreamLifter, causal_lift
from tests.synthetic import film, front_camera
from training.data.mocap import load_clip

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "examples" / "mocap" / "cmu_actions_train_walking_1.bvh"


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """As the live command runs (--threads 1): two threads on a busy 2-core machine are slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def track() -> tuple[np.ndarray, tuple[int, int]]:
    """A real walk filmed by a 1920×1080 camera: (T, 17, 2) H36M-17 pixels, T = 30."""
    clip = load_clip(CLIP, skip_frames=1, target_fps=30)
    camera = front_camera(distance=6.0)
    uv = film(camera, clip.joints).astype(np.float32)[:30]
    assert len(uv) == 30
    return uv, (camera.width, camera.height)


def streamed(lifter: StreamLifter, uv: np.ndarray) -> list:
    out = [lifter.push(frame) for frame in uv]
    return [f for f in out if f is not None] + lifter.flush()


@pytest.mark.parametrize("look_ahead", [0, 3])
def test_window_end_equals_the_offline_lift(engine, track, look_ahead):
    uv, size = track
    offline = engine.lift(uv, "h36m17", 30.0, size)
    frames = streamed(StreamLifter(engine, "h36m17", 30.0, size, look_ahead, 30), uv)
    assert [f.index for f in frames] == list(range(30))
    joints = np.array([f.joints3d for f in frames])
    root = np.array([f.root for f in frames])
    # the last pass sees the whole clip, as the offline lift's one window does
    tail = slice(29 - look_ahead, 30)
    np.testing.assert_allclose(joints[tail], offline.joints3d[tail], atol=1e-6)
    np.testing.assert_allclose(root[tail], offline.root[tail], atol=1e-5)
    error_mm = 1000 * np.linalg.norm(joints - offline.joints3d, axis=-1).mean()
    assert 1.0 < error_mm < 60.0  # earlier frames saw less future: close, not equal


def test_causal_lift_is_the_stream_at_the_model_rate(engine, track):
    uv, size = track
    visible = np.ones(uv.shape[:2], np.float32)
    pose = normalise_screen(uv, *size).astype(np.float32)
    batched = causal_lift(engine.lifter, pose, visible, window=9, look_ahead=2, batch=8)
    frames = streamed(StreamLifter(engine, "h36m17", 30.0, size, 2, 9), uv)
    np.testing.assert_allclose(np.array([f.joints3d for f in frames]), batched, atol=1e-5)


def test_other_frame_rates_answer_every_frame(engine, track):
    uv, size = track
    lifter = StreamLifter(engine, "h36m17", 60.0, size, look_ahead=4, window=9)
    frames = streamed(lifter, uv)
    assert [f.index for f in frames] == list(range(30))
    assert np.abs(np.array([f.joints3d[H36M17.index("pelvis")] for f in frames])).max() == 0
    with pytest.raises(ValueError, match="look_ahead must be 0 … 16 frames at 60 fps"):
        StreamLifter(engine, "h36m17", 60.0, size, look_ahead=17, window=9)


def test_stream_over_zmq_answers_each_frame_in_order(server, engine, track):
    uv, size = track
    with Client(server.address, timeout=20) as client:
        opened = client.stream_open("h36m17", 30, size, look_ahead=2, window=27)
        stream = opened["stream"]
        assert opened["look_ahead"] == 2 and opened["window"] == 27
        indices, joints = [], []
        for t, frame in enumerate(uv):
            reply = client.stream_frame(stream, frame[None], layout="h36m17")
            assert reply.result["received"] == t + 1
            expected = [t - 2] if t >= 2 else []
            assert reply.arrays["index"].tolist() == expected
            indices += reply.arrays["index"].tolist()
            joints += list(reply.arrays["joints3d"])
        closed = client.stream_close(stream)
        assert closed.arrays["index"].tolist() == [28, 29]
        joints += list(closed.arrays["joints3d"])
        local = streamed(StreamLifter(engine, "h36m17", 30.0, size, 2, 27), uv)
        np.testing.assert_array_equal(np.array(joints), np.array([f.joints3d for f in local]))
        with pytest.raises(BackendError, match="no open stream") as error:
            client.stream_frame(stream, uv[:1], layout="h36m17")
        assert error.value.code == wire.BAD_PARAMS


def test_stream_frames_are_not_queued_behind_a_long_lift(server, track):
    uv, size = track
    with Client(server.address, timeout=20) as client:
        stream = client.stream_open("h36m17", 30, size, window=27)["stream"]
        long_track = np.tile(uv, (600, 1, 1))  # 18,000 frames: ten minutes at 30 fps
        lift = client.submit_lift(long_track, "h36m17", 30.0, size)
        while lift.progress is None:
            client.poll(0.05)
        for t in range(5):
            start = time.perf_counter()
            reply = client.stream_frame(stream, uv[t : t + 1])
            assert time.perf_counter() - start < 0.5  # one short pass, not the lift's minutes
            assert reply.arrays["index"].tolist() == ([t - 1] if t else [])
        assert not lift.finished
        client.cancel(lift)


def test_idle_stream_times_out(server, track):
    uv, size = track
    with Client(server.address, timeout=20) as client:
        stream = client.stream_open("h36m17", 30, size, idle_timeout=0.3)["stream"]
        assert client.stream_frame(stream, uv[:1]).result["received"] == 1
        time.sleep(0.5)
        with pytest.raises(BackendError, match="timed out") as error:
            client.stream_frame(stream, uv[1:2])
        assert error.value.code == wire.BAD_PARAMS


def test_bad_frames_get_clear_errors(server, track):
    uv, size = track
    with Client(server.address, timeout=20) as client:
        stream = client.stream_open("coco17", 30, size)["stream"]
        with pytest.raises(BackendError, match=r"\(T, 17, 2\), got \[1, 12, 2\]") as error:
            client.stream_frame(stream, np.zeros((1, 12, 2)))
        assert error.value.code == wire.BAD_ARRAY
        with pytest.raises(BackendError, match="1 … 32 frames"):
            client.stream_frame(stream, np.zeros((33, COCO17.num_joints, 2)))
        with pytest.raises(BackendError, match="Inf"):
            client.stream_frame(stream, np.full((1, COCO17.num_joints, 2), np.inf))
        with pytest.raises(BackendError, match="look_ahead must be 0 … 80") as error:
            client.stream_open("coco17", 30, size, look_ahead=90)
        assert error.value.code == wire.BAD_PARAMS
        with pytest.raises(BackendError, match="image_size"):
            client.call("stream_open", {"layout": "coco17", "fps": 30})


def with_waving_hands(uv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The H36M-17 film as BlazePose-33 (shared joints copied, the nose at the head) with both
    hands' index, pinky and thumb points drawn, in the image, at an angle to the forearm that
    waves ±40° once a second. Returns the points (T, 33, 2), confidence (T, 33) and the
    angle (T,) in degrees."""
    points = np.full((len(uv), BLAZEPOSE33.num_joints, 2), np.nan, np.float32)
    for j, name in enumerate(BLAZEPOSE33.joints):
        if name in H36M17.joints:
            points[:, j] = uv[:, H36M17.index(name)]
    points[:, BLAZEPOSE33.index("nose")] = uv[:, H36M17.index("head")]
    angle = 40.0 * np.sin(2 * np.pi * np.arange(len(uv)) / 30.0)
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    for side in ("left", "right"):
        wrist, elbow = (uv[:, H36M17.index(f"{side}_{j}")] for j in ("wrist", "elbow"))
        forearm = wrist - elbow
        along = np.stack(
            [c * forearm[:, 0] - s * forearm[:, 1], s * forearm[:, 0] + c * forearm[:, 1]], 1
        )
        across = np.stack([-along[:, 1], along[:, 0]], 1)
        for name, a, b in (("index", 0.35, -0.12), ("pinky", 0.3, 0.12), ("thumb", 0.15, -0.2)):
            points[:, BLAZEPOSE33.index(f"{side}_{name}")] = wrist + a * along + b * across
    confidence = np.where(np.isfinite(points).all(-1), 0.9, 0.0).astype(np.float32)
    return points, confidence, angle


def hand_turn_deg(rig) -> float:
    """The posed meta-rig's left hand's turn from its forearm as the camera sees it (image-plane
    degrees, the image's y down as in the track): Blender's axes from the camera's are x right,
    y away, z up."""
    hand, forearm = (rig.pose.bones[n] for n in ("hand.L", "forearm.L"))
    a, b = (np.array(rig.matrix_world.to_3x3() @ (p.tail - p.head)) for p in (hand, forearm))
    turn = np.arctan2(-a[2], a[0]) - np.arctan2(-b[2], b[0])
    return float(np.degrees((turn + np.pi) % (2 * np.pi) - np.pi))


def hand_bend_deg(rig, scene, frames: list[int]) -> np.ndarray:
    """(len(frames),) the keyed meta-rig's left hand's angle to its forearm, frame by frame."""
    bend = []
    for frame in frames:
        scene.frame_set(frame)
        hand, forearm = (rig.pose.bones[n] for n in ("hand.L", "forearm.L"))
        a, b = (np.array(p.tail - p.head) for p in (hand, forearm))
        bend.append(np.degrees(np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b))))
    return np.array(bend)


def test_blender_live_poses_and_records_the_frames(engine, track):
    """Published frames over real zmq → the add-on's receiver → the skeleton and a meta-rig
    posed, then keyed; the detector's hand points travel with each frame and turn the rig's
    hands live and in the recording as in any lift. (Blender's timers never fire in the bpy
    wheel: the test calls what the timer calls.)"""
    bpy = pytest.importorskip("bpy")
    import addon_utils

    from blender_addon import jobs
    from blender_addon.anim import fcurve_list
    from blender_addon.live import LiveSession, Receiver, to_blender
    from mpm_backend.live import Detected, Publisher
    from tests.live_backend import free_port

    bpy.ops.wm.read_homefile(use_empty=True)
    addon_utils.enable("blender_addon", default_set=True)
    addon_utils.enable("rigify", default_set=True)
    assert hasattr(bpy.types, "MPM_OT_live")  # the toggle registered with the add-on
    bpy.context.scene.render.fps = 30
    bpy.ops.object.armature_human_metarig_add()
    rig = bpy.context.active_object
    uv, size = track
    points, confidence, waved = with_waving_hands(uv)
    address = f"tcp://127.0.0.1:{free_port()}"
    publisher, receiver = Publisher(address, fps=30.0), Receiver(address)
    try:
        time.sleep(0.5)  # a SUB socket misses what is sent before it has joined
        lifter = StreamLifter(engine, "blazepose33", 30.0, size, 1, 27)
        out = [lifter.push(p, c) for p, c in zip(points, confidence, strict=True)]
        for frame in [f for f in out if f is not None] + lifter.flush():
            k = frame.index
            publisher(frame, Detected(points[k], confidence[k], "blazepose33"))
        frames, deadline = [], time.monotonic() + 10
        while len(frames) < 30 and time.monotonic() < deadline:
            frames += receiver.take()
            time.sleep(0.02)
    finally:
        receiver.close()
        publisher.close()
    assert [f.index for f in frames] == list(range(30))
    assert frames[0].fps == 30.0 and frames[0].points.layout == "blazepose33"
    np.testing.assert_allclose(frames[7].points.keypoints[0], points[7], rtol=1e-6)
    options = jobs.LiftOptions(target=rig.name, rig="AUTO")
    session = LiveSession(bpy.context.scene, options, None, record=True)
    turns = []
    for frame in frames:  # as the timer would, a frame at a time
        session.show([frame])
        bpy.context.view_layer.update()
        turns.append(hand_turn_deg(rig))
    # Live, the rig's hand turns from its forearm as the detector's points do: ±40° in the
    # image, read back through one frame's lifted 3D (within some 12° of it, 0.9 correlation).
    assert np.corrcoef(turns, waved)[0, 1] > 0.8 and np.ptp(turns) > 60.0
    skeleton = session.skeleton
    bpy.context.view_layer.update()
    joints = to_blender(frames[-1].joints3d, frames[-1].root)
    shin = skeleton.pose.bones["mpm_shin.L"]
    posed = np.array(skeleton.matrix_world.to_3x3() @ (shin.tail - shin.head))
    source = joints[H36M17.index("left_ankle")] - joints[H36M17.index("left_knee")]
    cosine = posed @ source / np.linalg.norm(posed) / np.linalg.norm(source)
    assert cosine > 0.99  # the live pose follows the newest frame's shin
    plain = LiveSession(bpy.context.scene, options, None, record=True)
    # without points, as an older publisher sends them, and from a 15 fps source: with no frame
    # rate on the panel the take is keyed at the source's, two 30 fps scene frames apart
    plain.show([f._replace(points=None, fps=15.0) for f in frames])
    plain.finish()
    assert tuple(rig.animation_data.action.frame_range) == pytest.approx((1.0, 59.0))
    unturned = hand_bend_deg(rig, bpy.context.scene, list(range(1, 31)))
    names = session.finish()
    recorded = bpy.data.objects[names[0]]
    keys = {len(c.keyframe_points) for c in fcurve_list(recorded.animation_data.action, recorded)}
    assert max(keys) == 30
    assert recorded["mpm_track_layout"] == "blazepose33"  # kept for later retargets
    bend = hand_bend_deg(rig, bpy.context.scene, list(range(1, 31)))
    # Recorded, the hand turns by the points too (17-47° from the forearm); without them it
    # keeps one angle to its forearm throughout.
    assert np.ptp(unturned) < 0.5 and np.ptp(bend) > 20.0
    addon_utils.disable("blender_addon", default_set=True)


def test_the_live_command_on_the_shipped_clip_stays_close_to_the_truth(engine, tmp_path):
    """`python -m mpm_backend.live` on the rendered clip (as fast as it runs, so no frame is
    dropped): every frame answered in order, within a few cm of the rendered truth."""
    pytest.importorskip("mediapipe")
    from mpm_backend.live import main
    from mpm_backend.track import detect

    video = ROOT / "examples" / "video" / "video.mp4"
    out = tmp_path / "live.npz"
    assert main(["--source", str(video), "--max-frames", "40", "--out", str(out)]) == 0
    live = np.load(out)
    assert live["index"].tolist() == list(range(40))
    assert (live["latency_s"] > 0).all()
    track = detect(video, max_frames=40, progress=False)
    offline = engine.lift(track.keypoints, track.layout, 30.0, track.image_size, track.confidence)
    truth = np.load(video.with_name("truth.npz"))["joints_camera"][:40]

    def error_mm(joints: np.ndarray) -> float:  # root-relative MPJPE against the rendered truth
        return (
            1000 * np.linalg.norm((joints - joints[:, :1]) - (truth - truth[:, :1]), axis=-1).mean()
        )

    # One frame of future against the whole clip: further from the truth, but not far.
    assert error_mm(offline.joints3d) < error_mm(live["joints3d"]) < 60.0
