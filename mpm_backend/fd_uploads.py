"""The local handoff: a client on the server's machine passes an open file, not its bytes.

Streaming a video through loopback TCP copies every byte three or four times (read, send,
receive, write) and took 2.6× a plain disk copy (docs/benchmarks.md "Upload benchmark"). A
client on the same machine instead sends the server an open file descriptor over a Unix socket
(SCM_RIGHTS); the server copies from it in the kernel (copy_file_range, sendfile, else a read
loop) into the upload `upload_begin` made. The server never opens a path a client chose: it
reads only what the client itself opened and passed.

The socket lies in a private temporary folder (mode 0700, so only this user reaches it) and a
request must name an upload id from `upload_begin` (128 random bits), so another local process
cannot fill someone else's upload. One thread answers the connections, one at a time.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import socket
import struct
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack

from . import protocol as wire

log = logging.getLogger("mpm_backend.fd_uploads")

# SCM_RIGHTS through Python's socket.send_fds/recv_fds: Linux and macOS, not Windows.
SUPPORTED = hasattr(socket, "AF_UNIX") and hasattr(socket, "recv_fds")
REQUEST_TIMEOUT_S = 10.0  # a connection that sends nothing this long is dropped
_MOST_PER_CALL = 1 << 30  # the kernel copies at most ~2 GiB per call anyway
_READ_BYTES = 1 << 20
# errno values that mean "this way of copying does not work for these files": try the next
_UNSUPPORTED = {
    errno.ENOSYS, errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOTSOCK,
    errno.EBADF, errno.ESPIPE,
}  # fmt: skip

Fill = Callable[[Any, int], dict]  # (upload id, readable fd) → result, or wire.ProtocolError


class FdReceiver:
    """A Unix socket in its own 0700 folder; each connection hands over one fd for `fill`."""

    def __init__(self, fill: Fill):
        self.fill = fill
        self.folder = Path(tempfile.mkdtemp(prefix="mpm-local-"))
        self.path = self.folder / "upload.sock"
        self._stop = threading.Event()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.listener.bind(str(self.path))
            self.listener.listen(8)
        except OSError:
            self.listener.close()
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self.thread = threading.Thread(target=self._serve, name="mpm-fd-uploads", daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop answering and remove the socket and its folder."""
        self._stop.set()
        try:  # wakes accept(); closing the listener from here would not
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as wake:
                wake.connect(str(self.path))
        except OSError:
            pass
        self.thread.join(REQUEST_TIMEOUT_S + 5)
        self.listener.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                if self._stop.is_set():
                    return
                continue
            with connection:
                if not self._stop.is_set():
                    self._answer(connection)

    def _answer(self, connection: socket.socket) -> None:
        connection.settimeout(REQUEST_TIMEOUT_S)
        try:
            _check_peer(connection)
            data, fds = _receive(connection)
        except OSError as exc:  # the client went away or sent nothing: nobody to answer
            log.debug("local handoff dropped: %s", exc)
            return
        except wire.ProtocolError as exc:
            reply: dict = {"error": {"code": exc.code, "message": exc.message}}
        else:
            try:
                reply = self._fill(data, fds)
            finally:
                for fd in fds:
                    os.close(fd)
        try:
            connection.sendall(msgpack.packb(reply, use_bin_type=True))
        except OSError:
            pass  # the client gave up waiting; it falls back to chunks

    def _fill(self, data: bytes, fds: list[int]) -> dict:
        """One request's answer: {"result": …} or {"error": {"code", "message"}}."""
        try:
            request = _request(data)
            if len(fds) != 1:
                raise wire.ProtocolError(
                    wire.BAD_PARAMS, f"a handoff passes exactly one open file, got {len(fds)}"
                )
            return {"result": self.fill(request.get("upload"), fds[0])}
        except wire.ProtocolError as exc:
            return {"error": {"code": exc.code, "message": exc.message}}
        except Exception as exc:  # a bug or the system (no fds left): say so, keep serving
            log.exception("local handoff failed")
            return {"error": {"code": wire.INTERNAL, "message": repr(exc)}}


def copy_fd(source: int, target: int, count: int) -> None:
    """Copy `count` bytes from offset 0 of `source` to offset 0 of `target`, in the kernel where
    the files allow (copy_file_range, then sendfile), else through a buffer. Neither file's
    position matters: the client's fd shares its position with the client."""
    done = 0
    for step in (_copy_range, _send_file, _read_write):
        try:
            while done < count:
                moved = step(source, target, done, count - done)
                if moved == 0:
                    raise OSError(f"the file ended after {done:,} of {count:,} bytes")
                done += moved
            return
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED or step is _read_write:
                raise


def hash_fd(fd: int, count: int) -> Any:
    """sha256 of a file's first `count` bytes (the server's own copy, in the page cache)."""
    digest, offset = hashlib.sha256(), 0
    while offset < count:
        data = os.pread(fd, min(_READ_BYTES, count - offset), offset)
        if not data:
            raise OSError(f"the copy ended after {offset:,} of {count:,} bytes")
        digest.update(data)
        offset += len(data)
    return digest


def _copy_range(source: int, target: int, offset: int, count: int) -> int:
    if not hasattr(os, "copy_file_range"):  # Linux only
        raise OSError(errno.ENOSYS, "no copy_file_range")
    return os.copy_file_range(source, target, min(count, _MOST_PER_CALL), offset, offset)


def _send_file(source: int, target: int, offset: int, count: int) -> int:
    os.lseek(target, offset, os.SEEK_SET)  # sendfile writes at the target's position
    return os.sendfile(target, source, offset, min(count, _MOST_PER_CALL))


def _read_write(source: int, target: int, offset: int, count: int) -> int:
    data = os.pread(source, min(count, _READ_BYTES), offset)
    return os.pwrite(target, data, offset) if data else 0


def _receive(connection: socket.socket) -> tuple[bytes, list[int]]:
    """The request's bytes and the fds that came with them (the caller closes those); the
    client ends its request by shutting down its side."""
    data, fds, flags, _ = socket.recv_fds(connection, wire.MAX_HANDOFF_MESSAGE_BYTES, 1)
    chunks, size = [data], len(data)
    try:
        if flags & getattr(socket, "MSG_CTRUNC", 0):
            raise wire.ProtocolError(wire.BAD_PARAMS, "a handoff passes exactly one open file")
        while data and size <= wire.MAX_HANDOFF_MESSAGE_BYTES:
            data = connection.recv(wire.MAX_HANDOFF_MESSAGE_BYTES)
            chunks.append(data)
            size += len(data)
        if size > wire.MAX_HANDOFF_MESSAGE_BYTES:
            raise wire.ProtocolError(wire.TOO_LARGE, "a handoff request is one small msgpack map")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return b"".join(chunks), fds


def _request(data: bytes) -> dict:
    """The request map: {"v": 1, "upload": id}."""
    try:
        request = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises many types for garbage
        raise wire.ProtocolError(wire.BAD_HEADER, f"not a msgpack map: {exc}") from None
    if not isinstance(request, dict) or request.get("v") != wire.VERSION:
        raise wire.ProtocolError(
            wire.BAD_HEADER, f"a handoff request is a map with v = {wire.VERSION} and upload"
        )
    return request


def _check_peer(connection: socket.socket) -> None:
    """Linux: only this user's processes (the folder's mode says so too; this is the kernel's
    word for it)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    _, uid, _ = struct.unpack("3i", credentials)
    if uid != os.geteuid():
        raise wire.ProtocolError(wire.FORBIDDEN, "the local handoff serves this user only")
