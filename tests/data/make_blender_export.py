"""Regenerate tests/data/blender_export.bvh with Blender's own BVH exporter.

Run: ``.venv/bin/python tests/data/make_blender_export.py`` (needs the ``bpy`` module).

A small metarig-like armature (Blender bone names, Z-up, facing -Y) is keyed for a few frames and
exported with ``bpy.ops.export_anim.bvh``. The exporter writes armature space as is, Z-up with no
axis conversion; bones connected to their parent get 3 rotation channels, all others 6 channels
(position channels on non-root joints too). Pose bones use several rotation modes so that the file
has several channel orders. tests/test_bvh.py imports this module to rebuild the same scene and
compare Blender's pose-bone heads with our forward kinematics.
"""

from __future__ import annotations

import math
from pathlib import Path

import bpy
from mathutils import Euler

OUTPUT = Path(__file__).with_name("blender_export.bvh")
FRAME_START, FRAME_END, FPS = 1, 5, 30

# name: (parent, head, tail, connected, roll in degrees, rotation mode)
BONES: dict[str, tuple[str | None, tuple, tuple, bool, float, str]] = {
    "spine": (None, (0.0, 0.02, 1.00), (0.0, 0.03, 1.12), False, 0.0, "QUATERNION"),
    "spine.001": ("spine", (0.0, 0.03, 1.12), (0.0, 0.02, 1.28), True, 0.0, "XYZ"),
    "spine.002": ("spine.001", (0.0, 0.02, 1.28), (0.0, 0.03, 1.45), True, 5.0, "ZXY"),
    "neck": ("spine.002", (0.0, 0.03, 1.45), (0.0, 0.01, 1.55), True, 0.0, "YXZ"),
    "head": ("neck", (0.0, 0.01, 1.55), (0.0, 0.01, 1.75), True, 0.0, "ZYX"),
}


def _add_side(side: str, sign: float) -> None:
    """Left (+X) or right (-X) limbs, metarig-style: shoulders and thighs not connected."""
    s = sign
    BONES.update(
        {
            f"shoulder.{side}": (
                "spine.002",
                (s * 0.02, 0.0, 1.42),
                (s * 0.17, 0.02, 1.42),
                False,
                s * 10.0,
                "XYZ",
            ),
            f"upper_arm.{side}": (
                f"shoulder.{side}",
                (s * 0.19, 0.03, 1.41),
                (s * 0.45, 0.04, 1.40),
                False,
                s * 20.0,
                "YZX",
            ),
            f"forearm.{side}": (
                f"upper_arm.{side}",
                (s * 0.45, 0.04, 1.40),
                (s * 0.70, 0.0, 1.40),
                True,
                0.0,
                "XZY",
            ),
            f"hand.{side}": (
                f"forearm.{side}",
                (s * 0.70, 0.0, 1.40),
                (s * 0.79, -0.01, 1.40),
                True,
                0.0,
                "QUATERNION",
            ),
            f"thigh.{side}": (
                "spine",
                (s * 0.10, 0.01, 0.98),
                (s * 0.10, 0.03, 0.55),
                False,
                0.0,
                "ZXY",
            ),
            f"shin.{side}": (
                f"thigh.{side}",
                (s * 0.10, 0.03, 0.55),
                (s * 0.10, 0.06, 0.10),
                True,
                s * -7.0,
                "XYZ",
            ),
            f"foot.{side}": (
                f"shin.{side}",
                (s * 0.10, 0.06, 0.10),
                (s * 0.10, -0.10, 0.02),
                True,
                0.0,
                "YZX",
            ),
        }
    )


_add_side("L", 1.0)
_add_side("R", -1.0)


def build_armature() -> bpy.types.Object:
    """A fresh empty scene with the armature above, object transform at identity."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    scene.frame_start, scene.frame_end = FRAME_START, FRAME_END
    armature = bpy.data.armatures.new("metarig")
    obj = bpy.data.objects.new("metarig", armature)
    scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    bpy.ops.object.mode_set(mode="EDIT")
    for name, (parent, head, tail, connected, roll, _mode) in BONES.items():
        bone = armature.edit_bones.new(name)
        bone.head, bone.tail, bone.roll = head, tail, math.radians(roll)
        if parent is not None:
            bone.parent = armature.edit_bones[parent]
            bone.use_connect = connected
    bpy.ops.object.mode_set(mode="OBJECT")
    for name, (*_, mode) in BONES.items():
        obj.pose.bones[name].rotation_mode = mode
    return obj


def _euler_degrees(name: str, frame: int) -> tuple[float, float, float]:
    """Distinct, deterministic, fairly large angles per bone and frame (up to ~60 degrees)."""
    seed = sum(map(ord, name))
    return tuple(
        35.0 * math.sin(0.7 * frame + 0.37 * seed + 1.3 * axis) + 10.0 * axis for axis in range(3)
    )


def animate(obj: bpy.types.Object) -> None:
    """Key rotations on every bone, root motion, and a translation of the unconnected arms."""
    for frame in range(FRAME_START, FRAME_END + 1):
        for pose_bone in obj.pose.bones:
            euler = [math.radians(a) for a in _euler_degrees(pose_bone.name, frame)]
            if pose_bone.rotation_mode == "QUATERNION":
                pose_bone.rotation_quaternion = Euler(euler, "XYZ").to_quaternion()
                pose_bone.keyframe_insert("rotation_quaternion", frame=frame)
            else:
                pose_bone.rotation_euler = euler
                pose_bone.keyframe_insert("rotation_euler", frame=frame)
        root = obj.pose.bones["spine"]
        root.location = (0.1 * frame, 0.05 * math.sin(frame), 0.02 * frame)
        root.keyframe_insert("location", frame=frame)
        for side in ("L", "R"):
            arm = obj.pose.bones[f"upper_arm.{side}"]
            arm.location = (0.01 * frame, -0.02 * frame, 0.03)
            arm.keyframe_insert("location", frame=frame)


def export(obj: bpy.types.Object, path: Path) -> None:
    """Blender's own BVH exporter, native rotation orders, scale 1 (metres)."""
    bpy.context.view_layer.objects.active = obj
    bpy.ops.export_anim.bvh(
        filepath=str(path),
        frame_start=FRAME_START,
        frame_end=FRAME_END,
        global_scale=1.0,
        rotate_mode="NATIVE",
        root_transform_only=False,
    )


def pose_points(obj: bpy.types.Object) -> dict[str, list[tuple[float, float, float]]]:
    """World-space pose-bone heads per frame, plus leaf tails as '<bone>_end' (BVH End Sites)."""
    scene = bpy.context.scene
    points: dict[str, list[tuple[float, float, float]]] = {}
    for frame in range(FRAME_START, FRAME_END + 1):
        scene.frame_set(frame)
        for pose_bone in obj.pose.bones:
            points.setdefault(pose_bone.name, []).append(tuple(obj.matrix_world @ pose_bone.head))
            if not pose_bone.children:
                tail = tuple(obj.matrix_world @ pose_bone.tail)
                points.setdefault(f"{pose_bone.name}_end", []).append(tail)
    return points


def main() -> None:
    """Write tests/data/blender_export.bvh."""
    obj = build_armature()
    animate(obj)
    export(obj, OUTPUT)
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
