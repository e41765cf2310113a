"""The footage beside the result: a camera where the lift's solve put it, with the video behind.

The lifted root positions are relative to a camera at the origin of the camera frame; `world`
turns that frame by the levelling rotation, moves the first pelvis over the origin, raises the
floor (and each frame by its ground shift) and may scale the subject. Doing the same to the
camera's centre and axes puts a Blender camera where the real one stood, so the character seen
through it lands on the person in the video. Its lens spans the horizontal field of view
2·atan(W / 2f) of the focal length f the lift used; the video is the camera's background (a
Movie Clip), the scene's resolution, frame rate and frame range are the video's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import bpy
import numpy as np
from mathutils import Matrix

from .anim import Channel, new_action, write_channels
from .core import coords, world
from .deps import lift_request

CAMERA_NAME = "MPM camera"
MARK = "mpm_footage_camera"  # custom property on a camera this add-on made (replaced next time)
SENSOR_WIDTH_MM = 36.0  # any width works: the lens is set from it and the focal in pixels
# Blender's camera looks down its local -Z with +Y up; the lifter's (OpenCV) down +z with y down.
BLENDER_CAMERA_TO_OPENCV = np.diag([1.0, -1.0, -1.0])
# The field of view the backend assumes without a focal length (`mpm_backend.screen`).
DEFAULT_FOV_DEG = 65.0


class FootageError(ValueError):
    """The video cannot be shown beside this lift; the message says why and what to do."""


@dataclass(frozen=True)
class Footage:
    """The video a lift came from and the camera the lift assumed for it."""

    path: str
    image_size: tuple[int, int]  # the track's (width, height), pixels
    focal_px: float  # the focal length the root solve used


def default_focal(image_size: tuple[int, int]) -> float:
    """The backend's assumed focal length: DEFAULT_FOV_DEG across the long side."""
    return lift_request.focal_from_fov(DEFAULT_FOV_DEG, max(image_size))


def footage_for(scene: bpy.types.Scene, track, options) -> Footage | None:
    """The panel's video for this lift, or None: no video set, the file is not on this machine
    (a remote backend read it), or the track has no image size (no root, nothing to place)."""
    settings = getattr(scene, "mpm_lift", None)
    video = getattr(settings, "video_path", "") if settings is not None else ""
    if not video or not track.image_size:
        return None
    path = bpy.path.abspath(video)
    if not os.path.isfile(path):
        return None
    size = (int(track.image_size[0]), int(track.image_size[1]))
    # a video lift (its track's source is "video", jobs._track_from_reply) sends no focal
    # length (jobs.LiftJob): the backend used its assumed one
    focal = None if track.source == "video" else options.focal_for(size)
    return Footage(path, size, float(focal or default_focal(size)))


def camera_path(level: world.Level, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The Blender camera's rotation (3, 3) in the world and its location per frame (T, 3): the
    camera-frame origin and axes through the same levelling, shift and scale as the joints."""
    rotation = level.rotation @ coords.CAMERA_TO_BLENDER @ BLENDER_CAMERA_TO_OPENCV
    ground = np.zeros(num_frames) if level.ground is None else np.asarray(level.ground, float)
    if len(ground) != num_frames:
        raise ValueError(f"the level has {len(ground)} frames, the clip {num_frames}")
    location = np.zeros((num_frames, 3))
    location[:, 0], location[:, 1] = -level.start_xy[0], -level.start_xy[1]
    location[:, 2] = level.floor_shift + ground
    location *= level.scale  # `world.scale_to_height` scales about the origin ...
    location[:, 2] += coords.DEFAULT_ANKLE_HEIGHT * (1.0 - level.scale)  # ... feet kept down
    if level.body_shift is not None:  # foot lock moved the body after that: the camera follows
        location += level.body_shift
    return rotation, location


# ----------------------------------------------------------------------------- the scene


def load_clip(footage: Footage) -> bpy.types.MovieClip:
    """The video as a Movie Clip, refused when its size is not the track's (other footage)."""
    try:
        clip = bpy.data.movieclips.load(footage.path, check_existing=False)
    except RuntimeError as exc:
        raise FootageError(f"Blender cannot open the video {footage.path}: {exc}") from None
    size = (int(clip.size[0]), int(clip.size[1]))
    if size != footage.image_size:
        bpy.data.movieclips.remove(clip)
        raise FootageError(
            f"the video {footage.path} is {size[0]}×{size[1]} but the track's image is "
            f"{footage.image_size[0]}×{footage.image_size[1]}: clear Video in the panel, or "
            "lift the track made from this video"
        )
    return clip


def settings_of(scene: bpy.types.Scene) -> dict:
    """What `match_footage` and `add_camera` change on the scene, to put back on failure."""
    r = scene.render
    return {
        "fps": r.fps, "fps_base": r.fps_base, "resolution_x": r.resolution_x,
        "resolution_y": r.resolution_y, "pixel_aspect_x": r.pixel_aspect_x,
        "pixel_aspect_y": r.pixel_aspect_y, "camera": scene.camera,
    }  # fmt: skip


def restore(scene: bpy.types.Scene, saved: dict) -> None:
    """Put back what `settings_of` saved."""
    for name, value in saved.items():
        setattr(scene if name == "camera" else scene.render, name, value)


def match_footage(scene: bpy.types.Scene, clip: bpy.types.MovieClip, frame_offset: int) -> None:
    """The scene at the video's size (square pixels) and frame rate, its clip starting at the
    first keyed frame. Before the keys go in: they are placed at the scene's frame rate."""
    fps = float(clip.fps) or scene.render.fps / scene.render.fps_base
    scene.render.fps = max(1, round(fps))
    scene.render.fps_base = scene.render.fps / fps  # 29.97: 30 / 1.001
    scene.render.resolution_x, scene.render.resolution_y = clip.size[0], clip.size[1]
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    clip.frame_start = frame_offset


def add_camera(
    scene: bpy.types.Scene,
    clip: bpy.types.MovieClip,
    footage: Footage,
    level: world.Level,
    frames: np.ndarray,
) -> bpy.types.Object:
    """The camera where the solve put it, keyed at the lift's scene frames, the clip behind.
    It moves only by the per-frame ground shift (`world.ground_shift`) and foot lock's body
    shift (`cleanup.Cleaned.body_shift`, in all three axes), centimetres, so the body stays on
    its pixels."""
    data = bpy.data.cameras.new(CAMERA_NAME)
    obj = bpy.data.objects.new(CAMERA_NAME, data)
    obj[MARK] = footage.path
    try:
        data.sensor_fit = "HORIZONTAL"
        data.sensor_width = SENSOR_WIDTH_MM
        data.lens = footage.focal_px * SENSOR_WIDTH_MM / footage.image_size[0]
        data.shift_x = data.shift_y = 0.0  # the solve's principal point: the image centre
        data.show_background_images = True
        background = data.background_images.new()
        background.source = "MOVIE_CLIP"
        background.clip = clip
        background.use_camera_clip = False
        background.frame_method = "STRETCH"  # the clip is the render's size: no bars, no crop
        background.alpha = 1.0
        rotation, location = camera_path(level, len(frames))
        obj.rotation_mode = "QUATERNION"
        obj.rotation_quaternion = _quaternion(rotation)
        obj.location = location[0]
        _key_location(obj, frames, location)
        scene.collection.objects.link(obj)
    except Exception:
        action = obj.animation_data.action if obj.animation_data else None
        bpy.data.objects.remove(obj)
        bpy.data.cameras.remove(data)
        if action is not None:
            bpy.data.actions.remove(action)
        raise
    scene.camera = obj
    return obj


def _quaternion(rotation: np.ndarray) -> tuple[float, float, float, float]:
    return tuple(Matrix(rotation.tolist()).to_quaternion())


def _key_location(obj: bpy.types.Object, frames: np.ndarray, location: np.ndarray) -> None:
    """Key each axis of the camera's location that moves, at the lift's frames, as the
    skeleton's keys (linear); a camera that stands still gets no action."""
    moving = [axis for axis in range(3) if np.ptp(location[:, axis]) > 0]
    if moving:
        action = new_action(obj, CAMERA_NAME)
        channels = [Channel("location", axis, frames, location[:, axis]) for axis in moving]
        write_channels(action, obj, channels)


def replace_earlier(scene: bpy.types.Scene, camera: bpy.types.Object) -> None:
    """Remove the cameras earlier lifts made (their data, action and clip when nothing else
    uses them) and give ``camera`` the plain name. Only once the new result stands."""
    for obj in [o for o in scene.objects if MARK in o and o != camera]:
        data = obj.data
        action = obj.animation_data.action if obj.animation_data else None
        clips = [b.clip for b in data.background_images if b.clip is not None]
        bpy.data.objects.remove(obj)
        if data.users == 0:
            bpy.data.cameras.remove(data)
        if action is not None and action.users == 0:
            bpy.data.actions.remove(action)
        for clip in clips:
            if clip.users == 0:
                bpy.data.movieclips.remove(clip)
    camera.name = camera.data.name = CAMERA_NAME
    if camera.animation_data and camera.animation_data.action:
        camera.animation_data.action.name = CAMERA_NAME
