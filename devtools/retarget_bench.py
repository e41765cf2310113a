"""Retarget and bake a minute of motion onto the meta-rig: `python -m devtools.retarget_bench`.

    python -m devtools.retarget_bench [--frames 1800] [--out docs/benchmarks.md]

Times the add-on's way (solve in numpy, F-curves filled with foreach_set) against the naive way
(set each pose bone, keyframe_insert, frame after frame) for the same solved rotations, in the
bpy wheel, and checks both give the same pose. The goal: at most 2 s for 1,800 frames (a minute
at 30 fps). Run from a checkout: the motion is a real CMU walk from examples/mocap.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "examples" / "mocap" / "cmu_actions_train_walking_1.bvh"
START, END = "<!-- retarget-benchmark:start -->", "<!-- retarget-benchmark:end -->"


def minute_of_walking(frames: int) -> np.ndarray:
    """(frames, 17, 3) Blender-world joints (Z up): the walk, there and back, looped."""
    from training.data.mocap import load_clip

    y_up = load_clip(CLIP, skip_frames=1, target_fps=30).joints
    z_up = np.stack([y_up[..., 0], -y_up[..., 2], y_up[..., 1]], axis=-1)
    loop = np.concatenate([z_up, z_up[::-1]])
    return np.concatenate([loop] * (frames // len(loop) + 1))[:frames]


def naive_bake(armature, solved, frames: np.ndarray) -> None:
    """What many scripts do: pose every bone, then keyframe_insert it, one frame at a time."""
    for bone in solved.rotations:
        armature.pose.bones[bone].rotation_mode = "QUATERNION"
    for i, frame in enumerate(frames):
        for bone, q in solved.rotations.items():
            pose_bone = armature.pose.bones[bone]
            pose_bone.rotation_quaternion = q[i]
            pose_bone.keyframe_insert("rotation_quaternion", frame=float(frame))
        for bone, loc in solved.locations.items():
            pose_bone = armature.pose.bones[bone]
            pose_bone.location = loc[i]
            pose_bone.keyframe_insert("location", frame=float(frame))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.retarget_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--frames", type=int, default=1800)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)

    import bpy  # noqa: I001  (bpy first: it makes addon_utils importable)
    import addon_utils

    from blender_addon import result
    from blender_addon.core import retarget
    from blender_addon.jobs import LiftOptions
    from devtools.sections import publish

    bpy.ops.wm.read_homefile(use_empty=True)
    addon_utils.enable("rigify", default_set=True)
    scene = bpy.context.scene
    scene.render.fps = 30
    joints = minute_of_walking(args.frames)
    options = LiftOptions(smoothing="NONE", foot_lock=False)

    def metarig():
        bpy.ops.object.armature_human_metarig_add()
        return bpy.context.active_object

    fast = metarig()
    tick = time.perf_counter()
    rig_map = result.rig_map_for(fast, options)
    rest = retarget.RestPose.from_bpy_bones(fast.data.bones)
    solved = retarget.solve(joints, rest, rig_map, armature_matrix=np.array(fast.matrix_world))
    solve_s = time.perf_counter() - tick
    frames = result.scene_frames(len(joints), 30.0, scene, 1)
    tick = time.perf_counter()
    result.key_solution(fast, solved, rig_map, frames, options, "bulk")
    bulk_s = time.perf_counter() - tick

    slow = metarig()
    tick = time.perf_counter()
    naive_bake(slow, solved, frames)
    naive_s = time.perf_counter() - tick

    worst = 0.0
    for frame in (1, args.frames // 2, args.frames):
        scene.frame_set(frame)
        for bone in solved.rotations:
            a = np.array(fast.pose.bones[bone].matrix)
            b = np.array(slow.pose.bones[bone].matrix)
            worst = max(worst, float(np.abs(a - b).max()))
    assert worst < 1e-4, f"the two bakes disagree by {worst}"

    rows = [
        ("solve (numpy)", solve_s, solve_s),
        ("bake F-curves", bulk_s, naive_s),
        ("total", solve_s + bulk_s, solve_s + naive_s),
    ]
    table = "\n".join(
        ["| step | add-on (foreach_set) s | naive keyframe_insert s |", "|---|---|---|"]
        + [f"| {name} | {a:.2f} | {b:.2f} |" for name, a, b in rows]
    )
    section = (
        f"{START}\n## Retarget benchmark\n\nCommand: `python -m devtools.retarget_bench`: "
        f"{args.frames} frames (a CMU walk at 30 fps, looped) onto Blender's Human meta-rig "
        f"({len(solved.rotations)} bones keyed), bpy {bpy.app.version_string}, this machine's CPU. "
        f"Same solved rotations both ways; poses agree to {worst:.1e}. Goal: total ≤ 2 s.\n\n"
        f"{table}\n{END}"
    )
    publish(table, section, args.out, START, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
