"""Track files: every format reads back what was written, gaps stay gaps, one person is followed,
and every bad file is refused with a message that names the problem."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpm_backend.skeleton import BLAZEPOSE33, BODY25, COCO17, H36M17
from mpm_backend.tracks import Track, TrackError, read_track, write_track

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "tracks"
W, H = 1920, 1080


def _load_make_examples():
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def make_examples():
    return _load_make_examples()


@pytest.fixture(scope="module")
def expected(make_examples):
    return make_examples.make_tracks()


def assert_track_equals(track: Track, keypoints: np.ndarray, confidence: np.ndarray) -> None:
    want_kp = np.asarray(keypoints, dtype=np.float32)
    want_conf = np.asarray(confidence, dtype=np.float32)
    assert track.keypoints.dtype == np.float32 and track.confidence.dtype == np.float32
    assert track.keypoints.shape == want_kp.shape
    np.testing.assert_array_equal(np.isnan(track.keypoints), np.isnan(want_kp))
    np.testing.assert_allclose(track.keypoints, want_kp, rtol=1e-6, atol=0, equal_nan=True)
    np.testing.assert_allclose(track.confidence, want_conf, rtol=1e-6, atol=0)


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def coco_person(points: np.ndarray, scores: np.ndarray | None = None) -> dict:
    scores = np.full(len(points), 0.9) if scores is None else scores
    return {"keypoints": points.tolist(), "keypoint_scores": scores.tolist()}


def walker(t: int, x0: float = 300.0, y0: float = 300.0, scale: float = 1.0) -> np.ndarray:
    """A 17-joint COCO figure 'walking' 10 px per frame to the right; its box is ~120x400 px."""
    base = np.stack([np.linspace(-60, 60, 17), np.linspace(-200, 200, 17)], axis=1)
    return base * scale + np.array([x0 + 10.0 * t, y0])


# ------------------------------------------------------------------------------------------------
# The shipped examples
# ------------------------------------------------------------------------------------------------


def test_examples_are_small():
    paths = [p for p in EXAMPLES.iterdir() if p.name.startswith("walking")]
    assert len(paths) == 5
    for path in paths:
        files = list(path.rglob("*")) if path.is_dir() else [path]
        assert sum(f.stat().st_size for f in files) < 300_000, path


def test_mmpose_example_follows_the_walker_past_the_bystander(expected):
    want = expected["coco"]
    track = read_track(EXAMPLES / "walking_coco.json")
    assert (track.layout, track.format, track.fps, track.image_size) == (
        "coco17",
        "mmpose-json",
        None,
        None,
    )
    assert track.num_frames == 86 and track.first_frame == 0
    assert_track_equals(track, want["keypoints"], want["confidence"])
    # The bystander is listed first in frames 20-69; a person index counts people by identity
    # (first appearance), not by their place in each frame's list: 0 is the walker throughout.
    walker_track = read_track(EXAMPLES / "walking_coco.json", person=0)
    assert_track_equals(walker_track, want["keypoints"], want["confidence"])
    bystander = read_track(EXAMPLES / "walking_coco.json", person=1)
    np.testing.assert_allclose(bystander.keypoints[20:70], want["bystander"][20:70], rtol=1e-6)
    assert np.isnan(bystander.keypoints[:20]).all() and np.isnan(bystander.keypoints[70:]).all()


def test_openpose_example(expected):
    want = expected["openpose"]
    track = read_track(EXAMPLES / "walking_openpose")
    assert (track.layout, track.format, track.fps, track.image_size) == (
        "body25",
        "openpose",
        None,
        None,
    )
    assert track.num_frames == 30
    assert_track_equals(track, want["keypoints"], want["confidence"])
    # OpenPose's 0, 0, 0 for an undetected joint (the far ear) is masked, not a point at 0, 0.
    ears = [BODY25.index("left_ear"), BODY25.index("right_ear")]
    assert (track.confidence[:, ears] == 0).sum() == 30
    assert np.isnan(track.keypoints[:, ears]).any(axis=-1).sum() == 30


def test_mediapipe_csv_example(expected):
    want = expected["mediapipe"]
    track = read_track(EXAMPLES / "walking_mediapipe.csv", image_size=(W, H), fps=30)
    assert (track.layout, track.format, track.fps, track.image_size) == (
        "blazepose33",
        "mediapipe-csv",
        30.0,
        (W, H),
    )
    assert_track_equals(track, want["keypoints"], want["confidence"])
    assert track.confidence.min() < 0.3  # some landmarks are at low visibility


def test_mediapipe_without_image_size_says_to_give_it():
    with pytest.raises(TrackError, match="give the image size"):
        read_track(EXAMPLES / "walking_mediapipe.csv")


@pytest.mark.parametrize("name", ["walking.npz", "walking.json"])
def test_own_format_examples(expected, name):
    want = expected["own"]
    track = read_track(EXAMPLES / name)
    assert (track.layout, track.fps, track.image_size) == ("h36m17", 30.0, (W, H))
    assert track.format == ("mpm-lift-track-npz" if name.endswith("npz") else "mpm-lift-track-json")
    assert_track_equals(track, want["keypoints"], want["confidence"])


def test_examples_are_what_the_script_writes(make_examples, expected, tmp_path):
    """The committed files are up to date with make_examples.py."""
    make_examples.write_coco(expected["coco"], tmp_path / "walking_coco.json")
    make_examples.write_openpose(expected["openpose"], tmp_path / "walking_openpose")
    make_examples.write_mediapipe(expected["mediapipe"], tmp_path / "walking_mediapipe.csv")
    write_track(make_examples.own_track(expected["own"]), tmp_path / "walking.json")
    for name in ("walking_coco.json", "walking_mediapipe.csv", "walking.json"):
        assert (tmp_path / name).read_bytes() == (EXAMPLES / name).read_bytes(), name
    made = sorted(p.name for p in (tmp_path / "walking_openpose").iterdir())
    assert made == sorted(p.name for p in (EXAMPLES / "walking_openpose").iterdir())
    for name in made:
        assert (tmp_path / "walking_openpose" / name).read_bytes() == (
            EXAMPLES / "walking_openpose" / name
        ).read_bytes()


def test_examples_convert_to_h36m17_consistently(expected):
    """COCO-17 of the walk converts back to its H36M-17 joints within a pixel (left stays left;
    derived joints differ by perspective, a midpoint of projections not the projected midpoint)."""
    coco = read_track(EXAMPLES / "walking_coco.json").to_h36m17()[0]
    own = read_track(EXAMPLES / "walking.npz").keypoints
    for joint in ("left_wrist", "right_ankle", "pelvis", "head"):
        i = H36M17.index(joint)
        assert np.abs(coco[:, i] - own[:, i]).max() < 1.0, joint


# ------------------------------------------------------------------------------------------------
# The own format
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".npz", ".json"])
@pytest.mark.parametrize("fps,size", [(29.97, (640, 480)), (None, None)])
def test_own_format_round_trip_is_exact(tmp_path, suffix, fps, size):
    rng = np.random.default_rng(3)
    keypoints = rng.uniform(0, 480, size=(40, 33, 2)).astype(np.float32)
    confidence = rng.uniform(0.01, 1, size=(40, 33)).astype(np.float32)
    confidence[5] = 0  # a masked frame
    confidence[7, [0, 3, 30]] = 0  # masked joints
    track = Track(keypoints, confidence, "BlazePose", fps=fps, image_size=size, first_frame=12)
    path = write_track(track, tmp_path / f"t{suffix}")
    back = read_track(path)
    assert back.layout == "blazepose33" and back.first_frame == 12
    assert back.fps == fps and back.image_size == size
    np.testing.assert_array_equal(back.keypoints, track.keypoints)
    np.testing.assert_array_equal(back.confidence, track.confidence)
    assert np.isnan(back.keypoints[5]).all() and np.isnan(back.keypoints[7, [0, 3, 30]]).all()
    np.testing.assert_array_equal(back.frame_numbers, np.arange(12, 52))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    frames=st.integers(1, 12),
    layout=st.sampled_from(["h36m17", "coco17", "body25", "blazepose33"]),
    suffix=st.sampled_from([".npz", ".json"]),
)
def test_own_format_round_trip_property(seed, frames, layout, suffix):
    """Any values float32 can hold (tiny, huge, negative pixels) come back bit for bit."""
    rng = np.random.default_rng(seed)
    j = {"h36m17": 17, "coco17": 17, "body25": 25, "blazepose33": 33}[layout]
    keypoints = (rng.standard_normal((frames, j, 2)) * 10.0 ** rng.integers(-3, 6)).astype(
        np.float32
    )
    confidence = rng.uniform(0, 1, (frames, j)).astype(np.float32)
    confidence[rng.uniform(size=(frames, j)) < 0.2] = 0
    confidence[0, 0] = 1  # at least one joint present
    track = Track(keypoints, confidence, layout, fps=rng.uniform(1, 240))
    with tempfile.TemporaryDirectory() as folder:
        back = read_track(write_track(track, Path(folder) / f"t{suffix}"))
    np.testing.assert_array_equal(back.keypoints, track.keypoints)
    np.testing.assert_array_equal(back.confidence, track.confidence)
    assert back.fps == track.fps and back.layout == layout


def test_reading_needs_neither_torch_nor_bpy():
    code = (
        "import sys, mpm_backend.tracks as t; "
        "t.read_track(sys.argv[1]); "
        "assert 'torch' not in sys.modules and 'bpy' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code, str(EXAMPLES / "walking_coco.json")], check=True)


def test_track_keeps_nan_and_zero_confidence_together():
    keypoints = np.ones((2, 17, 2))
    confidence = np.ones((2, 17))
    keypoints[0, 3] = np.nan  # a NaN point gets confidence 0
    confidence[1, 4] = 0  # a zero-confidence point becomes NaN
    track = Track(keypoints, confidence, "coco17")
    assert track.confidence[0, 3] == 0 and np.isnan(track.keypoints[1, 4]).all()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Track(np.ones((2, 17, 2)), np.full((2, 17), 1.5), "coco17")
    with pytest.raises(ValueError, match="shape"):
        Track(np.ones((2, 25, 2)), np.ones((2, 25)), "coco17")


def test_write_track_refuses_other_suffixes(tmp_path):
    track = Track(np.ones((1, 17, 2)), np.ones((1, 17)), "h36m17")
    with pytest.raises(ValueError, match=".npz or .json"):
        write_track(track, tmp_path / "t.csv")


def test_arguments_override_the_file(tmp_path):
    track = Track(
        np.full((3, 17, 2), 10.0), np.ones((3, 17)), "coco17", fps=25, image_size=(64, 48)
    )
    path = write_track(track, tmp_path / "t.json")
    back = read_track(path, fps=50, image_size=(1280, 720), layout="h36m17")
    assert (back.fps, back.image_size, back.layout) == (50.0, (1280, 720), "h36m17")


# ------------------------------------------------------------------------------------------------
# Timing: gaps, offsets, missing files
# ------------------------------------------------------------------------------------------------


def test_gap_in_frame_numbers_becomes_masked_frames(tmp_path):
    numbers = [10, 11, 12, 15, 16]
    records = [{"frame_id": n, "instances": [coco_person(walker(n))]} for n in numbers]
    track = read_track(write_json(tmp_path / "gap.json", records))
    assert track.num_frames == 7 and track.first_frame == 10
    np.testing.assert_array_equal(track.frame_numbers, np.arange(10, 17))
    for t, n in enumerate(range(10, 17)):
        if n in numbers:
            np.testing.assert_allclose(track.keypoints[t], walker(n), rtol=1e-6)
        else:
            assert np.isnan(track.keypoints[t]).all() and (track.confidence[t] == 0).all()


def test_openpose_missing_file_and_empty_people_are_masked(tmp_path):
    folder = tmp_path / "op"
    folder.mkdir()
    for n in (0, 1, 2, 4, 5):  # frame 3's file is missing
        flat = []
        for j in range(25):
            flat += [100.0 + j + n, 200.0 + j, 0.8]
        people = [] if n == 4 else [{"person_id": [-1], "pose_keypoints_2d": flat}]
        write_json(folder / f"clip_{n:012d}_keypoints.json", {"version": 1.3, "people": people})
    track = read_track(folder, fps=24)
    assert track.num_frames == 6 and track.fps == 24.0 and track.layout == "body25"
    assert np.isnan(track.keypoints[[3, 4]]).all() and (track.confidence[[3, 4]] == 0).all()
    assert track.keypoints[5, 0, 0] == 105.0


def test_openpose_coco18_reads_as_coco17(tmp_path):
    folder = tmp_path / "op"
    folder.mkdir()
    names18 = [
        "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
        "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
        "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
    ]  # fmt: skip
    flat = []
    for j in range(18):
        flat += [10.0 * j, 5.0 * j, 0.9]
    write_json(folder / "a_000000000000_keypoints.json", {"people": [{"pose_keypoints_2d": flat}]})
    track = read_track(folder)
    assert track.layout == "coco17"
    for name in COCO17.joints:
        assert track.keypoints[0, COCO17.index(name), 0] == 10.0 * names18.index(name)


def test_openpose_other_models_are_refused(tmp_path):
    folder = tmp_path / "op"
    folder.mkdir()
    flat = [1.0, 2.0, 0.9] * 15  # MPI-15
    write_json(folder / "a_000000000000_keypoints.json", {"people": [{"pose_keypoints_2d": flat}]})
    with pytest.raises(TrackError, match="BODY_25"):
        read_track(folder)


# ------------------------------------------------------------------------------------------------
# Several people
# ------------------------------------------------------------------------------------------------


def test_second_person_does_not_make_the_track_jump(tmp_path):
    records = []
    for t in range(30):
        people = [coco_person(walker(t))]
        if 5 <= t < 25:  # someone bigger and nearer the camera, listed first
            people.insert(0, coco_person(walker(t, x0=700, y0=450, scale=1.5)))
        if 12 <= t < 16:
            people = people[:1]  # the walker is hidden; only the other person is seen
        records.append({"frame_id": t, "instances": people})
    track = read_track(write_json(tmp_path / "two.json", records))
    for t in range(30):
        if 12 <= t < 16:
            assert np.isnan(track.keypoints[t]).all(), t  # masked, not the other person
        else:
            np.testing.assert_allclose(track.keypoints[t], walker(t), rtol=1e-6)


def test_most_prominent_person_is_chosen_first(tmp_path):
    records = [
        {
            "frame_id": t,
            "instances": [
                coco_person(walker(t, scale=0.3)),
                coco_person(walker(t, x0=900)),  # the largest box
            ],
        }
        for t in range(5)
    ]
    track = read_track(write_json(tmp_path / "two.json", records))
    np.testing.assert_allclose(track.keypoints[:, 0], [walker(t, x0=900)[0] for t in range(5)])
    by_index = read_track(tmp_path / "two.json", person=0)
    np.testing.assert_allclose(
        by_index.keypoints[:, 0], [walker(t, scale=0.3)[0] for t in range(5)]
    )
    with pytest.raises(TrackError, match="person 2"):
        read_track(tmp_path / "two.json", person=2)


# ------------------------------------------------------------------------------------------------
# Other detector shapes
# ------------------------------------------------------------------------------------------------


def test_coco_results_with_flat_xyv_and_image_ids(tmp_path):
    records = []
    for image_id in (1, 2, 3):
        flat = []
        for j in range(17):
            flat += [100.0 + j, 50.0 + image_id, 2 if j != 4 else 0]  # v = 0: not labelled
        records.append({"image_id": image_id, "category_id": 1, "keypoints": flat, "score": 0.9})
    track = read_track(write_json(tmp_path / "results.json", records))
    assert track.format == "coco-json" and track.layout == "coco17" and track.first_frame == 1
    assert track.num_frames == 3
    assert (track.confidence[:, 4] == 0).all() and np.isnan(track.keypoints[:, 4]).all()
    assert (track.confidence[:, 0] == 1).all() and track.keypoints[2, 0, 1] == 53.0


def test_coco_annotations_with_images_give_the_size(tmp_path):
    data = {
        "images": [{"id": 7, "width": 640, "height": 480}, {"id": 9, "width": 640, "height": 480}],
        "annotations": [
            {"image_id": 9, "keypoints": [float(v) for v in range(51)], "num_keypoints": 17}
        ],
    }
    track = read_track(write_json(tmp_path / "ann.json", data))
    assert track.image_size == (640, 480) and track.num_frames == 2
    assert np.isnan(track.keypoints[0]).all()


def test_mmpose_demo_file_with_meta_info_and_wholebody(tmp_path):
    """topdown_demo_with_mmdet --save-predictions: {meta_info, instance_info}; 133 keypoints."""
    points = np.arange(133 * 2, dtype=float).reshape(133, 2)
    data = {
        "meta_info": {"dataset_name": "coco_wholebody"},
        "instance_info": [{"frame_id": 1, "instances": [coco_person(points)]}],
    }
    track = read_track(write_json(tmp_path / "demo.json", data))
    assert track.layout == "coco17" and track.num_frames == 1
    np.testing.assert_array_equal(track.keypoints[0], points[:17])


def test_seventeen_joints_read_as_h36m_when_asked(tmp_path):
    records = [{"frame_id": 0, "instances": [coco_person(walker(0))]}]
    path = write_json(tmp_path / "p.json", records)
    assert read_track(path).layout == "coco17"
    assert read_track(path, layout="h36m17").layout == "h36m17"
    with pytest.raises(TrackError, match="body25"):
        read_track(path, layout="body25")


def test_a_layout_named_in_a_detector_file_is_used(tmp_path):
    data = {"layout": "h36m17", "frames": [{"frame_id": 0, "instances": [coco_person(walker(0))]}]}
    path = write_json(tmp_path / "p.json", data)
    assert read_track(path).layout == "h36m17"
    assert read_track(path, layout="coco17").layout == "coco17"


def test_joints_outside_the_image_are_masked(tmp_path):
    points = walker(0)
    points[3] = [-5.0, 100.0]
    points[5] = [100.0, 700.0]  # below a 640x480 image
    data = {"image_width": 640, "image_height": 480, "fps": 25, "frames": [
        {"frame_id": 0, "instances": [coco_person(points)]}
    ]}  # fmt: skip
    track = read_track(write_json(tmp_path / "p.json", data))
    assert track.fps == 25.0 and track.image_size == (640, 480)
    assert track.confidence[0, 3] == 0 and track.confidence[0, 5] == 0
    assert np.isnan(track.keypoints[0, [3, 5]]).all() and track.confidence[0, 4] > 0


def test_mediapipe_json_frames(tmp_path):
    landmarks = [{"x": 0.5 + 0.001 * i, "y": 0.25, "z": 0.0, "visibility": 0.5} for i in range(33)]
    frames = [
        {"frame": 0, "pose_landmarks": landmarks},
        {"frame": 1, "pose_landmarks": []},  # nobody in frame 1
        {"frame": 2, "pose_landmarks": [landmarks]},  # Tasks API style: a list of people
    ]
    data = {"image_width": 200, "image_height": 100, "frames": frames}
    track = read_track(write_json(tmp_path / "mp.json", data))
    assert track.layout == "blazepose33" and track.format == "mediapipe-json"
    assert track.num_frames == 3 and np.isnan(track.keypoints[1]).all()
    np.testing.assert_allclose(track.keypoints[2, 1], [100.2, 25.0], rtol=1e-6)
    assert track.confidence[0, 0] == 0.5
    # Without the image size in the file: the argument, or an error that asks for it.
    bare = write_json(tmp_path / "bare.json", frames)
    with pytest.raises(TrackError, match="give the image size"):
        read_track(bare)
    assert read_track(bare, image_size=(200, 100)).image_size == (200, 100)
    # Pixel landmarks need no size.
    pixels = {"normalized": False, "frames": [[{"x": 10.0, "y": 20.0}] * 33]}
    assert read_track(write_json(tmp_path / "px.json", pixels)).keypoints[0, 0, 1] == 20.0


def test_mediapipe_wide_csv_with_names_and_size(tmp_path):
    path = tmp_path / "wide.csv"
    header = ["frame", "image_width", "image_height", "fps"]
    for i in range(33):
        header += [f"x{i}", f"y{i}", f"z{i}", f"v{i}"]
    rows = [header]
    for frame in (0, 2):
        row = [frame, 100, 50, 60]
        for i in range(33):
            row += [0.01 * i, 0.5, 0.0, 0.9 if i != 7 else 0.0]
        rows.append(row)
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    track = read_track(path)
    assert (track.fps, track.image_size, track.num_frames) == (60.0, (100, 50), 3)
    assert np.isnan(track.keypoints[1]).all() and np.isnan(track.keypoints[0, 7]).all()
    np.testing.assert_allclose(track.keypoints[2, 32], [32.0, 25.0], rtol=1e-6)


def test_long_csv_accepts_landmark_names(tmp_path):
    path = tmp_path / "long.csv"
    lines = ["frame,landmark,x,y,visibility"]
    lines += [f"0,{name},0.5,0.5,0.9" for name in BLAZEPOSE33.joints if "mouth" not in name]
    lines += ["0,MOUTH_LEFT,0.25,0.5,0.9", "0,mouth_right,0.75,0.5,0.9"]
    path.write_text("\n".join(lines) + "\n")
    track = read_track(path, image_size=(100, 100))
    assert track.keypoints[0, BLAZEPOSE33.index("left_mouth"), 0] == 25.0


# ------------------------------------------------------------------------------------------------
# Bad files: each refused with a message naming the problem
# ------------------------------------------------------------------------------------------------


def own_json(**changes) -> dict:
    data = {
        "format": "mpm-lift-track",
        "version": 1,
        "layout": "coco17",
        "fps": 30,
        "image_size": [640, 480],
        "frames": [{"keypoints": walker(0).tolist(), "confidence": [0.9] * 17}],
    }
    data.update(changes)
    return data


def _inconsistent(tmp_path):
    records = [
        {"frame_id": 0, "instances": [coco_person(walker(0))]},
        {"frame_id": 1, "instances": [coco_person(np.ones((25, 2)))]},
    ]
    return write_json(tmp_path / "b.json", records)


def _openpose_two_videos(tmp_path):
    folder = tmp_path / "op"
    folder.mkdir()
    for name in ("a", "b"):
        frame = {"people": [{"pose_keypoints_2d": [1.0, 2.0, 0.9] * 25}]}
        write_json(folder / f"{name}_000000000000_keypoints.json", frame)
    return folder


def _npz(tmp_path, **arrays):
    path = tmp_path / "b.npz"
    np.savez(path, **arrays)
    return path


BAD_FILES = {
    "truncated JSON": (lambda p: _text(p / "b.json", '[{"frame_id": 0, "inst'), "not valid JSON"),
    "empty file": (lambda p: _text(p / "b.json", ""), "empty"),
    "unknown structure": (
        lambda p: write_json(p / "b.json", {"hello": [1, 2]}),
        r"unknown track structure.*Supported: COCO / MMPose",
    ),
    "unknown record": (
        lambda p: write_json(p / "b.json", [{"boxes": []}]),
        r"unknown track structure.*'boxes'",
    ),
    "wrong joint count for the layout": (
        lambda p: write_json(
            p / "b.json", own_json(frames=[{"keypoints": [[1, 2]] * 25, "confidence": [1] * 25}])
        ),
        r"frames\[0\]\.keypoints has 25 joints; layout 'coco17' has 17",
    ),
    "inconsistent joint counts": (
        _inconsistent,
        r"joint counts differ.*25 joints first in frame 1",
    ),
    "no person in any frame": (
        lambda p: write_json(p / "b.json", [{"frame_id": i, "instances": []} for i in range(3)]),
        "no person in any frame",
    ),
    "negative fps": (lambda p: write_json(p / "b.json", own_json(fps=-30)), "'fps'.*positive"),
    "NaN fps in a detector file": (
        lambda p: _text(p / "b.json", '{"fps": NaN, "frames": [{"frame_id": 0, "instances": []}]}'),
        "fps.*positive",
    ),
    "future version": (
        lambda p: write_json(p / "b.json", own_json(version=3)),
        "version 3.*update",
    ),
    "unknown layout": (lambda p: write_json(p / "b.json", own_json(layout="mpii")), "'mpii'"),
    "confidence out of range": (
        lambda p: write_json(
            p / "b.json", own_json(frames=[{"keypoints": [[1, 2]] * 17, "confidence": [3] * 17}])
        ),
        r"confidence.*\[0, 1\]",
    ),
    "text in keypoints": (
        lambda p: write_json(
            p / "b.json", [{"frame_id": 0, "instances": [{"keypoints": ["a", "b"]}]}]
        ),
        "frame 0, person 0.*numbers",
    ),
    "scores do not match keypoints": (
        lambda p: write_json(
            p / "b.json",
            [{"frame_id": 0, "instances": [{"keypoints": [[1, 2]] * 17, "keypoint_scores": [1]}]}],
        ),
        "17 keypoints but 1 scores",
    ),
    "bad frame number": (
        lambda p: write_json(p / "b.json", [{"frame_id": "first", "instances": []}]),
        "'frame_id'.*whole frame number",
    ),
    "unsupported joint count": (
        lambda p: write_json(
            p / "b.json", [{"frame_id": 0, "instances": [coco_person(np.ones((21, 2)))]}]
        ),
        "21 keypoints, which is no known layout",
    ),
    "all joints outside the image": (
        lambda p: write_json(
            p / "b.json",
            {"width": 10, "height": 10, "frames": [{"instances": [coco_person(walker(0))]}]},
        ),
        "inside the image",
    ),
    "unknown suffix": (lambda p: _text(p / "b.txt", "x"), "unknown track file type '.txt'"),
    "missing path": (lambda p: p / "nothing.json", "no such file"),
    "OpenPose folder with two videos": (_openpose_two_videos, "both frame 0"),
    "empty folder": (lambda p: p, "no .json files"),
    "npz of something else": (lambda p: _npz(p, positions_2d=np.ones(3)), "not an mpm-lift-track"),
    "npz without keypoints": (
        lambda p: _npz(p, format=np.array("mpm-lift-track"), version=np.array(1)),
        "no 'keypoints' array",
    ),
    "npz keypoints of the wrong layout": (
        lambda p: _npz(
            p,
            format=np.array("mpm-lift-track"),
            version=np.array(1),
            layout=np.array("body25"),
            keypoints=np.ones((2, 17, 2)),
            confidence=np.ones((2, 17)),
        ),
        "layout 'body25' has 25 joints but the keypoints have 17",
    ),
    "not an npz": (lambda p: _text(p / "b.npz", "hello"), "cannot read the .npz"),
    "CSV with other columns": (
        lambda p: _text(p / "b.csv", "time,a,b\n0,1,2\n"),
        "columns frame, landmark, x, y",
    ),
    "CSV with text in x": (
        lambda p: _text(p / "b.csv", "frame,landmark,x,y\n0,0,abc,0.5\n"),
        r"row 2, column 'x': 'abc' is not a number",
    ),
    "CSV landmark out of range": (
        lambda p: _text(p / "b.csv", "frame,landmark,x,y\n0,40,0.1,0.5\n"),
        "landmark 40 is not in 0..32",
    ),
    "CSV header only": (lambda p: _text(p / "b.csv", "frame,landmark,x,y\n"), "no data rows"),
}


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_raise_track_error_naming_the_problem(tmp_path, case):
    make, message = BAD_FILES[case]
    path = make(tmp_path)
    with pytest.raises(TrackError, match=message) as info:
        read_track(path, image_size=(640, 480) if path.suffix == ".csv" else None)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"fps": -1}, "fps argument.*positive"),
        ({"fps": math.nan}, "fps argument.*positive"),
        ({"person": -1}, "person must be 0 or more"),
        ({"layout": "mpii"}, "layout argument.*unknown joint layout"),
        ({"image_size": (0, 10)}, "image_size argument"),
        ({"person": 1}, "holds one person"),
    ],
)
def test_bad_arguments_raise_track_error(kwargs, message):
    with pytest.raises(TrackError, match=message):
        read_track(EXAMPLES / "walking.json", **kwargs)
