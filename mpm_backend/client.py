"""Talk to `python -m mpm_backend.serve`: blocking calls for scripts, submit/poll for Blender.

    client = Client()                                   # tcp://127.0.0.1:5555, 30 s timeout
    result = client.lift(keypoints, "coco17", fps=30, image_size=(1920, 1080))
    result.arrays["joints3d"]                           # (T, 17, 3) metres

    request = client.submit_lift(...)                   # returns at once
    request = client.submit_request(LiftRequest.from_track(track))  # the same, from a track
    client.poll()                                       # from a bpy.app.timers function
    request.state, request.progress                     # "pending"/"done"/"failed"/"cancelled"

    client.lift_video("clip.mp4", local=True)           # uploads the file here, then lifts it

Torch-free (Blender imports it). A DEALER socket, not REQ: a request that gets no answer does not
wedge the socket. `timeout` is the longest silence tolerated from the server for a request
(progress messages count as signs of life); after one, the socket is rebuilt, so the client works
again as soon as a server answers at the address — a restarted one included.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import zmq

from . import protocol as wire  # relative: Blender vendors this package
from .lift_request import LiftRequest

PENDING, DONE, FAILED, CANCELLED = "pending", "done", "failed", "cancelled"
# Chunks small enough to stay in a core's cache between the socket's copy and the file's
# cost the least CPU per byte (docs/benchmarks.md "Upload benchmark"); 8 keep the pipe full.
UPLOAD_CHUNK_BYTES = 512 << 10
UPLOAD_WINDOW = 8  # chunks in flight: the next is on the wire while the server writes one
# How Client.upload sends a file: "auto" (the local handoff where the server offers it, else
# chunks), "wire" (always chunks) or "fd" (the handoff or an error); this variable sets the default.
UPLOAD_VIA_ENV = "MPM_UPLOAD_VIA"
UPLOAD_VIAS = ("auto", "wire", "fd")
HANDOFF_MIN_BYTES_PER_S = 50e6  # the slowest disk a handoff's wait for its copy allows for


class BackendError(Exception):
    """The server answered with an error, or did not answer. `code` is a protocol error code."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{message} [{code}]")
        self.code, self.message = code, message


@dataclass
class Request:
    """One request's state as the client knows it; updated by Client.poll()."""

    id: str
    op: str
    timeout: float
    deadline: float
    state: str = PENDING
    progress: tuple[int, int] | None = None
    result: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    error: BackendError | None = None

    @property
    def finished(self) -> bool:
        return self.state != PENDING

    def raise_for_error(self) -> Request:
        if self.error is not None:
            raise self.error
        return self


class Client:
    def __init__(
        self,
        address: str = wire.DEFAULT_ADDRESS,
        timeout: float = 30.0,
        curve_dir: str | Path | None = None,
        context: zmq.Context | None = None,
    ):
        self.address, self.timeout = address, float(timeout)
        self.context = context or zmq.Context.instance()
        self._curve_dir = curve_dir
        self._curve = _client_keys(Path(curve_dir)) if curve_dir else None
        self._ids = itertools.count(1)
        self._prefix = f"{os.getpid():x}-{id(self) & 0xFFFFFF:x}"
        self.pending: dict[str, Request] = {}
        self.last_upload_via = ""  # how the last upload went: "fd" (local handoff) or "wire"
        self.last_upload_fallback = ""  # why the last failed handoff fell back to chunks
        self.socket = self._connect()

    # ------------------------------------------------------------------ non-blocking API

    def submit(
        self,
        op: str,
        params: dict | None = None,
        arrays: dict[str, tuple[np.ndarray, str | None]] | None = None,
        timeout: float | None = None,
    ) -> Request:
        """Send a request and return at once; poll() brings its progress and result."""
        timeout = self.timeout if timeout is None else float(timeout)
        request = Request(
            f"{self._prefix}-{next(self._ids)}", op, timeout, time.monotonic() + timeout
        )
        frames = wire.request(op, request.id, params, arrays or {})
        self.socket.send_multipart(frames, copy=False)
        self.pending[request.id] = request
        return request

    def poll(self, wait: float = 0.0) -> list[Request]:
        """Read every waiting reply (waiting up to `wait` s for the first); fail overdue requests.

        Returns the requests whose state or progress changed. Call it from a Blender timer.
        """
        changed: dict[str, Request] = {}
        timeout_ms = int(max(wait, 0.0) * 1000)
        while self.socket.poll(timeout_ms, zmq.POLLIN):
            timeout_ms = 0
            request = self._receive(self.socket.recv_multipart())
            if request is not None:
                changed[request.id] = request
        now = time.monotonic()
        overdue = [r for r in self.pending.values() if now > r.deadline]
        if overdue:
            for request in overdue:
                self._finish(request, FAILED, _no_answer(self.address, request))
                changed[request.id] = request
            self._reset()  # drop what the old socket still queues for a dead server
        return list(changed.values())

    def cancel(self, request: Request) -> None:
        """Ask the server to stop a request; it is marked cancelled here at once."""
        if request.finished:
            return
        self._finish(request, CANCELLED, BackendError(wire.CANCELLED, "cancelled"))
        frames = wire.request("cancel", f"{request.id}-cancel", {"target": request.id})
        self.socket.send_multipart(frames)

    # ------------------------------------------------------------------ blocking API

    def wait(
        self, request: Request, on_progress: Callable[[int, int], None] | None = None
    ) -> Request:
        """Block until the request finishes; raise BackendError if it failed."""
        while not request.finished:
            before = request.progress
            self.poll(wait=min(0.1, max(0.0, request.deadline - time.monotonic()) + 0.001))
            if on_progress and request.progress and request.progress != before:
                on_progress(*request.progress)
        return request.raise_for_error()

    def call(self, op, params=None, arrays=None, timeout=None, on_progress=None) -> Request:
        return self.wait(self.submit(op, params, arrays, timeout), on_progress)

    def ping(self, timeout: float = 2.0) -> dict:
        return self.call("ping", timeout=timeout).result

    def info(self, timeout: float | None = None) -> dict:
        return self.call("info", timeout=timeout).result

    def submit_request(
        self, request: LiftRequest, timeout: float | None = None, op: str = "lift"
    ) -> Request:
        """Send a checked `LiftRequest` (op "lift" or "complete_2d"); returns at once."""
        arrays = {"keypoints": (np.asarray(request.keypoints), request.layout)}
        if request.confidence is not None:
            arrays["confidence"] = (np.asarray(request.confidence), request.layout)
        return self.submit(op, request.params(), arrays, timeout)

    def submit_lift(
        self,
        keypoints: np.ndarray,
        layout: str,
        fps: float,
        image_size: tuple[int, int] | None = None,
        confidence: np.ndarray | None = None,
        threshold: float | None = None,
        timeout: float | None = None,
        op: str = "lift",
        focal_px: float | None = None,
    ) -> Request:
        """keypoints (T, J, 2) pixels in `layout` (NaN = not detected), confidence (T, J).

        fps, image_size and focal_px are checked here (`LiftRequest`), before anything is sent.
        """
        request = LiftRequest(keypoints, layout, fps, image_size, confidence, threshold, focal_px)
        return self.submit_request(request, timeout, op)

    def lift(
        self,
        keypoints,
        layout,
        fps,
        image_size=None,
        confidence=None,
        threshold=None,
        timeout=None,
        on_progress=None,
        *,
        op: str = "lift",
        focal_px: float | None = None,
    ) -> Request:
        """Blocking lift; the finished request's arrays: joints3d, completed2d, confidence, root.

        op as in `submit_lift` ("complete_2d": see `complete_2d`)."""
        request = self.submit_lift(
            keypoints, layout, fps, image_size, confidence, threshold, timeout, op, focal_px
        )
        return self.wait(request, on_progress)

    def complete_2d(self, *args: Any, **kwargs: Any) -> Request:
        """Blocking op "complete_2d", with `lift`'s arguments: the same pass, for completed2d."""
        return self.lift(*args, **kwargs, op="complete_2d")

    def submit_complete_3d(self, joints3d, fps, visible=None, timeout=None) -> Request:
        """joints3d (T, 17, 3) metres in H36M-17 (NaN = hidden), visible (T, 17) bool."""
        arrays = {"joints3d": (np.asarray(joints3d), "h36m17")}
        if visible is not None:
            arrays["visible"] = (np.asarray(visible, dtype=bool), "h36m17")
        return self.submit("complete_3d", {"fps": float(fps)}, arrays, timeout)

    def complete_3d(self, joints3d, fps, visible=None, timeout=None, on_progress=None) -> Request:
        return self.wait(self.submit_complete_3d(joints3d, fps, visible, timeout), on_progress)

    def submit_lift_video(
        self,
        path: str | Path | None = None,
        threshold: float | None = None,
        max_frames: int | None = None,
        timeout: float | None = None,
        *,
        upload: str | None = None,
        local: bool = False,
        on_upload: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Request:
        """The server detects the 2D in a video (MediaPipe) and lifts it. The video: `upload`
        (an id from `upload()`); or `path`, with local=True a file here, uploaded first (this
        call blocks until it is sent; `on_upload` and `cancelled` as for `upload()`), else a file
        on the server's machine under one of its --allow-dir folders. Arrays: keypoints,
        keypoint_confidence (the BlazePose-33 track) and joints3d, completed2d, confidence, root
        as for lift."""
        if local:
            upload = self.upload(path, on_upload, cancelled=cancelled)
        elif upload is None and path is None:
            raise ValueError("lift_video needs a path (local=True: a file here) or an upload id")
        params: dict[str, Any] = {"upload": upload} if upload else {"path": str(path)}
        if threshold is not None:
            params["threshold"] = float(threshold)
        if max_frames is not None:
            params["max_frames"] = int(max_frames)
        return self.submit("lift_video", params, None, timeout)

    def lift_video(
        self, path=None, threshold=None, max_frames=None, timeout=None, on_progress=None, **video
    ) -> Request:
        """Blocking `submit_lift_video` (its keywords: upload, local, on_upload, cancelled)."""
        request = self.submit_lift_video(path, threshold, max_frames, timeout, **video)
        return self.wait(request, on_progress)

    def upload(
        self,
        path: str | Path,
        on_progress: Callable[[int, int], None] | None = None,
        chunk_bytes: int = UPLOAD_CHUNK_BYTES,
        *,
        cancelled: Callable[[], bool] | None = None,
        verify: bool = False,
        via: str | None = None,
    ) -> str:
        """Send a file from this machine to the server; returns the upload id for lift_video.

        Where the server is on this machine and offers it, the file goes by the local handoff:
        the open file passes over a Unix socket and the server copies it on its side; any
        failure of that falls back to chunks. Chunks are read into reused buffers and go out
        UPLOAD_WINDOW at a time without further copies. on_progress(bytes the server has,
        total) after each chunk, or once at the end of a handoff. `cancelled()`, checked between
        chunks and before a handoff, stops it (BackendError `cancelled`). verify=True has the
        server check the bytes' sha256 (one more read of the file here and hashing there).
        `via`: "auto", "wire" or "fd" (UPLOAD_VIAS; default $MPM_UPLOAD_VIA, else "auto").
        On any failure the server's copy is deleted."""
        path = Path(path)
        via = via or os.environ.get(UPLOAD_VIA_ENV) or "auto"
        if via not in UPLOAD_VIAS:
            raise ValueError(f"via must be one of {', '.join(UPLOAD_VIAS)}, got {via!r}")
        if not 0 < chunk_bytes <= wire.MAX_UPLOAD_CHUNK_BYTES:
            raise ValueError(f"chunk_bytes must lie in 1 … {wire.MAX_UPLOAD_CHUNK_BYTES}")
        size = path.stat().st_size
        params: dict[str, Any] = {"name": path.name, "size": size}
        if verify:
            params["sha256"] = _sha256(path, chunk_bytes)
        begun = self.call("upload_begin", params).result
        upload = begun["upload"]
        try:
            local = begun.get("local") if via != "wire" and self._local_possible() else None
            if via == "fd" and not isinstance(local, str):
                raise BackendError(
                    wire.BAD_PARAMS, f"the backend at {self.address} offers no local handoff"
                )
            handed = isinstance(local, str) and self._hand_over(
                path, upload, size, local, via, cancelled
            )
            if handed:
                self.last_upload_via = "fd"
                if on_progress is not None:
                    on_progress(size, size)
            else:
                if local:  # the handoff failed: a fresh upload, so nothing it left mixes in
                    self.cancel_upload(upload)
                    upload = self.call("upload_begin", params).result["upload"]
                self._send_file(path, upload, size, chunk_bytes, on_progress, cancelled)
                self.last_upload_via = "wire"
            self.call("upload_end", {"upload": upload})
        except BaseException:
            self.cancel_upload(upload)
            raise
        return upload

    def cancel_upload(self, upload: str, timeout: float = 1.0) -> bool:
        """Have the server delete an upload (unfinished or unused); whether it still had it."""
        try:
            reply = self.call("upload_cancel", {"upload": upload}, timeout=timeout)
        except BackendError:
            return False  # gone with the server: it deletes its uploads when it stops
        return bool(reply.result.get("found"))

    def sibling(self) -> Client:
        """A new client of the same server, timeout and keys: a ZeroMQ socket serves one thread,
        so a worker thread (the add-on's upload) needs its own."""
        return Client(self.address, self.timeout, self._curve_dir, self.context)

    def stream_open(self, layout: str, fps: float, image_size, **options: Any) -> dict:
        """Open a live stream (docs/protocol.md; options: look_ahead, window, threshold,
        focal_px, idle_timeout); returns its result, whose `stream` names it."""
        params = {"layout": layout, "fps": float(fps), "image_size": [int(v) for v in image_size]}
        return self.call("stream_open", {**params, **options}).result

    def submit_stream_frame(
        self, stream: str, keypoints: np.ndarray, confidence: np.ndarray | None = None,
        layout: str | None = None,
    ) -> Request:  # fmt: skip
        """Send frames (T, J, 2) pixels [+ (T, J)] of a stream; the reply's arrays: index (K,)
        and joints3d, completed2d, confidence, root of the K frames now answered."""
        arrays = {"keypoints": (np.asarray(keypoints, np.float32), layout)}
        if confidence is not None:
            arrays["confidence"] = (np.asarray(confidence, np.float32), layout)
        return self.submit("stream_frame", {"stream": stream}, arrays)

    def stream_frame(self, stream, keypoints, confidence=None, layout=None) -> Request:
        return self.wait(self.submit_stream_frame(stream, keypoints, confidence, layout))

    def stream_close(self, stream: str) -> Request:
        """Close a stream; the reply's arrays hold the frames still owed (its look-ahead)."""
        return self.call("stream_close", {"stream": stream})

    def close(self) -> None:
        for request in list(self.pending.values()):
            self._finish(request, FAILED, BackendError(wire.CANCELLED, "client closed"))
        self.socket.close(linger=0)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _connect(self) -> zmq.Socket:
        socket = self.context.socket(zmq.DEALER)
        socket.linger = 0
        if self._curve is not None:
            socket.curve_serverkey, socket.curve_publickey, socket.curve_secretkey = self._curve
        socket.connect(self.address)
        return socket

    def _reset(self) -> None:
        self.socket.close(linger=0)
        for request in list(self.pending.values()):  # their replies would reach the old socket
            self._finish(request, FAILED, _no_answer(self.address, request))
        self.socket = self._connect()

    def _receive(self, frames: list[bytes]) -> Request | None:
        try:
            message = wire.decode(frames)
        except wire.ProtocolError:
            return None  # not from a server of ours; nothing to match it to
        request = self.pending.get(message.id)
        if request is None:
            return None  # a late reply to a cancelled or timed-out request, or a cancel's reply
        request.deadline = time.monotonic() + request.timeout
        status = message.header.get("status")
        if status == wire.PROGRESS:
            progress = message.header.get("progress", {})
            request.progress = (int(progress.get("done", 0)), int(progress.get("total", 0)))
        elif status == wire.OK:
            request.result = message.header.get("result", {})
            request.arrays = {name: np.array(a) for name, a in message.arrays.items()}
            self._finish(request, DONE)
        else:
            error = message.header.get("error", {})
            code = error.get("code", wire.INTERNAL)
            text = error.get("message", "the server reported an error without a message")
            self._finish(
                request, CANCELLED if code == wire.CANCELLED else FAILED, BackendError(code, text)
            )
        return request

    def _local_possible(self) -> bool:
        """A handoff needs the server on this machine (a loopback address; CURVE means a remote
        one) and SCM_RIGHTS (Linux, macOS; not Windows)."""
        return (
            self._curve is None
            and wire.is_loopback(self.address)
            and hasattr(socket, "AF_UNIX")
            and hasattr(socket, "send_fds")
        )

    def _hand_over(self, path, upload, size, local, via, cancelled) -> bool:
        """Pass the open file to the server's handoff socket `local`; whether the server now
        holds every byte. A failure returns False (via="fd": raises), so chunks follow."""
        if cancelled is not None and cancelled():
            raise BackendError(wire.CANCELLED, f"upload of {path.name} cancelled")
        try:
            with path.open("rb", buffering=0) as file:
                wait = self.timeout + size / HANDOFF_MIN_BYTES_PER_S
                received = _pass_file(local, upload, file.fileno(), wait)
            if received != size:
                raise BackendError(
                    wire.INTERNAL, f"the handoff stored {received!r} of {size:,} bytes"
                )
            return True
        except (OSError, BackendError) as exc:
            if via == "fd":
                raise
            self.last_upload_fallback = str(exc)  # what to tell a user who asks why
            return False

    def _send_file(self, path, upload, size, chunk_bytes, on_progress, cancelled) -> None:
        """upload_chunk requests, UPLOAD_WINDOW in flight; returns when the server has them all."""
        in_flight: deque[Request] = deque()
        # one buffer per chunk in flight, sent uncopied (zmq copy=False) and refilled only once
        # the server has acknowledged its chunk, so libzmq is done with it: no copies, no faults.
        # Read, not mmap: a file truncated while mapped kills the process (SIGBUS in libzmq)
        ring = [np.empty(min(chunk_bytes, size), np.uint8) for _ in range(UPLOAD_WINDOW)]
        sent = chunks = 0
        try:
            with path.open("rb", buffering=0) as file:
                while sent < size or in_flight:
                    if cancelled is not None and cancelled():
                        raise BackendError(wire.CANCELLED, f"upload of {path.name} cancelled")
                    if sent < size and len(in_flight) < UPLOAD_WINDOW:
                        buffer = ring[chunks % UPLOAD_WINDOW]
                        read = file.readinto(buffer[: min(chunk_bytes, size - sent)])
                        if not read:
                            raise OSError(f"{path} shrank to {sent:,} bytes while uploading")
                        params = {"upload": upload, "offset": sent}
                        in_flight.append(
                            self.submit("upload_chunk", params, {"data": (buffer[:read], None)})
                        )
                        sent, chunks = sent + read, chunks + 1
                        continue
                    done = self.wait(in_flight.popleft())
                    if on_progress is not None:
                        on_progress(int(done.result["received"]), size)
        finally:
            for request in in_flight:  # stopped early: forget them, their replies are ignored
                self._finish(request, CANCELLED)

    def _finish(self, request: Request, state: str, error: BackendError | None = None) -> None:
        request.state, request.error = state, error
        self.pending.pop(request.id, None)


def _no_answer(address: str, request: Request) -> BackendError:
    return BackendError(
        wire.TIMEOUT,
        f"no answer from the backend at {address} within {request.timeout:g} s for "
        f"{request.op!r}: is `python -m mpm_backend.serve` running there?",
    )


def _pass_file(local: str, upload: str, fd: int, timeout: float) -> Any:
    """The handoff itself: the request map and the fd in one message, our side shut to mark
    its end, then the server's answer (it closes the connection after it); `received`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        connection.connect(local)
        request = msgpack.packb({"v": wire.VERSION, "upload": upload}, use_bin_type=True)
        socket.send_fds(connection, [request], [fd])
        connection.shutdown(socket.SHUT_WR)
        chunks: list[bytes] = []
        while data := connection.recv(wire.MAX_HANDOFF_MESSAGE_BYTES):
            chunks.append(data)
            if sum(map(len, chunks)) > wire.MAX_HANDOFF_MESSAGE_BYTES:
                raise BackendError(wire.BAD_HEADER, "the handoff's answer is too long")
    try:
        reply = msgpack.unpackb(b"".join(chunks), raw=False)
    except Exception as exc:  # msgpack raises many types for garbage
        raise BackendError(wire.BAD_HEADER, f"the handoff's answer is unreadable: {exc}") from None
    if not isinstance(reply, dict):
        raise BackendError(wire.BAD_HEADER, "the handoff's answer is not a map")
    if "error" in reply:
        error = reply["error"] if isinstance(reply["error"], dict) else {}
        raise BackendError(
            str(error.get("code", wire.INTERNAL)), str(error.get("message", "handoff refused"))
        )
    result = reply.get("result")
    return result.get("received") if isinstance(result, dict) else None


def _sha256(path: Path, chunk_bytes: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as file:
        while chunk := file.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def _client_keys(curve_dir: Path) -> tuple[bytes, bytes, bytes]:
    """(server public, client public, client secret) from a `python -m mpm_backend.keys` folder."""
    from zmq.auth import load_certificate

    server_public, _ = load_certificate(curve_dir / "server.key")
    client_public, client_secret = load_certificate(curve_dir / "client.key_secret")
    return server_public, client_public, client_secret
