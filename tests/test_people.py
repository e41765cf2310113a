"""Several people in one track file: each keeps their identity (the file's ids, or association
across frames when it has none), through crossings, dropped frames and short occlusions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from mpm_backend.tracks import (
    Track,
    TrackError,
    association,
    read_people,
    read_track,
    write_people,
    write_track,
)
from training.data.cameras import Camera, focal_from_fov, look_at_rotation
from training.data.mocap import load_clip

MOCAP = Path(__file__).resolve().parents[1] / "examples" / "mocap"
W, H, FPS = 1920, 1080, 30.0
DROPPED = (10, 30, 31, 70)  # frames with no record at all
HIDDEN_B = range(38, 40)  # B is behind A here: A alone is detected
SPURIOUS = range(60, 64)  # a 4-frame false detection (shorter than 0.5 s)
B_START = 15  # B enters at this frame


def _walk_along_x(joints: np.ndarray, direction: float, depth: float) -> np.ndarray:
    """A clip walking along +Z, turned to walk along `direction` * X at Z = depth, centred."""
    if direction > 0:  # +Z → +X
        x, z = joints[..., 2], -joints[..., 0]
    else:  # +Z → -X
        x, z = -joints[..., 2], joints[..., 0]
    turned = np.stack([x, joints[..., 1], z], axis=-1)
    pelvis = turned[:, 0]
    turned[..., 0] -= (pelvis[0, 0] + pelvis[-1, 0]) / 2
    turned[..., 2] += depth - pelvis[:, 2].mean()
    return turned


def _camera() -> Camera:
    focal = focal_from_fov(65.0, W)
    eye = np.array([0.0, 1.4, 6.0])
    rotation = look_at_rotation(eye, np.array([0.0, 0.9, -0.6]))
    return Camera.from_pose(rotation, eye, [focal, focal], [W / 2, H / 2], W, H)


def _crossing() -> tuple[np.ndarray, np.ndarray]:
    """Two people filmed by one camera: A walks right (near), B runs left (farther) from frame
    B_START; they cross in the image around frame 38. (2, T, 17, 2) pixels, NaN where absent
    (with a little detector noise), and (2, T) whether each is detected in each frame."""
    walk = load_clip(MOCAP / "cmu_actions_train_walking_1.bvh", target_fps=FPS).joints
    run = load_clip(MOCAP / "cmu_actions_val_running_1.bvh", target_fps=FPS).joints
    cam = _camera()
    frames = walk.shape[0]
    points = np.full((2, frames, 17, 2), np.nan)
    points[0] = cam.project(cam.world_to_camera(_walk_along_x(walk, +1, 0.0)))
    b = cam.project(cam.world_to_camera(_walk_along_x(run, -1, -1.2)))
    points[1, B_START : B_START + len(b)] = b[: frames - B_START]
    points += np.random.default_rng(7).normal(0, 1.5, points.shape)
    points = np.round(points, 2)
    seen = np.isfinite(points).all(axis=(2, 3))
    seen[:, list(DROPPED)] = False
    seen[1, list(HIDDEN_B)] = False
    return points, seen


def _write_detections(path: Path, points: np.ndarray, seen: np.ndarray, ids: bool) -> Path:
    """An MMPose-style file (H36M-17 named in it), people shuffled in each frame, no ids unless
    asked, a short spurious detection; frames in DROPPED have no record."""
    rng = np.random.default_rng(3)
    records = []
    for t in range(points.shape[1]):
        if t in DROPPED:
            continue
        people = []
        for p in np.nonzero(seen[:, t])[0]:
            person = {"keypoints": points[p, t].tolist(), "keypoint_scores": [0.9] * 17}
            if ids:
                person["track_id"] = [41, 7][p]
            people.append(person)
        if t in SPURIOUS:
            blob = points[0, 0] * 0.15 + np.array([1500.0, 60.0])
            people.append({"keypoints": blob.tolist(), "keypoint_scores": [0.5] * 17})
            if ids:
                people[-1]["track_id"] = 99
        rng.shuffle(people)
        records.append({"frame_id": t, "instances": people})
    data = {"fps": FPS, "image_size": [W, H], "layout": "h36m17", "frames": records}
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def crossing() -> tuple[np.ndarray, np.ndarray]:
    return _crossing()


def _match_sources(people: list[Track], points: np.ndarray, seen: np.ndarray) -> list[int]:
    """Which source person each output is, checking it is that one in every frame it is present
    and present in every frame the source was detected (the benchmark: exact keypoints)."""
    sources = []
    for track in people:
        present = track.present.all(axis=1)
        first = int(np.argmax(present))
        gaps = np.abs(points[:, first] - track.keypoints[first]).sum(axis=(1, 2))
        source = int(np.argmin(np.nan_to_num(gaps, nan=np.inf)))
        np.testing.assert_array_equal(present, seen[source])  # every detection kept, no other
        np.testing.assert_allclose(
            track.keypoints[present], points[source][present], rtol=1e-6, atol=1e-3
        )
        sources.append(source)
    return sources


def test_the_boxes_really_overlap_when_they_cross(crossing):
    points, seen = crossing
    both = seen.all(axis=0)
    low = np.where(seen[..., None], np.nan_to_num(points, nan=0).min(axis=2), 0)  # (2, T, 2)
    high = np.where(seen[..., None], np.nan_to_num(points, nan=0).max(axis=2), 0)
    inter = np.clip(np.minimum(high[0], high[1]) - np.maximum(low[0], low[1]), 0, None).prod(-1)
    smaller = np.minimum((high[0] - low[0]).prod(-1), (high[1] - low[1]).prod(-1))
    covered = inter[both] / smaller[both]
    assert (covered > 0).sum() >= 6 and (covered > 0.5).sum() >= 2  # one half hides the other


def test_crossing_people_without_ids_never_swap(crossing, tmp_path):
    points, seen = crossing
    path = _write_detections(tmp_path / "two.json", points, seen, ids=False)
    people = read_people(path)
    assert len(people) == 2  # the 4-frame spurious detection is dropped
    assert _match_sources(people, points, seen) == [0, 1]  # A appears first
    assert [p.person_id for p in people] == [0, 1]
    for k, person in enumerate(people):
        assert person.num_frames == points.shape[1] and person.first_frame == 0
        assert (person.fps, person.image_size, person.layout) == (FPS, (W, H), "h36m17")
        one = read_track(path, person=k)
        np.testing.assert_array_equal(one.keypoints, person.keypoints)
    with pytest.raises(TrackError, match="person 2 was asked for.*2 people"):
        read_track(path, person=2)
    # Keeping short tracks keeps the spurious one, as a third person.
    assert len(read_people(path, min_seconds=0)) == 3


def test_without_scipy_the_same_people(crossing, tmp_path, monkeypatch):
    points, seen = crossing
    path = _write_detections(tmp_path / "two.json", points, seen, ids=False)
    with_scipy = read_people(path)
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)  # import fails: the add-on's case
    calls = []
    fallback = association.hungarian
    monkeypatch.setattr(association, "hungarian", lambda cost: calls.append(1) or fallback(cost))
    without = read_people(path)
    assert calls  # the pure-Python Hungarian did the matching
    for a, b in zip(with_scipy, without, strict=True):
        np.testing.assert_array_equal(a.keypoints, b.keypoints)


def test_a_file_with_ids_keeps_them(crossing, tmp_path):
    points, seen = crossing
    path = _write_detections(tmp_path / "ids.json", points, seen, ids=True)
    people = read_people(path)
    assert [p.person_id for p in people] == [41, 7]  # A (id 41) appears first
    assert _match_sources(people, points, seen) == [0, 1]
    # An id that repeats within a frame cannot be trusted: the people are associated instead.
    data = json.loads(path.read_text())
    for record in data["frames"]:
        for person in record["instances"]:
            person["track_id"] = 5
    path.write_text(json.dumps(data))
    assert [p.person_id for p in read_people(path)] == [0, 1]


def test_openpose_person_ids_are_used_and_minus_one_is_none(tmp_path):
    folder = tmp_path / "op"
    folder.mkdir()
    base = np.stack([np.linspace(-60, 60, 25), np.linspace(-200, 200, 25)], axis=1)
    for t in range(20):
        people = []
        for pid, x0 in ((3, 400.0 + 10 * t), (1, 1200.0 - 10 * t)):
            flat = np.column_stack([base + [x0, 500.0], np.full(25, 0.8)]).ravel()
            people.append({"person_id": [pid], "pose_keypoints_2d": flat.tolist()})
        (folder / f"clip_{t:012d}_keypoints.json").write_text(json.dumps({"people": people[::-1]}))
    people = read_people(folder, fps=30)
    assert [p.person_id for p in people] == [3, 1]  # same first frame: left to right
    assert people[0].keypoints[0, 0, 0] == pytest.approx(340.0)
    for file in folder.iterdir():  # -1: "not tracked" → associated, numbered 0, 1
        data = json.loads(file.read_text())
        for person in data["people"]:
            person["person_id"] = [-1]
        file.write_text(json.dumps(data))
    again = read_people(folder, fps=30)
    assert [p.person_id for p in again] == [0, 1]
    np.testing.assert_array_equal(again[0].keypoints, people[0].keypoints)


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_own_format_with_a_person_axis_round_trips(crossing, tmp_path, suffix):
    points, seen = crossing
    people = read_people(_write_detections(tmp_path / "ids.json", points, seen, ids=True))
    path = write_people(people, tmp_path / f"people{suffix}")
    back = read_people(path)
    assert [p.person_id for p in back] == [41, 7]
    for a, b in zip(people, back, strict=True):
        np.testing.assert_array_equal(a.keypoints, b.keypoints)
        np.testing.assert_array_equal(a.confidence, b.confidence)
        assert (a.fps, a.image_size, a.first_frame) == (b.fps, b.image_size, b.first_frame)
    np.testing.assert_array_equal(read_track(path, person=1).keypoints, people[1].keypoints)
    np.testing.assert_array_equal(read_track(path).keypoints, people[0].keypoints)
    # A one-person file is still version 1, and reads as one person.
    single = write_track(people[0], tmp_path / f"one{suffix}")
    assert [p.person_id for p in read_people(single)] == [0]
    with pytest.raises(TrackError, match="holds one person"):
        read_track(single, person=1)


def test_hungarian_without_scipy_is_optimal():
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(0)
    for shape in [(1, 1), (3, 3), (2, 5), (5, 2), (6, 6), (4, 7)]:
        for _ in range(20):
            cost = rng.random(shape)
            cost[rng.random(shape) < 0.2] = 1e6
            rows, cols = association.hungarian(cost)
            want_rows, want_cols = linear_sum_assignment(cost)
            assert len(rows) == min(shape)
            assert cost[rows, cols].sum() == pytest.approx(cost[want_rows, want_cols].sum())


def test_a_gap_longer_than_allowed_starts_a_new_person(tmp_path):
    base = np.stack([np.linspace(-60, 60, 17), np.linspace(-200, 200, 17)], axis=1)
    records = [
        {"frame_id": t, "instances": [{"keypoints": (base + [300 + 5 * t, 400]).tolist()}]}
        for t in [*range(0, 20), *range(40, 60)]  # unseen for 20 frames (> 0.5 s at 30 fps)
    ]
    path = tmp_path / "gap.json"
    path.write_text(json.dumps({"fps": 30, "frames": records}))
    assert len(read_people(path)) == 2
    assert len(read_people(path, max_gap_seconds=1.0)) == 1


def test_a_person_covered_by_a_nearer_one_and_lost_for_frames_stays_one_person(mocap_dir):
    """The people benchmark's crossing: while the nearer walker covers more and more of the
    farther one's joints (the box shrinks and its centre jumps), then hides them for two frames,
    the farther one must come back as the same person, never as the other."""
    from devtools.people_benchmark import crossing_people

    val = mocap_dir / "bvh" / "cmu_actions" / "val"
    files = (val / "walking_extra_7.bvh", val / "walking_extra_10.bvh")
    people, tracks, detected = crossing_people(files, seed=2)
    assert (~detected[1]).sum() == 2  # the farther one is lost for two frames
    assert len(tracks) == 2
    for k, track in enumerate(tracks):
        present = track.present.any(axis=1)
        np.testing.assert_array_equal(present, detected[k])
        same = np.isclose(track.keypoints, people[k].points, atol=1e-3) | np.isnan(track.keypoints)
        assert same[present].all()
