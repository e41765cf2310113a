"""The inference engine on the shipped default model and real motion capture.

Real 2D tracks are made the way a user's camera makes them: a CMU clip (examples/mocap) filmed by
a seeded virtual camera of the data pipeline, projected to pixels. Every number asserted here is
one a user cares about (millimetres of 3D error, pixels, depth of the root, frame counts).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from mpm_backend.inference import (
    Cancelled,
    Engine,
    InputError,
    LiftResult,
    UnsupportedError,
    model_times,
)
from mpm_backend.screen import DEFAULT_FOV_DEG, default_focal
from mpm_backend.skeleton import H36M17, LAYOUTS
from mpm_backend.timebase import interpolate_masked, resample
from mpm_backend.windows import count_batches, window_starts, windowed_apply
from training.data.cameras import Camera, CameraConfig, root_relative, sample_camera
from training.data.mocap import load_clip

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mocap"
WALK = EXAMPLES / "cmu_actions_train_walking_1.bvh"  # 120 fps, 343 frames after the T-pose
WRIST, ELBOW, KNEE = H36M17.index("left_wrist"), H36M17.index("left_elbow"), 2


@pytest.fixture(scope="module")
def walk():
    """The walking clip at its native 120 fps (world joints) and a camera filming it."""
    clip = load_clip(WALK, skip_frames=1)
    camera = sample_camera(np.random.default_rng(0), clip.joints)
    return clip, camera


def film(world: np.ndarray, camera: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pixels (T, 17, 2), camera-frame joints, root-relative truth) of world joints."""
    cam = camera.world_to_camera(world)
    return camera.project(cam), cam, root_relative(cam)


def track(walk, fps: float):
    clip, camera = walk
    world = clip.joints if fps == clip.fps else resample(clip.joints, clip.fps, fps)
    return film(world, camera)


def mpjpe_mm(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.linalg.norm(pred - truth, axis=-1).mean() * 1000)


def size_of(camera: Camera) -> tuple[int, int]:
    return camera.width, camera.height


# --------------------------------------------------------------------------- lifting


def test_lifts_a_real_track_at_30_fps(engine, walk):
    uv, _, truth = track(walk, 30)
    result = engine.lift(uv, "h36m17", 30, image_size=size_of(walk[1]))
    assert isinstance(result, LiftResult)
    assert result.joints3d.shape == (len(uv), 17, 3) and result.joints3d.dtype == np.float32
    assert result.completed2d.shape == (len(uv), 17, 2) and result.completed2d.dtype == np.float32
    assert result.confidence.shape == (len(uv), 17) and result.root.shape == (len(uv), 3)
    np.testing.assert_array_equal(result.joints3d[:, H36M17.index("pelvis")], 0.0)
    np.testing.assert_array_equal(result.confidence, 1.0)
    np.testing.assert_allclose(result.completed2d, uv, atol=1e-3)  # visible: the input itself
    assert mpjpe_mm(result.joints3d, truth) < 80  # measured 27.8 mm


@pytest.mark.parametrize("fps", [10, 24, 25, 29.97, 50, 60, 120])
def test_any_frame_rate_gives_every_input_frame_back(engine, walk, fps):
    base_uv, _, base_truth = track(walk, 30)
    base = mpjpe_mm(engine.lift(base_uv, "h36m17", 30, size_of(walk[1])).joints3d, base_truth)
    uv, _, truth = track(walk, fps)
    result = engine.lift(uv, "h36m17", fps, image_size=size_of(walk[1]))
    assert result.joints3d.shape == (len(uv), 17, 3)
    assert result.completed2d.shape == (len(uv), 17, 2) and result.root.shape == (len(uv), 3)
    assert mpjpe_mm(result.joints3d, truth) < base + 10  # measured 27.9–28.2 mm for all rates


def test_model_frames_cover_the_input_span():
    for frames, fps in [(1, 30), (2, 24), (86, 30), (100, 29.97), (343, 120), (108_000, 30)]:
        times, model = model_times(frames, fps)
        assert model[0] == 0 and model[-1] >= times[-1] - 1e-9
        assert model[-1] - times[-1] < 1 / 30
    assert len(model_times(86, 30)[1]) == 86  # 30 fps in: the model sees exactly those frames


def test_long_track_has_no_seams_at_window_borders(engine, walk):
    clip, camera = walk
    walk30 = resample(clip.joints, clip.fps, 30)
    world = np.concatenate([walk30, walk30[::-1]] * 3)  # back and forth: 516 frames, 9 windows
    uv, _, truth = film(world, camera)
    joints = engine.lift(uv, "h36m17", 30, image_size=size_of(camera)).joints3d
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1).mean(-1)  # speed[t]: t → t + 1
    starts = window_starts(len(uv), engine.window, engine.overlap)
    assert len(starts) > 5
    cuts = {s - 1 for s in starts[1:]} | {s + engine.window - 1 for s in starts[:-1]}
    border = np.zeros(len(speed), bool)
    border[[c for c in cuts if c < len(speed)]] = True
    # a hard cut between windows jumps 20–90 mm here; blended borders move like any other frame
    # (the fastest within a few per cent of the fastest elsewhere: 19.1 against 18.9 mm)
    assert speed[border].max() <= 1.1 * speed[~border].max()
    assert speed[border].max() < 3 * np.median(speed)
    assert mpjpe_mm(joints, truth) < 80


def _as_layout(uv: np.ndarray, layout: str) -> np.ndarray:
    """H36M-17 pixels → another layout's array: shared names copy, eyes and ears at the head,
    mid_hip at the pelvis, every other joint NaN (the converter must not need it)."""
    target = LAYOUTS[layout]
    out = np.full((len(uv), target.num_joints, 2), np.nan)
    for j, name in enumerate(target.joints):
        if name in H36M17.joints:
            out[:, j] = uv[:, H36M17.index(name)]
        elif name in ("left_eye", "right_eye", "left_ear", "right_ear"):
            out[:, j] = uv[:, H36M17.index("head")]
        elif name == "mid_hip":
            out[:, j] = uv[:, H36M17.index("pelvis")]
    return out


@pytest.mark.parametrize("layout", ["coco17", "body25", "blazepose33"])
def test_other_layouts_lift_like_h36m(engine, walk, layout):
    uv, _, _ = track(walk, 30)
    reference = engine.lift(uv, "h36m17", 30, size_of(walk[1]))
    other = engine.lift(_as_layout(uv, layout), layout, 30, size_of(walk[1]))
    # derived joints differ a little: mid-hips of the projection is not the projected mid-hip
    assert mpjpe_mm(other.joints3d, reference.joints3d) < 5
    np.testing.assert_allclose(other.completed2d, reference.completed2d, atol=2.0)


# --------------------------------------------------------------------------- hidden joints


def _occluded(uv: np.ndarray, garbage: float):
    """Left wrist NaN for a second, left elbow NaN for 10 frames, right knee low confidence
    with coordinates `garbage` for 50 frames."""
    points, confidence = uv.copy(), np.ones(uv.shape[:2])
    points[20:50, WRIST] = np.nan
    points[30:40, ELBOW] = np.nan
    points[10:60, KNEE] = garbage
    confidence[10:60, KNEE] = 0.05
    hidden = ~np.isfinite(points).all(-1) | (confidence < 0.2)
    return points, confidence, hidden


def test_hidden_joints_are_masked_and_never_read(engine, walk):
    uv, _, truth = track(walk, 30)
    points, confidence, hidden = _occluded(uv, 1e6)
    result = engine.lift(points, "h36m17", 30, size_of(walk[1]), confidence)
    assert np.isfinite(result.joints3d).all() and np.isfinite(result.completed2d).all()
    assert np.isfinite(result.root).all()
    np.testing.assert_array_equal(result.confidence[hidden], 0.0)
    np.testing.assert_array_equal(result.confidence[~hidden], 1.0)
    # the same track with the hidden coordinates NaN instead of 1e6: identical bits
    nan_points, _, _ = _occluded(uv, np.nan)
    again = engine.lift(nan_points, "h36m17", 30, size_of(walk[1]), confidence)
    for name in ("joints3d", "completed2d", "confidence", "root"):
        np.testing.assert_array_equal(getattr(result, name), getattr(again, name))
    # the model fills the hidden 2D near where the joints really were (person ~190 px tall)
    error_px = np.linalg.norm(result.completed2d - uv, axis=-1)
    assert error_px[hidden].mean() < 20  # measured 12.6 px (16.4 before the offsets were blended)
    assert error_px[~hidden].max() < 1e-3
    # and meets the frames that show the joint: the wrist does not pop where it disappears and
    # comes back (measured 1.3 and 11.5 px; the model's fill pasted in: 11.8 and 16.4 px)
    step = np.linalg.norm(np.diff(result.completed2d[:, WRIST], axis=0), axis=-1)
    natural = np.linalg.norm(np.diff(uv[:, WRIST], axis=0), axis=-1).max()  # 9.7 px
    assert step[[19, 49]].max() < 1.25 * natural
    assert mpjpe_mm(result.joints3d, truth) < 90  # measured 33 mm


def test_threshold_decides_what_is_hidden(engine, walk):
    uv, _, _ = track(walk, 30)
    confidence = np.ones(uv.shape[:2])
    confidence[:, WRIST] = 0.3
    strict = engine.lift(uv, "h36m17", 30, size_of(walk[1]), confidence, threshold=0.5)
    loose = engine.lift(uv, "h36m17", 30, size_of(walk[1]), confidence, threshold=0.1)
    np.testing.assert_array_equal(strict.confidence[:, WRIST], 0.0)
    np.testing.assert_allclose(loose.confidence[:, WRIST], 0.3)
    assert not np.array_equal(strict.joints3d, loose.joints3d)
    # a user threshold below the model's own still shows the joint to the model
    below = confidence.copy()
    below[:, WRIST] = 0.15
    shown = engine.lift(uv, "h36m17", 30, size_of(walk[1]), below, threshold=0.1)
    default = engine.lift(uv, "h36m17", 30, size_of(walk[1]), below)
    np.testing.assert_array_equal(default.confidence[:, WRIST], 0.0)
    assert not np.array_equal(shown.joints3d, default.joints3d)


def test_without_image_size_a_pseudo_image_is_used(engine, walk):
    uv, _, truth = track(walk, 30)
    points, confidence, hidden = _occluded(uv, 1e6)
    result = engine.lift(points, "h36m17", 30, confidence=confidence)
    assert result.root is None
    assert mpjpe_mm(result.joints3d, truth) < 90
    error_px = np.linalg.norm(result.completed2d - uv, axis=-1)  # still in input pixels
    assert error_px[~hidden].max() < 1e-3 and error_px[hidden].mean() < 25


# --------------------------------------------------------------------------- root trajectory


def test_camera_agrees_with_training_cameras():
    assert DEFAULT_FOV_DEG == pytest.approx(np.mean(CameraConfig().fov_deg_range))


def test_root_trajectory_recovers_the_camera_frame_pelvis(engine, walk):
    clip, sampled = walk
    width, height = size_of(sampled)
    focal = default_focal(width, height)
    camera = Camera(
        sampled.rotation,
        sampled.translation,
        [focal, focal],
        [width / 2, height / 2],
        width,
        height,
    )
    world = resample(clip.joints, clip.fps, 30)
    uv, cam, _ = film(world, camera)
    root = engine.lift(uv, "h36m17", 30, (width, height)).root
    pelvis = cam[:, H36M17.index("pelvis")]
    depth_error = np.abs(root[:, 2] - pelvis[:, 2]) / pelvis[:, 2]
    assert np.median(depth_error) < 0.05 and depth_error.max() < 0.10  # measured 1.2 %, 3.3 %
    assert np.linalg.norm(root - pelvis, axis=-1).mean() < 0.25  # metres, at ~7.5 m
    # a camera with a longer lens than the assumed one: its focal length puts the root right
    long_lens = Camera(sampled.rotation, sampled.translation, [1.6 * focal] * 2,
                       [width / 2, height / 2], width, height)  # fmt: skip
    uv_long, cam_long, _ = film(world, long_lens)
    told = engine.lift(uv_long, "h36m17", 30, (width, height), focal_px=1.6 * focal).root
    assumed = engine.lift(uv_long, "h36m17", 30, (width, height)).root
    truth = cam_long[:, H36M17.index("pelvis"), 2]
    assert np.median(np.abs(told[:, 2] - truth) / truth) < 0.05
    assert np.median(assumed[:, 2] / truth) < 0.7  # the assumed lens puts it 1.6 x too near
    with pytest.raises(InputError, match="focal_px needs image_size"):
        engine.lift(uv, "h36m17", 30, focal_px=1000.0)
    # frames where fewer than two joints are seen take the root from their neighbours
    few = uv.copy()
    few[40:45, 1:] = np.nan
    gap = engine.lift(few, "h36m17", 30, (width, height)).root
    assert np.isfinite(gap).all()
    expected = gap[39] + (gap[45] - gap[39]) * ((np.arange(40, 45) - 39) / 6)[:, None]
    np.testing.assert_allclose(gap[40:45], expected, atol=1e-5)


# --------------------------------------------------------------------------- engineering


def test_deterministic_and_tiny_tracks(engine, walk):
    uv, _, _ = track(walk, 30)
    one = engine.lift(uv, "h36m17", 30, size_of(walk[1]))
    two = engine.lift(uv, "h36m17", 30, size_of(walk[1]))
    for name in ("joints3d", "completed2d", "confidence", "root"):
        assert getattr(one, name).tobytes() == getattr(two, name).tobytes()
    for frames in (1, 2):
        result = engine.lift(uv[:frames], "h36m17", 24, size_of(walk[1]))
        assert result.joints3d.shape == (frames, 17, 3)
        assert np.isfinite(result.joints3d).all() and np.isfinite(result.root).all()


def test_ten_minute_track(engine, walk):
    uv, _, _ = track(walk, 30)
    frames = 10 * 60 * 30
    long = np.resize(np.concatenate([uv, uv[::-1]]), (frames, 17, 2))
    result = engine.lift(long, "h36m17", 30, size_of(walk[1]))  # its speed: docs/benchmarks.md
    assert result.joints3d.shape == (frames, 17, 3) and np.isfinite(result.joints3d).all()


@pytest.mark.slow
def test_one_hour_track_at_25_fps(engine, walk):
    uv, _, _ = track(walk, 25)
    frames = 60 * 60 * 25
    long = np.resize(np.concatenate([uv, uv[::-1]]), (frames, 17, 2))
    result = engine.lift(long, "h36m17", 25, size_of(walk[1]))
    assert result.joints3d.shape == (frames, 17, 3) and np.isfinite(result.joints3d).all()


def test_progress_and_cancel(walk):
    uv, _, _ = track(walk, 60)  # 172 frames → 86 model frames → 2 windows
    small = Engine("default", device="cpu", batch_windows=1)
    calls: list[tuple[int, int]] = []
    small.lift(uv, "h36m17", 60, size_of(walk[1]), progress=lambda d, t: calls.append((d, t)))
    model_frames = len(model_times(len(uv), 60)[1])
    total = len(window_starts(model_frames, small.window, small.overlap))
    assert total == 2 == small.batches(len(uv), 60)
    assert calls == [(i, total) for i in range(1, total + 1)]
    seen: list[tuple[int, int]] = []
    with pytest.raises(Cancelled):
        small.lift(
            uv,
            "h36m17",
            60,
            progress=lambda d, t: seen.append((d, t)),
            cancelled=lambda: len(seen) >= 1,
        )
    assert seen == [(1, total)]
    with pytest.raises(Cancelled):
        small.complete_3d(np.zeros((10, 17, 3)), 30, cancelled=lambda: True)


def test_info_is_plain_json(engine):
    info = engine.info()
    assert json.loads(json.dumps(info)) == info
    assert info["kind"] == "mpm" and info["fps"] == 30 and info["max_frames"] == engine.window
    assert info["device"] == "cpu" and info["threshold"] == pytest.approx(0.2)
    assert set(info["layouts"]) == set(LAYOUTS) and info["parameters"] > 1e6
    assert "complete_3d" in info["operations"] and Path(info["checkpoint"]).is_file()


def test_auto_device():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert Engine(device="auto").device.type == expected


def test_flip_averaging_is_the_default_and_can_be_turned_off(walk):
    uv, _, truth = track(walk, 30)
    flipped, once = Engine("default", device="cpu"), Engine("default", device="cpu", flip=False)
    assert flipped.flip and flipped.info()["flip"] and not once.flip
    results = [e.lift(uv, "h36m17", 30, size_of(walk[1])).joints3d for e in (flipped, once)]
    assert mpjpe_mm(results[0], truth) < 80  # measured 27.3 mm (27.8 without)
    assert 0.1 < np.abs(results[0] - results[1]).max() * 1000 < 100  # the mirror's lift counted


# --------------------------------------------------------------------------- 3D completion


def test_flip_averaged_3d_completion_is_mirror_symmetric(walk):
    """With flip, completing the mirror image gives the mirror of the completion (to float
    precision) — and on the val split it is 0.8 mm better (50.0 vs 50.8 mm, hidden joints)."""
    _, _, truth = track(walk, 30)
    hidden = np.zeros(truth.shape[:2], bool)
    hidden[20:70, WRIST] = hidden[20:70, ELBOW] = True
    flipped = Engine("default", device="cpu", flip=True)
    out = flipped.complete_3d(np.where(hidden[..., None], np.nan, truth), 30)
    perm = H36M17.flip_permutation
    mirror = truth[:, perm] * np.array([-1.0, 1.0, 1.0])
    mirror_out = flipped.complete_3d(np.where(hidden[:, perm, None], np.nan, mirror), 30)
    back = mirror_out[:, perm] * np.array([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(back, out, atol=1e-5)
    np.testing.assert_allclose(out[~hidden], truth[~hidden], atol=1e-6)
    assert np.linalg.norm(out - truth, axis=-1)[hidden].mean() < 0.2


def test_complete_3d_fills_hidden_joints(engine, walk):
    _, cam, truth = track(walk, 30)
    hidden = np.zeros(truth.shape[:2], bool)
    hidden[20:50, WRIST] = hidden[30:40, ELBOW] = hidden[10:60, KNEE] = True
    masked = np.where(hidden[..., None], np.nan, truth)
    out = engine.complete_3d(masked, 30)
    assert out.shape == truth.shape and out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_allclose(out[~hidden], truth[~hidden], atol=1e-6)
    error = np.linalg.norm(out - truth, axis=-1)[hidden].mean() * 1000
    filled = interpolate_masked(truth, ~hidden)
    interpolation = np.linalg.norm(filled - truth, axis=-1)[hidden].mean() * 1000
    # the model's fill must clearly beat interpolating each joint over time (measured on this
    # walk: 93.5 against 120 mm with the default of docs/model.md's Session 11)
    assert error < 0.8 * interpolation
    garbage = engine.complete_3d(np.where(hidden[..., None], 5.0, truth), 30, visible=~hidden)
    np.testing.assert_array_equal(out, garbage)
    # camera-frame (not root-relative) input: the pelvis is taken out and put back
    absolute = engine.complete_3d(np.where(hidden[..., None], np.nan, cam), 30)
    np.testing.assert_allclose(absolute - cam[:, :1], out, atol=1e-4)
    at_60 = engine.complete_3d(np.repeat(masked, 2, axis=0), 60)
    assert at_60.shape == (2 * len(truth), 17, 3) and np.isfinite(at_60).all()


def test_complete_3d_has_no_jump_where_a_gap_starts_or_ends(engine, walk):
    _, _, truth = track(walk, 30)
    hidden = np.zeros(truth.shape[:2], bool)
    hidden[20:50, WRIST] = hidden[30:40, ELBOW] = hidden[10:60, KNEE] = True
    out = engine.complete_3d(np.where(hidden[..., None], np.nan, truth), 30)
    step = np.linalg.norm(np.diff(out[:, WRIST], axis=0), axis=-1)
    natural = np.linalg.norm(np.diff(truth[:, WRIST], axis=0), axis=-1).max()
    assert step[[19, 49]].max() < 1.5 * natural


def test_baseline_lifts_but_does_not_complete_3d(walk):
    uv, _, truth = track(walk, 30)
    baseline = Engine("baseline:tcn", device="cpu")
    assert baseline.info()["operations"] == ["lift", "complete_2d"]
    points, confidence, hidden = _occluded(uv, 1e6)
    result = baseline.lift(points, "h36m17", 30, size_of(walk[1]), confidence)
    assert mpjpe_mm(result.joints3d, truth) < 120
    error_px = np.linalg.norm(result.completed2d - uv, axis=-1)  # linear interpolation in time
    assert error_px[~hidden].max() < 1e-3 and error_px[hidden].mean() < 40
    with pytest.raises(UnsupportedError, match="MPM checkpoint"):
        baseline.complete_3d(np.zeros((5, 17, 3)), 30)


# --------------------------------------------------------------------------- bad input


GOOD = np.zeros((5, 17, 2)) + 100.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e: e.lift(GOOD, "posenet", 30), "unknown joint layout.*coco17"),
        (lambda e: e.lift(GOOD[0], "h36m17", 30), r"shape \(frames, joints, 2\)"),
        (lambda e: e.lift(np.zeros((5, 17, 3)), "h36m17", 30), r"shape \(frames, joints, 2\)"),
        (lambda e: e.lift(GOOD, "body25", 30), "'body25' has 25 joints but keypoints has 17"),
        (lambda e: e.lift(GOOD[:0], "h36m17", 30), "no frames"),
        (lambda e: e.lift(GOOD, "h36m17", 0), "fps must be a positive"),
        (lambda e: e.lift(GOOD, "h36m17", -25), "fps must be a positive"),
        (lambda e: e.lift(GOOD, "h36m17", math.nan), "fps must be a positive"),
        (lambda e: e.lift(GOOD, "h36m17", math.inf), "fps must be a positive"),
        (lambda e: e.lift(GOOD, "h36m17", 30, confidence=np.ones((5, 16))), "confidence must"),
        (lambda e: e.lift(GOOD, "h36m17", 30, image_size=(0, 720)), "image_size must be two"),
        (lambda e: e.lift(GOOD, "h36m17", 30, image_size=(1280,)), "image_size must be"),
        (lambda e: e.lift(GOOD, "h36m17", 30, threshold=2), "threshold must be"),
        (lambda e: e.lift("keypoints", "h36m17", 30), "keypoints must be a numeric array"),
        (lambda e: e.complete_3d(np.zeros((5, 17, 2)), 30), r"joints3d must have shape"),
        (lambda e: e.complete_3d(np.zeros((0, 17, 3)), 30), "no frames"),
        (lambda e: e.complete_3d(np.zeros((5, 17, 3)), 30, np.ones((5, 16))), "visible must"),
        (lambda e: e.complete_3d(np.zeros((5, 17, 3)), 0), "fps must be a positive"),
    ],
)
def test_bad_input_says_what_is_wrong(engine, call, message):
    with pytest.raises(InputError, match=message):
        call(engine)


def test_bad_engine_settings():
    with pytest.raises(ValueError, match="batch_windows"):
        Engine(batch_windows=0)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        Engine("no/such/model.pt")


# --------------------------------------------------------------------------- windows


def test_windowed_apply_tuple_outputs_match_single_outputs():
    rng = np.random.default_rng(0)
    sequences = [(rng.normal(size=(n, 17, 2)).astype(np.float32),) for n in (5, 100, 250)]

    def both(x):
        return x * 2, x.sum(-1)

    pairs = windowed_apply(both, sequences, 32, 8, batch=3)
    doubled = windowed_apply(lambda x: x * 2, sequences, 32, 8, batch=3)
    summed = windowed_apply(lambda x: x.sum(-1), sequences, 32, 8, batch=3)
    for (a, b), c, d in zip(pairs, doubled, summed, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    np.testing.assert_allclose(doubled[2], sequences[2][0] * 2, atol=1e-5)  # weights sum to 1
    ticks: list[tuple[int, int]] = []
    windowed_apply(lambda x: x, sequences, 32, 8, batch=3, progress=lambda d, t: ticks.append(t))
    assert ticks == [count_batches([5, 100, 250], 32, 8, 3)] * len(ticks)
    assert len(ticks) == ticks[0]
