"""Operators behind the panel: Lift, Cancel, Check backend, Start local backend, Retarget."""

from __future__ import annotations

import shlex
import subprocess
import tempfile
import time
from pathlib import Path

import bpy

from . import jobs, live, local_backend, people, preferences
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
    """Close every socket the add-on holds (at unregister), the start watch's too."""
    stop_watch()
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

    def start(
        self, context, options, track=None, video: str | None = None, everyone=None
    ) -> set[str] | None:
        """Start the job (``everyone``: each person's track, one lift each, people.PeopleJob);
        returns the operator's result when the target is refused."""
        try:
            scene_result.check_target(context.scene, options)
        except ValueError as exc:
            return self.refuse(context, str(exc))
        address, timeout, _ = preferences.settings(context)
        client = get_client(address, timeout)
        if everyone:
            jobs.start(people.PeopleJob(context.scene, everyone, options, client))
        else:
            jobs.start(jobs.LiftJob(context.scene, track, options, client, video))
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
        path = bpy.path.abspath(settings.track_path)
        try:
            if options.people == "ALL":  # a skeleton (and a rig) per person
                everyone = people.read_people(path, options, scene_fps)
                track, who = everyone[0], f"{len(everyone)} people, "
            else:
                track, everyone, who = jobs.read_track(path, options, scene_fps), None, ""
        except (tracks.TrackError, OSError) as exc:
            return self.refuse(context, f"Track not read: {exc}")
        refused = self.start(context, options, track=track, everyone=everyone)
        if refused:
            return refused
        self.report({"INFO"}, f"Lifting {who}{len(track.keypoints)} frames at {track.fps:g} fps…")
        return {"FINISHED"}


class MPM_OT_lift_video(_LiftOperator, bpy.types.Operator):
    """Send a video to the backend, which detects the person in it (MediaPipe) and lifts them
    to 3D"""

    bl_idname = "mpm.lift_video"
    bl_label = "Lift video to 3D"

    def execute(self, context):
        settings = context.scene.mpm_lift
        if not settings.video_path:
            return self.refuse(context, "Choose a video file first (Video)")
        video = bpy.path.abspath(settings.video_path)
        if not Path(video).is_file():
            return self.refuse(context, f"No video file at {video}: choose another (Video)")
        refused = self.start(context, jobs.LiftOptions.from_scene(context.scene), video=video)
        if refused:
            return refused
        self.report({"INFO"}, f"Uploading {Path(video).name}, then detecting and lifting…")
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
                context.scene.mpm_lift.backend_status = exc.message
                self.report({"WARNING"}, exc.message)
                return {"CANCELLED"}
        text = local_backend.describe_info(info, address)
        context.scene.mpm_lift.backend_status = text
        self.report({"INFO"}, text)
        return {"FINISHED"}


class BackendWatch:
    """Waits, from a timer, for a backend just started to answer `info`, then shows who it is.

    The backend loads torch and its checkpoint for seconds: nothing here blocks, so Blender stays
    responsive (the bpy wheel's timers never fire; tests call step() themselves, as for jobs).
    """

    def __init__(self, scene, address: str, process=None, log: Path | None = None,
                 patience: float = 120.0):  # fmt: skip
        self.scene, self.address, self.process, self.log = scene, address, process, log
        self.client = backend.Client(address, timeout=2.0)
        self.request = None
        self.deadline = time.monotonic() + patience
        self.patience = patience

    def step(self) -> float | None:
        """One look: seconds until the next, or None when the backend answered or gave up."""
        if self.request is None or (self.request.finished and self.request.state != "done"):
            self.request = self.client.submit("info")
        self.client.poll()
        if self.request.state == "done":
            return self.finish(local_backend.describe_info(self.request.result, self.address))
        code = self.process.poll() if self.process is not None else None
        if code is not None:
            return self.finish(f"The backend exited with code {code}: {self._last_log_line()}")
        if time.monotonic() > self.deadline:
            return self.finish(
                f"The backend at {self.address} did not answer within {self.patience:g} s"
                + (f"; see {self.log}" if self.log else "")
            )
        return 0.5

    def finish(self, text: str) -> None:
        """Show the outcome and let go of the socket."""
        self.client.close()
        try:
            self.scene.mpm_lift.backend_status = text
        except ReferenceError:  # the scene was removed meanwhile
            pass
        return None

    def _last_log_line(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines() if self.log else []
        except OSError:
            lines = []
        return (lines[-1] if lines else "no output") + (f" (log: {self.log})" if self.log else "")


WATCH: BackendWatch | None = None


def _watch_tick() -> float | None:
    """The timer that drives WATCH."""
    global WATCH
    if WATCH is None:
        return None
    delay = WATCH.step()
    if delay is None:
        WATCH = None
    return delay


def stop_watch() -> None:
    """Forget the watch and its timer (a timer left registered can hang Blender at exit)."""
    global WATCH
    if bpy.app.timers.is_registered(_watch_tick):
        bpy.app.timers.unregister(_watch_tick)
    if WATCH is not None:
        WATCH.client.close()
        WATCH = None


def _answering(address: str) -> dict | None:
    """The `info` of a backend already at `address` (waits at most 0.3 s), else None."""
    with backend.Client(address, timeout=0.3) as c:
        try:
            return c.info(timeout=0.3)
        except backend.BackendError:
            return None


class MPM_OT_start_backend(bpy.types.Operator):
    """Start the backend on this machine: the Backend Python preference, else the checkout's
    .venv, else mpm-lift-serve on PATH; the panel then shows its model and device"""

    bl_idname = "mpm.start_backend"
    bl_label = "Start local backend"

    def execute(self, context):
        global WATCH
        address, _, python = preferences.settings(context)
        status = context.scene.mpm_lift
        info = _answering(address)
        if info is not None:  # a second server could not bind the address anyway
            status.backend_status = local_backend.describe_info(info, address)
            self.report({"INFO"}, f"Already running: {status.backend_status}")
            return {"FINISHED"}
        try:
            found = local_backend.find_backend_command(python, Path(__file__).resolve().parent)
        except local_backend.BackendNotFound as exc:
            status.backend_status = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        command = found.serve(address)  # videos come over the wire: it reads no folder
        log = Path(tempfile.gettempdir()) / "mpm-lift-backend.log"
        try:
            with log.open("wb") as out:
                process = subprocess.Popen(
                    command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
        except OSError as exc:
            status.backend_status = f"Could not start {shlex.join(command)}: {exc}"
            self.report({"ERROR"}, status.backend_status)
            return {"CANCELLED"}
        stop_watch()
        WATCH = BackendWatch(context.scene, address, process, log)
        bpy.app.timers.register(_watch_tick, first_interval=0.5)
        status.backend_status = f"Starting the backend ({found.source}): {shlex.join(command)}"
        self.report({"INFO"}, f"{status.backend_status}; give it a few seconds to load")
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
    live.MPM_OT_live,
    MPM_OT_lift,
    MPM_OT_lift_video,
    MPM_OT_cancel,
    MPM_OT_check_backend,
    MPM_OT_start_backend,
    MPM_OT_retarget,
)
