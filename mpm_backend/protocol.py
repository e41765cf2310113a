"""The wire between clients and `python -m mpm_backend.serve`: one module owns it (docs/protocol.md).

A message is multipart. Frame 0 is a msgpack map (the header); every further frame is the raw
bytes of one array, little-endian and C-contiguous, in the order of the header's `arrays` list:

    request  {"v": 1, "op": "lift", "id": "c1-7", "params": {...},
              "arrays": [{"name": "keypoints", "dtype": "float32", "shape": [T, J, 2],
                          "layout": "coco17"}, ...]}
    reply    {"v": 1, "id": "c1-7", "op": "lift", "status": "ok" | "progress" | "error",
              "result": {...}, "arrays": [...], "progress": {"done": 3, "total": 10},
              "error": {"code": "bad_array", "message": "..."}}

Torch-free and bpy-free: Blender's add-on imports this. Never pickle; everything a peer sends is
checked against its descriptor and the limits below before any array is allocated.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgpack
import numpy as np

VERSION = 1
DEFAULT_ADDRESS = "tcp://127.0.0.1:5555"

# Requests. `cancel` names another request of the same client in params["target"].
OPS = ("ping", "info", "lift", "complete_2d", "complete_3d", "lift_video", "cancel")
LONG_OPS = ("lift", "complete_2d", "complete_3d", "lift_video")  # run by the inference thread
# Live streams (mpm_backend.live): each frame one short model pass, answered at once.
STREAM_OPS = ("stream_open", "stream_frame", "stream_close")
OPS += STREAM_OPS
# Uploads (mpm_backend.uploads): a file sent in chunks into the server's own temporary folder,
# for lift_video's params.upload; answered at once by the socket thread.
UPLOAD_OPS = ("upload_begin", "upload_chunk", "upload_end", "upload_cancel")
OPS += UPLOAD_OPS

# Reply statuses.
OK, PROGRESS, ERROR = "ok", "progress", "error"

# Stable error codes (clients may branch on these; never rename one).
BAD_HEADER = "bad_header"  # frame 0 is not a msgpack map with the required fields
BAD_VERSION = "bad_version"  # protocol version not spoken by this server
UNKNOWN_OP = "unknown_op"
BAD_ARRAY = "bad_array"  # descriptor/frame mismatch, dtype, shape, layout or missing array
BAD_PARAMS = "bad_params"  # a parameter missing, of the wrong type or out of range
TOO_LARGE = "too_large"  # above a documented limit
NON_FINITE = "non_finite"  # NaN or Inf where not allowed
BAD_INPUT = "bad_input"  # well-formed but not liftable (the engine's own check failed)
CANCELLED = "cancelled"
BUSY = "busy"  # too many requests waiting
TIMEOUT = "timeout"  # client side: no reply before the deadline
INTERNAL = "internal"  # a bug: the message says what failed; the server keeps serving
FORBIDDEN = "forbidden"  # a file outside the folders the server was allowed to read
ERROR_CODES = (
    BAD_HEADER,
    BAD_VERSION,
    UNKNOWN_OP,
    BAD_ARRAY,
    BAD_PARAMS,
    TOO_LARGE,
    NON_FINITE,
    BAD_INPUT,
    CANCELLED,
    BUSY,
    TIMEOUT,
    INTERNAL,
    FORBIDDEN,
)

# Limits, checked before allocating anything.
MAX_HEADER_BYTES = 64 * 1024
MAX_ARRAYS = 8
MAX_FRAMES = 4_000_000  # 37 hours at 30 fps
MAX_JOINTS = 64
MAX_ARRAY_BYTES = 1 << 30  # 1 GiB
MAX_QUEUED = 1024  # long requests waiting for the inference thread ...
MAX_QUEUED_BYTES = 2 << 30  # ... and the bytes of their arrays
DTYPES = ("float32", "float64", "bool", "uint8", "int32", "int64")
MAX_UPLOAD_BYTES = 2048 << 20  # one upload's size: the server's --max-upload-mb default
MAX_UPLOADS = 8  # uploads held at once (in progress or waiting for their lift_video)
MAX_UPLOAD_CHUNK_BYTES = 2 << 20  # one chunk: a uint8 array, so also under MAX_FRAMES
UPLOAD_IDLE_S = 600.0  # an upload untouched this long is abandoned and deleted
# The local handoff (mpm_backend.fd_uploads): a client on the same machine passes an open file
# descriptor over a Unix socket instead of chunks; each side's message is one msgpack map.
MAX_HANDOFF_MESSAGE_BYTES = 4096


class Cancelled(Exception):
    """A long request stopped because its client cancelled it (the engine and the detector raise
    it between batches or frames; the server answers with the error code `cancelled`)."""


class ProtocolError(Exception):
    """A message that breaks the protocol; `code` is one of ERROR_CODES."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Message:
    """A decoded message: its header and its arrays by name (layouts from the descriptors)."""

    header: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    layouts: dict[str, str] = field(default_factory=dict)

    @property
    def op(self) -> str:
        return self.header.get("op", "")

    @property
    def id(self) -> str:
        return self.header.get("id", "")

    @property
    def params(self) -> dict[str, Any]:
        return self.header.get("params", {})


# ----------------------------------------------------------------------------- encoding


def encode(
    header: dict[str, Any], arrays: dict[str, tuple[np.ndarray, str | None]] | None = None
) -> list:
    """Header + {name: (array, layout or None)} → frames. Arrays go out little-endian, contiguous."""
    descriptors, frames = [], []
    for name, (array, layout) in (arrays or {}).items():
        array = np.asarray(array)
        if array.dtype.name not in DTYPES:
            raise ValueError(f"array {name!r}: dtype {array.dtype} is not one of {DTYPES}")
        array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        descriptor = {"name": name, "dtype": array.dtype.name, "shape": list(array.shape)}
        if layout:
            descriptor["layout"] = layout
        descriptors.append(descriptor)
        frames.append(memoryview(array).cast("B") if array.size else b"")
    head = dict(header, v=VERSION, arrays=descriptors)
    return [msgpack.packb(head, use_bin_type=True), *frames]


def request(
    op: str, request_id: str, params: dict | None = None, arrays: dict | None = None
) -> list:
    return encode({"op": op, "id": request_id, "params": params or {}}, arrays)


def reply(request_id: str, op: str, status: str = OK, arrays: dict | None = None, **fields) -> list:
    return encode({"id": request_id, "op": op, "status": status, **fields}, arrays)


def error_reply(request_id: str, op: str, code: str, message: str) -> list:
    return reply(request_id, op, ERROR, error={"code": code, "message": message})


def is_loopback(address: str) -> bool:
    """Whether a ZeroMQ address only reaches this machine (the server binds it, a client
    connects to it: both sides decide the local handoff by this one rule)."""
    if address.startswith(("ipc://", "inproc://")):
        return True
    host = urlsplit(address).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # '*', an interface name or a host name: reachable from outside


# ----------------------------------------------------------------------------- decoding


def decode_header(frame: bytes) -> dict[str, Any]:
    """Frame 0 → header map, or ProtocolError(bad_header / too_large / bad_version)."""
    if len(frame) > MAX_HEADER_BYTES:
        raise ProtocolError(TOO_LARGE, f"header of {len(frame)} bytes > {MAX_HEADER_BYTES}")
    try:
        header = msgpack.unpackb(frame, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises many types for garbage
        raise ProtocolError(BAD_HEADER, f"frame 0 is not a msgpack map: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError(BAD_HEADER, f"frame 0 is a msgpack {type(header).__name__}, not a map")
    version = header.get("v")
    if version != VERSION:
        raise ProtocolError(
            BAD_VERSION, f"protocol version {version!r} not supported; this side speaks {VERSION}"
        )
    for key, kind in (("id", str), ("arrays", list)):
        if key in header and not isinstance(header[key], kind):
            raise ProtocolError(BAD_HEADER, f"header field {key!r} must be a {kind.__name__}")
    return header


def decode(frames: list[bytes], header: dict[str, Any] | None = None) -> Message:
    """Frames → Message, every array checked against its descriptor and the limits.

    `header`: frame 0 already decoded by `decode_header` (the server keeps it for error replies).
    """
    if not frames:
        raise ProtocolError(BAD_HEADER, "empty message")
    if header is None:
        header = decode_header(frames[0])
    descriptors = header.get("arrays", [])
    if len(descriptors) > MAX_ARRAYS:
        raise ProtocolError(TOO_LARGE, f"{len(descriptors)} arrays > {MAX_ARRAYS}")
    if len(descriptors) != len(frames) - 1:
        raise ProtocolError(
            BAD_ARRAY,
            f"header describes {len(descriptors)} arrays but {len(frames) - 1} array frames came",
        )
    message = Message(header)
    for descriptor, frame in zip(descriptors, frames[1:], strict=True):
        name, dtype, shape, layout = _descriptor(descriptor)
        if name in message.arrays:
            raise ProtocolError(BAD_ARRAY, f"array {name!r} appears twice")
        nbytes = dtype.itemsize * math.prod(shape)
        if len(frame) != nbytes:
            raise ProtocolError(
                BAD_ARRAY,
                f"array {name!r}: {dtype.name}{list(shape)} needs {nbytes} bytes, "
                f"its frame has {len(frame)}",
            )
        array = (
            np.frombuffer(frame, dtype=dtype).reshape(shape) if nbytes else np.zeros(shape, dtype)
        )
        message.arrays[name] = array
        if layout:
            message.layouts[name] = layout
    return message


def _descriptor(d: Any) -> tuple[str, np.dtype, tuple[int, ...], str | None]:
    if not isinstance(d, dict):
        raise ProtocolError(BAD_ARRAY, f"array descriptor must be a map, got {type(d).__name__}")
    name, dtype, shape, layout = d.get("name"), d.get("dtype"), d.get("shape"), d.get("layout")
    if not isinstance(name, str) or not name:
        raise ProtocolError(BAD_ARRAY, "array descriptor without a name")
    if dtype not in DTYPES:
        raise ProtocolError(BAD_ARRAY, f"array {name!r}: dtype {dtype!r} is not one of {DTYPES}")
    if (
        not isinstance(shape, list)
        or len(shape) > 4
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise ProtocolError(
            BAD_ARRAY, f"array {name!r}: shape must be a list of ≤ 4 non-negative ints"
        )
    if layout is not None and not isinstance(layout, str):
        raise ProtocolError(BAD_ARRAY, f"array {name!r}: layout must be a string")
    dt = np.dtype(dtype).newbyteorder("<")
    if shape and shape[0] > MAX_FRAMES:
        raise ProtocolError(TOO_LARGE, f"array {name!r}: {shape[0]} frames > {MAX_FRAMES}")
    if len(shape) > 1 and shape[1] > MAX_JOINTS:
        raise ProtocolError(TOO_LARGE, f"array {name!r}: {shape[1]} joints > {MAX_JOINTS}")
    if dt.itemsize * math.prod(shape) > MAX_ARRAY_BYTES:
        raise ProtocolError(TOO_LARGE, f"array {name!r} is larger than {MAX_ARRAY_BYTES} bytes")
    return name, dt, tuple(shape), layout


# ----------------------------------------------------------------------------- checks of requests


def require_array(
    message: Message,
    name: str,
    trailing: tuple[int | None, ...],
    kinds: str = "f",
    optional: bool = False,
) -> np.ndarray | None:
    """The named array with shape (T, *trailing) (None = any size) and dtype kind in `kinds`."""
    array = message.arrays.get(name)
    if array is None:
        if optional:
            return None
        raise ProtocolError(BAD_ARRAY, f"op {message.op!r} needs an array named {name!r}")
    want = "(T, " + ", ".join("J" if n is None else str(n) for n in trailing) + ")"
    if array.ndim != 1 + len(trailing) or any(
        n is not None and n != m for n, m in zip(trailing, array.shape[1:], strict=True)
    ):
        raise ProtocolError(
            BAD_ARRAY, f"array {name!r} must have shape {want}, got {list(array.shape)}"
        )
    if array.dtype.kind not in kinds:
        raise ProtocolError(BAD_ARRAY, f"array {name!r}: dtype {array.dtype.name} not allowed here")
    return array


def require_finite(name: str, array: np.ndarray, allow_nan: bool = False) -> None:
    bad = np.isinf(array) if allow_nan else ~np.isfinite(array)
    if bad.any():
        what = "Inf" if allow_nan else "NaN or Inf"
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ProtocolError(NON_FINITE, f"array {name!r} holds {what} (first at index {first})")


def number_param(message: Message, name: str, required: bool = True, positive: bool = True):
    value = message.params.get(name)
    if value is None:
        if required:
            raise ProtocolError(BAD_PARAMS, f"op {message.op!r} needs the parameter {name!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProtocolError(
            BAD_PARAMS, f"parameter {name!r} must be a finite number, got {value!r}"
        )
    if positive and value <= 0:
        raise ProtocolError(BAD_PARAMS, f"parameter {name!r} must be > 0, got {value!r}")
    return float(value)
