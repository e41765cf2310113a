"""The Live toggle: per-frame 3D drives the MPM skeleton (and the target); Blender stays usable.

    python -m mpm_backend.live --source 0 --publish tcp://127.0.0.1:5556    # outside Blender

A receiver thread subscribes to that address (frames: protocol messages, op "live_frame") and
keeps what arrives; the modal operator's timer takes it on Blender's main thread and poses the
armatures with the newest frame only (a slow viewport skips frames instead of falling behind).
With Record on, every frame seen is kept and, when Live stops, put into the scene the way a lift
is (`result.apply`: levelled, cleaned, an MPM skeleton and the target keyed into Actions).
"""

from __future__ import annotations

import threading
from collections import deque
from types import SimpleNamespace
from typing import NamedTuple

import bpy
import numpy as np
from bpy.props import BoolProperty

from . import jobs
from . import result as scene_result
from .core import coords, extremities, retarget, rigmaps
from .deps import protocol

DEFAULT_ADDRESS = "tcp://127.0.0.1:5556"
TIMER_S = 1 / 60  # the operator's timer: twice a 30 fps source's rate
_STATE = {"running": False, "stop": False}  # one Live at a time; the toggle's 2nd click stops it


def running() -> bool:
    return _STATE["running"]


class Received(NamedTuple):
    """One published frame (`mpm_backend.live.Publisher`); what an older publisher leaves out is
    None."""

    index: int
    joints3d: np.ndarray  # (17, 3) camera frame, root-relative
    root: np.ndarray  # (3,) camera frame, NaN where it could not be solved
    confidence: np.ndarray | None  # (17,) of the H36M-17 joints
    points: extremities.TrackPoints | None  # the detector's own 2D of this frame (1 frame)
    fps: float | None  # the source's frame rate

    @classmethod
    def from_message(cls, message: protocol.Message) -> Received:
        """A "live_frame" message → its frame."""
        result, arrays = message.header.get("result", {}), message.arrays
        points = None
        if "keypoints" in arrays and "keypoint_confidence" in arrays:
            points = extremities.TrackPoints(
                np.array(arrays["keypoints"], float)[None],
                np.array(arrays["keypoint_confidence"], float)[None],
                message.layouts["keypoints"],
            )
        confidence = arrays.get("confidence")
        return cls(
            int(result.get("index", -1)),
            np.array(arrays["joints3d"]),
            np.array(arrays["root"]),
            None if confidence is None else np.array(confidence),
            points,
            float(result["fps"]) if result.get("fps") else None,
        )


class Receiver:
    """A thread on a ZeroMQ SUB socket: `take()` returns the frames (`Received`) that came since
    the last call, oldest first (at most `keep`; older ones are dropped)."""

    def __init__(self, address: str, keep: int = 3600):
        import zmq

        self.socket = zmq.Context.instance().socket(zmq.SUB)
        self.socket.linger = 0
        self.socket.setsockopt(zmq.SUBSCRIBE, b"")
        self.socket.connect(address)
        self.frames: deque = deque(maxlen=keep)
        self.lock, self.stop = threading.Lock(), threading.Event()
        self.thread = threading.Thread(target=self._run, name="mpm-live", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                if not self.socket.poll(100):
                    continue
                try:
                    frame = Received.from_message(protocol.decode(self.socket.recv_multipart()))
                except (protocol.ProtocolError, KeyError):
                    continue  # not a live frame of ours
                with self.lock:
                    self.frames.append(frame)
        finally:
            self.socket.close()

    def take(self) -> list[Received]:
        with self.lock:
            out = list(self.frames)
            self.frames.clear()
        return out

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)


def to_blender(joints3d: np.ndarray, root: np.ndarray | None) -> np.ndarray:
    """A frame's camera-frame joints (17, 3) (+ root (3,)) → Blender axes (17, 3), metres."""
    root = None if root is None or not np.isfinite(root).all() else np.asarray(root)[None]
    return coords.camera_clip_to_blender(np.asarray(joints3d)[None], root)[0]


def pose_armature(
    armature,
    rig_map,
    joints: np.ndarray,
    root_motion: bool,
    points: extremities.TrackPoints | None = None,
) -> None:
    """Pose (not key) an armature like Blender-axes joints (17, 3): one frame's retarget solve,
    hands and feet turned by that frame's detector ``points`` where their layout has them."""
    rest = retarget.RestPose.from_bpy_bones(armature.data.bones)
    solved = retarget.solve(
        joints[None],
        rest,
        rig_map,
        armature_matrix=np.array(armature.matrix_world),
        root_motion=root_motion,
        contacts=np.zeros((1, 2), bool),
        points=points,
    )
    for bone, values in solved.rotations.items():
        pose_bone = armature.pose.bones[bone]
        pose_bone.rotation_mode = "QUATERNION"
        pose_bone.rotation_quaternion = values[0]
    for bone, values in solved.locations.items():
        armature.pose.bones[bone].location = values[0]


class LiveSession:
    """What one Live run made and saw; `show` takes received frames, `finish` records them.

    fps: the panel's frame rate for the recording; None takes the publisher's (the source's),
    else the scene's."""

    def __init__(self, scene, options: jobs.LiftOptions, fps: float | None, record: bool):
        self.scene, self.options, self.fps, self.record = scene, options, fps, record
        self.skeleton = None
        self.target = bpy.data.objects.get(options.target) if options.target else None
        self.target_map = scene_result.rig_map_for(self.target, options) if self.target else None
        self.seen: list[Received] = []
        self.last_index = -1

    def show(self, frames: list[Received]) -> None:
        """Keep every frame (when recording); pose with the newest one."""
        if not frames:
            return
        if self.record:
            self.seen += frames
        newest = frames[-1]
        self.last_index = newest.index
        joints = to_blender(newest.joints3d, newest.root)
        if self.skeleton is None:
            self.skeleton = scene_result.create_skeleton(self.scene, joints[None])
        moving = self.options.root_motion != "OFF"
        skeleton_map = rigmaps.rig_map_by_name(scene_result.SKELETON_MAP)
        pose_armature(self.skeleton, skeleton_map, joints, moving)
        if self.target is not None:
            pose_armature(self.target, self.target_map, joints, moving, newest.points)

    def finish(self) -> list[str]:
        """With frames recorded: the live skeleton gives way to a lift's result keyed from them
        (with the detector's points where every frame has them: hands and feet turn by them)."""
        if not self.seen:
            return []
        if self.skeleton is not None:
            data = self.skeleton.data
            bpy.data.objects.remove(self.skeleton)
            bpy.data.armatures.remove(data)
            self.skeleton = None
        arrays = {"joints3d": np.array([f.joints3d for f in self.seen], np.float32)}
        roots = np.array([f.root for f in self.seen], np.float32)
        if np.isfinite(roots).all():
            arrays["root"] = roots
        if all(f.confidence is not None for f in self.seen):  # where nobody was seen
            arrays["confidence"] = np.array([f.confidence for f in self.seen], np.float32)
        render = self.scene.render
        fps = self.fps or self.seen[-1].fps or render.fps / render.fps_base
        track = SimpleNamespace(fps=fps, image_size=None, source="live")
        layouts = {None if f.points is None else f.points.layout for f in self.seen}
        if len(layouts) == 1 and None not in layouts:
            track.layout = layouts.pop()
            track.keypoints = np.concatenate([f.points.keypoints for f in self.seen])
            track.confidence = np.concatenate([f.points.confidence for f in self.seen])
        return scene_result.apply(self.scene, track, arrays, self.options)


class MPM_OT_live(bpy.types.Operator):
    """Drive the MPM skeleton (and the target) from `python -m mpm_backend.live --publish`; click
    again to stop (with record: the frames seen become Actions)"""

    bl_idname = "mpm.live"
    bl_label = "Live"

    record: BoolProperty(name="Record", default=False, description="Key what Live saw at the end")

    _receiver: Receiver | None = None
    _session: LiveSession | None = None
    _timer = None

    def invoke(self, context, event):
        settings = context.scene.mpm_lift
        if running():  # the toggle's second click: the running modal stops itself
            _STATE["stop"] = True
            return {"FINISHED"}
        options = jobs.LiftOptions.from_scene(context.scene)
        try:
            self._session = LiveSession(context.scene, options, settings.fps or None, self.record)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self._receiver = Receiver(settings.live_address)
        self._timer = context.window_manager.event_timer_add(TIMER_S, window=context.window)
        context.window_manager.modal_handler_add(self)
        _STATE.update(running=True, stop=False)
        settings.status = f"Live from {settings.live_address}"
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        settings = context.scene.mpm_lift
        if _STATE["stop"] or event.type == "ESC":
            return self._stop(context)
        if event.type == "TIMER":
            self._session.show(self._receiver.take())
            settings.status = f"Live: frame {self._session.last_index}"
        return {"PASS_THROUGH"}

    def _stop(self, context):
        context.window_manager.event_timer_remove(self._timer)
        self._receiver.close()
        settings = context.scene.mpm_lift
        _STATE.update(running=False, stop=False)
        try:
            made = self._session.finish()
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        settings.status = f"Recorded into {', '.join(made)}" if made else "Live stopped"
        return {"FINISHED"}
