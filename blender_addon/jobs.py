"""A lift in flight: read the track, ask the backend, poll from a timer, put the result in the scene.

Blender's UI never waits: `LiftJob.step()` is a `bpy.app.timers` function that reads what the
backend sent so far and returns. Timers do not fire in the `bpy` wheel, so tests call `step()`
themselves. The scene is touched only once, when the whole result is there and checked. A video
is first uploaded to the backend by a worker thread (`VideoUpload`), so the backend needs no
access to the user's folders.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import bpy

from . import bone_map
from . import result as scene_result
from .deps import client as backend
from .deps import lift_request, tracks

POLL_INTERVAL_S = 0.1


@dataclass
class LiftOptions:
    """Everything the panel decides, as plain values (so batch runs and tests build it too)."""

    layout: str | None = None
    fps: float | None = None
    image_size: tuple[int, int] | None = None
    threshold: float = 0.3
    people: str = "PROMINENT"  # vocabulary.PEOPLE_ROWS: "ALL" is lifted by people.PeopleJob
    person: int = 0  # with people "ONE": the person, in `read_people`'s order
    target: str | None = None  # armature object name
    rig: str = "AUTO"
    rig_map_path: str = ""
    panel_map: str = ""  # rig "PANEL": the panel's bone map as rig-map YAML
    panel_map_error: str = ""  # why there is none (the list is empty or incomplete)
    smoothing: str = "BUTTERWORTH"
    cutoff_hz: float = 6.0
    one_euro_min_cutoff: float = 1.0
    one_euro_beta: float = 0.3
    foot_lock: bool = True
    root_motion: str = "MOVE"
    level: str = "AUTO"  # vocabulary.LEVEL_ROWS
    camera_pitch: float = 0.0  # degrees down, with level "KNOWN"
    camera_roll: float = 0.0  # degrees clockwise, with level "KNOWN"
    subject_height: float = 0.0  # metres; 0: as lifted
    focal_px: float = 0.0  # the camera's focal length in pixels; 0: see fov_deg
    fov_deg: float = 0.0  # its field of view across the image's long side; 0: the assumed camera
    frame_offset: int = 1
    reduce_keys: bool = False
    key_tolerance: float = 0.002

    def focal_for(self, image_size: tuple[int, int] | None) -> float | None:
        """The focal length (pixels) the options give for footage of this size; None: the
        backend's assumed camera (also without an image size, which the lift then reports)."""
        if self.focal_px:
            return self.focal_px
        if self.fov_deg and image_size:
            return lift_request.focal_from_fov(self.fov_deg, max(image_size))
        return None

    @classmethod
    def from_scene(cls, scene: bpy.types.Scene) -> LiftOptions:
        s = scene.mpm_lift
        panel_map, panel_error = bone_map.map_text(scene) if s.rig == "PANEL" else ("", "")
        size = (s.image_width, s.image_height) if s.image_width and s.image_height else None
        return cls(
            layout=None if s.layout == "AUTO" else s.layout,
            fps=s.fps or None,
            image_size=size,
            threshold=s.threshold,
            people=s.people,
            person=s.person,
            target=s.target.name if s.target else None,
            rig=s.rig,
            rig_map_path=bpy.path.abspath(s.rig_map_path) if s.rig_map_path else "",
            panel_map=panel_map,
            panel_map_error=panel_error,
            smoothing=s.smoothing,
            cutoff_hz=s.cutoff_hz,
            one_euro_min_cutoff=s.one_euro_min_cutoff,
            one_euro_beta=s.one_euro_beta,
            foot_lock=s.foot_lock,
            root_motion=s.root_motion,
            level=s.level,
            camera_pitch=s.camera_pitch,
            camera_roll=s.camera_roll,
            subject_height=s.subject_height,
            focal_px=s.focal_px,
            fov_deg=s.fov_deg,
            frame_offset=s.frame_offset,
            reduce_keys=s.reduce_keys,
            key_tolerance=s.key_tolerance,
        )


def read_track(path: str, options: LiftOptions, scene_fps: float) -> tracks.Track:
    """The track, with the panel's layout/fps/size overriding the file; fps falls back to the
    scene's. The person: the one People "One" numbers, else the most prominent."""
    person = options.person if options.people == "ONE" else None
    # the size goes to the reader too: MediaPipe's normalised landmarks need it to be read
    track = tracks.read_track(
        path, layout=options.layout, fps=options.fps, image_size=options.image_size, person=person
    )
    if options.image_size:
        track.image_size = options.image_size
    if not track.fps:
        track.fps = scene_fps
    return track


class VideoUpload:
    """The panel's video on its way to the backend, sent by a worker thread with its own socket
    (a ZeroMQ socket serves one thread); the timer reads `done`, `upload` and `error`, and only
    the timer touches bpy."""

    def __init__(self, client: backend.Client, path: str):
        self.path, self.name = path, os.path.basename(path)
        self.total, self.done = os.path.getsize(path), 0
        self.upload: str | None = None
        self.error: Exception | None = None
        self.stop = threading.Event()  # set by Cancel: checked between chunks
        self.thread = threading.Thread(
            target=self._run, args=(client.sibling(),), name="mpm-upload", daemon=True
        )
        self.thread.start()

    def _run(self, client: backend.Client) -> None:
        try:
            upload = client.upload(self.path, self._progress, cancelled=self.stop.is_set)
            if self.stop.is_set():  # cancelled as the last chunk landed: nobody will lift it
                client.cancel_upload(upload)
            self.upload = upload
        except Exception as exc:  # reported by the timer: never raise in a worker thread
            self.error = exc
        finally:
            client.close()

    def _progress(self, done: int, total: int) -> None:
        self.done = done


class LiftJob:
    """One track (or video) → backend → scene. `state`: running, done, failed, cancelled."""

    def __init__(
        self,
        scene: bpy.types.Scene,
        track: tracks.Track | None,
        options: LiftOptions,
        client: backend.Client,
        video: str | None = None,
    ):
        self.scene_name, self.track, self.options, self.client = scene.name, track, options, client
        self.state, self.message = "running", ""
        self.objects: list[str] = []
        self.started = time.monotonic()
        self.uploading: VideoUpload | None = None
        self.request: backend.Request | None = None
        if video is not None:  # uploaded, then the backend detects the 2D and lifts it
            self.uploading = VideoUpload(client, video)
            self._status(f"Uploading {self.uploading.name}…", 0.0, running=True)
            return
        request = lift_request.LiftRequest.from_track(
            track, options.threshold, options.focal_for(track.image_size)
        )
        self.request = client.submit_request(request)
        self._status(f"Lifting {len(track.keypoints)} frames…", 0.0, running=True)

    @property
    def scene(self) -> bpy.types.Scene | None:
        return bpy.data.scenes.get(self.scene_name)

    def step(self) -> float | None:
        """Timer function: poll the backend; apply the result when it is complete."""
        if self.state != "running":
            return None
        if self.uploading is not None:
            return self._step_upload()
        try:
            self.client.poll()
        except Exception as exc:  # a broken socket: report it, never raise into Blender's timer
            return self._end("failed", f"Lost the backend: {exc}")
        request = self.request
        if not request.finished:
            if request.progress and request.progress[1]:
                done, total = request.progress
                self._status(f"Lifting… {done}/{total} batches", done / total, running=True)
            return POLL_INTERVAL_S
        if request.state == backend.CANCELLED:
            return self._end("cancelled", "Cancelled; the scene is unchanged")
        if request.error is not None:
            return self._end("failed", f"Lift failed: {request.error.message}")
        return self._apply(request)

    def _apply(self, request: backend.Request) -> float | None:
        """The whole reply is here: put it in the scene (people.PeopleJob first asks for the
        next person)."""
        scene = self.scene
        if scene is None:
            return self._end("failed", "The scene was deleted while lifting")
        if self.track is None:
            self.track = _track_from_reply(request)
        try:
            prepared = scene_result.prepare_joints(request.arrays, self.track.fps, self.options)
            made = scene_result.apply(scene, self.track, request.arrays, self.options, prepared)
        except Exception as exc:  # the scene is left as it was (apply cleans up after itself)
            return self._end("failed", f"Could not build the result: {exc}")
        self.objects = made
        _undo_step("MPM Lift")
        seconds = time.monotonic() - self.started
        floor, warnings = scene_result.floor_report(prepared.level, request.arrays)
        lines = [
            f"Lifted {len(self.track.keypoints)} frames in {seconds:.1f} s: " + ", ".join(made),
            f"Floor levelled ({floor['source']}): camera pitch {floor['camera_pitch_deg']:.1f}°, "
            f"roll {floor['camera_roll_deg']:.1f}°",
            scene_result.cleanup_report(self.options),
            *(f"Warning: {w}" for w in warnings),
        ]
        return self._end("done", "\n".join(lines))

    def _step_upload(self) -> float | None:
        """While the video uploads: show how far; once sent, ask for the lift."""
        sending = self.uploading
        if sending.thread.is_alive():
            mb = f"{sending.done / 1e6:.1f} of {sending.total / 1e6:.1f} MB"
            fraction = sending.done / sending.total if sending.total else 0.0
            self._status(f"Uploading {sending.name}… {mb}", fraction, running=True)
            return POLL_INTERVAL_S
        self.uploading = None
        error, threshold = sending.error, self.options.threshold
        if getattr(error, "code", None) == backend.wire.UNKNOWN_OP:  # a backend without uploads
            self.request = self.client.submit_lift_video(sending.path, threshold)
        elif error is not None:
            return self._end("failed", f"Upload failed: {getattr(error, 'message', error)}")
        else:
            self.request = self.client.submit_lift_video(upload=sending.upload, threshold=threshold)
        self._status(f"Detecting and lifting {sending.name}…", 0.0, running=True)
        return POLL_INTERVAL_S

    def cancel(self) -> None:
        if self.state == "running":
            if self.uploading is not None:
                self.uploading.stop.set()  # its thread deletes the backend's partial copy
            elif self.request is not None:
                self.client.cancel(self.request)
            self._end("cancelled", "Cancelled; the scene is unchanged")

    def _end(self, state: str, message: str) -> None:
        self.state, self.message = state, message
        self._status(message, 1.0 if state == "done" else 0.0, running=False)
        return None

    def _status(self, text: str, progress: float, running: bool) -> None:
        scene = self.scene
        if scene is None:
            return
        settings = scene.mpm_lift
        settings.status, settings.progress, settings.running = text, progress, running
        for window in getattr(bpy.context.window_manager, "windows", []):
            for area in window.screen.areas:
                if area.type == "VIEW_3D":
                    area.tag_redraw()


def _track_from_reply(request: backend.Request) -> tracks.Track:
    """The 2D track a lift_video reply carries (BlazePose-33, the video's fps and size)."""
    return tracks.Track(
        keypoints=request.arrays["keypoints"],
        confidence=request.arrays["keypoint_confidence"],
        layout="blazepose33",
        fps=float(request.result["fps"]),
        image_size=tuple(request.result["image_size"]),
        source="video",
    )


def _undo_step(message: str) -> None:
    """One undo step for what a timer added (operators get theirs from bl_options)."""
    try:
        bpy.ops.ed.undo_push(message=message)
    except RuntimeError:  # no window (background, the bpy wheel): nothing to undo into
        pass


ACTIVE: LiftJob | None = None


def tick() -> float | None:
    """The registered timer: drives the active job."""
    return ACTIVE.step() if ACTIVE is not None else None


def start(job: LiftJob) -> None:
    global ACTIVE
    ACTIVE = job
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=POLL_INTERVAL_S)


def stop() -> None:
    """Unregister the timer (a timer left registered can hang Blender at exit) and forget the job."""
    global ACTIVE
    if ACTIVE is not None:
        ACTIVE.cancel()
    ACTIVE = None
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
