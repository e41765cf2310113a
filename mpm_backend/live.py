"""Live capture: a camera or a video file → BlazePose → a stream → the 3D of each frame.

    python -m mpm_backend.live --source 0|VIDEO [--backend ADDR] [--realtime] [--out 3D.npz]
        [--publish tcp://127.0.0.1:5556]    # Blender's Live toggle listens there

Frames are read by a thread (a video replayed at its own rate stands in for a camera), each is
detected, and its 2D goes to a `streams.StreamLifter` in this process or to a backend's stream
ops; each answer's latency is counted from the moment its frame was read. docs/live.md.
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mpm_backend import cli
from mpm_backend import protocol as wire
from mpm_backend.skeleton import H36M17
from mpm_backend.streams import (
    DEFAULT_LOOK_AHEAD,
    DEFAULT_WINDOW,
    LiveFrame,
    StreamLifter,
    warm_up,
)


class Source:
    """Frames of a camera (`source` an index) or a video file, read by a thread into a mailbox of
    `buffer` frames: when it is full as a frame arrives, its oldest frame is dropped, as a camera
    driver's ring of buffers does. `realtime` paces a video at its own frame rate (else it waits
    for the consumer, and nothing is dropped)."""

    def __init__(
        self, source: str, realtime: bool = False, max_frames: int | None = None, buffer: int = 2
    ):
        import cv2

        self.camera = source.isdigit()
        self.capture = cv2.VideoCapture(int(source) if self.camera else source)
        if not self.capture.isOpened():
            raise ValueError(f"{source}: OpenCV cannot open it as a camera or video")
        self.fps = float(self.capture.get(cv2.CAP_PROP_FPS)) or 30.0
        width = int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.size = (width, int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.paced = realtime or self.camera  # a camera paces itself; drops count then
        self.max_frames = max_frames
        self.mailbox: queue.Queue = queue.Queue(maxsize=max(int(buffer), 1))
        self.dropped: list[int] = []  # indices of the frames lost
        self.thread = threading.Thread(target=self._read, name="mpm-live-source", daemon=True)

    def start(self) -> Source:
        self.thread.start()
        return self

    def get(self) -> tuple[int, float, np.ndarray] | None:
        """(frame index, time.perf_counter() it became available, BGR image); None at the end."""
        return self.mailbox.get()

    def _read(self) -> None:
        start, index = time.perf_counter(), 0
        while self.max_frames is None or index < self.max_frames:
            ok, image = self.capture.read()
            if not ok:
                break
            if self.paced and not self.camera:
                time.sleep(max(0.0, start + index / self.fps - time.perf_counter()))
            self._post((index, time.perf_counter(), image))
            index += 1
        self.capture.release()
        self._post(None, wait=True)

    def _post(self, item, wait: bool = False) -> None:
        if not self.paced or wait:
            self.mailbox.put(item)
            return
        if self.mailbox.full():
            try:
                lost = self.mailbox.get_nowait()  # the consumer is behind: the oldest is lost
                self.dropped.append(lost[0])
            except queue.Empty:
                pass  # the consumer took it meanwhile
        self.mailbox.put(item)


class Detector:
    """BlazePose-33 per frame, as `track.detect` maps it (no crop search: too slow for live)."""

    layout = "blazepose33"

    def __init__(self, complexity: int = 1):
        from mpm_backend.video_frames import video_modules

        self.cv2, mp = video_modules()
        self.pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=complexity)

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """BGR image → (33, 2) pixels (NaN = not found or outside the image), (33,) confidence."""
        from mpm_backend.crops import landmarks

        height, width = image.shape[:2]
        found = landmarks(
            self.pose.process(self.cv2.cvtColor(image, self.cv2.COLOR_BGR2RGB)),
            (0.0, 0.0),
            (width, height),
        )
        if found is None:
            return np.full((33, 2), np.nan), np.zeros(33)
        points, conf = found[0], np.clip(np.nan_to_num(found[1]), 0.0, 1.0)
        inside = (points >= 0).all(-1) & (points[:, 0] < width) & (points[:, 1] < height)
        return np.where(inside[:, None], points, np.nan), np.where(inside, conf, 0.0)

    def close(self) -> None:
        self.pose.close()


class RemoteStream:
    """A backend's stream (`python -m mpm_backend.serve`) with StreamLifter's push and flush."""

    def __init__(self, client, layout: str, fps: float, size, look_ahead: int, window: int):
        self.client, self.layout = client, layout
        self.stream = client.stream_open(layout, fps, size, look_ahead=look_ahead, window=window)[
            "stream"
        ]

    def push(self, keypoints: np.ndarray, confidence: np.ndarray) -> list[LiveFrame]:
        reply = self.client.stream_frame(
            self.stream, keypoints[None], confidence[None], self.layout
        )
        return _live_frames(reply.arrays)

    def flush(self) -> list[LiveFrame]:
        return _live_frames(self.client.stream_close(self.stream).arrays)


@dataclass
class Detected:
    """One frame's 2D as the detector gave it: (J, 2) pixels (NaN: not found), (J,) confidence."""

    keypoints: np.ndarray
    confidence: np.ndarray
    layout: str


class Publisher:
    """Each answered frame on a ZeroMQ PUB socket, as a protocol message with op "live_frame"
    (result: index, time, fps; arrays: joints3d, root, confidence of H36M-17, and the detector's
    own 2D of that frame, keypoints and keypoint_confidence, in its layout): the Blender add-on's
    Live toggle subscribes, and turns hands and feet by the detector's points as a lift does."""

    def __init__(self, address: str, fps: float | None = None):
        import zmq

        from mpm_backend.serve import is_loopback

        if not is_loopback(address):
            raise ValueError(f"--publish {address}: bind a loopback address (tcp://127.0.0.1:PORT)")
        self.fps = fps
        self.socket = zmq.Context.instance().socket(zmq.PUB)
        self.socket.linger = 0
        self.socket.bind(address)

    def __call__(self, frame: LiveFrame, detected: Detected | None = None) -> None:
        root = frame.root if frame.root is not None else np.full(3, np.nan, np.float32)
        result = {"index": frame.index, "time": time.time()}
        if self.fps is not None:
            result["fps"] = float(self.fps)
        header = {"op": "live_frame", "id": str(frame.index), "status": wire.OK, "result": result}
        arrays = {
            "joints3d": (frame.joints3d, H36M17.name),
            "root": (root, None),
            "confidence": (np.asarray(frame.confidence, np.float32), H36M17.name),
        }
        if detected is not None:
            arrays["keypoints"] = (np.asarray(detected.keypoints, np.float32), detected.layout)
            confidence = np.asarray(detected.confidence, np.float32)
            arrays["keypoint_confidence"] = (confidence, detected.layout)
        self.socket.send_multipart(wire.encode(header, arrays))

    def close(self) -> None:
        self.socket.close()


def _live_frames(arrays: dict) -> list[LiveFrame]:
    names = ("joints3d", "completed2d", "confidence", "root")
    return [
        LiveFrame(int(i), *(arrays[n][k] for n in names)) for k, i in enumerate(arrays["index"])
    ]


@dataclass
class LiveRun:
    """What a live run saw: per answered frame its 3D and latency; per pushed frame the cost."""

    index: list[int]
    joints3d: list[np.ndarray]
    root: list[np.ndarray]
    latency_s: list[float]  # frame j available → its 3D received (includes the look-ahead wait)
    detect_s: list[float]  # per pushed frame: BlazePose
    lift_s: list[float]  # per pushed frame: the stream's push (model pass, and the wire if remote)
    dropped: int
    frames: int


def run_live(source: Source, detector: Detector, sink, on_frame=None) -> LiveRun:
    """Source → BlazePose → stream, until the source ends; `on_frame(LiveFrame, Detected)` per
    answer, with the 2D the detector gave that frame."""
    run = LiveRun([], [], [], [], [], [], 0, 0)
    pending: dict[int, tuple[float, Detected]] = {}  # by stream index: when read, what was seen
    pushed = 0
    source.start()
    while (item := source.get()) is not None:
        _, read_at, image = item
        tick = time.perf_counter()
        points, conf = detector(image)
        lifted = time.perf_counter()
        answered = sink.push(points, conf)
        done = time.perf_counter()
        pending[pushed] = (read_at, Detected(points, conf, detector.layout))
        pushed += 1  # stream indices count pushed frames
        run.detect_s.append(lifted - tick)
        run.lift_s.append(done - lifted)
        for frame in [answered] if isinstance(answered, LiveFrame) else answered or []:
            _record(run, frame, done, pending.pop(frame.index), on_frame)
    for frame in sink.flush():
        _record(run, frame, time.perf_counter(), pending.pop(frame.index), on_frame)
    run.dropped, run.frames = len(source.dropped), pushed + len(source.dropped)
    return run


def _record(
    run: LiveRun, frame: LiveFrame, now: float, pending: tuple[float, Detected], on_frame
) -> None:
    read_at, detected = pending
    run.index.append(frame.index)
    run.joints3d.append(frame.joints3d)
    run.root.append(frame.root if frame.root is not None else np.full(3, np.nan, np.float32))
    run.latency_s.append(now - read_at)
    if on_frame is not None:
        on_frame(frame, detected)


def summary(run: LiveRun) -> dict:
    """Median and p95 in ms of latency, detector and lift; frames and drops."""
    stats = {"frames": run.frames, "answered": len(run.index), "dropped": run.dropped}
    for name in ("latency_s", "detect_s", "lift_s"):
        values = np.array(getattr(run, name)) * 1000
        key = name[:-2]
        stats[f"{key}_median_ms"] = float(np.median(values)) if len(values) else None
        stats[f"{key}_p95_ms"] = float(np.percentile(values, 95)) if len(values) else None
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=cli.prog("mpm_backend.live", "mpm-lift-live"),
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=cli.exit_codes("0  the source ended (or Ctrl-C)", "2  bad arguments or source"),
    )
    cli.add_version(parser)
    parser.add_argument("--source", required=True, help="a camera index (0) or a video file")
    parser.add_argument("--backend", help="a server address (default: lift in this process)")
    parser.add_argument("--realtime", action="store_true", help="replay a video at its own rate")
    parser.add_argument("--look-ahead", type=int, default=DEFAULT_LOOK_AHEAD)
    parser.add_argument("--window", type=int, default=DEFAULT_WINDOW)
    parser.add_argument("--complexity", type=int, default=1, choices=(0, 1))
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (in-process)")
    parser.add_argument("--max-frames", type=int)
    parser.add_argument("--out", type=Path, help="write index, joints3d, root, latency to .npz")
    parser.add_argument("--print", action="store_true", help="a line per frame")
    parser.add_argument("--publish", help="PUB each frame's 3D here (Blender's Live toggle)")
    args = parser.parse_args(argv)
    try:
        source = Source(args.source, args.realtime, args.max_frames)
        run = _run_main(args, source)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    if args.out:
        np.savez(
            args.out,
            index=np.array(run.index),
            joints3d=np.array(run.joints3d),
            root=np.array(run.root),
            latency_s=np.array(run.latency_s),
        )
    print(
        " ".join(
            f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary(run).items()
        )
    )
    return 0


def _run_main(args, source: Source) -> LiveRun:
    publish = Publisher(args.publish, source.fps) if args.publish else None

    def show(frame: LiveFrame, detected: Detected) -> None:
        if publish is not None:
            publish(frame, detected)
        if args.print:
            wrist = np.round(frame.joints3d[H36M17.index("left_wrist")], 3).tolist()
            print(f"frame {frame.index}: left wrist {wrist} m", flush=True)

    detector = Detector(args.complexity)
    try:
        if args.backend:
            from mpm_backend.client import Client

            with Client(args.backend, timeout=10) as client:
                sink = RemoteStream(
                    client, detector.layout, source.fps, source.size, args.look_ahead, args.window
                )
                return run_live(source, detector, sink, show)
        import torch

        from mpm_backend.inference import Engine

        torch.set_num_threads(args.threads)
        engine = Engine(args.checkpoint, device="cpu")
        warm_up(engine.lifter, engine.window)
        sink = StreamLifter(
            engine,
            detector.layout,
            source.fps,
            source.size,
            args.look_ahead,
            args.window,
        )
        return run_live(source, detector, sink, show)
    finally:
        detector.close()
        if publish is not None:
            publish.close()


if __name__ == "__main__":
    sys.exit(main())
