"""ASF/AMC reading and forward kinematics: a hand-computed skeleton, the BVH reader on the same
motion, and the real HDM05 data (upright, human-sized, left on the left, rigid bones)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mpm_backend.skeleton import H36M17
from training.data.asf import (
    AsfError,
    find_skeleton,
    forward_kinematics,
    parse_amc,
    parse_asf,
    read_amc,
    read_asf,
)
from training.data.bvh import Bvh
from training.data.bvh import forward_kinematics as bvh_forward_kinematics
from training.data.mocap import bvh_to_clip, load_clip, read_motion, standing_height

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mocap"
HDM_ASF = EXAMPLES / "HDM_bd.asf"
HDM_AMC = EXAMPLES / "hdm05_bd_rotateArmsBothBackward1Reps_003.amc"
J = H36M17.index

TINY_ASF = """# a hand-made skeleton: C frames that are not the identity, one and two dofs
:version 1.10
:units
  mass 1.0
  length 1.0
  angle deg
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
  begin
     id 1
     name hip
     direction 1 0 0
     length 2
     axis 0 0 90 XYZ
    dof rx
    limits (-180 180)
  end
  begin
     id 2
     name leg
     direction 0 -1 0
     length 3
     axis 0 0 0 XYZ
    dof rx rz
  end
  begin
     id 3
     name spine
     direction 0 0 1
     length 1
     axis 0 0 90 XYZ
    dof rx ry
  end
:hierarchy
  begin
    root hip spine
    hip leg
  end
"""

TINY_AMC = """# made by hand
:FULLY-SPECIFIED
:DEGREES
1
root 1 2 3 0 90 0
hip 90
leg 90 90
spine 90 0
2
root 0 0 0 0 0 0
hip 0
leg 0 0
spine 0 0
"""


def test_hand_computed_skeleton():
    asf = parse_asf(TINY_ASF, "tiny.asf")
    pose = forward_kinematics(asf, parse_amc(TINY_AMC, asf, "tiny.amc"))
    assert pose.names == ["root", "hip", "leg", "leg_end", "spine", "spine_end"]
    assert pose.parents.tolist() == [-1, 0, 1, 2, 0, 4]
    assert pose.is_end_site.tolist() == [False, False, False, True, False, True]
    assert asf.metres_per_unit == pytest.approx(0.0254)
    # Frame 1. Root at (1, 2, 3) turned by Ry(90). hip: rx 90 about its C = Rz(90) axes is a turn
    # of 90° about world y, so G_hip = Ry(180) and its end is root + Ry(180)·(2, 0, 0).
    # leg: rx 90 then rz 90 (M = Rz·Rx) takes (0, -3, 0) to (0, 0, -3); G_hip makes it (0, 0, 3).
    # spine: rx 90 in C = Rz(90) is Ry(90), G = Ry(180), (0, 0, 1) becomes (0, 0, -1).
    expected = {
        "root": (1, 2, 3),
        "hip": (1, 2, 3),
        "leg": (-1, 2, 3),
        "leg_end": (-1, 2, 6),
        "spine": (1, 2, 3),
        "spine_end": (1, 2, 2),
    }
    for name, position in expected.items():
        np.testing.assert_allclose(pose.positions[0, pose.names.index(name)], position, atol=1e-12)
    np.testing.assert_allclose(
        pose.rotations[0, pose.names.index("hip")], np.diag([-1.0, 1.0, -1.0]), atol=1e-12
    )
    # Frame 2 is the rest pose: bones along their directions, every rotation the identity.
    rest = {"leg": (2, 0, 0), "leg_end": (2, -3, 0), "spine_end": (0, 0, 1)}
    for name, position in rest.items():
        np.testing.assert_allclose(pose.positions[1, pose.names.index(name)], position, atol=1e-12)
    np.testing.assert_allclose(pose.rotations[1], np.broadcast_to(np.eye(3), (6, 3, 3)))


def test_radians_and_irregular_frames_give_the_same_pose():
    radians = TINY_ASF.replace("angle deg", "angle rad").replace(
        " 90 XYZ", " 1.5707963267948966 XYZ"
    )
    asf = parse_asf(radians)
    text = (
        "1\nspine 1.5707963267948966 0\nroot 1 2 3 0 1.5707963267948966 0\n"
        "leg 1.5707963267948966 1.5707963267948966\nhip 1.5707963267948966\n"
    )
    pose = forward_kinematics(asf, parse_amc(text, asf))
    np.testing.assert_allclose(pose.positions[0, pose.names.index("leg_end")], (-1, 2, 6))


def test_bad_files_name_the_line():
    asf = parse_asf(TINY_ASF)
    with pytest.raises(AsfError, match=r"line 3: 'leg' has 1 values, its dof needs 2"):
        parse_amc("1\nroot 0 0 0 0 0 0\nleg 5\n", asf, "bad.amc")
    with pytest.raises(AsfError, match="some frames lack bones"):
        parse_amc("1\nroot 0 0 0 0 0 0\nhip 0\n", asf, "short.amc")
    with pytest.raises(AsfError, match="no :hierarchy"):
        parse_asf(TINY_ASF.split(":hierarchy")[0])


def _as_bvh(asf_path: Path, amc_path: Path) -> Bvh:
    """The same motion written as a BVH: per bone the local rotation C·M·C⁻¹ (ZYX Euler) and
    the parent bone's rest vector as OFFSET; derived from the ASF text, not the reader's FK."""
    asf = read_asf(asf_path)
    amc = read_amc(amc_path, asf)
    frames = amc.num_frames
    names, parents, offsets, ends, channels, columns = ["root"], [-1], [], [False], [], []
    root = amc.values["root"]
    order = asf.root_order
    rot = "".join(d[1] for d in order if d.startswith("r"))
    m = Rotation.from_euler(rot, root[:, [order.index("r" + a) for a in rot]], degrees=True)
    local = asf.root_axis @ m.as_matrix() @ asf.root_axis.T
    offsets.append(asf.root_position)
    channels.append(["Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation"])
    columns.append(root[:, [order.index(t) for t in ("tx", "ty", "tz")]])
    columns.append(Rotation.from_matrix(local).as_euler("ZYX", degrees=True))
    joint_of = {}
    leaves = set(range(len(asf.bones))) - {b.parent for b in asf.bones}
    for i, bone in enumerate(asf.bones):
        joint_of[i] = len(names)
        names.append(bone.name)
        parents.append(0 if bone.parent < 0 else joint_of[bone.parent])
        parent_bone = asf.bones[bone.parent] if bone.parent >= 0 else None
        offsets.append(
            np.zeros(3) if parent_bone is None else parent_bone.direction * parent_bone.length
        )
        ends.append(False)
        if bone.dof:
            m = Rotation.from_euler("".join(d[1] for d in bone.dof), amc.values[bone.name], True)
            local = bone.axis @ m.as_matrix() @ bone.axis.T
            channels.append(["Zrotation", "Yrotation", "Xrotation"])
            columns.append(Rotation.from_matrix(local).as_euler("ZYX", degrees=True))
        else:
            channels.append([])
        if i in leaves:
            names.append(f"{bone.name}_end")
            parents.append(joint_of[i])
            offsets.append(bone.direction * bone.length)
            ends.append(True)
            channels.append([])
    motion = np.concatenate(columns, axis=1).reshape(frames, -1)
    return Bvh(
        names=names,
        parents=np.asarray(parents),
        offsets=np.asarray(offsets, dtype=np.float64),
        is_end_site=np.asarray(ends),
        channels=channels,
        frame_time=1 / 120,
        motion=motion,
        source="converted.bvh",
    )


def test_asf_reader_agrees_with_the_bvh_reader_on_the_same_motion():
    bvh = _as_bvh(HDM_ASF, HDM_AMC)
    motion = read_motion(HDM_AMC)
    assert motion.names == bvh.names
    positions, rotations = bvh_forward_kinematics(bvh)
    metres = motion.metres_per_unit
    assert np.abs(motion.positions - positions).max() * metres < 1e-6
    np.testing.assert_allclose(motion.rotations, rotations, atol=1e-9)
    # And the whole pipeline: the BVH's unit is inferred (CMU units), the ASF's is read.
    from_amc, from_bvh = load_clip(HDM_AMC), bvh_to_clip(bvh)
    assert from_amc.metres_per_unit == pytest.approx(from_bvh.metres_per_unit)
    assert np.abs(from_amc.joints - from_bvh.joints).max() < 1e-6


def test_example_clip_is_an_upright_adult_with_left_on_the_left():
    clip = load_clip(HDM_AMC)
    assert clip.family == "cmu_actions" and clip.num_frames == 85 and clip.fps == 120
    assert standing_height(clip) == pytest.approx(1.603, abs=0.002)
    assert (clip.joints[:, J("head"), 1] > clip.joints[:, J("pelvis"), 1] + 0.5).all()
    assert np.abs(np.median(clip.lowest)) < 0.05  # feet on the floor


def test_skeleton_is_found_beside_the_amc_or_asked_for(tmp_path):
    assert find_skeleton(HDM_AMC) == HDM_ASF.resolve()
    (tmp_path / "amc" / "walk").mkdir(parents=True)
    (tmp_path / "asf").mkdir()
    amc = tmp_path / "amc" / "walk" / "07_01.amc"
    amc.write_bytes(HDM_AMC.read_bytes())
    with pytest.raises(FileNotFoundError, match="pass the skeleton"):
        load_clip(amc)
    (tmp_path / "asf" / "07.asf").write_bytes(HDM_ASF.read_bytes())
    (tmp_path / "asf" / "08.asf").write_bytes(HDM_ASF.read_bytes())
    assert find_skeleton(amc) == (tmp_path / "asf" / "07.asf").resolve()
    np.testing.assert_allclose(load_clip(amc).joints, load_clip(HDM_AMC).joints)
    np.testing.assert_allclose(load_clip(amc, skeleton=HDM_ASF).joints, load_clip(HDM_AMC).joints)


def _facing_check(motion) -> np.ndarray:
    """Per frame: (left hip − right hip) × up · toe direction, positive when left is on the
    body's left (canonical x left, y up, z forward: x × y = z)."""
    p = motion.positions
    n = motion.names.index
    left = p[:, n("lfemur")] - p[:, n("rfemur")]
    toes = p[:, n("ltoes")] - p[:, n("lfoot")] + p[:, n("rtoes")] - p[:, n("rfoot")]
    toes[:, 1] = 0.0
    return np.sum(np.cross(left, [0.0, 1.0, 0.0]) * toes, axis=-1)


@pytest.fixture(scope="module")
def hdm05_rows(mocap_dir) -> list[dict]:
    manifest = mocap_dir / "hdm05" / "manifest.csv"
    if not manifest.is_file():
        pytest.skip(f"no HDM05 folder in {mocap_dir}")
    with manifest.open() as f:
        return list(csv.DictReader(f))


def test_real_hdm05_clips_are_rigid_upright_human_and_left_handed_right(mocap_dir, hdm05_rows):
    root = mocap_dir / "hdm05"
    picked = [r for r in hdm05_rows if r["action_or_style"] != "lieDownFloor"][::12]
    assert {r["subject"] for r in picked} == {"bd", "bk", "dg", "mm"}
    facing = []
    for row in picked:
        motion = read_motion(root / row["path"], root / row["skeleton"])
        assert motion.num_frames == int(row["frames"])
        metres = motion.positions * motion.metres_per_unit
        # Bone lengths are constant: every joint keeps its distance to its parent.
        child = np.arange(1, len(motion.names))
        lengths = np.linalg.norm(metres[:, child] - metres[:, motion.parents[child]], axis=-1)
        assert np.ptp(lengths, axis=0).max() < 1e-9, row["path"]
        # The manifest's height is the head bone's top above the lowest joint, 95th percentile.
        lowest = metres[..., 1].min(axis=1)
        top = metres[:, motion.names.index("head_end"), 1] - lowest
        assert np.percentile(top, 95) == pytest.approx(float(row["height_m"]), abs=0.002)
        clip = load_clip(root / row["path"], fps=float(row["fps"]), skeleton=root / row["skeleton"])
        head_over_hips = clip.joints[:, J("head"), 1] - clip.joints[:, J("pelvis"), 1]
        standing = top >= 0.95 * np.percentile(top, 95)
        assert (head_over_hips[standing] > 0.4).all(), row["path"]
        assert abs(np.percentile(clip.lowest, 5)) < 0.05, row["path"]  # feet touch the floor
        # Toes point down in a hop's flight, so the facing check holds in most frames, not all.
        facing.append(_facing_check(motion) > 0)
        assert facing[-1].mean() > 0.6, row["path"]
    assert np.concatenate(facing).mean() > 0.95  # a mirrored skeleton would give about 0


def test_facing_check_agrees_on_a_cmu_bvh():
    motion = read_motion(EXAMPLES / "cmu_actions_train_walking_1.bvh")
    assert (_facing_check(motion)[1:] > 0).mean() > 0.95
