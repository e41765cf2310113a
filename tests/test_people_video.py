"""Several people in a video (mpm_backend.people_video): each found, followed and kept apart, on
a frame made of two copies of the shipped rendered clip side by side, whose 2D is known exactly.

Skipped unless the video extra (scripts/install_video.sh) is there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mediapipe")
cv2 = pytest.importorskip("cv2")

from mpm_backend.skeleton import H36M17  # noqa: E402
from mpm_backend.tracks import read_people  # noqa: E402

CLIP = Path(__file__).resolve().parents[1] / "examples" / "video"
FRAMES, LAG = 45, 40  # the right-hand walker is the same clip LAG frames later


@pytest.fixture(scope="module")
def two_walkers(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A 1280×480 video: the clip on the left, the clip LAG frames on at the right; and the truth
    (2, FRAMES, 17, 2) in its pixels."""
    capture = cv2.VideoCapture(str(CLIP / "video.mp4"))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    truth = np.load(CLIP / "truth.npz")["joints_2d"]
    path = tmp_path_factory.mktemp("people") / "two.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (1280, 480))
    for t in range(FRAMES):
        writer.write(np.concatenate([frames[t], frames[t + LAG]], axis=1))
    writer.release()
    right = truth[LAG : LAG + FRAMES] + np.array([640.0, 0.0])
    return path, np.stack([truth[:FRAMES], right])


@pytest.fixture(scope="module")
def detected(two_walkers, tmp_path_factory) -> tuple[Path, Path]:
    """`python -m mpm_backend.track VIDEO --people --out --preview` run once on the pair."""
    from mpm_backend.track import main

    folder = tmp_path_factory.mktemp("detected")
    out, movie = folder / "two.npz", folder / "two.avi"
    assert main([str(two_walkers[0]), "--people", "--out", str(out), "--preview", str(movie)]) == 0
    return out, movie


def test_two_walkers_are_two_people_each_on_their_own_joints(two_walkers, detected):
    truth = two_walkers[1]
    people = read_people(detected[0])
    assert len(people) == 2
    assert all(p.num_frames == FRAMES and p.image_size == (1280, 480) for p in people)
    centres = [np.nanmean(p.keypoints[..., 0]) for p in people]
    for source, k in enumerate(np.argsort(centres)):  # left walker, right walker
        points, _ = people[k].to_h36m17()
        found = np.isfinite(points).all(-1).all(-1)
        assert found.mean() >= 0.95
        height = np.ptp(truth[source][..., 1], axis=-1).mean()
        limbs = [H36M17.index(j) for j in ("left_knee", "right_knee", "left_elbow", "right_elbow")]
        error = np.linalg.norm(points[found][:, limbs] - truth[source][found][:, limbs], axis=-1)
        assert np.median(error) / height < 0.05  # the person's own joints, not the other's
        # never the other walker (who is 640 px away)
        assert (np.abs(points[found][..., 0] - truth[source][found][..., 0]) < 200).all()


def test_the_preview_numbers_and_draws_each_walker(two_walkers, detected):
    path, truth = two_walkers
    capture = cv2.VideoCapture(str(detected[1]))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    drawn = capture.read()[1]
    plain = cv2.VideoCapture(str(path)).read()[1]
    for source in range(2):  # the skeleton is drawn on each walker's pelvis
        x, y = truth[source, 0, H36M17.index("pelvis")].round().astype(int)
        patch = np.s_[y - 6 : y + 7, x - 6 : x + 7]
        assert np.abs(drawn[patch].astype(int) - plain[patch].astype(int)).max() > 60
