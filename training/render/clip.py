"""Render one mocap clip as a video of a seeded person, with its exact ground truth; resumable.

Outputs in the clip's folder: `video.mp4`, `truth.npz`, `meta.json` (all three present = done,
the clip is skipped). While rendering, frames go to `frames/NNNNN.png` beside a `plan.json`; a
rerun with the same plan renders only the missing frames, then assembles the MP4 (OpenCV, mp4v)
and removes the frames unless asked to keep them.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from training.data.cameras import Camera, CameraConfig, SubjectExtent, sample_camera
from training.render.shape import BodyParams, sample_body

OUTPUTS = ("video.mp4", "truth.npz", "meta.json")


@dataclass(frozen=True)
class ClipJob:
    """What to render; equal jobs give identical frames (everything is drawn from the seed)."""

    mocap: str
    seed: int = 0
    frames: int | None = None  # at most this many frames (at fps), from the start
    size: tuple[int, int] | None = None  # (width, height); None: drawn from CameraConfig
    engine: str = "workbench"
    fps: float = 30.0
    skip_frames: int = 1  # the reference T-pose in front of CMU conversions
    distance: tuple[float, float] | None = None  # camera distance range; None: CameraConfig's
    body: BodyParams | None = None  # None: drawn from the seed

    def plan(self) -> dict:
        return {
            "mocap": str(Path(self.mocap).resolve()),
            "seed": self.seed,
            "frames": self.frames,
            "size": list(self.size) if self.size else None,
            "engine": self.engine,
            "fps": self.fps,
            "skip_frames": self.skip_frames,
            "distance": list(self.distance) if self.distance else None,
            "body": None if self.body is None else self.body.to_json(),
        }


def is_done(out: Path) -> bool:
    return all((Path(out) / name).is_file() for name in OUTPUTS)


@dataclass
class Prepared:
    """A clip's scene in Blender and everything known before the first pixel."""

    body: object  # render.body.BlenderBody
    motion: object  # render.motion.RigMotion
    camera: Camera
    look: object  # render.scene.Look
    truth: dict[str, np.ndarray]
    meta: dict


def _camera_config(job: ClipJob) -> CameraConfig:
    """The camera distribution, narrowed to the job's image size and distance when given."""
    config = CameraConfig()
    if job.size is not None:
        config = replace(config, image_sizes=((job.size[0], job.size[1], 1.0),))
    if job.distance is not None:
        config = replace(config, distance_range_m=tuple(job.distance))
    return config


def _posed_rig_joints(body: object, motion: object, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Heads and tails of Blender's posed rig, every frame: the truth is read back from the
    skeleton that deforms the mesh, and must agree with the retargeted pose."""
    from training.render.motion import apply_pose, read_rig_joints

    heads = np.empty_like(motion.heads)
    tails = np.empty_like(motion.heads)
    for frame in range(frames):
        apply_pose(body, motion, frame)
        heads[frame], tails[frame] = read_rig_joints(body)
    gap = float(np.abs(heads - motion.heads).max())
    if gap > 1e-4:
        raise RuntimeError(f"Blender's rig is {gap:.2e} m from the retargeted pose")
    return heads, tails


def _truth(
    job: ClipJob,
    rest: object,
    mocap: object,
    camera: Camera,
    joints_world: np.ndarray,
    heads: np.ndarray,
    tails: np.ndarray,
) -> dict[str, np.ndarray]:
    """truth.npz: the H36M-17 joints in world, camera and pixels, the rig, the camera."""
    joints_camera = camera.world_to_camera(joints_world)
    return {
        "joints_world": joints_world.astype(np.float32),
        "joints_camera": joints_camera.astype(np.float32),
        "joints_2d": camera.project(joints_camera).astype(np.float32),
        "rig_joint_names": np.array(rest.bone_names),
        "rig_heads_world": heads.astype(np.float32),
        "rig_tails_world": tails.astype(np.float32),
        "K": camera.intrinsic_matrix,
        "R": camera.rotation,
        "t": camera.translation,
        "camera": camera.to_array(),
        "width": np.int32(camera.width),
        "height": np.int32(camera.height),
        "fps": np.float64(job.fps),
        "source_frames": mocap.frames,
        "stature_m": np.float64(rest.stature),
    }


def _camera_meta(camera: Camera) -> dict:
    """The camera in meta.json, readable without numpy."""
    return {
        "width": camera.width,
        "height": camera.height,
        "K": camera.intrinsic_matrix.tolist(),
        "R": camera.rotation.tolist(),
        "t": camera.translation.tolist(),
        "position": camera.position.tolist(),
        "fov_long_side_deg": float(
            np.degrees(2 * np.arctan(max(camera.width, camera.height) / 2 / camera.focal[0]))
        ),
    }


def prepare(job: ClipJob) -> Prepared:
    """Build the body, pose it for every frame, draw the camera and the look, set up Blender."""
    import bpy

    from training.render.body import build_in_blender, rest_body
    from training.render.motion import h36m_from_rig, load_mocap, retarget
    from training.render.scene import add_camera, build_scene, look_to_json, sample_look

    started = time.perf_counter()
    rng_body, rng_camera, rng_look = (
        np.random.default_rng(s) for s in np.random.SeedSequence(job.seed).spawn(3)
    )
    params = job.body or sample_body(rng_body)
    mocap = load_mocap(job.mocap, job.fps, job.skip_frames, job.frames)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    rest = rest_body(params)
    body = build_in_blender(rest)
    motion = retarget(rest, body.rest_rotations, mocap)
    joints_world = h36m_from_rig(rest, body.rest_rotations, motion.heads, motion.global_rotations)

    camera = sample_camera(rng_camera, joints_world, _camera_config(job))
    look = sample_look(rng_look)
    build_scene(look, camera, SubjectExtent.from_points(joints_world).centre, job.engine)
    add_camera(camera)

    heads, tails = _posed_rig_joints(body, motion, len(mocap.frames))
    truth = _truth(job, rest, mocap, camera, joints_world, heads, tails)
    meta = {
        "source": str(job.mocap),
        "family": mocap.family,
        "seed": job.seed,
        "engine": job.engine,
        "frames": len(mocap.frames),
        "fps": job.fps,
        "body": params.to_json() | {"stature_m": rest.stature},
        "retarget": {"root_scale": motion.scale, "bones": motion.mapping},
        "camera": _camera_meta(camera),
        "look": look_to_json(look),
        "axes": "world Y up (Blender (x, y, z) = (x, -z, y)), metres; camera OpenCV; "
        "pixels from the image's top-left corner",
        "timings_s": {"prepare": time.perf_counter() - started},
    }
    return Prepared(body, motion, camera, look, truth, meta)


def render_clip(
    job: ClipJob, out: str | Path, keep_frames: bool = False, progress: bool = True
) -> dict | None:
    """Render a clip into `out` (resuming), or skip it when its outputs exist; returns meta."""
    from tqdm import tqdm

    from training.render.motion import apply_pose
    from training.render.scene import render_still

    out = Path(out)
    if is_done(out):
        return None
    frames_dir = out / "frames"
    plan_path = out / "plan.json"
    plan = job.plan()
    if plan_path.is_file() and json.loads(plan_path.read_text()) != plan:
        shutil.rmtree(frames_dir, ignore_errors=True)  # another job's frames: start over
    frames_dir.mkdir(parents=True, exist_ok=True)
    plan_path.write_text(json.dumps(plan, indent=1))

    prepared = prepare(job)
    count = len(prepared.truth["source_frames"])
    todo = [f for f in range(count) if not (frames_dir / f"{f:05d}.png").is_file()]
    started = time.perf_counter()
    name = Path(job.mocap).stem
    with tqdm(
        total=count, initial=count - len(todo), desc=name, unit="frame", disable=not progress
    ) as bar:
        for frame in todo:
            apply_pose(prepared.body, prepared.motion, frame)
            partial = frames_dir / f"{frame:05d}.partial.png"
            render_still(str(partial))
            partial.rename(frames_dir / f"{frame:05d}.png")  # a frame exists only when whole
            bar.update(1)
    render_s = time.perf_counter() - started

    write_video(
        frames_dir, count, prepared.camera.width, prepared.camera.height, job.fps, out / "video.mp4"
    )
    np.savez_compressed(out / "truth.npz", **prepared.truth)
    meta = prepared.meta
    meta["timings_s"] |= {
        "render": render_s,
        "rendered_frames": len(todo),
        "frames_per_s": len(todo) / render_s if todo and render_s > 0 else None,
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    if not keep_frames:
        shutil.rmtree(frames_dir)
        plan_path.unlink()
    return meta


def write_video(
    frames_dir: Path, count: int, width: int, height: int, fps: float, path: Path
) -> None:
    """Assemble numbered PNGs into an MP4 (mp4v), written under a temporary name first."""
    import cv2

    partial = path.with_name(path.stem + ".partial.mp4")
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {partial}")
    try:
        for frame in range(count):
            image = cv2.imread(str(frames_dir / f"{frame:05d}.png"))
            if image is None or image.shape[:2] != (height, width):
                raise RuntimeError(f"{frames_dir}: frame {frame} is missing or has the wrong size")
            writer.write(image)
    finally:
        writer.release()
    partial.rename(path)
