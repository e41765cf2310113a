"""Several people in one shared world: one camera tilt and one floor, so two people filmed by one
camera keep their distance when their lifts guessed their sizes (and so distances) wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blender_addon import jobs, people
from blender_addon.core import coords, shared_world
from blender_addon.core.world import Camera
from mpm_backend.tracks import Track
from training.data.cameras import Camera as FilmCamera
from training.data.cameras import focal_from_fov, look_at_rotation
from training.data.mocap import load_clip

MOCAP = Path(__file__).resolve().parents[1] / "examples" / "mocap"
W, H, FPS = 1920, 1080, 30.0
EYE, LOOK_AT = np.array([0.0, 3.0, 6.0]), np.array([0.0, 0.0, 0.0])  # a camera 3 m up
PITCH = float(np.degrees(np.arctan2(3.0, 6.0)))  # 26.6° down
NEAR, FAR = 0.0, -1.5  # the people's paths along world Z (metres; the camera at Z = 6)
# The lifts' size guesses: the near person read 8 % too far, the far one 6 % too near.
WRONG = (1.08, 0.94)


def _across(joints: np.ndarray, direction: float, depth: float) -> np.ndarray:
    """A clip walking along +Z turned to walk along `direction` × X at Z = depth, centred."""
    x, z = (joints[..., 2], -joints[..., 0]) if direction > 0 else (-joints[..., 2], joints[..., 0])
    turned = np.stack([x, joints[..., 1], z], axis=-1)
    turned[..., 0] -= (turned[0, 0, 0] + turned[-1, 0, 0]) / 2
    turned[..., 2] += depth - turned[:, 0, 2].mean()
    return turned


@pytest.fixture(scope="module")
def filmed():
    """Two people walking across in opposite directions, 1.5 m apart in depth: truth in the
    camera frame (the backend's axes) and their pixels."""
    walk = load_clip(MOCAP / "cmu_actions_train_walking_1.bvh", target_fps=FPS).joints
    focal = focal_from_fov(65.0, W)
    cam = FilmCamera.from_pose(
        look_at_rotation(EYE, LOOK_AT), EYE, [focal, focal], [W / 2, H / 2], W, H
    )
    truth = [
        cam.world_to_camera(_across(walk, +1, NEAR)),
        cam.world_to_camera(_across(walk, -1, FAR)),
    ]
    return truth, [cam.project(j) for j in truth]


def _lifted(truth: np.ndarray, scale: float) -> dict[str, np.ndarray]:
    """A backend reply whose root solve put the person `scale` × their distance away."""
    return {"joints3d": truth - truth[:, :1], "root": truth[:, 0] * scale}


def _blender(lifted: dict[str, np.ndarray]) -> np.ndarray:
    return coords.camera_clip_to_blender(lifted["joints3d"], lifted["root"])


def _distance_error(a: np.ndarray, b: np.ndarray, truth: list[np.ndarray]) -> float:
    """Median metres between the two pelvises' distance and the true one."""
    true = np.linalg.norm(truth[0][:, 0] - truth[1][:, 0], axis=-1)
    return float(np.median(np.abs(np.linalg.norm(a - b, axis=-1) - true)))


def test_a_known_camera_puts_both_on_one_floor_at_their_true_distance(filmed):
    truth, _ = filmed
    lifted = [_lifted(t, s) for t, s in zip(truth, WRONG, strict=True)]
    before = _distance_error(lifted[0]["root"], lifted[1]["root"], truth)
    shared = shared_world.share_world([_blender(x) for x in lifted], FPS, Camera(PITCH, 0.0))
    roots = [shared.place_root(k, x["root"]) for k, x in enumerate(lifted)]
    after = _distance_error(*roots, truth)
    assert before > 0.4  # the wrong size guesses: 0.45 m off
    assert after < 0.25  # one floor: half of it gone (the blend still trusts the lift a little)
    assert shared.notes == ("", "")
    assert shared.camera_height == pytest.approx(3.0, abs=0.2)
    assert shared.camera.pitch_deg == pytest.approx(PITCH, abs=1e-6)
    assert min(shared.weights) > 0.75  # a steep view: the floor mostly decides


def test_the_tilt_is_estimated_from_everyones_feet(filmed):
    truth, _ = filmed
    joints = [_blender(_lifted(t, 1.0)) for t in truth]
    shared = shared_world.share_world(joints, FPS)
    assert shared.source == "feet"
    assert shared.camera.pitch_deg == pytest.approx(PITCH, abs=3.0)
    assert shared.camera.roll_deg == pytest.approx(0.0, abs=3.0)
    # an estimated tilt counts for less than a given one
    assert max(shared.weights) < 0.8
    assert shared.camera_height == pytest.approx(3.0, abs=0.4)


def test_a_grazing_view_keeps_the_lift_unless_the_tilt_is_known():
    # a camera at eye height, people 6 m away: the floor meets their feet 12° below the horizon
    grazing = np.radians(12.0)
    assert shared_world.floor_weight(grazing, shared_world.ESTIMATED_TILT_NOISE) < 0.1
    assert shared_world.floor_weight(grazing, shared_world.GIVEN_TILT_NOISE) > 0.5
    assert shared_world.floor_weight(np.radians(30.0), shared_world.GIVEN_TILT_NOISE) > 0.85


def test_who_cannot_stand_on_the_floor_keeps_their_own_distance(filmed):
    truth, _ = filmed
    near, far = (_blender(_lifted(t, s)) for t, s in zip(truth, WRONG, strict=True))
    stairs = far.copy()
    half = len(stairs) // 2
    stairs[half:] -= Camera(PITCH, 0.0).up() * 0.4  # the second half two steps lower
    seen_briefly = np.zeros(len(far), bool)
    seen_briefly[:5] = True
    shared = shared_world.share_world(
        [near, None, stairs, far], FPS, Camera(PITCH, 0.0), seen=[None, None, None, seen_briefly]
    )
    assert shared.notes[0] == ""
    assert shared.notes[1] == "no root (no image size)"
    assert "more than one level" in shared.notes[2]
    assert "planted-foot frames" in shared.notes[3]
    assert shared.scales[1:] == (1.0, 1.0, 1.0)
    # alone on the floor, the near person sets the camera height and keeps their distance
    assert shared.scales[0] == pytest.approx(1.0)
    assert "own distance kept (no root" in shared.summary()[1]


def test_people_share_the_world_in_the_scene(filmed):
    """The add-on's own path (`people.prepare_people`): cleaned, levelled, placed joints."""
    truth, pixels = filmed
    tracks = [
        Track(p.astype(np.float32), np.ones(p.shape[:2], np.float32), "h36m17", FPS, (W, H))
        for p in pixels
    ]
    lifted = [_lifted(t, s) for t, s in zip(truth, WRONG, strict=True)]
    options = jobs.LiftOptions(level="KNOWN", camera_pitch=PITCH)
    own, none = people.prepare_people(tracks, lifted, options, shared=False)
    ready, shared = people.prepare_people(tracks, lifted, options)  # a given tilt: shared
    assert none is None and shared is not None
    _, estimated = people.prepare_people(tracks, lifted, jobs.LiftOptions(level="AUTO"))
    assert estimated is None  # an estimated tilt moves no one: each keeps their own solve
    before = _distance_error(own[0].joints[:, 0], own[1].joints[:, 0], truth)
    after = _distance_error(ready[0].joints[:, 0], ready[1].joints[:, 0], truth)
    assert before > 0.4
    assert after < 0.25
    # one floor: both people's planted ankles at the same height
    lows = [np.median(np.min(r.joints[:, list(coords.ANKLES), 2], axis=1)) for r in ready]
    assert abs(lows[0] - lows[1]) < 0.03
