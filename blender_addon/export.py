"""Write a retargeted rig with Blender's own exporters: .blend, BVH, FBX.

Each writer takes the final path and a scene whose frame range covers the animation; batch runs
hand them temporary names and rename when all formats of a track are written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import bpy
from mathutils import Matrix

FORMATS = ("blend", "bvh", "fbx")


def _select_only(objects: Sequence[bpy.types.Object], active: bpy.types.Object) -> None:
    view_layer = bpy.context.view_layer
    for obj in view_layer.objects:
        obj.select_set(obj in objects)
    view_layer.objects.active = active


def write_blend(path: Path, scene: bpy.types.Scene, armature, objects) -> None:
    """The whole current file (the rig, its Action, the MPM skeleton) as a copy; the session's
    own file name is left alone."""
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True, check_existing=False)


def write_bvh(path: Path, scene: bpy.types.Scene, armature, objects, up: str = "Y") -> None:
    """The armature's motion over the scene's frame range, rest offsets from its bone heads.

    Blender's exporter writes the armature's own axes (Blender: Z up). With ``up="Y"`` (the
    default) it exports a copy turned -90° about X first, so the file is Y up and facing +Z, as
    BVH files usually are and as Blender's BVH importer expects by default: imported with its
    default settings it stands where the rig stood. The object's location and scale are not
    written (Blender's exporter never writes them)."""
    if up.upper() == "Z":
        _select_only([armature], armature)
        _export_bvh(path, scene)
        return
    turned = armature.copy()
    turned.data = armature.data.copy()
    scene.collection.objects.link(turned)
    try:
        turned.rotation_mode = "QUATERNION"
        to_y_up = Matrix.Rotation(-math.pi / 2, 4, "X").to_quaternion()
        turned.rotation_quaternion = to_y_up @ armature.matrix_world.to_quaternion()
        _select_only([turned], turned)
        bpy.ops.object.transform_apply(location=False, rotation=True, scale=False)
        _export_bvh(path, scene)
    finally:
        data = turned.data
        bpy.data.objects.remove(turned)
        bpy.data.armatures.remove(data)
        _select_only([armature], armature)


def _export_bvh(path: Path, scene: bpy.types.Scene) -> None:
    bpy.ops.export_anim.bvh(
        filepath=str(path),
        check_existing=False,
        frame_start=scene.frame_start,
        frame_end=scene.frame_end,
        rotate_mode="NATIVE",
        root_transform_only=False,
    )


def write_fbx(path: Path, scene: bpy.types.Scene, armature, objects) -> None:
    """The armature (and the meshes skinned to it) with its Action baked over the frame range.

    Only deforming bones are written when the armature has any (a Rigify rig's DEF- bones, not
    its hundreds of controls and mechanism bones); leaf bones are not added."""
    _select_only(list(objects), armature)
    deform_only = any(b.use_deform for b in armature.data.bones)
    bpy.ops.export_scene.fbx(
        filepath=str(path),
        check_existing=False,
        use_selection=True,
        object_types={"ARMATURE", "MESH"},
        use_armature_deform_only=deform_only,
        add_leaf_bones=False,
        bake_anim=True,
        bake_anim_use_all_actions=False,
        bake_anim_use_nla_strips=False,
        bake_anim_force_startend_keying=True,
    )


WRITERS = {"blend": write_blend, "bvh": write_bvh, "fbx": write_fbx}


def write(fmt: str, path: Path, scene: bpy.types.Scene, armature, objects, **options) -> None:
    """Write one format; options go to its writer (``up`` for BVH)."""
    WRITERS[fmt](Path(path), scene, armature, objects, **options)
