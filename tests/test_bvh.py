"""BVH reader and forward kinematics: hand-computed poses, malformed files, real clips, Blender."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from training.data.bvh import Bvh, BvhError, forward_kinematics, parse_bvh, read_bvh

DATA_DIR = Path(__file__).resolve().parent / "data"

# Channels: hips 6 (Xp Yp Zp Zr Xr Yr), spine 3 (X Y Z), leg 3 (Z X Y), foot 1 (Y) -> 13 columns.
TINY_BVH = """HIERARCHY
ROOT hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT spine
  {
    OFFSET 0 1 0
    CHANNELS 3 Xrotation Yrotation Zrotation
    End Site
    {
      OFFSET 0 2 0
    }
  }
  JOINT leg
  {
    OFFSET 1 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT foot
    {
      OFFSET 0 -3 0
      CHANNELS 1 Yrotation
      End Site
      {
        OFFSET 0 0 1
      }
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.04
0 0 0 0 0 0 0 0 0 0 0 0 0
10 20 30 90 0 0 0 0 0 0 0 0 0
0 0 0 0 0 0 90 90 0 90 90 0 90
"""

TINY_NAMES = ["hips", "spine", "spine_end", "leg", "foot", "foot_end"]

# Worked out by hand with Rx(90): y->z, Ry(90): z->x, Rz(90): x->y, y->-x.
TINY_POSITIONS = np.array(
    [
        # frame 0: rest pose, positions are summed offsets
        [[0, 0, 0], [0, 1, 0], [0, 3, 0], [1, 0, 0], [1, -3, 0], [1, -3, 1]],
        # frame 1: root at (10, 20, 30) turned Rz(90); offsets (x, y, z) become (-y, x, z)
        [[10, 20, 30], [9, 20, 30], [7, 20, 30], [10, 21, 30], [13, 21, 30], [13, 21, 31]],
        # frame 2: spine Rx(90)Ry(90): (0,2,0) -> (0,0,2); leg Rz(90)Rx(90): (0,-3,0) -> (0,0,-3);
        # foot adds Ry(90): (0,0,1) -> Ry (1,0,0) -> Rx (1,0,0) -> Rz (0,1,0)
        [[0, 0, 0], [0, 1, 0], [0, 1, 2], [1, 0, 0], [1, 0, -3], [1, 1, -3]],
    ],
    dtype=float,
)


def _rx(degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


# --------------------------------------------------------------------------------------------------
# Hand-computed kinematics


def test_tiny_skeleton_tables() -> None:
    bvh = parse_bvh(TINY_BVH)
    assert bvh.names == TINY_NAMES
    assert bvh.parents.tolist() == [-1, 0, 1, 0, 3, 4]
    assert bvh.parents.dtype == np.int64
    assert bvh.is_end_site.tolist() == [False, False, True, False, False, True]
    assert bvh.channels[0] == [
        "Xposition",
        "Yposition",
        "Zposition",
        "Zrotation",
        "Xrotation",
        "Yrotation",
    ]
    assert bvh.channels[2] == [] and bvh.channels[4] == ["Yrotation"]
    np.testing.assert_array_equal(bvh.offsets[4], [0, -3, 0])
    assert bvh.motion.shape == (3, 13) and bvh.num_frames == 3
    assert bvh.frame_time == 0.04 and bvh.fps == pytest.approx(25.0)
    assert bvh.index("foot_end") == 5
    with pytest.raises(KeyError, match="no joint named 'toe'"):
        bvh.index("toe")


def test_tiny_positions_match_hand_computation() -> None:
    positions, rotations = forward_kinematics(parse_bvh(TINY_BVH))
    assert positions.shape == (3, 6, 3) and rotations.shape == (3, 6, 3, 3)
    np.testing.assert_allclose(positions, TINY_POSITIONS, atol=1e-9)


def test_tiny_rotations_compose_in_channel_order() -> None:
    bvh = parse_bvh(TINY_BVH)
    _, rotations = forward_kinematics(bvh)
    np.testing.assert_allclose(rotations[0], np.broadcast_to(np.eye(3), (6, 3, 3)), atol=1e-12)
    np.testing.assert_allclose(rotations[1, bvh.index("leg")], _rz(90), atol=1e-12)
    np.testing.assert_allclose(rotations[2, bvh.index("spine")], _rx(90) @ _ry(90), atol=1e-12)
    np.testing.assert_allclose(
        rotations[2, bvh.index("foot")], _rz(90) @ _rx(90) @ _ry(90), atol=1e-12
    )
    for end, parent in (("spine_end", "spine"), ("foot_end", "foot")):
        np.testing.assert_array_equal(rotations[:, bvh.index(end)], rotations[:, bvh.index(parent)])


def test_frame_selection_matches_full_run() -> None:
    bvh = parse_bvh(TINY_BVH)
    full_positions, full_rotations = forward_kinematics(bvh)
    for frames in (slice(1, 3), np.array([2, 0]), np.array([True, False, True])):
        positions, rotations = forward_kinematics(bvh, frames)
        np.testing.assert_allclose(positions, full_positions[frames], atol=1e-12)
        np.testing.assert_allclose(rotations, full_rotations[frames], atol=1e-12)


def _reformat(text: str) -> str:
    """The same file as other exporters write it: CRLF, tabs, 'End site', exponents, spacing."""
    text = text.replace("End Site", "End site").replace("  ", "\t")
    text = text.replace("Frames: 3", "Frames:3").replace("Frame Time: 0.04", "Frame Time:\t4e-2")
    text = text.replace("10 20 30 90", "1.0e1 2E+01 30.000 9.0e1").replace(" ", "  ")
    return text.replace("\n", "\r\n") + "\r\n"


@pytest.mark.parametrize(
    "variant", [_reformat, lambda t: t.replace("\n", "\r")], ids=["crlf-tabs-exponents", "bare-cr"]
)
def test_formatting_variants_parse_identically(variant) -> None:
    bvh = parse_bvh(variant(TINY_BVH))
    assert bvh.names == TINY_NAMES and bvh.frame_time == 0.04
    np.testing.assert_allclose(forward_kinematics(bvh)[0], TINY_POSITIONS, atol=1e-9)


def test_zero_frames_give_empty_motion() -> None:
    text = TINY_BVH.split("Frames:")[0] + "Frames: 0\nFrame Time: 0.04\n"
    bvh = parse_bvh(text)
    assert bvh.motion.shape == (0, 13) and bvh.num_frames == 0
    positions, rotations = forward_kinematics(bvh)
    assert positions.shape == (0, 6, 3) and rotations.shape == (0, 6, 3, 3)


def test_single_frame_and_one_row_motion() -> None:
    lines = TINY_BVH.splitlines()
    text = "\n".join(lines[:-3]).replace("Frames: 3", "Frames: 1") + "\n" + lines[-2] + "\n"
    bvh = parse_bvh(text)
    assert bvh.motion.shape == (1, 13)
    np.testing.assert_allclose(forward_kinematics(bvh)[0][0], TINY_POSITIONS[1], atol=1e-9)


ELEMENTARY = {"X": _rx, "Y": _ry, "Z": _rz}
AXIS_SEQUENCES = [
    "X",
    "Y",
    "Z",
    "XY",
    "YX",
    "ZX",
    "XZ",
    "YZ",
    "ZY",
    "XYZ",
    "XZY",
    "YXZ",
    "YZX",
    "ZXY",
    "ZYX",
]


def _one_joint_bvh(sequence: str, angles: np.ndarray) -> str:
    """A root with only the given rotation channels and an End Site, one row per angle triple."""
    channels = " ".join(f"{axis}rotation" for axis in sequence)
    rows = "\n".join(" ".join(f"{a:.17g}" for a in row) for row in angles)
    return (
        f"HIERARCHY\nROOT r\n{{\n OFFSET 1 2 3\n CHANNELS {len(sequence)} {channels}\n"
        f" End Site\n {{\n  OFFSET 0.3 -0.5 0.7\n }}\n}}\nMOTION\nFrames: {len(angles)}\n"
        f"Frame Time: 0.1\n{rows}\n"
    )


@pytest.mark.parametrize("constant", [False, True], ids=["animated", "constant"])
@pytest.mark.parametrize("sequence", AXIS_SEQUENCES)
def test_any_rotation_order_and_subset_composes_intrinsically(
    sequence: str, constant: bool
) -> None:
    angles = np.random.default_rng(len(sequence) * 7 + ord(sequence[0])).uniform(
        -180, 180, (4, len(sequence))
    )
    if constant:
        angles[:] = angles[0]
    positions, rotations = forward_kinematics(parse_bvh(_one_joint_bvh(sequence, angles)))
    for frame, row in enumerate(angles):
        expected = np.eye(3)
        for axis, angle in zip(sequence, row, strict=True):
            expected = expected @ ELEMENTARY[axis](angle)
        np.testing.assert_allclose(rotations[frame, 0], expected, atol=1e-12)
        np.testing.assert_allclose(
            positions[frame, 1], [1, 2, 3] + expected @ [0.3, -0.5, 0.7], atol=1e-12
        )


# --------------------------------------------------------------------------------------------------
# Position channels on a non-root joint

ARM_BVH = """HIERARCHY
ROOT hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT arm
  {
    OFFSET 1 2 3
    CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
    End Site
    {
      OFFSET 0 1 0
    }
  }
  JOINT slider
  {
    OFFSET 1 2 3
    CHANNELS 4 Yposition Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 0 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.5
0 0 0 0 0 0 1 2 3 0 0 0 2 0 0 0
100 0 0 90 0 0 5 6 7 0 0 90 8 0 0 0
"""


def test_position_channels_replace_the_offset() -> None:
    bvh = parse_bvh(ARM_BVH)
    positions, _ = forward_kinematics(bvh)
    arm, arm_end, slider = bvh.index("arm"), bvh.index("arm_end"), bvh.index("slider")
    # Frame 0: positions equal to the OFFSET give the rest pose; Yposition 2 is the OFFSET's y.
    np.testing.assert_allclose(positions[0, arm], [1, 2, 3], atol=1e-12)
    np.testing.assert_allclose(positions[0, arm_end], [1, 3, 3], atol=1e-12)
    # Frame 1: root at (100, 0, 0) turned Rz(90); arm translation (5, 6, 7) -> (-6, 5, 7), not
    # (5, 6, 7) + OFFSET; the arm's own Xrotation 90 then sends its End Site (0,1,0) to (0,0,1),
    # and Rz(90) leaves that alone.
    np.testing.assert_allclose(positions[1, arm], [94, 5, 7], atol=1e-9)
    np.testing.assert_allclose(positions[1, arm_end], [94, 5, 8], atol=1e-9)
    # Only Yposition: x and z keep the OFFSET's 1 and 3; (1, 8, 3) -> Rz(90) -> (-8, 1, 3).
    np.testing.assert_allclose(positions[1, slider], [92, 1, 3], atol=1e-9)


# --------------------------------------------------------------------------------------------------
# Malformed files


def _tiny_with(old: str, new: str) -> str:
    assert old in TINY_BVH
    return TINY_BVH.replace(old, new, 1)


def _every_row_short() -> str:
    """Each motion row loses its last value, so only the width (not the count) is wrong."""
    header, rows = TINY_BVH.split("Frame Time: 0.04\n")
    short = "\n".join(row.rsplit(" ", 1)[0] for row in rows.splitlines())
    return f"{header}Frame Time: 0.04\n{short}\n"


MALFORMED = {
    "empty": ("", ["empty"]),
    "whitespace only": (" \n\t\n", ["empty"]),
    "no hierarchy": (TINY_BVH.replace("HIERARCHY\n", ""), ["expected HIERARCHY", "line 1"]),
    "unclosed brace": (
        _tiny_with("    }\n  }\n}\nMOTION", "    }\n  }\nMOTION"),
        ["unbalanced braces", "'hips'", "line 2"],
    ),
    "extra closing brace": (
        _tiny_with("}\nMOTION", "}\n}\nMOTION"),
        ["unbalanced braces", "line 30"],
    ),
    "channel count": (
        _tiny_with(
            "CHANNELS 3 Xrotation Yrotation Zrotation", "CHANNELS 4 Xrotation Yrotation Zrotation"
        ),
        ["CHANNELS says 4 but lists 3", "'spine'", "line 9"],
    ),
    "unknown channel": (
        _tiny_with("CHANNELS 1 Yrotation", "CHANNELS 1 Wrotation"),
        ["unknown channel name 'Wrotation'", "line 22"],
    ),
    "repeated channel": (
        _tiny_with("Xrotation Yrotation Zrotation", "Xrotation Yrotation Xrotation"),
        ["repeated", "line 9"],
    ),
    "bad offset": (_tiny_with("OFFSET 0 -3 0", "OFFSET 0 -3 zero"), ["'zero' is not a number"]),
    "no motion": (TINY_BVH.split("MOTION")[0], ["no MOTION section"]),
    "no frame time": (_tiny_with("Frame Time: 0.04\n", ""), ["Frame Time:", "line 32"]),
    "zero frame time": (_tiny_with("Frame Time: 0.04", "Frame Time: 0"), ["positive"]),
    "non-numeric value": (
        _tiny_with("10 20 30 90", "10 abc 30 90"),
        ["motion row 2, value 2 is not a number", "'abc'", "line 34"],
    ),
    "short row": (
        _tiny_with("0 0 0 0 0 0 90 90 0 90 90 0 90", "0 0 0 0 0 0 90 90 0 90 90 0"),
        ["motion row 3 has 12 values, expected 13", "line 35"],
    ),
    "long row": (
        _tiny_with("10 20 30 90", "10 20 30 90 0"),
        ["motion row 2 has 14 values, expected 13"],
    ),
    "every row short": (_every_row_short(), ["motion row 1 has 12 values"]),
    "fewer rows": (
        _tiny_with("Frames: 3", "Frames: 4"),
        ["Frames: says 4 but the motion section has 3 rows", "fewer"],
    ),
    "more rows": (
        _tiny_with("Frames: 3", "Frames: 2"),
        ["Frames: says 2 but the motion section has 3 rows", "more"],
    ),
    "no rows": (TINY_BVH.split("0 0 0 0")[0], ["Frames: says 3", "no rows"]),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_files_raise_clear_errors(name: str) -> None:
    text, expected = MALFORMED[name]
    with pytest.raises(BvhError) as caught:
        parse_bvh(text, source="broken.bvh")
    message = str(caught.value)
    assert message.startswith("broken.bvh")
    for fact in expected:
        assert fact in message, message


def test_missing_file_raises_bvh_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.bvh"
    with pytest.raises(BvhError, match="nowhere.bvh") as caught:
        read_bvh(missing)
    assert isinstance(caught.value.__cause__, OSError)


def test_read_bvh_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "short_row.bvh"
    path.write_text(MALFORMED["short row"][0])
    with pytest.raises(BvhError, match=r"short_row\.bvh: line 35: motion row 3"):
        read_bvh(path)


def test_inconsistent_hand_built_bvh_is_rejected() -> None:
    bvh = parse_bvh(TINY_BVH)
    with pytest.raises(BvhError, match="motion has shape"):
        Bvh(
            bvh.names,
            bvh.parents,
            bvh.offsets,
            bvh.is_end_site,
            bvh.channels,
            bvh.frame_time,
            bvh.motion[:, :5],
        )


# --------------------------------------------------------------------------------------------------
# Real shared clips


def _bone_lengths(bvh: Bvh, positions: np.ndarray) -> np.ndarray:
    """(T, J-1) distance of every non-root joint to its parent."""
    children = np.flatnonzero(bvh.parents >= 0)
    return np.linalg.norm(positions[:, children] - positions[:, bvh.parents[children]], axis=-1)


def _assert_rigid(bvh: Bvh, positions: np.ndarray) -> None:
    """Bone lengths constant over all frames (1e-6 relative) and equal to the OFFSET lengths."""
    lengths = _bone_lengths(bvh, positions)
    scale = lengths.max()
    np.testing.assert_allclose(
        lengths, np.broadcast_to(lengths[0], lengths.shape), rtol=1e-6, atol=1e-9 * scale
    )
    offsets = np.linalg.norm(bvh.offsets[bvh.parents >= 0], axis=-1)
    np.testing.assert_allclose(lengths[0], offsets, rtol=1e-6, atol=1e-9 * scale)


def _length(bvh: Bvh, positions: np.ndarray, child: str, parent: str) -> float:
    return float(np.linalg.norm(positions[0, bvh.index(child)] - positions[0, bvh.index(parent)]))


def test_cmu_actions_clip_is_rigid_metres(mocap_dir: Path) -> None:
    bvh = read_bvh(mocap_dir / "bvh" / "cmu_actions" / "train" / "running_5.bvh")
    assert bvh.num_frames == 151 and bvh.fps == pytest.approx(120.0, rel=1e-4)
    assert (~bvh.is_end_site).sum() == 31 and bvh.is_end_site.sum() == 7
    positions, _ = forward_kinematics(bvh)
    _assert_rigid(bvh, positions)
    assert _length(bvh, positions, "ltibia", "lfemur") == pytest.approx(0.429, abs=1e-3)
    assert _length(bvh, positions, "lfoot", "ltibia") == pytest.approx(0.411, abs=1e-3)
    # Root translation is the position channels as written (first row of the file).
    np.testing.assert_allclose(positions[:, 0], bvh.motion[:, :3], atol=1e-12)


def test_cmu_dance_clip_is_rigid_centimetres(mocap_dir: Path) -> None:
    bvh = read_bvh(mocap_dir / "bvh" / "cmu_dance" / "indian" / "04.bvh")
    assert bvh.fps == pytest.approx(120.0, rel=1e-4)
    assert (~bvh.is_end_site).sum() == 43 and bvh.is_end_site.sum() == 14
    positions, _ = forward_kinematics(bvh)
    _assert_rigid(bvh, positions)
    for side in "lr":
        assert _length(bvh, positions, f"{side}Shin", f"{side}Thigh") == pytest.approx(
            36.8, abs=0.1
        )
        assert _length(bvh, positions, f"{side}Foot", f"{side}Shin") == pytest.approx(45.4, abs=0.1)


@pytest.mark.slow
def test_whole_corpus_reads_with_manifest_frame_counts(mocap_dir: Path) -> None:
    with open(mocap_dir / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 139
    for row in rows:
        bvh = read_bvh(mocap_dir / row["path"])
        assert bvh.num_frames == int(row["frames"]), row["path"]
        assert (~bvh.is_end_site).sum() == int(row["joints"]), row["path"]
        assert bvh.fps == pytest.approx(float(row["fps"]), rel=1e-3), row["path"]
        positions, _ = forward_kinematics(bvh)
        _assert_rigid(bvh, positions)


# --------------------------------------------------------------------------------------------------
# Blender cross-checks (real Blender through the bpy module)


def _blender_export_script():
    """tests/data/make_blender_export.py as a module (tests/data is not a package)."""
    pytest.importorskip("bpy")
    spec = importlib.util.spec_from_file_location(
        "make_blender_export", DATA_DIR / "make_blender_export.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _assert_matches_blender(bvh: Bvh, points: dict[str, list[tuple]], tolerance: float) -> None:
    """Our FK (file axes = Blender armature space for exported files) vs Blender's pose points."""
    assert sorted(points) == sorted(bvh.names)
    positions, _ = forward_kinematics(bvh)
    for name, expected in points.items():
        np.testing.assert_allclose(
            positions[:, bvh.index(name)], np.array(expected), atol=tolerance, rtol=0, err_msg=name
        )


def test_blender_exporter_output_matches_blender_pose(tmp_path: Path) -> None:
    script = _blender_export_script()
    armature = script.build_armature()
    script.animate(armature)
    exported = tmp_path / "export.bvh"
    script.export(armature, exported)
    points = script.pose_points(armature)

    bvh = read_bvh(exported)
    assert bvh.num_frames == script.FRAME_END - script.FRAME_START + 1
    assert bvh.fps == pytest.approx(script.FPS, rel=1e-4)
    # Unconnected bones carry position channels, connected ones only rotations, in native order.
    assert len(bvh.channels[bvh.index("upper_arm.L")]) == 6
    assert bvh.channels[bvh.index("spine.002")] == ["Zrotation", "Xrotation", "Yrotation"]
    assert bvh.channels[bvh.index("forearm.L")] == ["Xrotation", "Zrotation", "Yrotation"]
    _assert_matches_blender(bvh, points, tolerance=1e-4)
    # The committed copy is what this script writes, so other tests can trust it.
    _assert_matches_blender(read_bvh(DATA_DIR / "blender_export.bvh"), points, tolerance=1e-4)


# Blender's importer maps the file's axes with axis_conversion(from_forward, from_up) into Z-up.
IMPORT_AXES = {
    ("-Z", "Y"): np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=float),  # defaults: Y-up file
    ("Y", "Z"): np.eye(3),  # file already Z-up: no conversion
}


@pytest.mark.parametrize(
    ("axes", "scale"),
    [(("-Z", "Y"), 1.0), (("Y", "Z"), 100.0)],
    ids=["default-axes", "no-conversion-cm"],
)
def test_blender_import_of_cmu_clip_matches_fk(mocap_dir: Path, axes, scale: float) -> None:
    bpy = pytest.importorskip("bpy")
    path = mocap_dir / "bvh" / "cmu_actions" / "train" / "running_5.bvh"
    bpy.ops.wm.read_factory_settings(use_empty=True)
    result = bpy.ops.import_anim.bvh(
        filepath=str(path),
        axis_forward=axes[0],
        axis_up=axes[1],
        global_scale=scale,
        frame_start=1,
        use_fps_scale=False,
        rotate_mode="NATIVE",
    )
    assert result == {"FINISHED"}
    armature = next(obj for obj in bpy.data.objects if obj.type == "ARMATURE")
    bvh = read_bvh(path)
    frames = np.array([0, 1, 75, bvh.num_frames - 1])
    positions, _ = forward_kinematics(bvh, frames)
    expected = scale * positions @ IMPORT_AXES[axes].T
    for row, frame in enumerate(frames):
        bpy.context.scene.frame_set(int(frame) + 1)  # file row i is Blender frame frame_start + i
        for pose_bone in armature.pose.bones:
            head = np.array(armature.matrix_world @ pose_bone.head)
            np.testing.assert_allclose(
                head,
                expected[row, bvh.index(pose_bone.name)],
                atol=1e-4 * scale,
                rtol=0,
                err_msg=f"{pose_bone.name} frame {frame}",
            )
