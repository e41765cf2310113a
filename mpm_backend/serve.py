"""The backend process: `python -m mpm_backend.serve`, a ZeroMQ ROUTER in front of the engine.

    python -m mpm_backend.serve [--bind tcp://127.0.0.1:5555] [--checkpoint default|PATH]
                                [--device auto|cpu|cuda] [--allow-remote --curve-dir DIR]

The socket thread never waits for inference: `ping`, `info`, `cancel` and every check of a
request are answered at once, while lifts run one at a time on an inference thread that sends
progress and the result back through an inproc socket. Every bad request gets an error reply with
a stable code (mpm_backend.protocol); nothing a client sends stops the server. SIGINT/SIGTERM end
it cleanly. Loopback only unless --allow-remote, which requires CURVE keys (docs/protocol.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import queue
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zmq

from mpm_backend import __version__, cli
from mpm_backend import protocol as wire
from mpm_backend.lift_request import LiftRequest, check_fps, check_image_size
from mpm_backend.skeleton import H36M17, LAYOUTS, get_layout
from mpm_backend.streams import Streams
from mpm_backend.uploads import UploadStore

log = logging.getLogger("mpm_backend.serve")

PROGRESS_INTERVAL_S = 0.2  # at most this often per request


@dataclass
class Job:
    """One long request waiting for, or on, the inference thread."""

    identity: bytes
    message: wire.Message
    run: object  # () -> (result fields, arrays); given progress and cancelled callbacks
    size: int  # bytes of its arrays, counted against MAX_QUEUED_BYTES
    cancelled: threading.Event = field(default_factory=threading.Event)


class Server:
    """ROUTER socket + one inference thread. `serve(stop)` returns when `stop` is set."""

    def __init__(
        self,
        engine,
        bind: str = wire.DEFAULT_ADDRESS,
        curve_dir: Path | None = None,
        allow_dirs: list[Path] = (),
        context: zmq.Context | None = None,
        uploads: UploadStore | None = None,
    ):
        self.engine = engine
        self.uploads = uploads or UploadStore()  # files sent for lift_video (mpm_backend.uploads)
        self.streams = Streams(engine)  # live streams (mpm_backend.live)
        self.allow_dirs = [Path(d).resolve() for d in allow_dirs]
        self.context = context or zmq.Context.instance()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.linger = 0
        self.socket.setsockopt(zmq.ROUTER_MANDATORY, 0)  # replies to gone clients are dropped
        self.auth = _enable_curve(self.context, self.socket, curve_dir) if curve_dir else None
        self.socket.bind(bind)
        self.address = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        # the local handoff only where clients can only be on this machine, and never under
        # CURVE: keys mean a remote client (docs/protocol.md "Uploads")
        self.uploads.local = curve_dir is None and is_loopback(self.address)
        self._results_address = f"inproc://mpm-results-{id(self)}"
        self.results = self.context.socket(zmq.PULL)
        self.results.linger = 0
        self.results.bind(self._results_address)
        self.queue: queue.Queue[Job | None] = queue.Queue()
        self.jobs: dict[tuple[bytes, str], Job] = {}  # queued or running, by (client, id)
        self.jobs_lock = threading.Lock()
        self.queued_bytes = 0
        self.worker = threading.Thread(target=self._work, name="mpm-inference", daemon=True)

    # ------------------------------------------------------------------ socket thread

    def serve(self, stop: threading.Event) -> None:
        self.worker.start()
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        poller.register(self.results, zmq.POLLIN)
        try:
            while not stop.is_set():
                for sock, _ in poller.poll(100):
                    if sock is self.results:
                        self.socket.send_multipart(self.results.recv_multipart(copy=False))
                    else:
                        self._handle(self.socket.recv_multipart(copy=False))
                self.uploads.expire()  # abandoned uploads (at most one look a second)
        finally:
            self._shutdown()

    def _handle(self, frames: list) -> None:
        identity, body = frames[0].bytes, frames[1:]
        header: dict = {}
        try:
            if not body:
                raise wire.ProtocolError(wire.BAD_HEADER, "empty message")
            header = wire.decode_header(body[0].bytes)
            message = wire.decode([body[0].bytes, *(f.buffer for f in body[1:])], header)
            self._dispatch(identity, message)
        except wire.ProtocolError as exc:
            self._send(
                identity,
                wire.error_reply(_str(header, "id"), _str(header, "op"), exc.code, exc.message),
            )
        except Exception as exc:  # a bug in a check: say so, keep serving
            log.exception("request failed")
            self._send(
                identity,
                wire.error_reply(_str(header, "id"), _str(header, "op"), wire.INTERNAL, repr(exc)),
            )

    def _dispatch(self, identity: bytes, message: wire.Message) -> None:
        op, rid = message.op, message.id
        if op not in wire.OPS:
            raise wire.ProtocolError(
                wire.UNKNOWN_OP, f"unknown op {op!r}; this server knows {', '.join(wire.OPS)}"
            )
        if not rid:
            raise wire.ProtocolError(wire.BAD_HEADER, "a request needs a non-empty string 'id'")
        if op == "ping":
            self._send(identity, wire.reply(rid, op, result={"pong": True, "time": time.time()}))
        elif op == "info":
            self._send(identity, wire.reply(rid, op, result=self.info()))
        elif op == "cancel":
            self._cancel(identity, message)
        elif op in wire.STREAM_OPS:  # one short pass per frame: never queued behind lifts
            self._send(identity, self.streams.handle(identity, message))
        elif op in wire.UPLOAD_OPS:  # a chunk is one write: answered at once, never queued
            self._send(identity, self.uploads.handle(message))
        else:
            self._enqueue(identity, message)

    def info(self) -> dict:
        return {
            **self.engine.info(),
            "version": __version__,  # the project's; equals the package's and the extension's
            "protocol": wire.VERSION,
            "ops": list(wire.OPS),
            "queued": self.queue.qsize(),
            "allowed_dirs": [str(d) for d in self.allow_dirs],
            "limits": {
                "max_frames": wire.MAX_FRAMES,
                "max_joints": wire.MAX_JOINTS,
                "max_array_bytes": wire.MAX_ARRAY_BYTES,
                "max_header_bytes": wire.MAX_HEADER_BYTES,
                "max_queued": wire.MAX_QUEUED,
                "max_queued_bytes": wire.MAX_QUEUED_BYTES,
                **self.uploads.limits(),
            },
        }

    def _cancel(self, identity: bytes, message: wire.Message) -> None:
        target = message.params.get("target")
        if not isinstance(target, str):
            raise wire.ProtocolError(wire.BAD_PARAMS, "cancel needs params.target: a request id")
        with self.jobs_lock:
            job = self.jobs.get((identity, target))
        if job is not None:
            job.cancelled.set()  # the job's own reply says "cancelled"
        self._send(identity, wire.reply(message.id, "cancel", result={"found": job is not None}))

    def _enqueue(self, identity: bytes, message: wire.Message) -> None:
        if message.op == "lift_video":
            run = _prepare_video(self.engine, message, self.allow_dirs, self.uploads)
        else:
            run = _prepare(self.engine, message)  # every check here, before the queue
        size = sum(a.nbytes for a in message.arrays.values())
        with self.jobs_lock:
            if (
                len(self.jobs) >= wire.MAX_QUEUED
                or self.queued_bytes + size > wire.MAX_QUEUED_BYTES
            ):
                self.uploads.unclaim(_upload_id(message))  # the client may ask again later
                raise wire.ProtocolError(
                    wire.BUSY,
                    f"{len(self.jobs)} requests ({self.queued_bytes >> 20} MiB) are waiting; "
                    "try again when some have finished",
                )
            job = Job(identity, message, run, size)
            self.jobs[(identity, message.id)] = job
            self.queued_bytes += size
        self.queue.put(job)

    def _send(self, identity: bytes, frames: list) -> None:
        self.socket.send_multipart([identity, *frames])

    def _shutdown(self) -> None:
        with self.jobs_lock:
            for job in self.jobs.values():
                job.cancelled.set()
        self.queue.put(None)
        self.worker.join(timeout=10)
        self.uploads.close()
        self.results.close()
        self.socket.close()
        if self.auth is not None:
            self.auth.stop()

    # ------------------------------------------------------------------ inference thread

    def _work(self) -> None:
        out = self.context.socket(zmq.PUSH)
        out.linger = 0
        out.connect(self._results_address)
        try:
            while (job := self.queue.get()) is not None:
                try:
                    frames = self._run(job, out)
                finally:
                    with self.jobs_lock:
                        self.jobs.pop((job.identity, job.message.id), None)
                        self.queued_bytes -= job.size
                    self.uploads.release(_upload_id(job.message))  # used, whatever the outcome
                out.send_multipart([job.identity, *frames])
        finally:
            out.close()

    def _run(self, job: Job, out: zmq.Socket) -> list:
        rid, op = job.message.id, job.message.op
        if job.cancelled.is_set():
            return wire.error_reply(rid, op, wire.CANCELLED, "cancelled before it started")
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL_S or done == total:
                last[0] = now
                frames = wire.reply(rid, op, wire.PROGRESS, progress={"done": done, "total": total})
                out.send_multipart([job.identity, *frames])

        start = time.perf_counter()
        try:
            result, arrays = job.run(progress, job.cancelled.is_set)
        except wire.Cancelled:
            return wire.error_reply(rid, op, wire.CANCELLED, "cancelled by the client")
        except ValueError as exc:
            return wire.error_reply(rid, op, wire.BAD_INPUT, str(exc))
        except Exception as exc:
            log.exception("%s %s failed", op, rid)
            return wire.error_reply(rid, op, wire.INTERNAL, f"{op} failed: {exc!r}")
        result["seconds"] = round(time.perf_counter() - start, 4)
        return wire.reply(rid, op, wire.OK, arrays=arrays, result=result)


# ----------------------------------------------------------------------------- request checks


def _prepare(engine, message: wire.Message):
    """Check a long request completely; return the call the inference thread will make."""
    fps = _fps(message)
    if message.op == "complete_3d":
        return _prepare_complete_3d(engine, message, fps)
    keypoints = wire.require_array(message, "keypoints", (None, 2))
    name = message.layouts.get("keypoints")
    if not name:
        raise wire.ProtocolError(
            wire.BAD_ARRAY, f"array 'keypoints' needs a layout: one of {', '.join(LAYOUTS)}"
        )
    try:
        layout = get_layout(name)
    except (KeyError, ValueError) as exc:
        raise wire.ProtocolError(wire.BAD_ARRAY, str(exc).strip("'\"")) from None
    if keypoints.shape[1] != layout.num_joints:
        raise wire.ProtocolError(
            wire.BAD_ARRAY,
            f"layout {layout.name!r} has {layout.num_joints} joints; keypoints have "
            f"{keypoints.shape[1]}",
        )
    _check_frames(message.op, keypoints)
    wire.require_finite("keypoints", keypoints, allow_nan=True)  # NaN = joint not detected
    confidence = wire.require_array(message, "confidence", (layout.num_joints,), optional=True)
    _same_frames("confidence", confidence, keypoints)
    if confidence is not None:
        wire.require_finite("confidence", confidence)
        if confidence.min(initial=0) < 0 or confidence.max(initial=0) > 1:
            raise wire.ProtocolError(wire.BAD_ARRAY, "confidence values must lie in [0, 1]")
    image_size = _image_size(message)
    threshold = wire.number_param(message, "threshold", required=False, positive=False)
    if threshold is not None and not 0 <= threshold <= 1:
        raise wire.ProtocolError(wire.BAD_PARAMS, f"threshold must lie in [0, 1], got {threshold}")
    call = engine.lift if message.op == "lift" else engine.complete_2d
    try:
        request = LiftRequest(
            keypoints=keypoints,
            layout=layout.name,
            fps=fps,
            image_size=image_size,
            confidence=confidence,
            threshold=threshold,
            focal_px=message.params.get("focal_px"),
        )
    except ValueError as error:  # focal_px: the other fields were checked above
        raise wire.ProtocolError(wire.BAD_PARAMS, str(error)) from None

    def run(progress, cancelled):
        # the engine gets its own copies: the message's arrays are read-only views of its frames
        own = dataclasses.replace(
            request,
            keypoints=np.array(keypoints),
            confidence=None if confidence is None else np.array(confidence),
        )
        result = call(**own.arguments(), progress=progress, cancelled=cancelled)
        arrays = {
            "joints3d": (result.joints3d, H36M17.name),
            "completed2d": (result.completed2d, H36M17.name),
            "confidence": (result.confidence, H36M17.name),
        }
        if message.op == "complete_2d":
            del arrays["joints3d"]
        if result.root is not None and message.op == "lift":
            arrays["root"] = (result.root, None)
        return _summary(result.completed2d, fps), arrays

    return run


def _prepare_complete_3d(engine, message: wire.Message, fps: float):
    """complete_3d: check the 3D track and its visibility; return the inference thread's call."""
    joints = wire.require_array(message, "joints3d", (H36M17.num_joints, 3))
    layout = message.layouts.get("joints3d", H36M17.name)
    if layout != H36M17.name:
        raise wire.ProtocolError(
            wire.BAD_ARRAY, f"joints3d must be in layout {H36M17.name!r}, got {layout!r}"
        )
    _check_frames(message.op, joints)
    wire.require_finite("joints3d", joints, allow_nan=True)
    visible = wire.require_array(message, "visible", (H36M17.num_joints,), "bu", optional=True)
    _same_frames("visible", visible, joints)

    def run(progress, cancelled):
        out = engine.complete_3d(
            np.array(joints),
            fps,
            None if visible is None else np.array(visible, bool),
            progress=progress,
            cancelled=cancelled,
        )
        return _summary(out, fps), {"joints3d": (out, H36M17.name)}

    return run


def _prepare_video(engine, message: wire.Message, allow_dirs: list[Path], uploads: UploadStore):
    """lift_video: an uploaded video or one the server may read (under an --allow-dir) → 2D
    track → 3D."""
    threshold = wire.number_param(message, "threshold", required=False, positive=False)
    max_frames = wire.number_param(message, "max_frames", required=False)
    video, name = _video_source(message, allow_dirs, uploads)  # last: it claims an upload

    def run(progress, cancelled):
        from mpm_backend.track import detect  # mediapipe: the optional video extra

        try:
            track = detect(video, max_frames=None if max_frames is None else int(max_frames),
                           progress=False, cancelled=cancelled)  # fmt: skip
        except ValueError as exc:  # name the client's file, not the server's copy of it
            raise ValueError(str(exc).replace(str(video), name)) from None
        fps = track.fps or 30.0
        request = LiftRequest(
            keypoints=track.keypoints,
            layout=track.layout,
            fps=fps,
            image_size=track.image_size,
            confidence=track.confidence,
            threshold=threshold,
        )
        result = engine.lift(**request.arguments(), progress=progress, cancelled=cancelled)
        arrays = {
            "keypoints": (track.keypoints, track.layout),
            "keypoint_confidence": (track.confidence, track.layout),
            "joints3d": (result.joints3d, H36M17.name),
            "completed2d": (result.completed2d, H36M17.name),
            "confidence": (result.confidence, H36M17.name),
        }
        if result.root is not None:
            arrays["root"] = (result.root, None)
        summary = {**_summary(result.joints3d, fps), "image_size": list(track.image_size)}
        return summary, arrays

    return run


def _video_source(
    message: wire.Message, allow_dirs: list[Path], uploads: UploadStore
) -> tuple[Path, str]:
    """(the file to read, the name to show): params.upload (claimed here), or params.path."""
    path, upload = message.params.get("path"), message.params.get("upload")
    if upload is not None:
        if path is not None:
            raise wire.ProtocolError(
                wire.BAD_PARAMS, "lift_video takes params.path or params.upload, not both"
            )
        return uploads.claim(upload)
    if not isinstance(path, str) or not path:
        raise wire.ProtocolError(
            wire.BAD_PARAMS,
            "lift_video needs params.upload (an uploaded video's id) or params.path (a file the "
            "server may read)",
        )
    video = Path(path).resolve()
    if not any(video.is_relative_to(d) for d in allow_dirs):
        where = ", ".join(map(str, allow_dirs)) or "none (start the server with --allow-dir DIR)"
        raise wire.ProtocolError(
            wire.FORBIDDEN,
            f"{path} is outside the folders this server may read: {where}; or upload the file "
            "(upload_begin, then params.upload)",
        )
    if not video.is_file():
        raise wire.ProtocolError(wire.BAD_PARAMS, f"{path}: no such file on the server")
    return video, path


def _upload_id(message: wire.Message):
    """The upload a lift_video request claimed (None for other requests)."""
    return message.params.get("upload") if message.op == "lift_video" else None


def _check_frames(op: str, array: np.ndarray) -> None:
    if array.shape[0] == 0:
        raise wire.ProtocolError(wire.BAD_ARRAY, f"{op} needs at least one frame; got 0")


def _same_frames(name: str, array: np.ndarray | None, reference: np.ndarray) -> None:
    if array is not None and array.shape[0] != reference.shape[0]:
        raise wire.ProtocolError(
            wire.BAD_ARRAY,
            f"array {name!r} has {array.shape[0]} frames, the pose array {reference.shape[0]}",
        )


def _fps(message: wire.Message) -> float:
    """params.fps by `lift_request.check_fps`, the rule every layer shares."""
    value = message.params.get("fps")
    if value is None:
        raise wire.ProtocolError(wire.BAD_PARAMS, f"op {message.op!r} needs the parameter 'fps'")
    try:
        return check_fps(value)
    except ValueError as error:
        raise wire.ProtocolError(wire.BAD_PARAMS, str(error)) from None


def _image_size(message: wire.Message) -> tuple[int, int] | None:
    """params.image_size by `lift_request.check_image_size` (whole pixels), or None."""
    size = message.params.get("image_size")
    if size is None:
        return None
    try:
        return check_image_size(size)
    except ValueError as error:
        raise wire.ProtocolError(wire.BAD_PARAMS, str(error)) from None


def _summary(array: np.ndarray, fps: float) -> dict:
    return {"frames": int(array.shape[0]), "fps": fps, "layout": H36M17.name}


def _str(header: dict, key: str) -> str:
    value = header.get(key, "") if isinstance(header, dict) else ""
    return value if isinstance(value, str) else ""


# ----------------------------------------------------------------------------- security


is_loopback = wire.is_loopback  # whether a bind address only accepts this machine's clients


def _enable_curve(context: zmq.Context, socket: zmq.Socket, curve_dir: Path):
    """Make the socket a CURVE server that admits only the client keys in curve_dir/clients."""
    from zmq.auth import load_certificate
    from zmq.auth.thread import ThreadAuthenticator

    secret = curve_dir / "server.key_secret"
    clients = curve_dir / "clients"
    if not secret.is_file() or not clients.is_dir():
        raise FileNotFoundError(
            f"{curve_dir} needs server.key_secret and a clients/ folder of public keys: "
            f"make them with `python -m mpm_backend.keys {curve_dir}`"
        )
    public, secret_key = load_certificate(secret)
    auth = ThreadAuthenticator(context)
    auth.start()
    auth.configure_curve(domain="*", location=str(clients))
    socket.curve_publickey, socket.curve_secretkey = public, secret_key
    socket.curve_server = True
    return auth


# ----------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=cli.prog("mpm_backend.serve", "mpm-lift-serve"),
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=cli.exit_codes(
            "0  stopped cleanly (Ctrl-C, SIGTERM)",
            "2  bad arguments, a checkpoint that does not load, an address it cannot bind",
        ),
    )
    cli.add_version(parser)
    parser.add_argument("--bind", default=wire.DEFAULT_ADDRESS)
    parser.add_argument("--checkpoint", default="default", help="default, baseline:NAME or a path")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="average each lift with the lift of its mirror image (the default: about 2 mm "
        "better on unseen people); --no-flip lifts once, twice as fast",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a bind address reachable from other machines (needs --curve-dir)",
    )
    parser.add_argument("--curve-dir", type=Path, help="CURVE keys (python -m mpm_backend.keys)")
    parser.add_argument(
        "--allow-dir",
        type=Path,
        action="append",
        default=[],
        help="a folder whose videos lift_video may read (repeatable; none by default)",
    )
    parser.add_argument(
        "--max-upload-mb",
        type=int,
        default=wire.MAX_UPLOAD_BYTES >> 20,
        help="the largest file a client may upload for lift_video, in MiB (default %(default)s)",
    )
    return parser


def _load_engine(args: argparse.Namespace):
    """The engine, loaded on a thread that ends before serving starts.

    Torch's OpenMP (libgomp) keeps a pool of worker threads for each thread that runs parallel
    work; once a process holds more of them than it has cores, their workers sleep between
    operations instead of spinning, and a lift of many small operations waits on every wake-up.
    Loaded on the main thread and run on the inference thread, the engine left two pools, and
    lifts over the wire ran slower than in-process (docs/benchmarks.md, backend).
    """
    from mpm_backend.inference import Engine  # torch: only the server process needs it

    with ThreadPoolExecutor(1) as loader:
        return loader.submit(Engine, args.checkpoint, device=args.device, flip=args.flip).result()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.max_upload_mb < 0:
        parser.error("--max-upload-mb must be ≥ 0 (0 refuses every upload)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    if not is_loopback(args.bind):
        if not args.allow_remote:
            log.error(
                "%s is reachable from other machines: add --allow-remote and "
                "--curve-dir (see docs/protocol.md), or bind tcp://127.0.0.1:PORT",
                args.bind,
            )
            return 2
        if args.curve_dir is None:
            log.error(
                "--allow-remote needs --curve-dir with CURVE keys: "
                "python -m mpm_backend.keys DIR makes them"
            )
            return 2
    try:
        engine = _load_engine(args)
    except (OSError, ValueError, RuntimeError) as exc:
        log.error("cannot load checkpoint %r: %s", args.checkpoint, exc)
        return 2
    try:
        uploads = UploadStore(args.max_upload_mb << 20)
        server = Server(engine, args.bind, args.curve_dir, args.allow_dir, uploads=uploads)
    except (zmq.ZMQError, FileNotFoundError) as exc:
        log.error("cannot listen on %s: %s", args.bind, exc)
        return 2
    info = engine.info()
    log.info(
        "model %s (%s parameters) from %s on %s; layouts %s; %s fps; protocol %d; listening on %s%s",
        info["kind"],
        f"{info['parameters']:,}",
        info["checkpoint"],
        info["device"],
        ", ".join(info["layouts"]),
        f"{info['fps']:g}",
        wire.VERSION,
        server.address,
        " (CURVE)" if args.curve_dir else "",
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server.serve(stop)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
