"""Files clients send in chunks (ops upload_begin/chunk/end/cancel), kept for `lift_video`.

The backend used to read videos only from paths under its --allow-dir folders, so a user had to
start it by hand naming the video's folder. An upload travels over the same socket (and CURVE)
as everything else and lands in a private temporary folder this module owns: never a path a
client chose (only a sanitised suffix of its name survives, so OpenCV still sees `.mp4`).

A client on the server's machine may skip the chunks: `upload_begin`'s reply then names a Unix
socket (`local`) to which it passes the open file instead (mpm_backend.fd_uploads); the upload
then ends, is checked and deleted like any other.

Every upload is deleted when its lift_video finishes (whatever the outcome), when its client
cancels it, when nobody touched it for `idle_s` seconds, and when the server stops. An upload
id is 128 random bits: holding it is what allows using it (the add-on uploads from a worker
thread with its own socket, then lifts from its timer's socket).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from . import fd_uploads
from . import protocol as wire

log = logging.getLogger("mpm_backend.uploads")

_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}$")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_NAME_CHARS = 1024
EXPIRE_EVERY_S = 1.0  # how often the socket thread's calls to expire() really look


@dataclass
class Upload:
    """One file on its way in (`file` open) or complete (`file` None), waiting for its lift."""

    id: str
    name: str
    path: Path
    size: int
    received: int = 0
    file: BinaryIO | None = None
    hasher: Any = None  # hashlib.sha256 while a digest was announced
    expected: str | None = None
    touched: float = field(default_factory=time.monotonic)
    complete: bool = False
    claimed: bool = False  # a queued or running lift_video holds it: it never expires
    filling: bool = False  # a local handoff copies into it now: no chunks, no expiry


class UploadStore:
    """The server's uploads, in a private temporary folder made at the first upload.

    The socket thread calls handle(), claim(), unclaim() and expire(); the inference thread
    calls release() when a lift_video ends; the local handoff's thread calls fill_from_fd();
    hence the lock. `local`: whether to offer the local handoff (the server sets it for a
    loopback address without CURVE).
    """

    def __init__(
        self,
        max_bytes: int = wire.MAX_UPLOAD_BYTES,
        idle_s: float = wire.UPLOAD_IDLE_S,
        max_uploads: int = wire.MAX_UPLOADS,
    ):
        self.max_bytes, self.idle_s, self.max_uploads = int(max_bytes), idle_s, max_uploads
        self.uploads: dict[str, Upload] = {}
        self.lock = threading.Lock()
        self._folder: Path | None = None
        self._last_expiry = 0.0
        self.local = False
        self._receiver: fd_uploads.FdReceiver | None = None

    @property
    def folder(self) -> Path:
        """The private folder (mode 0700, made on first use so idle servers leave none)."""
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="mpm-uploads-"))
        return self._folder

    def limits(self) -> dict:
        """The upload limits `info` reports, so clients can check before sending."""
        return {
            "max_upload_bytes": self.max_bytes,
            "max_uploads": self.max_uploads,
            "max_upload_chunk_bytes": wire.MAX_UPLOAD_CHUNK_BYTES,
            "upload_idle_s": self.idle_s,
        }

    def handle(self, message: wire.Message) -> list:
        """One upload op → its reply frames (ProtocolError for a refusal)."""
        op = message.op
        with self.lock:
            if op == "upload_begin":
                result = self._begin(message)
            elif op == "upload_chunk":
                result = self._chunk(message)
            elif op == "upload_end":
                result = self._end(message)
            else:
                result = self._cancel(message)
        return wire.reply(message.id, op, result=result)

    # ------------------------------------------------------------------ the ops

    def _begin(self, message: wire.Message) -> dict:
        name, size = message.params.get("name"), message.params.get("size")
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
            raise wire.ProtocolError(
                wire.BAD_PARAMS, "upload_begin needs params.name: the file's name (for its suffix)"
            )
        size = _count(size, "size")
        if size > self.max_bytes:
            raise wire.ProtocolError(
                wire.TOO_LARGE,
                f"{name} has {size:,} bytes; this server takes uploads up to {self.max_bytes:,} "
                f"bytes ({self.max_bytes >> 20} MiB, its --max-upload-mb)",
            )
        expected = message.params.get("sha256")
        if expected is not None and not (isinstance(expected, str) and _SHA256.fullmatch(expected)):
            raise wire.ProtocolError(
                wire.BAD_PARAMS, "params.sha256 must be 64 lowercase hex digits"
            )
        if len(self.uploads) >= self.max_uploads:
            raise wire.ProtocolError(
                wire.BUSY,
                f"{len(self.uploads)} uploads are held already (at most {self.max_uploads}); "
                "lift or cancel one, or try again later",
            )
        upload_id = secrets.token_hex(16)
        suffix = _SUFFIX.search(name.replace("\\", "/").rsplit("/", 1)[-1])
        path = self.folder / (upload_id + (suffix.group(0).lower() if suffix else ""))
        # readable too: a local handoff's sha256 is of the server's own copy
        upload = Upload(upload_id, name, path, size, file=path.open("xb+", buffering=0))
        if expected is not None:
            upload.hasher, upload.expected = hashlib.sha256(), expected
        self.uploads[upload_id] = upload
        result = {"upload": upload_id, "chunk_bytes": wire.MAX_UPLOAD_CHUNK_BYTES}
        local = self._local_socket()
        if local is not None:
            result["local"] = local
        return result

    def _chunk(self, message: wire.Message) -> dict:
        upload = self._get(message)
        offset = _count(message.params.get("offset"), "offset")
        data = wire.require_array(message, "data", (), kinds="u")
        if data.nbytes > wire.MAX_UPLOAD_CHUNK_BYTES:
            raise wire.ProtocolError(
                wire.TOO_LARGE,
                f"a chunk of {data.nbytes:,} bytes > {wire.MAX_UPLOAD_CHUNK_BYTES:,}; send smaller ones",
            )
        if upload.file is None:
            raise wire.ProtocolError(
                wire.BAD_PARAMS, f"upload {upload.id} has ended; begin another to send more"
            )
        if upload.filling:
            raise wire.ProtocolError(
                wire.BAD_PARAMS, f"upload {upload.id} is being filled by a local handoff"
            )
        if offset != upload.received:
            raise wire.ProtocolError(
                wire.BAD_PARAMS,
                f"chunk at offset {offset:,}, but upload {upload.id} has {upload.received:,} "
                f"bytes: send the chunk at offset {upload.received:,} next",
            )
        if offset + data.nbytes > upload.size:
            raise wire.ProtocolError(
                wire.BAD_PARAMS,
                f"a chunk of {data.nbytes:,} bytes at offset {offset:,} runs past the "
                f"{upload.size:,} bytes announced by upload_begin",
            )
        try:
            _write_all(upload.file, memoryview(data))
        except OSError as exc:  # a full disk: nothing half-written stays
            self._delete(upload.id)
            raise wire.ProtocolError(
                wire.INTERNAL, f"the server could not store the upload ({exc}); it was deleted"
            ) from None
        if upload.hasher is not None:
            upload.hasher.update(data)
        upload.received += data.nbytes
        upload.touched = time.monotonic()
        return {"received": upload.received}

    def _end(self, message: wire.Message) -> dict:
        upload = self._get(message)
        if upload.received != upload.size:
            raise wire.ProtocolError(
                wire.BAD_PARAMS,
                f"upload {upload.id} has {upload.received:,} of {upload.size:,} bytes: "
                f"send the rest from offset {upload.received:,}, then upload_end",
            )
        if upload.file is not None:
            upload.file.close()
            upload.file = None
        result: dict[str, Any] = {"upload": upload.id, "size": upload.size}
        if upload.hasher is not None:
            digest = upload.hasher.hexdigest()
            if digest != upload.expected:
                self._delete(upload.id)
                raise wire.ProtocolError(
                    wire.BAD_INPUT,
                    f"the {upload.size:,} bytes received have sha256 {digest}, not "
                    f"{upload.expected}; the upload was deleted: send the file again",
                )
            result["sha256"] = digest
        upload.complete, upload.touched = True, time.monotonic()
        return result

    def _cancel(self, message: wire.Message) -> dict:
        upload_id = _id(message)
        if not isinstance(upload_id, str):
            raise wire.ProtocolError(wire.BAD_PARAMS, "upload_cancel needs params.upload: an id")
        upload = self.uploads.get(upload_id)
        if upload is not None and upload.claimed:
            raise wire.ProtocolError(
                wire.BAD_PARAMS,
                f"upload {upload_id} is being lifted: cancel that lift_video request instead "
                "(its end deletes the upload)",
            )
        return {"found": self._delete(upload_id) is not None}

    # ------------------------------------------------------------------ the local handoff

    def fill_from_fd(self, upload_id: Any, source: int) -> dict:
        """Copy a whole upload from a file the client opened and passed (the local handoff's
        thread). The copy runs outside the lock, into a dup of the upload's file: a cancel or
        expiry meanwhile deletes the upload as usual and the copy lands in an unlinked file."""
        with self.lock:
            upload = self._lookup(upload_id, "a local handoff")
            if upload.file is None or upload.received or upload.filling:
                raise wire.ProtocolError(
                    wire.BAD_PARAMS,
                    f"upload {upload.id} has bytes already, has ended or is being filled: a "
                    "local handoff fills a fresh upload",
                )
            info = os.fstat(source)
            if not stat.S_ISREG(info.st_mode) or info.st_size != upload.size:
                what = f"{info.st_size:,} bytes" if stat.S_ISREG(info.st_mode) else "no file"
                raise wire.ProtocolError(
                    wire.BAD_PARAMS,
                    f"the file passed holds {what}; upload_begin announced a regular file of "
                    f"{upload.size:,} bytes",
                )
            upload.filling, upload.touched = True, time.monotonic()
            target = os.dup(upload.file.fileno())
        try:
            failure, digest = None, None
            try:
                fd_uploads.copy_fd(source, target, upload.size)
                if upload.hasher is not None:
                    digest = fd_uploads.hash_fd(target, upload.size)
            except OSError as exc:  # a full disk, a file that shrank: nothing half-written stays
                failure = exc
            with self.lock:
                upload.filling = False
                if self.uploads.get(upload.id) is not upload:
                    raise wire.ProtocolError(
                        wire.BAD_PARAMS, f"upload {upload.id} was cancelled during the handoff"
                    )
                if failure is not None:
                    self._delete(upload.id)
                    raise wire.ProtocolError(
                        wire.INTERNAL,
                        f"the server could not copy the file ({failure}); the upload was deleted",
                    )
                upload.received, upload.touched = upload.size, time.monotonic()
                if digest is not None:
                    upload.hasher = digest
                return {"received": upload.received}
        finally:
            os.close(target)

    def _local_socket(self) -> str | None:
        """The handoff socket's path, the receiver started at the first upload; None where not
        offered or it cannot start (clients then send chunks)."""
        if not (self.local and fd_uploads.SUPPORTED):
            return None
        if self._receiver is None:
            try:
                self._receiver = fd_uploads.FdReceiver(self.fill_from_fd)
            except OSError as exc:
                log.warning("no local handoff (%s); clients send chunks", exc)
                self.local = False
                return None
        return str(self._receiver.path)

    # ------------------------------------------------------------------ lift_video's use

    def claim(self, upload_id: Any) -> tuple[Path, str]:
        """A complete upload for a lift_video about to be queued: (its file, the client's name).

        Claimed uploads never expire; release() deletes one when its lift ends."""
        with self.lock:
            upload = self._lookup(upload_id, "lift_video")
            if not upload.complete:
                raise wire.ProtocolError(
                    wire.BAD_PARAMS,
                    f"upload {upload.id} has not ended ({upload.received:,} of {upload.size:,} "
                    "bytes): finish it with upload_end first",
                )
            if upload.claimed:
                raise wire.ProtocolError(
                    wire.BAD_PARAMS, f"upload {upload.id} is already being lifted by a request"
                )
            upload.claimed = True
            return upload.path, upload.name

    def unclaim(self, upload_id: Any) -> None:
        """A lift_video that was refused after claim(): its upload may be lifted again."""
        with self.lock:
            upload = self.uploads.get(upload_id) if isinstance(upload_id, str) else None
            if upload is not None:
                upload.claimed, upload.touched = False, time.monotonic()

    def release(self, upload_id: Any) -> None:
        """A lift_video ended (done, failed or cancelled): its upload is used up."""
        if isinstance(upload_id, str):
            with self.lock:
                self._delete(upload_id)

    # ------------------------------------------------------------------ cleanup

    def expire(self, now: float | None = None) -> list[str]:
        """Delete uploads nobody touched for idle_s (at most once a second); their ids."""
        now = time.monotonic() if now is None else now
        if now - self._last_expiry < EXPIRE_EVERY_S:
            return []
        self._last_expiry = now
        with self.lock:
            idle = [
                u.id
                for u in self.uploads.values()
                if not (u.claimed or u.filling) and now - u.touched > self.idle_s
            ]
            for upload_id in idle:
                self._delete(upload_id)
        return idle

    def close(self) -> None:
        """Delete every upload, the folder and the handoff socket (the server stops)."""
        if self._receiver is not None:  # first: its thread may wait for the lock
            self._receiver.close()
            self._receiver = None
        with self.lock:
            for upload_id in list(self.uploads):
                self._delete(upload_id)
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None

    # ------------------------------------------------------------------ internals

    def _get(self, message: wire.Message) -> Upload:
        return self._lookup(_id(message), message.op)

    def _lookup(self, upload_id: Any, op: str) -> Upload:
        if not isinstance(upload_id, str) or not upload_id:
            raise wire.ProtocolError(
                wire.BAD_PARAMS, f"{op} needs params.upload: the id upload_begin returned"
            )
        upload = self.uploads.get(upload_id)
        if upload is None:
            raise wire.ProtocolError(
                wire.BAD_PARAMS,
                f"no upload {upload_id!r} on this server: it was used by a lift, cancelled, "
                f"idle for over {self.idle_s:g} s, or the server restarted; upload the file again",
            )
        return upload

    def _delete(self, upload_id: str) -> Upload | None:
        upload = self.uploads.pop(upload_id, None)
        if upload is not None:
            if upload.file is not None:
                upload.file.close()
            upload.path.unlink(missing_ok=True)
        return upload


def _id(message: wire.Message) -> Any:
    return message.params.get("upload")


def _count(value: Any, name: str) -> int:
    """A parameter that counts bytes: a whole number ≥ 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise wire.ProtocolError(
            wire.BAD_PARAMS, f"params.{name} must be a whole number of bytes ≥ 0, got {value!r}"
        )
    return value


def _write_all(file: BinaryIO, view: memoryview) -> None:
    """Unbuffered writes may take part of the bytes; loop until all are on disk."""
    while view:
        written = file.write(view)
        view = view[written:]
