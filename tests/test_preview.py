"""`python -m mpm_backend.track VIDEO --preview OUT.mp4`: the detections drawn over the video.

Skipped unless the video extra (scripts/install_video.sh) is there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
pytest.importorskip("mediapipe")

from mpm_backend import preview  # noqa: E402
from mpm_backend.skeleton import BLAZEPOSE33  # noqa: E402
from mpm_backend.track import main  # noqa: E402
from mpm_backend.tracks import read_track  # noqa: E402

VIDEO = Path(__file__).resolve().parents[1] / "examples" / "video" / "video.mp4"


def frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return out
        out.append(frame.astype(float))


def test_the_preview_is_the_video_with_the_skeleton_on_the_person(tmp_path, capsys):
    out, track_path = tmp_path / "preview.mp4", tmp_path / "track.json"
    assert main([str(VIDEO), "--preview", str(out), "--out", str(track_path)]) == 0
    assert f"wrote the preview {out}: 108 frames" in capsys.readouterr().out
    source, drawn = cv2.VideoCapture(str(VIDEO)), cv2.VideoCapture(str(out))
    for prop in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT, cv2.CAP_PROP_FPS):
        assert drawn.get(prop) == source.get(prop)  # 640, 480, 30
    before, after = frames(VIDEO), frames(out)
    assert len(after) == len(before) == 108

    track = read_track(track_path)
    hip = BLAZEPOSE33.index("left_hip")
    changed, elsewhere = [], []
    for index in range(0, 108, 10):
        u, v = np.round(track.keypoints[index, hip]).astype(int)
        near = np.abs(after[index] - before[index])[v - 2 : v + 3, u - 2 : u + 3]
        changed.append(near.mean())
        elsewhere.append(np.abs(after[index] - before[index])[10:60, 10:60].mean())  # a corner
    # Measured: 80-110 grey levels on the joint's dot, 2 in the empty corner (codec noise).
    assert min(changed) > 40 and max(elsewhere) < 5, (changed, elsewhere)


def test_confident_joints_are_dots_and_doubtful_ones_hollow_circles():
    frame = np.zeros((200, 200, 3), np.uint8)
    points = np.full((33, 2), np.nan)
    confidence = np.zeros(33)
    left, right = BLAZEPOSE33.index("left_hip"), BLAZEPOSE33.index("right_hip")
    points[left], confidence[left] = (50, 100), 0.9
    points[right], confidence[right] = (150, 100), 0.1  # under the threshold
    preview.draw(cv2, frame, points, confidence, BLAZEPOSE33)
    assert tuple(frame[100, 50]) == preview.LEFT  # filled, in the left side's colour
    # hollow: inside the ring (radius 4) the frame is as it was, off the line through its centre
    assert frame[98, 150].max() == frame[102, 150].max() == 0
    assert frame[96, 150].max() > 100 and frame[104, 150].max() > 100
    assert frame[100, 60:140].max() > 100  # a thin line joins them


def test_a_preview_that_is_not_a_video_is_refused_before_detecting(tmp_path, capsys):
    assert main([str(VIDEO), "--preview", str(tmp_path / "preview.gif")]) == 2
    error = capsys.readouterr().err
    assert "preview.gif: a preview is a video, write it as OUT.mp4 or OUT.avi" in error
    with pytest.raises(preview.PreviewError, match="does not exist"):
        preview.check_output(tmp_path / "missing" / "preview.mp4")
    with pytest.raises(SystemExit):  # neither a track nor a preview asked for
        main([str(VIDEO)])
