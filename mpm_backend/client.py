"""Talk to `python -m mpm_backend.serve`: blocking calls for scripts, submit/poll for Blender.

    client = Client()                                   # tcp://127.0.0.1:5555, 30 s timeout
    result = client.lift(keypoints, "coco17", fps=30, image_size=(1920, 1080))
    result.arrays["joints3d"]                           # (T, 17, 3) metres

    request = client.submit_lift(...)                   # returns at once
    request = client.submit_request(LiftRequest.from_track(track))  # the same, from a track
    client.poll()                                       # from a bpy.app.timers function
    request.state, request.progress                     # "pending"/"done"/"failed"/"cancelled"

Torch-free (Blender imports it). A DEALER socket, not REQ: a request that gets no answer does not
wedge the socket. `timeout` is the longest silence tolerated from the server for a request
(progress messages count as signs of life); after one, the socket is rebuilt, so the client works
again as soon as a server answers at the address — a restarted one included.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from . import protocol as wire  # relative: Blender vendors this package
from .lift_request import LiftRequest

PENDING, DONE, FAILED, CANCELLED = "pending", "done", "failed", "cancelled"


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
        self._curve = _client_keys(Path(curve_dir)) if curve_dir else None
        self._ids = itertools.count(1)
        self._prefix = f"{os.getpid():x}-{id(self) & 0xFFFFFF:x}"
        self.pending: dict[str, Request] = {}
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
        path: str,
        threshold: float | None = None,
        max_frames: int | None = None,
        timeout: float | None = None,
    ) -> Request:
        """A video file on the server's machine (under one of its --allow-dir folders): the server
        detects the 2D (MediaPipe) and lifts it. Arrays: keypoints, keypoint_confidence (the
        BlazePose-33 track) and joints3d, completed2d, confidence, root as for lift."""
        params: dict[str, Any] = {"path": str(path)}
        if threshold is not None:
            params["threshold"] = float(threshold)
        if max_frames is not None:
            params["max_frames"] = int(max_frames)
        return self.submit("lift_video", params, None, timeout)

    def lift_video(self, path, threshold=None, max_frames=None, timeout=None, on_progress=None):
        return self.wait(self.submit_lift_video(path, threshold, max_frames, timeout), on_progress)

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

    def _finish(self, request: Request, state: str, error: BackendError | None = None) -> None:
        request.state, request.error = state, error
        self.pending.pop(request.id, None)


def _no_answer(address: str, request: Request) -> BackendError:
    return BackendError(
        wire.TIMEOUT,
        f"no answer from the backend at {address} within {request.timeout:g} s for "
        f"{request.op!r}: is `python -m mpm_backend.serve` running there?",
    )


def _client_keys(curve_dir: Path) -> tuple[bytes, bytes, bytes]:
    """(server public, client public, client secret) from a `python -m mpm_backend.keys` folder."""
    from zmq.auth import load_certificate

    server_public, _ = load_certificate(curve_dir / "server.key")
    client_public, client_secret = load_certificate(curve_dir / "client.key_secret")
    return server_public, client_public, client_secret
