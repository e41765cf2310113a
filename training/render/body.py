"""A seeded, skinned MakeHuman body in Blender: the skin mesh, its rig fitted to it, clothing colours.

The mesh is base.obj's `body` group (no helper geometry) with the macro targets applied; the rig
(`cmu_mb` by default: the 31 CMU MotionBuilder bones) takes its joint positions from the SAME
morphed mesh (the joint helper cubes, as MPFB2 does), so the skeleton fits the body whatever its
size. Skinning uses MakeHuman's weights as vertex groups + an Armature modifier.

Axes: the project's world is Y up (metres); Blender's is Z up. `to_blender` maps (x, y, z) to
(x, -z, y), the rotation Blender's BVH importer uses, so a body facing +Z faces -Y in Blender.
The rest mesh stands with its soles at y = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.render.assets import (
    BODY_GROUP,
    BaseMesh,
    joint_position,
    read_base_mesh,
    read_rig,
    read_weights,
)
from training.render.shape import BodyParams, morph_vertices

# Project world (Y up) → Blender world (Z up): a proper rotation, (x, y, z) → (x, -z, y).
TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

# Bones whose skin is clothed: which region a vertex belongs to follows its strongest bone.
_SHOES = {"LeftFoot", "LeftToeBase", "RightFoot", "RightToeBase"}
_HIPS = {"Hips", "LHipJoint", "RHipJoint", "LeftUpLeg", "RightUpLeg"}
_SHINS = {"LeftLeg", "RightLeg"}
_TORSO = {"LowerBack", "Spine", "Spine1", "LeftShoulder", "RightShoulder"}
_UPPER_ARMS = {"LeftArm", "RightArm"}
_FOREARMS = {"LeftForeArm", "RightForeArm"}
REGIONS = ("skin", "hair", "shirt", "trousers", "shoes")


def to_blender(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, dtype=np.float64) @ TO_BLENDER.T


def from_blender(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, dtype=np.float64) @ TO_BLENDER


@dataclass
class RestBody:
    """The morphed body at rest, project world (Y up, metres, soles at y = 0), before Blender."""

    params: BodyParams
    vertices: np.ndarray  # (N, 3) the body group's vertices
    faces: np.ndarray  # (F, 4) into vertices
    bone_names: tuple[str, ...]  # parents first
    parents: np.ndarray  # (B,) index, -1 for the root
    heads: np.ndarray  # (B, 3)
    tails: np.ndarray  # (B, 3)
    rolls: np.ndarray  # (B,) Blender bone roll, radians
    weights: dict[str, tuple[np.ndarray, np.ndarray]]  # bone -> (body vertex index, weight)
    eyes: np.ndarray  # (2, 3) left, right eye centres (MakeHuman's eye joint cubes)
    nose: np.ndarray  # (3,) nose tip: the most forward skin vertex on the face's midline
    region: np.ndarray  # (F,) index into REGIONS

    @property
    def stature(self) -> float:
        return float(self.vertices[:, 1].max() - self.vertices[:, 1].min())

    def index(self, bone: str) -> int:
        return self.bone_names.index(bone)


def rest_body(params: BodyParams, rig: str = "cmu_mb", mesh: BaseMesh | None = None) -> RestBody:
    """Morph the mesh, fit the rig's joints to it, pick the skin's regions (numpy only)."""
    mesh = mesh or read_base_mesh()
    morphed = morph_vertices(params, mesh)
    keep = mesh.group_vertices(BODY_GROUP)
    lift = -morphed[keep, 1].min()  # soles on the floor
    morphed = morphed + np.array([0.0, lift, 0.0])
    new_index = np.full(len(morphed), -1)
    new_index[keep] = np.arange(len(keep))
    bones = read_rig(rig)
    names = tuple(b.name for b in bones)
    raw_weights = read_weights(rig)
    weights = {}
    for bone, (index, w) in raw_weights.items():
        inside = new_index[index] >= 0
        weights[bone] = (new_index[index[inside]], w[inside])
    vertices = morphed[keep]
    faces = new_index[mesh.faces[BODY_GROUP]]
    dominant = _dominant_bone(len(vertices), weights, names)
    eyes = np.stack([mesh.cube_centre(f"joint-{s}-eye", morphed) for s in ("l", "r")])
    return RestBody(
        params=params,
        vertices=vertices,
        faces=faces,
        bone_names=names,
        parents=np.array([names.index(b.parent) if b.parent else -1 for b in bones]),
        heads=np.stack([joint_position(b.head, mesh, morphed) for b in bones]),
        tails=np.stack([joint_position(b.tail, mesh, morphed) for b in bones]),
        rolls=np.array([b.roll for b in bones]),
        weights=weights,
        eyes=eyes,
        nose=_nose_tip(vertices, dominant, names),
        region=_face_regions(vertices, faces, dominant, names, eyes, params),
    )


def _dominant_bone(count: int, weights: dict, names: tuple[str, ...]) -> np.ndarray:
    best = np.zeros(count)
    bone = np.full(count, -1)
    for name, (index, w) in weights.items():
        better = w > best[index]
        best[index[better]] = w[better]
        bone[index[better]] = names.index(name)
    return bone


def _nose_tip(vertices: np.ndarray, dominant: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    face = (dominant == names.index("Head")) & (np.abs(vertices[:, 0]) < 0.004)
    candidates = np.flatnonzero(face)
    return vertices[candidates[np.argmax(vertices[candidates, 2])]].copy()


def _face_regions(
    vertices: np.ndarray,
    faces: np.ndarray,
    dominant: np.ndarray,
    names: tuple[str, ...],
    eyes: np.ndarray,
    params: BodyParams,
) -> np.ndarray:
    """Clothing by body part: shirt (torso, sleeves), trousers or shorts, shoes, a hair cap."""
    shirt = set(_TORSO)
    if params.sleeves in ("short", "long"):
        shirt |= _UPPER_ARMS
    if params.sleeves == "long":
        shirt |= _FOREARMS
    trousers = _HIPS | (_SHINS if params.legs == "long" else set())
    lookup = np.zeros(len(names) + 1, dtype=np.int64)  # index -1 (no weight) → skin
    for i, name in enumerate(names):
        if name in _SHOES:
            lookup[i] = REGIONS.index("shoes")
        elif name in trousers:
            lookup[i] = REGIONS.index("trousers")
        elif name in shirt:
            lookup[i] = REGIONS.index("shirt")
    vertex_region = lookup[dominant]
    eye_y, eye_z = eyes[:, 1].mean(), eyes[:, 2].mean()
    head = dominant == names.index("Head")
    y, z = vertices[:, 1], vertices[:, 2]
    hair = head & ((y > eye_y + 0.035) | ((y > eye_y - 0.06) & (z < eye_z - 0.1)))
    vertex_region[hair] = REGIONS.index("hair")
    # a face takes the region most of its corners have
    corners = vertex_region[faces]
    counts = np.stack([(corners == r).sum(axis=1) for r in range(len(REGIONS))], axis=1)
    return counts.argmax(axis=1)


@dataclass
class BlenderBody:
    """The body as Blender objects, with what motion and ground truth need."""

    rest: RestBody
    armature: object  # bpy.types.Object (ARMATURE)
    mesh: object  # bpy.types.Object (MESH)
    rest_rotations: np.ndarray  # (B, 3, 3) each bone's rest axes (columns), project world


def build_in_blender(rest: RestBody, name: str = "person") -> BlenderBody:
    """Create the armature and the skinned mesh in the current Blender scene."""
    import bpy

    arm_data = bpy.data.armatures.new(f"{name}_rig")
    armature = bpy.data.objects.new(f"{name}_rig", arm_data)
    bpy.context.scene.collection.objects.link(armature)
    bpy.context.view_layer.objects.active = armature
    bpy.ops.object.mode_set(mode="EDIT")
    heads, tails = to_blender(rest.heads), to_blender(rest.tails)
    edit = {}
    for i, bone_name in enumerate(rest.bone_names):
        bone = arm_data.edit_bones.new(bone_name)
        bone.head, bone.tail, bone.roll = heads[i], tails[i], rest.rolls[i]
        if rest.parents[i] >= 0:
            bone.parent = edit[rest.bone_names[rest.parents[i]]]
        bone.use_connect = False
        edit[bone_name] = bone
    bpy.ops.object.mode_set(mode="OBJECT")

    mesh_data = bpy.data.meshes.new(f"{name}_skin")
    mesh_data.from_pydata(to_blender(rest.vertices).tolist(), [], rest.faces.tolist())
    mesh_data.shade_smooth()
    for region in REGIONS:
        mesh_data.materials.append(plain_material(f"{name}_{region}", _colour(rest.params, region)))
    mesh_data.polygons.foreach_set("material_index", rest.region.astype(np.int32))
    mesh_data.update()
    mesh = bpy.data.objects.new(f"{name}_skin", mesh_data)
    bpy.context.scene.collection.objects.link(mesh)
    for bone_name, (index, w) in rest.weights.items():
        group = mesh.vertex_groups.new(name=bone_name)
        for value in np.unique(w):  # one call per distinct weight, not per vertex
            group.add(index[w == value].tolist(), float(value), "REPLACE")
    modifier = mesh.modifiers.new("armature", "ARMATURE")
    modifier.object = armature
    mesh.parent = armature

    rotations = np.stack(
        [np.array(arm_data.bones[b].matrix_local.to_3x3()) for b in rest.bone_names]
    )
    return BlenderBody(rest, armature, mesh, TO_BLENDER.T @ rotations)


def _colour(params: BodyParams, region: str) -> tuple[float, float, float]:
    return {
        "skin": params.skin,
        "hair": params.hair,
        "shirt": params.shirt,
        "trousers": params.trousers,
        "shoes": params.shoes,
    }[region]


def plain_material(name: str, rgb: tuple[float, float, float]):
    """A plain material both engines read: Workbench its viewport colour, Cycles the BSDF."""
    import bpy

    material = bpy.data.materials.new(name)
    material.diffuse_color = (*rgb, 1.0)
    material.roughness = 0.8
    if material.node_tree is None:  # Blender < 5 makes node-less materials
        material.use_nodes = True
    bsdf = material.node_tree.nodes.get("Principled BSDF")
    if bsdf is not None:
        bsdf.inputs["Base Color"].default_value = (*rgb, 1.0)
        bsdf.inputs["Roughness"].default_value = 0.8
    return material
