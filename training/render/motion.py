"""Drive the body's rig with a mocap clip's own joint rotations, and read back its joints.

Why rotations, not positions: copying each mocap segment's rotation onto the matching rig bone
keeps the mocap's limb directions and twists exactly while the rig keeps its own bone lengths, so
a child or a tall adult moves like the captured person without stretching anything; the ground
truth is then simply the rig's posed joints.

How: at rest (all channels zero) a BVH segment has no rotation, so a joint's global rotation
D(t) (canonical axes) says how its segment turned from its rest direction. The rig's rest is
MakeHuman's A-pose, so each mapped bone is first swung (shortest arc) onto the mocap's rest
direction of the same segment (CMU: a T-pose with legs 20° apart); the bone's posed global
rotation is then D(t) · swing · rest. Unmapped bones (fingers) follow their parent rigidly. The
hips follow the mocap root's path scaled by the leg-length ratio (so steps fit the legs), and
the whole clip is lifted so that the lowest sole point over the clip touches y = 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.data.bvh import Bvh, forward_kinematics, read_bvh
from training.data.mocap import (
    JointMotion,
    bvh_motion,
    bvh_to_clip,
    derive_h36m17,
    motion_to_clip,
    read_motion,
    rest_pose,
)
from training.data.skeleton_maps import bare_name, detect_skeleton
from training.render.body import TO_BLENDER, RestBody

# Rig bone (cmu_mb) → candidate (mocap joint, child giving its segment direction), first match
# wins: CMU ASF names (cmu_actions, HDM05), CMU MotionBuilder / Mixamo, Daz, Blender meta-rig, and
# last the Rigify deform names of ReActIdle (two spine joints, `face`, no hands). A None child
# means the joint's rotation is copied without aligning a direction (the root).
RETARGET: dict[str, tuple[tuple[str, str | None], ...]] = {
    "Hips": (("root", None), ("Hips", None), ("hip", None), ("pelvis", None), ("spine", None)),
    "LowerBack": (
        ("lowerback", "upperback"),
        ("LowerBack", "Spine"),
        ("Spine", "Spine1"),
        ("abdomen", "chest"),
        ("spine.001", "spine.002"),
        ("spine", "spine.001"),
    ),
    "Spine": (
        ("upperback", "thorax"),
        ("Spine1", "Spine2"),
        ("Spine", "Spine1"),
        ("abdomen", "chest"),
        ("spine.002", "spine.003"),
        ("spine.001", "neck"),
    ),
    "Spine1": (
        ("thorax", "lowerneck"),
        ("Spine2", "Neck"),
        ("Spine1", "Neck"),
        ("chest", "neck"),
        ("spine.003", "spine.004"),
        ("spine.001", "neck"),
    ),
    "Neck": (
        ("lowerneck", "upperneck"),
        ("Neck", "Neck1"),
        ("Neck", "Head"),
        ("neck", "head"),
        ("spine.004", "spine.005"),
        ("neck", "face"),
    ),
    "Neck1": (
        ("upperneck", "head"),
        ("Neck1", "Head"),
        ("Neck", "Head"),
        ("neck", "head"),
        ("spine.005", "spine.006"),
        ("neck", "face"),
    ),
    "Head": (
        ("head", "head_end"),
        ("Head", "Head_end"),
        ("Head", "HeadTop_End"),
        ("head", None),
        ("spine.006", "spine.006_end"),
        ("face", "face_end"),
    ),
}
_SIDE = {
    "HipJoint": (
        ("{l}hipjoint", "{l}femur"),
        ("{L}HipJoint", "{Left}UpLeg"),
        ("{l}Buttock", "{l}Thigh"),
        ("pelvis.{S}", "thigh.{S}"),
    ),
    "UpLeg": (
        ("{l}femur", "{l}tibia"),
        ("{Left}UpLeg", "{Left}Leg"),
        ("{l}Thigh", "{l}Shin"),
        ("thigh.{S}", "shin.{S}"),
    ),
    "Leg": (
        ("{l}tibia", "{l}foot"),
        ("{Left}Leg", "{Left}Foot"),
        ("{l}Shin", "{l}Foot"),
        ("shin.{S}", "foot.{S}"),
    ),
    "Foot": (
        ("{l}foot", "{l}toes"),
        ("{Left}Foot", "{Left}ToeBase"),
        ("{l}Foot", "{l}Foot_end"),
        ("foot.{S}", "toe.{S}"),
    ),
    "ToeBase": (
        ("{l}toes", "{l}toes_end"),
        ("{Left}ToeBase", "{Left}ToeBase_end"),
        ("{Left}ToeBase", "{Left}Toe_End"),
        ("toe.{S}", "toe.{S}_end"),
    ),
    "Shoulder": (
        ("{l}clavicle", "{l}humerus"),
        ("{Left}Shoulder", "{Left}Arm"),
        ("{l}Collar", "{l}Shldr"),
        ("shoulder.{S}", "upper_arm.{S}"),
    ),
    "Arm": (
        ("{l}humerus", "{l}radius"),
        ("{Left}Arm", "{Left}ForeArm"),
        ("{l}Shldr", "{l}ForeArm"),
        ("upper_arm.{S}", "forearm.{S}"),
    ),
    "ForeArm": (
        ("{l}radius", "{l}wrist"),
        ("{Left}ForeArm", "{Left}Hand"),
        ("{l}ForeArm", "{l}Hand"),
        ("forearm.{S}", "hand.{S}"),
        ("forearm.{S}", "forearm.{S}_end"),
    ),
    "Hand": (
        ("{l}wrist", "{l}hand"),
        ("{Left}Hand", "{Left}HandMiddle1"),
        ("{Left}Hand", "{Left}FingerBase"),
        ("{l}Hand", "{l}Mid1"),
        ("hand.{S}", None),
    ),
}
for _part, _pairs in _SIDE.items():
    for _l, _L, _Left, _S in (("l", "L", "Left", "L"), ("r", "R", "Right", "R")):
        _bone = f"{_L}{_part}" if _part == "HipJoint" else f"{_Left}{_part}"
        RETARGET[_bone] = tuple(
            tuple(None if n is None else n.format(l=_l, L=_L, Left=_Left, S=_S) for n in pair)
            for pair in _pairs
        )

# H36M-17 joints that are rig joints: the head of these bones.
H36M_FROM_RIG = {
    "left_hip": "LeftUpLeg",
    "left_knee": "LeftLeg",
    "left_ankle": "LeftFoot",
    "right_hip": "RightUpLeg",
    "right_knee": "RightLeg",
    "right_ankle": "RightFoot",
    "left_shoulder": "LeftArm",
    "left_elbow": "LeftForeArm",
    "left_wrist": "LeftHand",
    "right_shoulder": "RightArm",
    "right_elbow": "RightForeArm",
    "right_wrist": "RightHand",
}
SOLE_BONES = ("LeftFoot", "LeftToeBase", "RightFoot", "RightToeBase")


@dataclass
class Mocap:
    """A mocap clip's segment rotations in canonical axes (Y up, metres), one row per frame."""

    names: list[str]  # bare joint names
    rotations: np.ndarray  # (T, J, 3, 3) global, canonical axes
    root: np.ndarray  # (T, 3) root position, metres
    rest_offsets: np.ndarray  # (J, 3) canonical metres
    parents: np.ndarray
    fps: float
    source: str
    family: str
    frames: np.ndarray  # (T,) row of the source file each frame comes from
    direct: dict[str, int]  # H36M limb joint → joint index (from the skeleton map)

    def leg_length(self) -> float:
        """Mean thigh + shin length at rest, metres (offsets of the knee and ankle joints)."""
        lengths = []
        for side in ("left", "right"):
            for joint in (f"{side}_knee", f"{side}_ankle"):
                lengths.append(np.linalg.norm(self.rest_offsets[self.direct[joint]]))
        return float(np.sum(lengths) / 2)


def load_mocap(
    path: str | Path, fps: float = 30.0, skip_frames: int = 1, max_frames: int | None = None
) -> Mocap:
    """Read a BVH or an ASF/AMC (its .asf found as `read_motion` finds it), sampled at `fps` by
    taking the nearest source frame (exact for 120 → 30).

    skip_frames drops the reference T-pose that CMU conversions put in front.
    """
    if Path(path).suffix.lower() == ".bvh":
        bvh = read_bvh(path)
        # The hierarchy and rest let the joint matcher map a skeleton no YAML map names.
        rest = rest_pose(bvh_motion(bvh))
        skeleton_map = detect_skeleton(bvh.names, bvh.source, parents=bvh.parents, rest=rest)
        clip = bvh_to_clip(bvh, skeleton_map)
        rows = _rows(bvh.num_frames, clip.fps, fps, skip_frames, max_frames)
        positions, rotations = forward_kinematics(bvh, rows)
        names, parents, offsets = bvh.names, bvh.parents.copy(), _rest_offsets(bvh)
    else:  # ASF/AMC: the reader gives global positions and rotations, the offsets follow
        motion = read_motion(path)
        skeleton_map = detect_skeleton(
            motion.names, motion.source, parents=motion.parents, rest=rest_pose(motion)
        )
        clip = motion_to_clip(motion, skeleton_map)
        rows = _rows(motion.num_frames, clip.fps, fps, skip_frames, max_frames)
        positions, rotations = motion.positions[rows], motion.rotations[rows]
        names, parents, offsets = motion.names, motion.parents.copy(), _pose_offsets(motion)
    axes = skeleton_map.to_canonical
    scale = clip.metres_per_unit
    names = [bare_name(n) for n in names]
    lookup = {n: i for i, n in enumerate(names)}
    direct = {}
    for joint, candidates in skeleton_map.joints.items():
        direct[joint] = next(lookup[c] for c in candidates if c in lookup)
    return Mocap(
        names=names,
        rotations=axes @ rotations @ axes.T,
        root=positions[:, 0] @ (axes.T * scale),
        rest_offsets=offsets @ (axes.T * scale),
        parents=parents,
        fps=float(fps),
        source=str(path),
        family=skeleton_map.family,
        frames=rows,
        direct=direct,
    )


def _rows(
    count: int, source_fps: float, fps: float, skip_frames: int, max_frames: int | None
) -> np.ndarray:
    """Source rows nearest to frame times at `fps`, from row `skip_frames` on."""
    times = np.arange(skip_frames, count) / source_fps
    wanted = np.arange(times[0], times[-1] + 1e-9, 1.0 / fps)
    rows = np.clip(np.rint(wanted * source_fps).astype(np.int64), 0, count - 1)
    return rows[:max_frames] if max_frames is not None else rows


def _rest_offsets(bvh: Bvh) -> np.ndarray:
    """Each joint's rest translation from its parent (the OFFSET; the root's is zero)."""
    offsets = bvh.offsets.copy()
    offsets[bvh.parents < 0] = 0.0
    return offsets


def _pose_offsets(motion: JointMotion) -> np.ndarray:
    """Each joint's translation in its parent's frame, read off frame 0 (the root's is zero).

    Global rotations are identity at rest in both readers, so this is the rest offset.
    """
    positions, rotations, parents = motion.positions[0], motion.rotations[0], motion.parents
    offsets = np.zeros_like(positions)
    child = parents >= 0
    delta = positions[child] - positions[parents[child]]
    offsets[child] = np.einsum("jba,jb->ja", rotations[parents[child]], delta)
    return offsets


@dataclass
class RigMotion:
    """The rig posed for every frame: what is set on Blender's bones and what it gives."""

    global_rotations: np.ndarray  # (T, B, 3, 3) bone axes (columns), project world
    heads: np.ndarray  # (T, B, 3) bone heads, project world metres
    basis: np.ndarray  # (T, B, 4, 4) Blender pose matrix_basis per bone
    scale: float  # rig leg length / mocap leg length (applied to the root path)
    mapping: dict[str, str]  # rig bone → mocap joint driving it


def _shortest_arc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation taking unit vector a onto unit vector b by the shortest arc."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    v, c = np.cross(a, b), float(a @ b)
    if c < -1 + 1e-9:  # opposite: any perpendicular axis
        axis = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
        axis /= np.linalg.norm(axis)
        return 2.0 * np.outer(axis, axis) - np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1.0 + c)


def match_bones(rest: RestBody, mocap: Mocap) -> dict[str, tuple[int, int | None]]:
    """Rig bone → (mocap joint index, direction child index or None) for every bone found."""
    lookup = {n: i for i, n in enumerate(mocap.names)}
    out = {}
    for bone, candidates in RETARGET.items():
        if bone not in rest.bone_names:
            continue
        for joint, child in candidates:
            if joint in lookup and (child is None or child in lookup):
                child_index = None if child is None else lookup[child]
                if child_index is not None and (
                    mocap.parents[child_index] != lookup[joint]
                    or np.linalg.norm(mocap.rest_offsets[child_index]) < 1e-6
                ):
                    child_index = None  # not a direct child, or no length: copy the rotation
                out[bone] = (lookup[joint], child_index)
                break
    return out


def retarget(rest: RestBody, rest_rotations: np.ndarray, mocap: Mocap) -> RigMotion:
    """Pose the rig for every mocap frame (see the module docstring); all numpy."""
    matches = match_bones(rest, mocap)
    count, frames = len(rest.bone_names), len(mocap.frames)
    reference = np.empty((count, 3, 3))  # global bone axes in the mocap's rest pose
    for b in range(count):
        parent = rest.parents[b]
        name = rest.bone_names[b]
        if name in matches:
            _, child = matches[name]
            swing = np.eye(3)
            if child is not None:
                swing = _shortest_arc(rest.tails[b] - rest.heads[b], mocap.rest_offsets[child])
            reference[b] = swing @ rest_rotations[b]
        else:
            reference[b] = reference[parent] @ rest_rotations[parent].T @ rest_rotations[b]

    pose = np.empty((frames, count, 3, 3))
    heads = np.empty((frames, count, 3))
    legs = _rig_leg_length(rest)
    scale = legs / mocap.leg_length()
    start = mocap.root[0] * np.array([1.0, 0.0, 1.0])
    root_path = (mocap.root - start) * scale
    for b in range(count):
        parent = rest.parents[b]
        name = rest.bone_names[b]
        if name in matches:
            pose[:, b] = mocap.rotations[:, matches[name][0]] @ reference[b]
        else:
            pose[:, b] = pose[:, parent] @ (rest_rotations[parent].T @ rest_rotations[b])
        if parent < 0:
            heads[:, b] = root_path
        else:
            local = rest_rotations[parent].T @ (rest.heads[b] - rest.heads[parent])
            heads[:, b] = heads[:, parent] + pose[:, parent] @ local
    heads[..., 1] += _floor_lift(rest, rest_rotations, pose, heads)
    basis = _pose_basis(rest, rest_rotations, pose, heads)
    mapping = {bone: mocap.names[j] for bone, (j, _) in matches.items()}
    return RigMotion(pose, heads, basis, scale, mapping)


def _rig_leg_length(rest: RestBody) -> float:
    total = 0.0
    for side in ("Left", "Right"):
        for bone in (f"{side}UpLeg", f"{side}Leg"):
            i = rest.index(bone)
            total += np.linalg.norm(rest.tails[i] - rest.heads[i])
    return total / 2


def _floor_lift(rest: RestBody, rest_rotations, pose, heads) -> float:
    """Vertical shift putting the lowest sole vertex of the whole clip on y = 0.

    Sole vertices (the lowest 2 cm of each foot at rest) move rigidly with their strongest bone,
    which is how the skin moves there to within the weights' blending.
    """
    lowest = np.inf
    for bone in SOLE_BONES:
        b = rest.index(bone)
        index, w = rest.weights[bone]
        sole = index[(w > 0.5) & (rest.vertices[index, 1] < 0.02)]
        if len(sole) == 0:
            continue
        local = (rest.vertices[sole] - rest.heads[b]) @ rest_rotations[b]  # bone frame
        world = heads[:, b, None, :] + np.einsum("tij,nj->tni", pose[:, b], local)
        lowest = min(lowest, float(world[..., 1].min()))
    return -lowest if np.isfinite(lowest) else 0.0


def _pose_basis(rest: RestBody, rest_rotations, pose, heads) -> np.ndarray:
    """Blender's matrix_basis per bone: pose = parent_pose · parent_rest⁻¹ · rest · basis."""
    frames, count = pose.shape[:2]
    basis = np.tile(np.eye(4), (frames, count, 1, 1))
    for b in range(count):
        parent = rest.parents[b]
        if parent < 0:
            relative = np.broadcast_to(rest_rotations[b].T, (frames, 3, 3)) @ pose[:, b]
            basis[:, b, :3, 3] = (heads[:, b] - rest.heads[b]) @ rest_rotations[b]
        else:
            chain = rest_rotations[b].T @ rest_rotations[parent]
            relative = chain @ np.swapaxes(pose[:, parent], 1, 2) @ pose[:, b]
        basis[:, b, :3, :3] = relative
    return basis


def apply_pose(body, motion: RigMotion, frame: int) -> None:
    """Set one frame's pose on the Blender rig and let the depsgraph deform the mesh."""
    import bpy
    from mathutils import Matrix

    bones = body.armature.pose.bones
    for b, name in enumerate(body.rest.bone_names):
        bones[name].matrix_basis = Matrix(motion.basis[frame, b].tolist())
    bpy.context.view_layer.update()


def read_rig_joints(body) -> tuple[np.ndarray, np.ndarray]:
    """The posed rig's bone heads and tails as Blender evaluates them, project world (B, 3)."""
    world = np.array(body.armature.matrix_world)
    rotation, offset = world[:3, :3], world[:3, 3]
    bones = body.armature.pose.bones
    heads = np.array([bones[n].head for n in body.rest.bone_names]) @ rotation.T + offset
    tails = np.array([bones[n].tail for n in body.rest.bone_names]) @ rotation.T + offset
    return heads @ TO_BLENDER, tails @ TO_BLENDER


def h36m_from_rig(
    rest: RestBody, rest_rotations: np.ndarray, heads: np.ndarray, rotations: np.ndarray
) -> np.ndarray:
    """H36M-17 (…, 17, 3) from posed rig heads (…, B, 3) and bone axes (…, B, 3, 3).

    The 12 limb joints are rig joints; pelvis, spine and thorax are derived as for every mocap
    source (training.data.mocap.derive_h36m17); head = mid-eyes and nose = nose tip, points of
    the rest mesh carried rigidly by the Head bone (MakeHuman's eye joint cubes and the skin's
    nose tip), as the mocap maps carry their eye and nose points in the head joint's frame.
    """
    direct = {joint: heads[..., rest.index(bone), :] for joint, bone in H36M_FROM_RIG.items()}
    h = rest.index("Head")

    def carried(point: np.ndarray) -> np.ndarray:
        local = rest_rotations[h].T @ (point - rest.heads[h])  # in the Head bone's rest frame
        return heads[..., h, :] + np.einsum("...ij,j->...i", rotations[..., h, :, :], local)

    return derive_h36m17(direct, carried(rest.eyes.mean(axis=0)), carried(rest.nose))
