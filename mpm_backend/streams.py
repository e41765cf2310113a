"""Streams: 2D frames in one at a time, the 3D of each frame out with a bounded look-ahead.

    lifter = StreamLifter(engine, "blazepose33", fps=30, image_size=(640, 480), look_ahead=1)
    for keypoints, confidence in frames:             # (J, 2) pixels, (J,) per frame
        out = lifter.push(keypoints, confidence)     # None for the first look_ahead frames
        out.index, out.joints3d, out.root            # the frame t - look_ahead, (17, 3), (3,)
    rest = lifter.flush()                            # the last look_ahead frames at the end

Each new frame t costs one model pass over the window of the last `window` model frames ending at
t (fewer at the start: the offline lift of a short clip is one window of its frames too), and
answers the 3D of frame t - L from it, so the model sees L frames of the future of the frame it
answers. With L = window - 1 at the end of a clip of `window` frames the answer equals the
offline lift's (`Engine.lift`) to the bit; smaller L trade accuracy for latency (docs/live.md has
the measured cost). The server's stream ops (`stream_open`, `stream_frame`, `stream_close`,
docs/protocol.md) run a `StreamLifter` per stream on the socket thread (`Streams`): one pass is a
few ms. The live command (camera or video → detector → a stream) is `mpm_backend.live`.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from mpm_backend import protocol as wire
from mpm_backend.lift_request import check_focal, check_fps, check_image_size
from mpm_backend.screen import default_focal, denormalise_screen, normalise_screen
from mpm_backend.skeleton import H36M17, get_layout, to_h36m17
from mpm_backend.timebase import MODEL_FPS, min_at, resample_at

PELVIS = H36M17.index("pelvis")
DEFAULT_WINDOW = 81  # model frames per pass (docs/live.md: shorter windows cost accuracy)
DEFAULT_LOOK_AHEAD = 1  # frames of future per answer (docs/live.md: the accuracy/latency trade)
STREAM_IDLE_S = 30.0  # a stream with no frame for this long is closed by the server
MAX_STREAMS = 64  # open streams per server
MAX_FRAMES_PER_MESSAGE = 32  # each frame is a model pass on the socket thread


@dataclass
class LiveFrame:
    """The 3D of one input frame: index counts the stream's frames from 0."""

    index: int
    joints3d: np.ndarray  # (17, 3) float32 metres, camera frame, root-relative (H36M-17)
    completed2d: np.ndarray  # (17, 2) float32 pixels: visible joints as given, hidden ones filled
    confidence: np.ndarray  # (17,) float32, 0 where hidden
    root: np.ndarray | None  # (3,) float32 camera-frame pelvis, None if it cannot be solved


def check_look_ahead(look_ahead: int, window: int, max_window: int, fps: float) -> None:
    """A window of 1 … max_window model frames that holds the look-ahead's span of time."""
    if not 1 <= window <= max_window:
        raise ValueError(f"window must be 1 … {max_window} model frames, got {window}")
    if look_ahead < 0 or look_ahead * MODEL_FPS / fps > window - 1 + 1e-9:
        raise ValueError(
            f"look_ahead must be 0 … {int((window - 1) * fps / MODEL_FPS)} frames at {fps:g} fps "
            f"(the window of {window} model frames must reach back to the answered frame); "
            f"got {look_ahead}"
        )


def model_pass(lifter, pose2d: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, ...]:
    """One batched pass (B, W, 17, 2) + (B, W, 17) → 3D (B, W, 17, 3) [and completed 2D]."""
    # torch, here: the server imports this module before it loads torch
    from mpm_backend.windows import device_of, inference_mode, to_tensor

    with inference_mode(lifter):
        device = device_of(lifter)
        inputs = to_tensor(pose2d, device), to_tensor(confidence, device)
        call = getattr(lifter, "lift_and_complete", None)
        out = call(*inputs) if callable(call) else lifter.lift(*inputs)
    out = out if isinstance(out, tuple) else (out,)
    return tuple(o.detach().float().cpu().numpy() for o in out)


def warm_up(lifter, window: int) -> None:
    """One pass at every window length a stream starts with: a shape's first pass is several
    times slower (allocation), enough to drop a frame at 30 fps."""
    for length in range(1, window + 1):
        shape = (1, length, H36M17.num_joints)
        model_pass(lifter, np.zeros((*shape, 2), np.float32), np.ones(shape, np.float32))


class StreamLifter:
    """Per-frame lifting of one stream at any frame rate; see the module docstring."""

    def __init__(
        self,
        engine,
        layout: str,
        fps: float,
        image_size: tuple[int, int],
        look_ahead: int = DEFAULT_LOOK_AHEAD,
        window: int = DEFAULT_WINDOW,
        threshold: float | None = None,
        focal_px: float | None = None,
    ):
        self.layout = get_layout(layout)
        self.fps = check_fps(fps)
        self.size = check_image_size(image_size)
        self.window = min(int(window), engine.window)
        self.look_ahead = int(look_ahead)
        check_look_ahead(self.look_ahead, self.window, engine.window, self.fps)
        self.threshold = engine.threshold if threshold is None else float(threshold)
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
        self.focal = default_focal(*self.size) if focal_px is None else check_focal(focal_px)
        # the engine's rule: visible joints enter with a confidence the model counts as visible
        self.floor = float(np.nextafter(np.float32(engine.threshold), np.float32(np.inf)))
        self.lifter = engine.lifter
        self.ring: deque = deque(maxlen=math.ceil(self.window * self.fps / MODEL_FPS) + 2)
        self.count = 0  # frames pushed
        self.last: tuple | None = None  # (model times, 3D, completed 2D) of the latest pass

    def push(self, keypoints: np.ndarray, confidence: np.ndarray | None = None) -> LiveFrame | None:
        """Add frame t (J, 2) pixels (NaN = not detected) → the 3D of frame t - look_ahead."""
        points, conf = self._checked(keypoints, confidence)
        pts17, conf17 = to_h36m17(points[None], self.layout.name, conf[None])
        pts17, conf17 = pts17[0], np.clip(np.nan_to_num(conf17[0], nan=0.0), 0.0, 1.0)
        visible = np.isfinite(pts17).all(-1) & (conf17 > 0) & (conf17 >= self.threshold)
        conf_out = np.where(visible, conf17, 0.0)
        screen = normalise_screen(np.where(visible[:, None], pts17, 0.0), *self.size)
        screen[~visible] = np.nan
        self.ring.append((self.count / self.fps, screen, conf_out, pts17))
        self.count += 1
        self._run()
        answered = self.count - 1 - self.look_ahead
        return self._frame(answered) if answered >= 0 else None

    def flush(self) -> list[LiveFrame]:
        """The frames still owed at the end of the stream, from the latest pass."""
        first = max(self.count - self.look_ahead, 0)
        return [self._frame(j) for j in range(first, self.count)] if self.last else []

    def _checked(self, keypoints, confidence) -> tuple[np.ndarray, np.ndarray]:
        joints = self.layout.num_joints
        points = np.asarray(keypoints, dtype=np.float64)
        if points.shape != (joints, 2):
            raise ValueError(
                f"a frame of layout {self.layout.name!r} is ({joints}, 2) pixels, "
                f"got {list(points.shape)}"
            )
        if np.isinf(points).any():
            raise ValueError("keypoints hold Inf (use NaN for a joint not detected)")
        if confidence is None:
            return points, np.ones(joints)
        conf = np.asarray(confidence, dtype=np.float64)
        if conf.shape != (joints,) or not np.isfinite(conf).all():
            raise ValueError(f"confidence must be ({joints},) finite numbers, got {conf.shape}")
        return points, conf

    def _run(self) -> None:
        """One pass over the model frames of the last `window` ending at the newest frame."""
        times = np.array([item[0] for item in self.ring])
        last = math.ceil(times[-1] * MODEL_FPS - 1e-6)  # the model grid starts at frame 0
        times_m = np.arange(max(last - self.window + 1, 0), last + 1) / MODEL_FPS
        screen_m = resample_at(np.stack([item[1] for item in self.ring]), times, times_m)
        conf_m = min_at(np.stack([item[2] for item in self.ring]), times, times_m)
        visible_m = np.isfinite(screen_m).all(-1) & (conf_m > 0)
        pose = np.where(visible_m[..., None], screen_m, 0.0).astype(np.float32)
        conf = np.where(visible_m, np.maximum(conf_m, self.floor), 0.0).astype(np.float32)
        out = model_pass(self.lifter, pose[None], conf[None])
        self.last = (times_m, out[0][0], out[1][0] if len(out) > 1 else None)

    def _frame(self, index: int) -> LiveFrame:
        from mpm_backend.inference import solve_root

        times_m, pred3d, pred2d = self.last
        at = np.array([index / self.fps])
        joints = resample_at(pred3d, times_m, at)[0]
        joints = joints - joints[PELVIS]
        _, _, conf, pts17 = self.ring[index - self.count]
        visible = conf > 0
        filled = (
            pts17
            if pred2d is None
            else denormalise_screen(resample_at(pred2d, times_m, at)[0], *self.size)
        )
        completed = np.where(visible[:, None], pts17, filled)
        centre = (self.size[0] / 2, self.size[1] / 2)
        root = solve_root(joints[None], pts17[None], conf[None], self.focal, centre)
        return LiveFrame(
            index=index,
            joints3d=joints.astype(np.float32),
            completed2d=completed.astype(np.float32),
            confidence=conf.astype(np.float32),
            root=None if root is None else root[0].astype(np.float32),
        )


def causal_lift(
    lifter,
    pose2d: np.ndarray,
    confidence: np.ndarray,
    window: int,
    look_ahead: int,
    batch: int = 64,
) -> np.ndarray:
    """What a stream at the model rate answers for a whole track, batched for evaluation.

    pose2d (T, 17, 2) screen-normalised model input, confidence (T, 17) → (T, 17, 3): frame j
    from the pass over the window ending at min(j + look_ahead, T - 1), as `StreamLifter` does
    (its `flush` gives the last look_ahead frames from the last window).
    """
    frames = len(pose2d)
    out = np.zeros((frames, H36M17.num_joints, 3), np.float32)
    ends = np.arange(frames)
    answered = [[e - look_ahead] if e - look_ahead >= 0 else [] for e in ends]
    answered[-1] = list(range(max(frames - 1 - look_ahead, 0), frames))
    short = [e for e in ends if e < window - 1]
    full = [e for e in ends if e >= window - 1]
    groups = [[e] for e in short] + [full[i : i + batch] for i in range(0, len(full), batch)]
    for group in groups:
        starts = [max(e - window + 1, 0) for e in group]
        stack = [slice(s, e + 1) for s, e in zip(starts, group, strict=True)]
        pred = model_pass(
            lifter, np.stack([pose2d[s] for s in stack]), np.stack([confidence[s] for s in stack])
        )[0]
        for row, (start, end) in enumerate(zip(starts, group, strict=True)):
            for j in answered[end]:
                out[j] = pred[row, j - start]
    return out


# ----------------------------------------------------------------------------- server side


@dataclass
class _Stream:
    owner: bytes
    lifter: StreamLifter
    idle_s: float
    seen: float  # time.monotonic() of the last request


class Streams:
    """The server's open streams: `handle` answers one stream op (checked, one pass per frame).

    Streams idle longer than their timeout are closed lazily, at the next stream op."""

    def __init__(self, engine):
        self.engine = engine
        self.open: dict[str, _Stream] = {}
        self.warm = False  # warm_up runs at the first stream_open (~1 s, once per server)

    def handle(self, identity: bytes, message: wire.Message) -> list:
        now = time.monotonic()
        self.open = {k: s for k, s in self.open.items() if now - s.seen <= s.idle_s}
        op = message.op
        if op == "stream_open":
            return wire.reply(message.id, op, result=self._open(identity, message, now))
        stream_id = message.params.get("stream")
        stream = self.open.get(stream_id) if isinstance(stream_id, str) else None
        if stream is None or stream.owner != identity:
            raise wire.ProtocolError(
                wire.BAD_PARAMS,
                f"no open stream {stream_id!r} of this client: it was closed, timed out "
                "(idle too long), or never opened; open one with stream_open",
            )
        stream.seen = now
        if op == "stream_close":
            del self.open[stream_id]
            frames = stream.lifter.flush()
        else:
            frames = self._frames(stream.lifter, message)
        return wire.reply(
            message.id,
            op,
            result={"stream": stream_id, "received": stream.lifter.count, "count": len(frames)},
            arrays=frame_arrays(frames),
        )

    def _open(self, identity: bytes, message: wire.Message, now: float) -> dict:
        if len(self.open) >= MAX_STREAMS:
            raise wire.ProtocolError(wire.BUSY, f"{MAX_STREAMS} streams are open; close one")
        p = message.params
        idle = wire.number_param(message, "idle_timeout", required=False) or STREAM_IDLE_S
        try:
            lifter = StreamLifter(
                self.engine,
                p.get("layout", ""),
                p.get("fps"),
                p.get("image_size"),
                int(p.get("look_ahead", DEFAULT_LOOK_AHEAD)),
                int(p.get("window", DEFAULT_WINDOW)),
                p.get("threshold"),
                p.get("focal_px"),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise wire.ProtocolError(wire.BAD_PARAMS, str(exc).strip("'\"")) from None
        if not self.warm:
            warm_up(lifter.lifter, self.engine.window)
            self.warm = True
        stream_id = secrets.token_hex(8)
        self.open[stream_id] = _Stream(identity, lifter, min(idle, 3600.0), now)
        return {
            "stream": stream_id,
            "look_ahead": lifter.look_ahead,
            "window": lifter.window,
            "layout": H36M17.name,
            "idle_timeout": min(idle, 3600.0),
        }

    @staticmethod
    def _frames(lifter: StreamLifter, message: wire.Message) -> list[LiveFrame]:
        joints = lifter.layout.num_joints
        points = wire.require_array(message, "keypoints", (joints, 2))
        conf = wire.require_array(message, "confidence", (joints,), optional=True)
        if not 1 <= len(points) <= MAX_FRAMES_PER_MESSAGE:
            raise wire.ProtocolError(
                wire.BAD_ARRAY, f"stream_frame takes 1 … {MAX_FRAMES_PER_MESSAGE} frames"
            )
        if conf is not None and len(conf) != len(points):
            raise wire.ProtocolError(wire.BAD_ARRAY, "confidence and keypoints differ in frames")
        out = []
        for t in range(len(points)):
            try:
                done = lifter.push(points[t], None if conf is None else conf[t])
            except ValueError as exc:
                raise wire.ProtocolError(wire.BAD_ARRAY, str(exc)) from None
            out += [done] if done is not None else []
        return out


def frame_arrays(frames: list[LiveFrame]) -> dict:
    """LiveFrames → the stream ops' arrays (index, joints3d, completed2d, confidence, root)."""
    joints = H36M17.num_joints
    roots = [f.root if f.root is not None else np.full(3, np.nan, np.float32) for f in frames]
    return {
        "index": (np.array([f.index for f in frames], np.int64), None),
        "joints3d": (
            np.array([f.joints3d for f in frames], np.float32).reshape(-1, joints, 3),
            H36M17.name,
        ),
        "completed2d": (
            np.array([f.completed2d for f in frames], np.float32).reshape(-1, joints, 2),
            H36M17.name,
        ),
        "confidence": (
            np.array([f.confidence for f in frames], np.float32).reshape(-1, joints),
            H36M17.name,
        ),
        "root": (np.array(roots, np.float32).reshape(-1, 3), None),
    }
