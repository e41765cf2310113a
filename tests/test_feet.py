"""Feet that plant (blender_addon.core.feet, through retarget.solve), numpy only: a CMU walk on
the Blender meta-rig's rest pose. In contact a foot lies as flat as at rest, rolling onto its toe
as the ankle rises, and points where the pelvis points; in the air it follows the shin; in
between it blends without a jump.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blender_addon.core import coords, feet, retarget, rigmaps
from blender_addon.core.coords import JOINT_INDEX as J
from blender_addon.core.retarget import RestPose, pose_world_matrices

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mocap"
FEET = ("foot.L", "foot.R")
TOES = ("toe.L", "toe.R")

# The Human meta-rig's rest pose (Add > Armature > Human (Meta-Rig), Blender 4.2), the bones the
# map and the legs need: (name, parent, head, tail, roll), armature space, Z up, facing -Y.
METARIG = [
    ("spine", None, (0.0, 0.0552, 1.0099), (0.0, 0.0172, 1.1573), 0.0),
    ("spine.001", "spine", (0.0, 0.0172, 1.1573), (0.0, 0.0004, 1.2929), 0.0),
    ("spine.002", "spine.001", (0.0, 0.0004, 1.2929), (0.0, 0.0059, 1.4657), 0.0),
    ("spine.003", "spine.002", (0.0, 0.0059, 1.4657), (0.0, 0.0114, 1.6582), 0.0),
    ("spine.004", "spine.003", (0.0, 0.0114, 1.6582), (0.0, -0.013, 1.7197), 0.0),
    ("spine.005", "spine.004", (0.0, -0.013, 1.7197), (0.0, -0.0247, 1.7813), 0.0),
    ("spine.006", "spine.005", (0.0, -0.0247, 1.7813), (0.0, -0.0247, 1.9796), 0.0),
    ("shoulder.L", "spine.003", (0.0183, -0.0684, 1.6051), (0.1694, 0.0205, 1.605), 0.0004),
    ("upper_arm.L", "shoulder.L", (0.1953, 0.0267, 1.5846), (0.4424, 0.0885, 1.4491), 2.0724),
    ("forearm.L", "upper_arm.L", (0.4424, 0.0885, 1.4491), (0.6594, 0.0492, 1.3061), 2.1535),
    ("hand.L", "forearm.L", (0.6594, 0.0492, 1.3061), (0.7234, 0.0412, 1.2585), 2.2103),
    ("shoulder.R", "spine.003", (-0.0183, -0.0684, 1.6051), (-0.1694, 0.0205, 1.605), -0.0004),
    ("upper_arm.R", "shoulder.R", (-0.1953, 0.0267, 1.5846), (-0.4424, 0.0885, 1.4491), -2.0724),
    ("forearm.R", "upper_arm.R", (-0.4424, 0.0885, 1.4491), (-0.6594, 0.0492, 1.3061), -2.1535),
    ("hand.R", "forearm.R", (-0.6594, 0.0492, 1.3061), (-0.7234, 0.0412, 1.2585), -2.2103),
    ("thigh.L", "spine", (0.098, 0.0124, 1.072), (0.098, -0.0286, 0.5372), 0.0),
    ("shin.L", "thigh.L", (0.098, -0.0286, 0.5372), (0.098, 0.0162, 0.0852), 0.0),
    ("foot.L", "shin.L", (0.098, 0.0162, 0.0852), (0.098, -0.0934, 0.0167), 0.0),
    ("toe.L", "foot.L", (0.098, -0.0934, 0.0167), (0.098, -0.1606, 0.0167), -0.0),
    ("thigh.R", "spine", (-0.098, 0.0124, 1.072), (-0.098, -0.0286, 0.5372), 0.0),
    ("shin.R", "thigh.R", (-0.098, -0.0286, 0.5372), (-0.098, 0.0162, 0.0852), 0.0),
    ("foot.R", "shin.R", (-0.098, 0.0162, 0.0852), (-0.098, -0.0934, 0.0167), -0.0),
    ("toe.R", "foot.R", (-0.098, -0.0934, 0.0167), (-0.098, -0.1606, 0.0167), 0.0),
    ("pelvis.L", "spine", (0.0, 0.0552, 1.0099), (0.1112, -0.0451, 1.1533), -1.0756),
    ("pelvis.R", "spine", (-0.0, 0.0552, 1.0099), (-0.1112, -0.0451, 1.1533), 1.0756),
    ("breast.L", "spine.003", (0.1184, 0.0485, 1.4596), (0.1184, -0.0907, 1.4596), 0.0),
    ("breast.R", "spine.003", (-0.1184, 0.0485, 1.4596), (-0.1184, -0.0907, 1.4596), -0.0),
]


def metarig_rest() -> RestPose:
    return RestPose.from_head_tail_roll(METARIG)


def metarig_map(names) -> rigmaps.RigMap:
    return rigmaps.resolve(rigmaps.builtin_rig_maps()["blender_metarig"], names)


def walking(step: int = 1) -> tuple[np.ndarray, float]:
    """The shipped CMU walk (120 fps) in Blender axes, ankles 5 cm over Z = 0 as the solver
    gets them; ``step`` > 1 keeps every step-th frame."""
    from training.data.mocap import load_clip

    clip = load_clip(EXAMPLES / "cmu_actions_train_walking_1.bvh", skip_frames=1)
    y_up = clip.joints[::step]
    joints = np.stack([y_up[..., 0], -y_up[..., 2], y_up[..., 1]], -1)  # Y up -> Z up
    lowest = joints[:, [J["left_ankle"], J["right_ankle"]], 2].min()
    joints[..., 2] += coords.DEFAULT_ANKLE_HEIGHT - lowest
    return joints, clip.fps / step


@pytest.fixture(scope="module")
def walk():
    rest = metarig_rest()
    rig_map = metarig_map(rest.names)
    joints, fps = walking()
    result = retarget.solve(joints, rest, rig_map, fps=fps)
    pose = pose_world_matrices(rest, result.rotations, result.locations)  # what Blender shows
    return rest, rig_map, joints, fps, result, pose


def elevation_deg(directions: np.ndarray) -> np.ndarray:
    """Angle of (..., 3) unit directions above the floor (Z up), degrees."""
    return np.degrees(np.arcsin(np.clip(directions[..., 2], -1.0, 1.0)))


def heading_deg(directions: np.ndarray) -> np.ndarray:
    """Horizontal heading of (..., 3) directions about +Z, degrees."""
    return np.degrees(np.arctan2(directions[..., 1], directions[..., 0]))


def wrap_deg(a: np.ndarray) -> np.ndarray:
    return (a + 180.0) % 360.0 - 180.0


def step_angles(rotations: np.ndarray) -> np.ndarray:
    """Angle (degrees) between consecutive (T, 3, 3) rotations."""
    rel = np.einsum("tji,tjk->tik", rotations[:-1], rotations[1:])
    cos = (np.trace(rel, axis1=1, axis2=2) - 1) / 2
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def test_contacts_found_on_the_walk(walk):
    *_, result, _ = walk
    assert result.contacts is not None and result.contacts.shape == (len(result.contacts), 2)
    share = result.contacts.mean(axis=0)
    assert np.all(share > 0.25) and np.all(share < 0.7), share  # each foot down a good part
    assert np.all((result.foot_weights >= 0) & (result.foot_weights <= 1))
    assert np.all(result.foot_weights[result.contacts] == 1.0)


def lowest_mm(rest: RestPose, foot: str, pose: dict[str, np.ndarray]) -> np.ndarray:
    """(T,) the posed foot's lowest point (its bones' heads and tails, toes too, each as posed)
    over its rest lowest point (the rig's floor), millimetres."""
    names = feet._subtree(rest, foot)
    ends = [pose[b][:, 2, 3] + e * rest[b].length * pose[b][:, 2, 1] for b in names for e in (0, 1)]
    rest_low = min(min(rest[b].head[2], rest[b].tail[2]) for b in names)
    return 1000.0 * (np.min(ends, axis=0) - rest_low)


def test_planted_foot_lies_flat_then_rolls_onto_its_toe(walk):
    """In contact the sole lies at the rest pose's angle to the floor (within 3 degrees) while
    the ankle is down; as the ankle rises before lift-off the foot pitches onto its toes, which
    bend at the ball and stay flat on the floor while the heel comes up, then tilt as the foot
    pivots on their tips; the foot stays on the floor (within 3 cm over it, and not under it):
    held flat it floats up to 12 cm, and following the shin it is tens of degrees off
    throughout."""
    rest, rig_map, joints, fps, result, pose = walk
    shin_only = retarget.solve(joints, rest, rig_map, fps=fps, contacts=np.zeros((len(joints), 2)))
    before = pose_world_matrices(rest, shin_only.rotations, shin_only.locations, bones=FEET)
    flat = []
    for k, foot in enumerate(FEET):
        down = result.contacts[:, k]
        rest_angle = elevation_deg(rest.rotation(foot)[:, 1])  # the sole's axis, head to tail
        pitch = elevation_deg(pose[foot][:, :3, 1]) - rest_angle
        error = np.abs(pitch)
        drop = rest[foot].head[2] - 0.0167  # the rest ankle over the rest foot's lowest point
        flat_low = 1000.0 * (pose[foot][:, 2, 3] - rest[foot].head[2])  # if held flat
        flat.append(error[down & (flat_low < 2000.0 * feet.SOLE * drop)])  # it would touch
        low = lowest_mm(rest, foot, pose)[down]
        assert -5.0 < low.min() and low.max() < 30.0, (foot, low.min(), low.max())
        assert flat_low[down].max() > 100.0  # the ankle does rise 10 cm in contact
        assert error[down].max() > 30.0  # ... and the foot rolls
        following = np.abs(elevation_deg(before[foot][down, :3, 1]) - rest_angle)
        assert np.median(following) > 5.0, (foot, np.median(following))
        toe = elevation_deg(pose[TOES[k]][:, :3, 1]) - elevation_deg(rest.rotation(TOES[k])[:, 1])
        peeling = down & (pitch < -10.0) & (pitch > -feet.TOE_FLAT_DEG)  # the heel coming up
        assert peeling.sum() > 10 and np.abs(toe[peeling]).max() < 0.5, foot  # toes flat
        pivoting = down & (pitch < -feet.TOE_FLAT_DEG - 5.0)
        assert np.all(toe[pivoting] < -5.0) and np.all(toe[pivoting] >= pitch[pivoting] - 0.5)
    # the walk's right ankle stands 2 cm higher: that foot rolls (on its ball, a few degrees for
    # a few millimetres)
    flat = np.concatenate(flat)
    assert len(flat) > 10 and flat.max() < 3.0, (len(flat), flat.max())


def test_planted_foot_points_where_the_pelvis_points(walk):
    """In contact the foot's heading turns with the hips' heading since rest (within 3 degrees),
    so a turning walk turns the feet, keeping the rig's own foot splay."""
    rest, _, joints, _, result, pose = walk
    hips = joints[:, J["left_hip"]] - joints[:, J["right_hip"]]
    rest_hips = result.rest_joints[J["left_hip"]] - result.rest_joints[J["right_hip"]]
    pelvis_turn = heading_deg(hips) - heading_deg(rest_hips)
    assert np.ptp(pelvis_turn) > 5.0  # the walk's pelvis does turn
    for k, foot in enumerate(FEET):
        down = result.contacts[:, k]
        foot_turn = heading_deg(pose[foot][down, :3, 1]) - heading_deg(rest.rotation(foot)[:, 1])
        assert np.abs(wrap_deg(foot_turn - pelvis_turn[down])).max() < 3.0, foot


def test_foot_in_the_air_follows_the_shin(walk):
    """Out of contact (and past the blend) the foot's basis is identity: it follows the shin,
    as an unmapped bone does; and its toes follow it."""
    *_, result, _ = walk
    for k, foot in enumerate(FEET):
        air = result.foot_weights[:, k] == 0.0
        assert air.sum() > 0.05 * len(air)  # a walk: 40 % swing, less the blends
        for bone in (foot, TOES[k]):
            assert np.allclose(np.abs(result.rotations[bone][air, 0]), 1.0, atol=1e-9), bone


@pytest.mark.parametrize("step", [1, 4])  # 120 and 30 fps
def test_foot_never_jumps(step):
    """Landing and lifting blend over a few frames: the foot turns under 15 degrees a frame,
    at 120 fps and at 30 fps, and its quaternions keep their sign."""
    rest = metarig_rest()
    joints, fps = walking(step)
    result = retarget.solve(joints, rest, metarig_map(rest.names), fps=fps)
    for foot in FEET:
        assert step_angles(result.world_rotations[foot]).max() < 15.0, foot
        q = result.rotations[foot]
        assert np.min(np.sum(q[1:] * q[:-1], axis=-1)) > 0, foot
        blend = (result.foot_weights > 0) & (result.foot_weights < 1)
        assert blend.any()


def test_contact_weights_ease_in_and_out():
    contacts = np.zeros((30, 2), dtype=bool)
    contacts[10:20, 0] = True
    weights = feet.contact_weights(contacts, blend_frames=4)
    assert np.all(weights[10:20, 0] == 1.0) and np.all(weights[:, 1] == 0.0)
    assert np.all(weights[:6, 0] == 0.0) and np.all(weights[24:, 0] == 0.0)
    ramp = weights[5:11, 0]
    assert np.all(np.diff(ramp) > 0)  # easing in, then symmetric out
    assert np.allclose(weights[19:25, 0], ramp[::-1])
    assert weights[9, 0] == pytest.approx(0.8**2 * (3 - 2 * 0.8))  # smoothstep, one frame out


def test_armature_object_transform_keeps_feet_flat(walk):
    """An armature rotated 90 degrees about X and scaled 0.01 (an FBX import; armature space Y
    up in centimetres): in world space the feet get the plain armature's rotations."""
    rest, rig_map, joints, fps, result, _ = walk
    x_minus_90 = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # Z up -> Y up

    def cm_y_up(b: retarget.RestBone) -> retarget.RestBone:
        matrix = np.eye(4)
        matrix[:3, :3] = x_minus_90 @ b.matrix_local[:3, :3]
        matrix[:3, 3] = 100.0 * x_minus_90 @ b.head
        head, tail = 100.0 * x_minus_90 @ b.head, 100.0 * x_minus_90 @ b.tail
        return retarget.RestBone(b.name, b.parent, matrix, head, tail, 100.0 * b.length)

    matrix_world = np.eye(4)
    matrix_world[:3, :3] = 0.01 * x_minus_90.T
    turned = retarget.solve(
        joints, RestPose(cm_y_up(b) for b in rest.bones), rig_map,
        armature_matrix=matrix_world, fps=fps,
    )  # fmt: skip
    assert np.array_equal(turned.contacts, result.contacts)
    for foot in FEET:
        world = x_minus_90.T @ turned.world_rotations[foot]  # bone axes in world axes
        assert np.allclose(world, result.world_rotations[foot], atol=1e-6), foot


def foot_lowest(rest: RestPose, result) -> np.ndarray:
    """(T, 2) the lowest head or tail of each foot and its toe, metres above where it is at rest
    (the rest foot stands on the floor)."""
    pose = pose_world_matrices(rest, result.rotations, result.locations)
    return np.stack([lowest_mm(rest, foot, pose) / 1000.0 for foot in FEET], axis=1)


def test_toes_never_go_through_the_floor():
    """A foot following a shin tilted forward near the floor would put its toes centimetres
    under it; the foot pitches up about its ankle (easing in and out over 0.1 s) so its lowest
    point stays within a sole's thickness of the floor, touching it where needed."""
    rest = metarig_rest()
    rig_map = metarig_map(rest.names)
    joints, fps = walking(4)
    joints[..., 2] -= 0.02  # the lifted ankles a little low: the shin-following toes sink
    never = retarget.solve(joints, rest, rig_map, fps=fps, contacts=np.zeros((len(joints), 2)))
    lowest = foot_lowest(rest, never)
    sole = feet.SOLE * (rest["foot.L"].head[2] - rest["toe.L"].tail[2])  # 4 mm on this rig
    assert lowest.min() > -sole - 0.002  # the 0.5 degree pitch steps: under 2 mm more
    assert np.isclose(lowest, -sole, atol=0.002).sum() > 5  # it touches


def test_given_contacts_are_used():
    rest = metarig_rest()
    rig_map = metarig_map(rest.names)
    joints, fps = walking(4)
    never = retarget.solve(joints, rest, rig_map, fps=fps, contacts=np.zeros((len(joints), 2)))
    lowest = foot_lowest(rest, never)
    for k, foot in enumerate(FEET):  # following the shin, unless its toes would go under
        followed = np.isclose(np.abs(never.rotations[foot][:, 0]), 1.0, atol=1e-9)
        assert followed.mean() > 0.5, foot
        assert lowest[~followed, k].min() > -0.007, foot  # the sole, 5 mm, and 2 mm of steps
    touching = np.mean(lowest < 0.01, axis=0)  # a toe or the sole within 1 cm of the floor
    assert np.all(touching < 0.4), touching  # the swing's, and a stance's ankle 1-2 cm up
    always = retarget.solve(joints, rest, rig_map, fps=fps, contacts=np.ones((len(joints), 2)))
    lowest = foot_lowest(rest, always)
    for k, foot in enumerate(FEET):  # planted all along: flat, or rolled onto the floor,
        y = always.world_rotations[foot][:, :, 1]  # and a foot swinging high barely turned
        pitch = elevation_deg(y) - elevation_deg(rest.rotation(foot)[:, 1])
        assert np.mean(lowest[:, k] < 0.01) > 0.7, foot
        assert np.all(lowest[:, k] > -0.007) and np.abs(pitch).max() <= feet.MAX_ROLL_DEG, foot
    with pytest.raises(ValueError, match="contacts"):
        retarget.solve(joints, rest, rig_map, contacts=np.zeros((3, 2)))


# --------------------------------------------------------------------------- rig maps


def _map_with(feet_entries: dict, root: str = "hips") -> dict:
    bones = {
        "hips": {"direction": ["right_hip", "left_hip"], "twist": {"line": ["pelvis", "spine"]}},
        **feet_entries,
    }
    return {"family": "test", "root": root, "bones": bones}


@pytest.mark.parametrize(
    ("entries", "root", "message"),
    [
        ({"foot_L": {"foot": "middle"}}, "hips", "foot_L.*'left' or 'right'.*'middle'"),
        ({"foot_L": {"foot": "left", "direction": ["left_knee", "left_ankle"]}}, "hips",
         "foot_L.*just \\{foot: left\\}.*takes no direction"),
        ({"foot_L": {"foot": "left"}, "foot_L2": {"foot": "left"}}, "hips",
         "foot_L2.*left foot is already 'foot_L'"),
        ({"foot_L": {"foot": "left"}}, "foot_L", "root 'foot_L' is a foot"),
        ({"foot_L": {"side": "left"}}, "hips", "foot_L.*'foot: left' or 'foot: right'"),
        ({"foot_L": "left"}, "hips", "foot_L.*'foot: left' or 'foot: right'"),
    ],
)  # fmt: skip
def test_malformed_foot_entry_is_a_clear_error(entries, root, message):
    with pytest.raises(rigmaps.RigMapError, match=message):
        rigmaps.parse_rig_map(_map_with(entries, root), "test.yaml")


def test_foot_entry_parses_and_takes_the_prefix():
    rig_map = rigmaps.parse_rig_map(_map_with({"LeftFoot": {"foot": "left"}}))
    assert dict(rig_map.feet) == {"LeftFoot": "left"}
    assert rig_map.bone_names == ("hips",) and "LeftFoot" not in rig_map.required_bones()
    assert dict(rig_map.with_prefix("mixamorig:").feet) == {"mixamorig:LeftFoot": "left"}


def test_shipped_maps_plant_the_feet():
    maps = rigmaps.builtin_rig_maps()
    for family in ("blender_metarig", "rigify", "mixamo", "cmu_bvh", "cmu_motionbuilder", "daz"):
        assert sorted(maps[family].feet.values()) == ["left", "right"], family
    assert dict(maps["blender_metarig"].feet) == {"foot.L": "left", "foot.R": "right"}
    assert dict(maps["rigify"].feet) == {"foot_fk.L": "left", "foot_fk.R": "right"}


def test_rig_without_a_foot_bone_still_retargets():
    """Feet are extra: a rig with the meta-rig's names but no foot.R loses that foot from the
    map, with a warning naming it, and the solve keys the other."""
    rest = RestPose.from_head_tail_roll([b for b in METARIG if b[0] not in ("foot.R", "toe.R")])
    rig_map = metarig_map(rest.names)
    assert dict(rig_map.feet) == {"foot.L": "left"}
    assert any("foot.R" in w for w in rig_map.warnings)
    joints, fps = walking(4)
    result = retarget.solve(joints, rest, rig_map, fps=fps)
    assert "foot.L" in result.rotations and "foot.R" not in result.rotations
    # an unresolved map naming a bone the armature lacks: the solve skips that foot too
    full = rigmaps.builtin_rig_maps()["blender_metarig"]
    assert "foot.R" not in retarget.solve(joints[:10], rest, full, fps=fps).rotations


def test_a_rig_with_other_leg_proportions_stands_on_its_planted_feet():
    """The root follows the pelvis scaled by the legs' total length; with a long thigh and a
    short shin the rig would float whenever the knees bend. Grounding holds its planted ankles
    where the source's stand above the floor (scaled)."""
    rows = [list(r) for r in METARIG]
    for row in rows:  # the knees 15 cm lower: thigh 0.69 m, shin 0.30 m (the meta-rig: 0.54, 0.45)
        for k in (2, 3):
            if row[0].startswith(("thigh", "shin")) and row[k][2] == 0.5372:
                row[k] = (row[k][0], row[k][1], 0.3872)
    rest = RestPose.from_head_tail_roll([tuple(r) for r in rows])
    rig_map = metarig_map(rest.names)
    joints, fps = walking(step=4)
    result = retarget.solve(joints, rest, rig_map, fps=fps)
    pose = pose_world_matrices(rest, result.rotations, result.locations)
    posed = retarget.posed_joint_positions(rest, rig_map, pose)
    ankles = np.stack([posed["left_ankle"][:, 2], posed["right_ankle"][:, 2]], axis=1)
    source = joints[:, [J["left_ankle"], J["right_ankle"]], 2]
    floor = np.percentile(source.min(axis=1), 2.0)  # the solve's source floor
    rig_floor = result.rest_joints[J["left_ankle"], 2]
    wanted = rig_floor + result.scale * (source - floor)
    lowest = np.minimum(rig_floor, wanted.min(axis=1))  # never under the floor, or the source
    planted = result.contacts
    frames = np.flatnonzero(planted.any(axis=1))
    lower = np.argmin(np.where(planted, wanted, np.inf), axis=1)[frames]  # the foot it stands on
    assert len(frames) > 0.5 * len(joints)
    error = ankles[frames, lower] - wanted[frames, lower]
    # where it stands higher, the other foot would have gone under the floor: the rig was raised
    # to hold that one on it (which then reaches up by at most leg_reach.MAX_TURN_DEG: mm)
    raised = error > 0.005
    assert np.all(ankles[frames][raised].min(axis=1) < lowest[frames][raised] + 0.005)
    assert np.abs(error[~raised]).max() < 0.005 and raised.mean() < 0.05
    assert np.all(ankles.min(axis=1) > lowest - 1e-6)
