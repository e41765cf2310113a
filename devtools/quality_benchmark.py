"""World-space animation quality on a rig: `python -m devtools.quality_benchmark`.

    python -m devtools.quality_benchmark [--mocap ../shared/mocap] [--set default|check]
        [--clips N] [--frames 300] [--cameras 3] [--seed 0] [--out docs/benchmarks.md]
        [--json OUT.json] [--keep DIR]

Held-out mocap (CMU val, HDM05) is filmed by `--cameras` seeded hand-held cameras each
(1920×1080, focal 1400 px, 3.5–5 m away, 1.2–1.6 m high, aimed at the subject, then pitched
up to ±15° and rolled up to ±5°), projected, given the synthetic detector noise of training
(`NoiseConfig()`) and written as our own H36M-17 JSON track. `blender_addon.batch` then runs
the way a user runs it, in this process, onto the `metarig` preset as BVH: without cleanup
(`--smooth none --no-foot-lock`), with the batch's default cleanup, and with each of its two
parts alone (smoothing only, foot lock only: what each costs). Each exported
BVH is read back (training.data readers; the `--bvh-up y` default writes Y up, facing +Z) as
H36M-17 joints and measured against the mocap with `devtools.quality_metrics`: the ground the
feet stand on, the start hip height, feet below the floor, foot sliding during true contacts,
acceleration, bone directions after one rotation per clip, flips, left/right swaps and which
bones move at all. `--set check` runs other clips (other CMU val clips, other HDM05 actors)
that no constant was chosen on, into its own section: a change tuned on the default set shows
there whether it carries over.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from devtools import quality_metrics as qm
from devtools.quality_report import (
    PARTS,
    RUNS,
    bone_counts,
    markers,
    overall,
    section,
    tables,
    targets,
)

ROOT = Path(__file__).resolve().parents[1]
FPS = 30.0
IMAGE = (1920, 1080)
FOCAL_PX = 1400.0
DISTANCE_M = (3.5, 5.0)
HEIGHT_M = (1.2, 1.6)
PITCH_DEG = 15.0
ROLL_DEG = 5.0
LEAD_IN_M = 0.05
IN_VIEW = 0.95  # share of joint-frames the camera must keep in the image (else the pitch halves)
RIG = "metarig"
# (label, path ending in the manifests). "default": CMU val (a walk, soccer, a martial-arts
# dance) and HDM05, the clips the cleanup's constants were chosen on; "check": other CMU val
# clips and other HDM05 actors, nothing chosen on them, to see whether a change carries over.
CLIP_SETS = {
    "default": (
        ("cmu_walking", "cmu_actions/val/walking_1.bvh"),
        ("hdm05_jog", "HDM_mm_jogLeftCircle4StepsRstart_011_120.amc"),
        ("cmu_soccer", "cmu_actions/val/soccer_1.bvh"),
        ("hdm05_sneak", "HDM_mm_sneak2StepsLStart_012_120.amc"),
        ("cmu_martial", "cmu_dance/martial/10.bvh"),
        ("hdm05_kick", "HDM_bd_kickLFront1Reps_001_120.amc"),
    ),
    "check": (
        ("cmu_running", "cmu_actions/val/running_1.bvh"),
        ("hdm05_jog_bk", "HDM_bk_jogLeftCircle4StepsRstart_003_120.amc"),
        ("cmu_basketball", "cmu_actions/val/basketball_1.bvh"),
        ("hdm05_sneak_dg", "HDM_dg_sneak2StepsLStart_007_120.amc"),
        ("cmu_salsa", "cmu_dance/salsa/15.bvh"),
        ("hdm05_hop_dg", "HDM_dg_hopBothLegs1hops_022_120.amc"),
        ("cmu_walk10", "cmu_actions/val/walking_extra_10.bvh"),
        ("hdm05_kick_dg", "HDM_dg_kickLFront1Reps_013_120.amc"),
    ),
}
SOURCES = {"cmu_actions", "cmu_dance", "hdm05"}


# --------------------------------------------------------------------------- inputs


def find_clips(mocap: Path, count: int, clip_set: str = "default"):
    """(label, MocapFile) of the first `count` clips of a set found under the mocap folder."""
    from training.data.sources import find_mocap_files

    rows = find_mocap_files(mocap, "val", SOURCES)
    chosen = []
    for label, ending in CLIP_SETS[clip_set][:count]:
        match = [r for r in rows if r.path.replace("\\", "/").endswith(ending)]
        if not match:
            raise FileNotFoundError(f"no val clip ending in {ending} under {mocap}")
        chosen.append((label, match[0]))
    return chosen


def load_truth(item, frames: int) -> tuple[np.ndarray, float, np.ndarray]:
    """(T ≤ frames, 17, 3) world joints (m, Y up, 30 fps), the floor height of one clip and
    each frame's lowest point (T,) (toes, end sites).

    Leading frames whose ankles sit more than LEAD_IN_M below their clip's usual low (5th
    percentile) are dropped: the CMU dance files open with a few frames of legs settling from
    below the floor.
    """
    from training.data.sources import load_files

    (_, clip), *_ = list(load_files([item], target_fps=FPS))
    ankles = clip.joints[:, list(qm.ANKLES), 1]
    sunk = (ankles < np.percentile(ankles, 5, axis=0) - LEAD_IN_M).any(axis=1)
    first = int(np.argmin(sunk)) if sunk[0] else 0
    joints = clip.joints[first : first + frames]
    lowest = clip.lowest[first : first + len(joints)]
    return joints, float(np.percentile(lowest, 1)), lowest


def handheld_camera(joints: np.ndarray, rng: np.random.Generator):
    """A seeded hand-held camera filming the clip (see the module's doc); and what was drawn."""
    from training.data.cameras import Camera, look_at_rotation, tilt_roll_rotation

    pelvis = joints[:, 0]
    centre = np.array([pelvis[:, 0].mean(), pelvis[:, 1].mean(), pelvis[:, 2].mean()])
    azimuth = rng.uniform(0.0, 2.0 * math.pi)
    distance = rng.uniform(*DISTANCE_M)
    height = rng.uniform(*HEIGHT_M)
    pitch = math.radians(rng.uniform(-PITCH_DEG, PITCH_DEG))
    roll = math.radians(rng.uniform(-ROLL_DEG, ROLL_DEG))
    away = np.array([math.sin(azimuth), 0.0, math.cos(azimuth)])
    while True:
        eye = centre + distance * away
        eye[1] = height
        camera = None
        for shrink in (1.0, 0.5, 0.25, 0.0):
            rotation = tilt_roll_rotation(pitch * shrink, roll) @ look_at_rotation(eye, centre)
            camera = Camera.from_pose(
                rotation, eye, [FOCAL_PX] * 2, [IMAGE[0] / 2, IMAGE[1] / 2], *IMAGE
            )
            uv = camera.project(camera.world_to_camera(joints))
            inside = (
                (uv[..., 0] >= 0)
                & (uv[..., 0] < IMAGE[0])
                & (uv[..., 1] >= 0)
                & (uv[..., 1] < IMAGE[1])
            )
            if inside.mean() >= IN_VIEW:
                break
        depth = camera.world_to_camera(joints)[..., 2].min()
        if depth >= 1.5 or distance > 12.0:
            break
        distance += 0.5  # the subject walks too close: step back
    forward = camera.rotation[2]
    drawn = {
        "distance_m": float(distance),
        "height_m": float(height),
        "pitch_offset_deg": float(math.degrees(pitch * shrink)),  # > 0: further down
        "roll_deg": float(math.degrees(roll)),
        "optical_axis_elevation_deg": float(math.degrees(math.asin(forward[1]))),
        "joints_in_view": float(inside.mean()),
    }
    return camera, drawn


def write_input_track(joints: np.ndarray, path: Path, rng: np.random.Generator) -> dict:
    """Film, corrupt and write one clip as an H36M-17 mpm-lift-track JSON; the camera drawn."""
    from mpm_backend.tracks.own import write_track
    from mpm_backend.tracks.track import Track
    from training.data.corruption import NoiseConfig, corrupt_2d

    camera_rng, noise_rng = rng.spawn(2)
    camera, drawn = handheld_camera(joints, camera_rng)
    uv = camera.project(camera.world_to_camera(joints))
    noisy, confidence = corrupt_2d(uv, *IMAGE, noise_rng, NoiseConfig())
    write_track(Track(noisy, confidence, "h36m17", fps=FPS, image_size=IMAGE), path)
    return drawn


# --------------------------------------------------------------------------- the rig's side


def metarig_map():
    """The data pipeline's meta-rig map for a BVH written with `--bvh-up y` (Y up, facing +Z)."""
    from training.data.skeleton_maps import SkeletonMap

    base = SkeletonMap.from_yaml(
        ROOT / "training" / "data" / "skeleton_maps" / "blender_metarig.yaml"
    )
    return dataclasses.replace(base, to_canonical=np.eye(3), units="metres")


def read_rig(path: Path) -> dict:
    """The rig's H36M-17 joints (m, Y up), each frame's lowest point (toes, heels: every joint
    and end site), its rest floor, and which bones' channels vary."""
    from training.data.bvh import forward_kinematics, read_bvh
    from training.data.mocap import bvh_motion, motion_to_clip

    bvh = read_bvh(path)
    joints = motion_to_clip(bvh_motion(bvh), metarig_map(), fps=FPS).joints
    rest = np.zeros((1, bvh.motion.shape[1]))
    column = 0
    for joint, channels in enumerate(bvh.channels):  # position channels replace the OFFSET
        for i, name in enumerate(channels):
            if name.lower().endswith("position"):
                rest[0, column + i] = bvh.offsets[joint]["xyz".index(name[0].lower())]
        column += len(channels)
    rest_positions, _ = forward_kinematics(dataclasses.replace(bvh, motion=rest))
    moving, keyed = qm.varying_channels(bvh.motion, bvh.channels, bvh.names)
    heights = forward_kinematics(bvh)[0][..., 1]
    floor = float(rest_positions[0, :, 1].min())
    feet = [bvh.index(name) for name in ("foot.L", "foot.R")]
    under = [_subtree(bvh.parents, foot) for foot in feet]  # each foot with its toes and heel
    thighs = [bvh.index(name) for name in ("thigh.L", "thigh.R")]
    return {
        "joints": joints,
        "lowest": heights.min(axis=1),
        "feet_lowest": np.stack([heights[:, joints_of].min(axis=1) for joints_of in under], 1),
        "floor": floor,
        "ankle": float(rest_positions[0, feet, 1].mean()) - floor,
        "hip": float(rest_positions[0, thighs, 1].mean()) - floor,
        "moving": moving,
        "keyed": keyed,
    }


def _subtree(parents: np.ndarray, root: int) -> list[int]:
    """The BVH joint ``root`` and every joint (end sites too) under it."""
    inside = [root]
    for joint, parent in enumerate(parents):
        if parent in inside:
            inside.append(joint)
    return inside


def run_batch(tracks: Path, out: Path, flags: list[str], engine) -> int:
    """`python -m blender_addon.batch TRACKS --rig metarig --format bvh FLAGS`, in this process."""
    from blender_addon import batch

    argv = [
        str(tracks),
        "--rig",
        RIG,
        "--out",
        str(out),
        "--format",
        "bvh",
        "--no-progress",
        "--force",
    ]
    argv += ["--json", str(out / "summary.json"), *flags]
    with contextlib.redirect_stdout(sys.stderr):
        return batch.main(argv, engine=engine)


# --------------------------------------------------------------------------- main


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.quality_benchmark",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--mocap", type=Path, default=ROOT.parent / "shared" / "mocap")
    parser.add_argument(
        "--set",
        dest="clip_set",
        choices=sorted(CLIP_SETS),
        default="default",
        help="check: clips nothing was tuned on (its own section of the --out file)",
    )
    parser.add_argument("--clips", type=int, help="the set's first N clips (default: all)")
    parser.add_argument("--frames", type=int, default=300, help="at most this many per clip")
    parser.add_argument(
        "--cameras", type=int, default=3, help="cameras per clip, each a row (one draw is luck)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument("--keep", type=Path, help="keep the tracks and BVH files in this folder")
    parser.add_argument("--checkpoint", default="default")
    args = parser.parse_args(argv)
    available = len(CLIP_SETS[args.clip_set])
    if args.clips is None:
        args.clips = available
    if not 1 <= args.clips <= available:
        parser.error(f"--clips must be 1 to {available} for the {args.clip_set} set")
    if args.cameras < 1:
        parser.error("--cameras must be at least 1")
    return args


def measure_run(out: Path, name: str, flags: list[str], truths: dict) -> dict:
    """One batch run's exported BVHs against the truth: per clip, pooled, and the bones moved."""
    per_clip, speeds, moving, keyed = {}, {"": [], "_truth": []}, set(), set()
    for label, (truth, floor, _, lowest) in truths.items():
        rig = read_rig(out / f"{label}.{RIG}.bvh")
        n = min(len(rig["joints"]), len(truth))
        lows = (rig["lowest"][:n], lowest[:n])
        per_clip[label] = qm.measure(
            truth[:n], rig["joints"][:n], rig["floor"], rig["ankle"], floor, FPS, rig["hip"], lows,
            rig["feet_lowest"][:n],
        )  # fmt: skip
        contact = qm.contacts(truth[:n], FPS)
        speeds[""].append(qm.contact_speed_cm(rig["joints"][:n], contact))
        speeds["_truth"].append(qm.contact_speed_cm(truth[:n], contact))
        moving |= set(rig["moving"])
        keyed |= set(rig["keyed"])
    pooled = {k: np.concatenate(v) if v else np.zeros(0) for k, v in speeds.items()}
    return {
        "name": name,
        "flags": flags,
        "clips": per_clip,
        "overall": overall(per_clip, pooled),
        "bones": bone_counts(moving, keyed),
    }


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    tick = time.perf_counter()
    from mpm_backend.inference import Engine

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="quality_bench_"))
    tracks = work / "tracks"
    tracks.mkdir(parents=True, exist_ok=True)
    truths, cameras = {}, {}
    for index, (clip, item) in enumerate(find_clips(args.mocap, args.clips, args.clip_set)):
        joints, floor, lowest = load_truth(item, args.frames)
        for view in range(args.cameras):
            # the first camera is the one a single-camera run drew
            label = f"{clip}_c{view}" if view else clip
            seed = [args.seed, index, view] if view else [args.seed, index]
            truths[label] = (joints, floor, item.path, lowest)
            cameras[label] = write_input_track(
                joints, tracks / f"{label}.json", np.random.default_rng(seed)
            )
    engine = Engine(args.checkpoint, device="auto")
    results: dict[str, dict] = {}
    try:
        for key, name, flags in (*RUNS, *PARTS):
            out = work / key
            code = run_batch(tracks, out, [*flags, "--checkpoint", args.checkpoint], engine)
            if code != 0:
                raise RuntimeError(
                    f"the batch ({name}) exited with {code}; see {out / 'summary.json'}"
                )
            results[key] = measure_run(out, name, flags, truths)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    minutes = (time.perf_counter() - tick) / 60.0
    text = tables(results, list(truths), cameras)
    given = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "-m", "devtools.quality_benchmark", *given])
    info = {
        "minutes": minutes,
        "clips": args.clips,
        "cameras": args.cameras,
        "frames": args.frames,
        "total_frames": int(sum(len(t[0]) for t in truths.values())),
        "seed": args.seed,
        "set": args.clip_set,
    }
    if args.json:
        payload = {
            "command": command,
            **info,
            "sources": {label: t[2] for label, t in truths.items()},
            "cameras": cameras,
            "runs": results,
            "targets": [{"target": t, "measured": m, "met": ok} for t, m, ok in targets(results)],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=1, default=float) + "\n")
        print(f"wrote {args.json}")
    from devtools.sections import publish

    start, end = markers(args.clip_set)
    publish(f"{text}\n{minutes:.1f} min", section(text, command, info), args.out, start, end)
    return 0


if __name__ == "__main__":
    sys.exit(main())
