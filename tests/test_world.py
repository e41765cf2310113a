"""A level world: a pitched and rolled camera's tilt taken out of the motion, the floor at 0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from blender_addon.core import coords, world
from training.data.mocap import load_clip

EXAMPLES = Path(__file__).resolve().parents[1] / "examples/mocap"
FPS = 30.0


def blender_world(joints_y_up: np.ndarray) -> np.ndarray:
    """A Y-up mocap clip in Blender's axes (Z up)."""
    return joints_y_up[..., [0, 2, 1]] * np.array([1.0, -1.0, 1.0])


@pytest.fixture(scope="module")
def walk() -> np.ndarray:
    """Four steps of a CMU walk, 3.3 m along Blender's Y."""
    clip = load_clip(EXAMPLES / "cmu_actions_train_walking_1.bvh", skip_frames=1, target_fps=FPS)
    return blender_world(clip.joints)


def filmed(joints: np.ndarray, camera: world.Camera, noise: float, seed: int = 0) -> np.ndarray:
    """What the lifter returns for a camera with that pitch and roll: the world turned so
    gravity points along the camera's up, plus jitter."""
    turn = coords.rotation_between(world.UP, camera.up())
    rng = np.random.default_rng(seed)
    return joints @ turn.T + rng.normal(0.0, noise, joints.shape)


def floor_slope_deg(joints: np.ndarray, truth: np.ndarray) -> float:
    """Slope of the plane through the lower ankle where the ground truth's foot rests."""
    frames, _ = world.resting_frames(truth, FPS)
    ankles = joints[frames][:, list(coords.ANKLES)]
    ankles = ankles[np.arange(len(frames)), np.argmin(ankles[..., 2], axis=1)]
    design = np.column_stack([np.ones(len(ankles)), ankles[:, :2]])
    _, a, b = np.linalg.lstsq(design, ankles[:, 2], rcond=None)[0]
    return float(np.degrees(np.arctan(np.hypot(a, b))))


@pytest.mark.parametrize(("pitch", "roll"), [(0.0, 0.0), (12.0, 4.0), (-10.0, -5.0), (15.0, 0.0)])
def test_a_tilted_camera_gives_a_level_floor(walk, pitch, roll):
    assert floor_slope_deg(walk, walk) > 1.0  # the lab's own floor, as the ankles see it
    out, level = world.level_world(filmed(walk, world.Camera(pitch, roll), 0.01), FPS)
    assert level.source == "feet"
    assert floor_slope_deg(out, walk) < 0.5
    # the camera it amounts to is the one that filmed, within the lab floor's own slope
    assert level.camera.pitch_deg == pytest.approx(pitch, abs=2.0)
    assert level.camera.roll_deg == pytest.approx(roll, abs=2.0)
    # resting ankles at the ankle height above Z = 0 (within the millimetre the planted ankles'
    # low-passed heights leave), the walk starting over the origin
    resting = world.resting_ankles(out, FPS)
    assert np.median(resting[:, 2]) == pytest.approx(coords.DEFAULT_ANKLE_HEIGHT, abs=0.001)
    np.testing.assert_allclose(out[0, coords.PELVIS, :2], 0.0, atol=1e-9)
    assert out[:, list(coords.ANKLES), 2].min() > coords.DEFAULT_ANKLE_HEIGHT - 0.04


def test_a_known_camera_is_taken_as_given(walk):
    camera = world.Camera(pitch_deg=9.0, roll_deg=-3.0)
    out, level = world.level_world(filmed(walk, camera, 0.0), FPS, camera=camera, ground=False)
    assert level.source == "camera" and level.contacts == 0
    assert level.camera.pitch_deg == pytest.approx(9.0, abs=1e-6)
    assert level.camera.roll_deg == pytest.approx(-3.0, abs=1e-6)
    assert level.tilt_deg == pytest.approx(np.hypot(9.0, 3.0), abs=0.1)
    # the mocap's own world back, up to where it starts
    np.testing.assert_allclose(
        out - out[:1, coords.PELVIS], walk - walk[:1, coords.PELVIS], atol=1e-9
    )


def test_standing_in_place_levels_by_the_trunk(walk):
    """Without travel the resting ankles cannot fix a plane: the trunk's up decides."""
    still = np.repeat(walk[:1], 60, axis=0)
    out, level = world.level_world(filmed(still, world.Camera(12.0, 0.0), 0.002), FPS)
    trunk = out[:, coords.JOINT_INDEX["thorax"]] - out[:, coords.PELVIS]
    upright = walk[0, coords.JOINT_INDEX["thorax"]] - walk[0, coords.PELVIS]
    tilt = lambda v: np.degrees(np.arccos(v[..., 2] / np.linalg.norm(v, axis=-1)))  # noqa: E731
    # the trunk stands as it stood in the mocap, within the prior's pull
    assert abs(np.median(tilt(trunk)) - tilt(upright)) < 9.0
    assert level.camera.pitch_deg == pytest.approx(12.0, abs=9.0)


def test_subject_height_scales_pose_and_path_together(walk):
    out, _ = world.level_world(walk, FPS)
    scaled, factor = world.scale_to_height(out, 1.20)
    assert coords.stature(scaled) == pytest.approx(1.20, rel=1e-6)
    assert factor == pytest.approx(1.20 / coords.stature(out))
    travel = lambda j: np.linalg.norm(j[-1, coords.PELVIS, :2] - j[0, coords.PELVIS, :2])  # noqa: E731
    assert travel(scaled) == pytest.approx(factor * travel(out))
    resting = world.resting_ankles(scaled, FPS)
    assert np.median(resting[:, 2]) == pytest.approx(coords.DEFAULT_ANKLE_HEIGHT, abs=0.005)
    with pytest.raises(ValueError, match="subject height must be a positive number"):
        world.scale_to_height(out, 0.0)


def test_grounding_takes_out_a_path_that_sinks_and_bobs(walk):
    """A root depth error bends the path up and down; the resting feet put it back."""
    level, _ = world.level_world(walk, FPS, ground=False)  # the lab's floor made level
    t = np.arange(len(walk)) / FPS
    drift = -0.15 * t / t[-1] + 0.04 * np.sin(2 * np.pi * 0.7 * t)  # sinks 15 cm, bobs 4 cm
    bent = level.copy()
    bent[..., 2] += drift[:, None]
    error = world.ground_contacts(bent, FPS)[..., 2] - level[..., 2]
    # a planted ankle rises a little as the foot rolls; the grounding holds it at one height
    assert np.abs(error).max() < 0.03
    assert np.median(np.abs(error)) < 0.01


def test_grounding_holds_planted_feet_the_lift_drags_along(walk):
    """A lifted planted foot drifts with the body (here at 45 % of its 1.3 m/s): no foot rests
    by REST_SPEED, yet the feet's contacts still put the sinking, bobbing path back."""
    level, _ = world.level_world(walk, FPS, ground=False)
    dragged = level.copy()
    travel = level[:, coords.PELVIS, :2] - level[:1, coords.PELVIS, :2]
    dragged[:, list(coords.ANKLES), :2] += 0.45 * travel[:, None]
    assert len(world.resting_frames(dragged, FPS)[0]) < 0.1 * len(walk)
    t = np.arange(len(walk)) / FPS
    drift = -0.15 * t / t[-1] + 0.04 * np.sin(2 * np.pi * 0.7 * t)
    bent = dragged.copy()
    bent[..., 2] += drift[:, None]
    error = world.ground_contacts(bent, FPS)[..., 2] - dragged[..., 2]
    assert np.abs(error).max() < 0.03
    assert np.median(np.abs(error)) < 0.01


def test_a_steady_root_keeps_its_pixels_and_loses_the_depth_jitter():
    rng = np.random.default_rng(0)
    t = np.arange(150) / FPS
    truth = np.stack([0.5 * t - 0.4, 0.3 + 0.02 * np.sin(6 * t), 4.0 + 0.8 * t], axis=1)
    jittered = truth * (1.0 + rng.normal(0.0, 0.03, len(t)))[:, None]  # depth error, same ray
    steady = world.steady_root(jittered, FPS)
    np.testing.assert_allclose(steady[:, :2] / steady[:, 2:], jittered[:, :2] / jittered[:, 2:])
    before = np.abs(jittered[:, 2] - truth[:, 2]).mean()
    after = np.abs(steady[:, 2] - truth[:, 2]).mean()
    assert after < 0.3 * before


def test_one_bad_depth_at_the_clip_s_start_does_not_drag_the_body():
    """A person standing 5.2 m away whose first frame's depth reads 0.8 m nearer (as the lift
    gave on a salsa clip): the steady root stays within 2 cm of 5.2 m from the first frame,
    where the low-pass alone, which keeps a clip's end samples, walked it in from 4.4 m over
    half a second."""
    depth = np.full(90, 5.2)
    depth[0] = 4.4
    root = np.stack([np.zeros(90), 0.33 * depth / 5.2, depth], axis=1)  # one pixel, one ray
    steady = world.steady_root(root, FPS)
    assert np.abs(steady[:, 2] - 5.2).max() < 0.02
    assert world.running_median(np.array([1.0, 5.0, 5.0, 5.0]), 3).tolist() == [5.0] * 4


def test_a_clip_that_opens_mid_stance_stands_on_its_first_frames():
    """The lift smooths a stance's first frames: the planted foot creeps at 0.7 m/s and the
    root's depth error lifts the body 5 cm, easing off by frame 10. The foot is down from the
    first frame, so the ground holds it there (a landing read late left the start floating)."""
    num = 60
    frames = np.arange(num)
    joints = np.zeros((num, 17, 3))
    x = 0.7 * np.minimum(frames, 10) / FPS
    left = np.stack([x, np.full(num, 0.1), np.full(num, coords.DEFAULT_ANKLE_HEIGHT)], -1)
    joints[:, coords.JOINT_INDEX["left_ankle"]] = left
    joints[:, coords.JOINT_INDEX["right_ankle"]] = [0.3, -0.1, 0.4]  # up, as in a kick
    joints[:, coords.PELVIS] = [0.0, 0.0, 0.95]
    raised = 0.05 * 0.5 * (1.0 + np.cos(np.pi * np.minimum(frames, 10) / 10))
    joints[..., 2] += raised[:, None]
    grounded = world.ground_contacts(joints, FPS)
    ankle = grounded[:, coords.JOINT_INDEX["left_ankle"], 2]
    assert np.abs(ankle - coords.DEFAULT_ANKLE_HEIGHT).max() < 0.01


def test_a_jog_whose_feet_never_rest_is_levelled_by_its_steps(walk):
    """A runner's lifted planted feet drift with the body (no foot rests by REST_SPEED) and the
    trunk leans forward: the steps, slower than half the body's pace, still give the floor."""
    dragged = walk.copy()
    travel = walk[:, coords.PELVIS, :2] - walk[:1, coords.PELVIS, :2]
    dragged[:, list(coords.ANKLES), :2] += 0.45 * travel[:, None]
    heading = travel[-1] / np.linalg.norm(travel[-1])
    side = np.array([heading[1], -heading[0], 0.0])  # turning about it by +a leans forward
    turn = Rotation.from_rotvec(np.radians(10.0) * side).as_matrix()
    upper = [coords.JOINT_INDEX[n] for n in ("spine", "thorax", "nose", "head")]
    upper += [
        coords.JOINT_INDEX[f"{k}_{n}"]
        for k in ("left", "right")
        for n in ("shoulder", "elbow", "wrist")
    ]
    pelvis = dragged[:, coords.PELVIS][:, None]
    dragged[:, upper] = (dragged[:, upper] - pelvis) @ turn.T + pelvis
    assert len(world.resting_frames(dragged, FPS)[0]) < 10
    out, level = world.level_world(filmed(dragged, world.Camera(8.0, -3.0), 0.01), FPS)
    assert level.source == "steps"
    assert floor_slope_deg(out, walk) < 1.0
    assert level.camera.pitch_deg == pytest.approx(8.0, abs=2.0)


@pytest.mark.parametrize("standing, landed", [(7, 6), (4, 4)])
def test_a_short_hop_is_levelled_by_its_few_still_frames(walk, standing, landed):
    """A hop forward: a few frames standing, a metre through the air, a few landed, the trunk
    leaning 10 deg throughout. Nine (or four) still frames are too few for a floor of their own,
    but with the trunk's prior they correct its lean: the landing stands level with the
    take-off."""
    pose = walk[0] - walk[0, coords.PELVIS] * [1.0, 1.0, 0.0]
    upper = [coords.JOINT_INDEX[n] for n in ("spine", "thorax", "nose", "head")]
    upper += [
        coords.JOINT_INDEX[f"{k}_{n}"]
        for k in ("left", "right")
        for n in ("shoulder", "elbow", "wrist")
    ]
    lean = Rotation.from_rotvec(np.radians(10.0) * np.array([1.0, 0.0, 0.0])).as_matrix()
    pelvis = pose[coords.PELVIS]
    pose[upper] = (pose[upper] - pelvis) @ lean.T + pelvis
    flight = np.arange(1, 15) / 15.0
    forward = np.concatenate([np.zeros(standing), flight, np.ones(landed)])  # metres along Y
    height = np.concatenate([np.zeros(standing), flight * (1.0 - flight), np.zeros(landed)])
    hop = pose[None] + np.column_stack([np.zeros_like(forward), forward, height])[:, None]
    assert len(world.resting_frames(hop, FPS)[0]) < 10
    for pitch, roll in ((8.0, 0.0), (-6.0, 3.0), (12.0, -4.0)):
        out, level = world.level_world(filmed(hop, world.Camera(pitch, roll), 0.01), FPS)
        lowest = out[:, list(coords.ANKLES), 2].min(axis=1)
        rise = lowest[-3:].mean() - lowest[:3].mean()  # landing against take-off, 1 m on
        assert np.degrees(np.arctan(abs(rise))) < 1.5  # trunk alone: 4.8-6.0 deg
        assert level.camera.pitch_deg == pytest.approx(pitch, abs=1.0)
