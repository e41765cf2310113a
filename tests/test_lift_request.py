"""One rule for a lift's fps and image size, and one value (`LiftRequest`) for its inputs: the
track reader, the client and the server refuse the same values, and nothing relies on order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mpm_backend import protocol as wire
from mpm_backend.lift_request import LiftRequest, check_fps, check_image_size, focal_from_fov
from mpm_backend.serve import _fps, _image_size
from mpm_backend.tracks import Track, TrackError, read_track

EXAMPLE = "examples/tracks/walking_coco.json"
BAD_FPS = [0, -25, math.nan, math.inf, "thirty", None, True]
BAD_SIZES = [(0, 720), (1280,), (1280.5, 720), (2_000_000, 720), "1920x1080", (True, 720)]


def test_good_values_come_back_normalised():
    assert check_fps(30) == 30.0 and check_fps(29.97) == 29.97
    assert check_image_size((1920.0, 1080)) == (1920, 1080)
    assert check_image_size(np.array([640, 480])) == (640, 480)


@pytest.mark.parametrize("value", BAD_FPS)
def test_bad_fps_is_refused_alike_everywhere(value, tmp_path):
    with pytest.raises(ValueError, match="fps must be"):
        check_fps(value)
    with pytest.raises(ValueError, match="fps must be"):
        LiftRequest(np.zeros((2, 17, 2)), "coco17", value)
    if value is not None:  # None: read_track's "the file says"
        with pytest.raises(TrackError, match="the fps argument: fps must be"):
            read_track(EXAMPLE, fps=value)
    message = wire.Message({"op": "lift", "params": {"fps": value}})
    with pytest.raises(wire.ProtocolError) as caught:
        _fps(message)
    assert caught.value.code == wire.BAD_PARAMS and "fps" in caught.value.message


@pytest.mark.parametrize("size", BAD_SIZES)
def test_bad_image_size_is_refused_alike_everywhere(size):
    with pytest.raises(ValueError, match="image_size must be"):
        check_image_size(size)
    with pytest.raises(TrackError, match="the image_size argument: image_size must be"):
        read_track(EXAMPLE, image_size=size)
    with pytest.raises(ValueError, match="image_size must be"):
        Track(np.zeros((1, 17, 2)), np.ones((1, 17)), "coco17", image_size=size)
    message = wire.Message({"op": "lift", "params": {"fps": 30, "image_size": size}})
    with pytest.raises(wire.ProtocolError, match="image_size must be") as caught:
        _image_size(message)
    assert caught.value.code == wire.BAD_PARAMS


def test_a_request_from_a_track_passes_everything_by_keyword():
    track = read_track(EXAMPLE, fps=30, image_size=(1920, 1080))
    request = LiftRequest.from_track(track, threshold=0.25)
    arguments = request.arguments()
    assert arguments["keypoints"] is track.keypoints and arguments["layout"] == track.layout
    assert arguments["fps"] == track.fps and arguments["image_size"] == (1920, 1080)
    assert arguments["confidence"] is track.confidence and arguments["threshold"] == 0.25
    assert request.params() == {"fps": track.fps, "image_size": [1920, 1080], "threshold": 0.25}


def test_a_focal_length_needs_an_image_size_and_goes_on_the_wire():
    track = read_track(EXAMPLE, fps=30, image_size=(1920, 1080))
    request = LiftRequest.from_track(track, focal_px=1400)
    assert request.arguments()["focal_px"] == 1400.0 and request.params()["focal_px"] == 1400.0
    for bad, said in ((0, "positive number of pixels"), ("wide", "a number of pixels")):
        with pytest.raises(ValueError, match=said):
            LiftRequest.from_track(track, focal_px=bad)
    with pytest.raises(ValueError, match="focal_px needs image_size"):
        LiftRequest(track.keypoints, track.layout, 30.0, focal_px=1400)
    # a 65 degree lens across 1920 pixels
    assert focal_from_fov(65.0, 1920) == pytest.approx(1506.9, abs=0.1)
