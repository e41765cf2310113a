"""The world-space quality benchmark: its metrics on synthetic motion, and one end-to-end run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from devtools import quality_metrics as qm

J = qm.J
FPS = 30.0


def standing(frames: int = 90) -> np.ndarray:
    """(T, 17, 3) a plausible standing body (Y up, facing +Z, left on +X), pelvis 0.95 m high."""
    pose = np.zeros((17, 3))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        pose[J[f"{side}_hip"]] = [0.1 * sign, 0.95, 0.0]
        pose[J[f"{side}_knee"]] = [0.1 * sign, 0.52, 0.02]
        pose[J[f"{side}_ankle"]] = [0.1 * sign, 0.1, 0.0]
        pose[J[f"{side}_shoulder"]] = [0.18 * sign, 1.45, 0.0]
        pose[J[f"{side}_elbow"]] = [0.22 * sign, 1.17, 0.03]
        pose[J[f"{side}_wrist"]] = [0.24 * sign, 0.92, 0.08]
    pose[J["pelvis"]] = [0.0, 0.95, 0.0]
    pose[J["spine"]] = [0.0, 1.2, 0.0]
    pose[J["thorax"]] = [0.0, 1.45, 0.0]
    pose[J["nose"]] = [0.0, 1.6, 0.1]
    pose[J["head"]] = [0.0, 1.65, 0.0]
    return np.repeat(pose[None], frames, axis=0)


def walking(frames: int = 180, step: int = 15) -> np.ndarray:
    """A body that steps forward (+Z): each foot planted for `step` frames, then swung 0.6 m."""
    joints = standing(frames)
    t = np.arange(frames)
    for k, ankle in enumerate(qm.ANKLES):
        phase = (t + k * step) // (2 * step)  # the feet alternate
        in_swing = ((t + k * step) // step) % 2 == 1
        z = phase * 0.6 + np.where(in_swing, ((t + k * step) % step) / step * 0.6, 0.0)
        lift = np.where(in_swing, 0.12 * np.sin(np.pi * ((t + k * step) % step) / step), 0.0)
        joints[:, ankle, 2] = z
        joints[:, ankle, 1] += lift
    pelvis_z = joints[:, list(qm.ANKLES), 2].mean(axis=1)
    others = [j for j in range(17) if j not in qm.ANKLES]
    joints[:, others, 2] += pelvis_z[:, None]
    return joints


def tilt(joints: np.ndarray, degrees: float, axis: int = 0) -> np.ndarray:
    """The motion turned about the X (axis 0) or Z (axis 2) axis through the origin."""
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    if axis == 0:
        rotation = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    else:
        rotation = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    return joints @ rotation.T


def test_contacts_are_found_on_planted_feet_only():
    contact = qm.contacts(walking())
    assert contact.any(axis=0).all()
    swinging = walking()[:, list(qm.ANKLES), 1] > 0.12
    assert not (contact & swinging).any()


def test_a_tilted_ground_gives_its_slope():
    rng = np.random.default_rng(0)
    gradient = np.array([math.tan(math.radians(4.0)), math.tan(math.radians(-2.0))])
    xz = rng.uniform(-1.0, 1.0, size=(40, 2))
    sides = np.arange(40) % 2
    y = xz @ gradient + np.where(sides == 0, 0.08, 0.11)  # the ankles stand at different heights
    points = np.stack([xz[:, 0], y, xz[:, 1]], axis=1)
    found, heights = qm.fit_ground(points, sides)
    expected = math.degrees(math.atan(np.linalg.norm(gradient)))
    assert abs(qm.slope_deg(found) - expected) < 0.1
    assert np.allclose(heights, [0.08, 0.11], atol=1e-9)


def test_a_walk_up_a_slope_and_on_the_level():
    level = qm.measure(walking(), walking(), rig_floor=0.0, rig_ankle=0.1)
    assert level["ground_slope_deg"] < 0.1
    assert level["below_ground_m"] < 1e-9
    assert abs(level["contact_height_m"]) < 1e-9
    uphill = qm.measure(walking(), tilt(walking(), -5.0), rig_floor=0.0, rig_ankle=0.1)
    assert abs(uphill["ground_slope_deg"] - 5.0) < 0.1
    assert abs(uphill["ground_slope_deg_truth"]) < 0.1


def test_a_straight_walk_does_not_guess_the_slope_across_it():
    # One foot higher than the other (a lopsided skeleton) is no slope.
    rig = walking()
    rig[:, J["left_ankle"], 1] += 0.03
    assert qm.measure(walking(), rig, 0.0, 0.1)["ground_slope_deg"] < 0.1


def test_below_ground_is_the_deepest_ankle_under_its_ground():
    rig = walking()
    rig[50, J["right_ankle"], 1] -= 0.04
    assert abs(qm.measure(walking(), rig, 0.0, 0.1)["below_ground_m"] - 0.04) < 1e-6


def test_a_planted_foot_floating_over_the_floor_is_measured_in_the_truth_s_contacts():
    """A rig whose left foot, planted, floats 4 cm up in a fifth of its contact frames (held
    flat while the ankle rises) reads 4 cm at the p95; swinging feet up high do not count."""
    truth = walking()
    contact = qm.contacts(truth)
    feet = np.where(contact, 0.0, 0.3)  # every foot on the floor when down, high in the swing
    down = np.flatnonzero(contact[:, 0])
    feet[down[::5], 0] = 0.04
    m = qm.measure(truth, truth, 0.0, 0.1, feet_lowest=feet)
    assert m["planted_foot_over_floor_cm"] == pytest.approx(4.0)
    assert math.isnan(m["planted_foot_over_floor_cm_truth"])
    assert qm.measure(truth, truth, 0.0, 0.1, feet_lowest=np.where(contact, 0.0, 0.3))[
        "planted_foot_over_floor_cm"
    ] == pytest.approx(0.0)
    assert "planted_foot_over_floor_cm" not in qm.measure(truth, truth, 0.0, 0.1)


def test_below_the_floor_is_the_lowest_foot_point_not_the_ankle():
    """A kick sweeps the ankle 4 cm under its standing height, the toes 1 cm over the floor: not
    below it; a toe 3 cm through the floor is, whatever its ankle does."""
    truth = walking()
    kick = truth.copy()
    kick[50, J["right_ankle"], 1] -= 0.04
    lowest = np.full(len(truth), 0.01)
    m = qm.measure(truth, kick, 0.0, 0.1, lowest=(lowest, np.zeros(len(truth))))
    assert abs(m["below_ground_m"] - 0.04) < 1e-6  # the ankle's plane reads the kick
    assert m["below_floor_m"] == 0.0 and m["below_floor_m_truth"] == 0.0
    lowest[70] = -0.03
    m = qm.measure(truth, truth, 0.0, 0.1, lowest=(lowest, np.zeros(len(truth))))
    assert abs(m["below_floor_m"] - 0.03) < 1e-9
    assert "below_floor_m" not in qm.measure(truth, truth, 0.0, 0.1)


def test_a_sliding_foot_gives_its_speed():
    truth = walking()
    rig = truth.copy()
    rig[:, J["left_ankle"], 0] += np.arange(len(rig)) * 0.005  # 0.5 cm per frame sideways
    contact = qm.contacts(truth)
    speed = qm.contact_speed_cm(rig, contact)
    left = qm.contact_speed_cm(rig, contact & np.array([True, False]))
    assert np.allclose(left, 0.5)
    assert set(np.round(speed, 9).tolist()) == {0.0, 0.5}  # the right foot stays put
    assert qm.contact_speed_cm(truth, contact).max() < 1e-9


def test_a_foot_held_through_its_swing_is_counted():
    truth = walking()
    rig = truth.copy()
    ankle = J["left_ankle"]
    swinging = qm.horizontal_speed(truth[:, list(qm.ANKLES)]) * 100.0 > qm.SWING_CM
    start = int(np.argmax(swinging[:, 0]))
    end = start + int(np.argmin(swinging[start:, 0]))  # the left foot's first swing
    rig[start:end, ankle, [0, 2]] = rig[start - 1, ankle, [0, 2]]  # held where it stood
    held = qm.measure(truth, rig, 0.0, 0.1)["held_in_swing_pct"]
    assert end - start >= 10 and held == pytest.approx(100.0 * (end - start) / swinging.sum())
    assert qm.measure(truth, truth, 0.0, 0.1)["held_in_swing_pct"] == 0.0


def test_identity_gives_no_error_no_swaps_and_unit_ratios():
    truth = walking()
    rng = np.random.default_rng(1)
    truth = truth + rng.normal(0, 0.002, truth.shape)  # some acceleration to compare
    m = qm.measure(truth, truth, rig_floor=0.0, rig_ankle=0.1)
    assert m["bone_error_median_deg"] < 1e-4 and m["bone_error_p90_deg"] < 1e-4
    assert m["swap_frames"] == 0
    assert m["flips_per_1000"] == 0
    assert math.isclose(m["limb_accel_ratio"], 1.0) and math.isclose(m["root_accel_ratio"], 1.0)


def test_one_rotation_and_a_scale_are_not_errors():
    truth = walking()
    turned = tilt(tilt(truth, 30.0, axis=2), 20.0) * 1.2 + np.array([3.0, 0.5, -1.0])
    m = qm.measure(truth, turned, rig_floor=0.0, rig_ankle=0.1)
    assert m["bone_error_median_deg"] < 1e-4
    assert m["swap_frames"] == 0
    assert math.isclose(m["leg_scale"], 1.2)
    assert math.isclose(m["limb_accel_ratio"], 1.0) or np.isnan(m["limb_accel_ratio"])


def test_bent_knees_show_in_the_legs_error_only():
    truth = walking()
    rig = truth.copy()
    for side, degrees in (("left", 40.0), ("right", -40.0)):  # mirrored: one rotation aligns
        knee, ankle = qm.J[f"{side}_knee"], qm.J[f"{side}_ankle"]
        rig[:, ankle] = truth[:, knee] + tilt(truth[:, ankle] - truth[:, knee], degrees)
    m = qm.measure(truth, rig, rig_floor=0.0, rig_ankle=0.1)
    assert m["leg_bone_error_median_deg"] == pytest.approx(20.0, abs=0.1)  # shins 40, thighs 0
    assert m["other_bone_error_median_deg"] < 1e-3
    assert m["bone_error_median_deg"] < 1e-3  # 2 of 12 bones: the median over all hides them


def test_a_swapped_pair_is_counted():
    truth = walking()
    rig = truth.copy()
    frames = slice(40, 45)
    left, right = J["left_wrist"], J["right_wrist"]
    rig[frames, [left, right]] = rig[frames, [right, left]]
    m = qm.measure(truth, rig, rig_floor=0.0, rig_ankle=0.1)
    assert m["swap_frames"] == 5
    assert math.isclose(m["swaps_per_1000"], 5000.0 / len(truth))


def test_a_flip_is_counted():
    joints = walking()
    joints[60:, J["left_wrist"]] = 2 * joints[60:, J["left_elbow"]] - joints[60:, J["left_wrist"]]
    assert qm.flip_frames(joints) == 1


def test_start_hip_height_against_the_scaled_truth():
    truth = walking()
    rig = truth * 1.1
    rig[..., 1] += 0.05  # the rig stands 5 cm too high
    m = qm.measure(truth, rig, rig_floor=0.0, rig_ankle=0.11)
    assert abs(m["start_hip_error_m"] - 0.05) < 1e-9
    # with the rig's own standing hip height: the truth starts at 0.95 / (leg + 0.1) of its own
    standing = qm.leg_length(truth) + 0.1
    m = qm.measure(truth, rig, rig_floor=0.0, rig_ankle=0.11, rig_hip=1.2)
    assert abs(m["start_hip_expected_m"] - 1.2 * 0.95 / standing) < 1e-9


def test_channels_that_vary():
    motion = np.zeros((10, 9))
    motion[:, 4] = np.linspace(0, 5, 10)
    moving, keyed = qm.varying_channels(motion, [["a"] * 6, [], ["b"] * 3], ["root", "end", "leaf"])
    assert moving == ["root"] and keyed == ["root", "leaf"]


def test_both_clip_sets_are_held_out_and_apart(mocap_dir):
    """Every clip of both sets is a val clip of the shared mocap, and the check set shares no
    clip (nor, for HDM05, any actor) with the set the cleanup was tuned on."""
    from devtools.quality_benchmark import CLIP_SETS, find_clips

    found = {name: find_clips(mocap_dir, len(clips), name) for name, clips in CLIP_SETS.items()}
    assert all(item.split == "val" for clips in found.values() for _, item in clips)
    paths = {name: {item.path for _, item in clips} for name, clips in found.items()}
    assert not paths["default"] & paths["check"]
    actors = {
        name: {Path(p).name.split("_")[1] for p in ps if "HDM_" in p} for name, ps in paths.items()
    }
    assert actors["check"] and not actors["default"] & actors["check"]


@pytest.mark.slow
def test_the_benchmark_end_to_end(tmp_path, mocap_dir):
    pytest.importorskip("bpy")
    from devtools.quality_benchmark import main
    from devtools.quality_report import METRICS

    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nkept\n")
    out = tmp_path / "quality.json"
    code = main(
        [
            "--mocap",
            str(mocap_dir),
            "--clips",
            "1",
            "--frames",
            "60",
            "--cameras",
            "2",
            "--json",
            str(out),
            "--out",
            str(doc),
        ]
    )
    assert code == 0
    data = json.loads(out.read_text())
    assert "kept" in doc.read_text() and "world-quality:start" in doc.read_text()
    assert list(data["runs"]) == ["none", "default", "smoothing", "foot_lock"]
    assert "| foot lock only |" in doc.read_text()
    for run in ("none", "default"):
        overall = data["runs"][run]["overall"]
        for key, *_ in METRICS:
            assert math.isfinite(overall[key]), (run, key)
        views = data["runs"][run]["clips"]
        assert list(views) == ["cmu_walking", "cmu_walking_c1"]  # one row per camera
        for clip in views.values():
            assert clip["frames"] <= 60
            for key, *_ in METRICS:
                assert math.isfinite(clip[key]), (run, key)
        assert 0 < data["runs"][run]["bones"]["moving"] <= data["runs"][run]["bones"]["keyed"]
    assert len(data["targets"]) == 8
    cameras = data["cameras"]
    assert cameras["cmu_walking"]["roll_deg"] != cameras["cmu_walking_c1"]["roll_deg"]
