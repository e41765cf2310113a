"""Operators behind the panel: Lift, Cancel, Check backend, Start local backend, Retarget."""

from __future__ import annotations

import shlex
import subprocess

import bpy

from . import jobs, preferences
from . import result as scene_result
from .deps import client as backend
from .deps import tracks

_CLIENTS: dict[tuple[str, float], backend.Client] = {}


def get_client(address: str, timeout: float) -> backend.Client:
    """One client per (address, timeout), kept for the session (it reconnects by itself)."""
    key = (address, timeout)
    if key not in _CLIENTS:
        _CLIENTS[key] = backend.Client(address, timeout=timeout)
    return _CLIENTS[key]


def close_clients() -> None:
    for c in _CLIENTS.values():
        c.close()
    _CLIENTS.clear()


class _LiftOperator:
    """What both lift operators share: one lift at a time, the target checked before asking the
    backend, every refusal in the status line and Blender's report."""

    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return jobs.ACTIVE is None or jobs.ACTIVE.state != "running"

    def refuse(self, context, message: str) -> set[str]:
        context.scene.mpm_lift.status = message
        self.report({"ERROR"}, message)
        return {"CANCELLED"}

    def start(self, context, options, track=None, video: str | None = None) -> set[str] | None:
        """Start the job; returns the operator's result when the target is refused."""
        try:
            scene_result.check_target(context.scene, options)
        except ValueError as exc:
            return self.refuse(context, str(exc))
        address, timeout, _ = preferences.settings(context)
        jobs.start(jobs.LiftJob(context.scene, track, options, get_client(address, timeout), video))
        return None


class MPM_OT_lift(_LiftOperator, bpy.types.Operator):
    """Lift the 2D track to 3D through the backend, then key an "MPM skeleton" (and the target)"""

    bl_idname = "mpm.lift"
    bl_label = "Lift"

    def execute(self, context):
        settings = context.scene.mpm_lift
        if not settings.track_path:
            return self.refuse(context, "Choose a track file first (Track)")
        options = jobs.LiftOptions.from_scene(context.scene)
        scene_fps = context.scene.render.fps / context.scene.render.fps_base
        try:
            track = jobs.read_track(bpy.path.abspath(settings.track_path), options, scene_fps)
        except (tracks.TrackError, OSError) as exc:
            return self.refuse(context, f"Track not read: {exc}")
        refused = self.start(context, options, track=track)
        if refused:
            return refused
        self.report({"INFO"}, f"Lifting {len(track.keypoints)} frames at {track.fps:g} fps…")
        return {"FINISHED"}


class MPM_OT_lift_video(_LiftOperator, bpy.types.Operator):
    """Have the backend detect the person in a video (MediaPipe) and lift them to 3D.
    The backend reads the file itself: it must be under a folder it was started with --allow-dir"""

    bl_idname = "mpm.lift_video"
    bl_label = "Lift video to 3D"

    def execute(self, context):
        settings = context.scene.mpm_lift
        if not settings.video_path:
            return self.refuse(context, "Choose a video file first (Video)")
        video = bpy.path.abspath(settings.video_path)
        refused = self.start(context, jobs.LiftOptions.from_scene(context.scene), video=video)
        if refused:
            return refused
        self.report({"INFO"}, f"Detecting and lifting {video}…")
        return {"FINISHED"}


class MPM_OT_cancel(bpy.types.Operator):
    """Stop the running lift; the scene stays as it was"""

    bl_idname = "mpm.cancel"
    bl_label = "Cancel"

    def execute(self, context):
        if jobs.ACTIVE is not None:
            jobs.ACTIVE.cancel()
        return {"FINISHED"}


class MPM_OT_check_backend(bpy.types.Operator):
    """Ask the backend who it is (waits at most one second)"""

    bl_idname = "mpm.check_backend"
    bl_label = "Check backend"

    def execute(self, context):
        address, _, _ = preferences.settings(context)
        with backend.Client(address, timeout=1.0) as c:
            try:
                info = c.info(timeout=1.0)
            except backend.BackendError as exc:
                context.scene.mpm_lift.status = exc.message
                self.report({"WARNING"}, exc.message)
                return {"CANCELLED"}
        text = (
            f"Backend at {address}: {info['kind']} model, {info['device']}, "
            f"{info['fps']:g} fps, protocol {info['protocol']}"
        )
        context.scene.mpm_lift.status = text
        self.report({"INFO"}, text)
        return {"FINISHED"}


class MPM_OT_start_backend(bpy.types.Operator):
    """Start `python -m mpm_backend.serve` on this machine with the Python named in the preferences"""

    bl_idname = "mpm.start_backend"
    bl_label = "Start local backend"

    def execute(self, context):
        address, _, python = preferences.settings(context)
        command = [*shlex.split(python), "-m", "mpm_backend.serve", "--bind", address]
        try:
            subprocess.Popen(command, start_new_session=True)
        except OSError as exc:
            self.report({"ERROR"}, f"Could not start {' '.join(command)}: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Started {' '.join(command)}; give it a few seconds to load")
        return {"FINISHED"}


class MPM_OT_retarget(bpy.types.Operator):
    """Retarget the active "MPM skeleton" onto the target armature"""

    bl_idname = "mpm.retarget"
    bl_label = "Retarget onto target"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and scene_result.stored_joints(obj) is not None

    def execute(self, context):
        options = jobs.LiftOptions.from_scene(context.scene)
        try:
            name = scene_result.retarget_from_skeleton(
                context.scene, context.active_object, options
            )
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Keyed {name}")
        return {"FINISHED"}


CLASSES = (
    MPM_OT_lift,
    MPM_OT_lift_video,
    MPM_OT_cancel,
    MPM_OT_check_backend,
    MPM_OT_start_backend,
    MPM_OT_retarget,
)
