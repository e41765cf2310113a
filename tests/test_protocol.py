"""The wire format: bytes as docs/protocol.md says, and every malformed message named precisely."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

from mpm_backend import protocol as wire


def test_request_bytes_are_a_msgpack_header_and_raw_little_endian_arrays():
    keypoints = np.arange(2 * 17 * 2, dtype=">f4").reshape(2, 17, 2)  # big-endian in memory
    frames = wire.request("lift", "r1", {"fps": 30.0}, {"keypoints": (keypoints, "coco17")})
    header = msgpack.unpackb(frames[0])
    assert header == {
        "op": "lift",
        "id": "r1",
        "params": {"fps": 30.0},
        "v": wire.VERSION,
        "arrays": [
            {"name": "keypoints", "dtype": "float32", "shape": [2, 17, 2], "layout": "coco17"}
        ],
    }
    assert bytes(frames[1]) == keypoints.astype("<f4").tobytes()
    assert bytes(frames[1])[:8] == np.array([0, 1], "<f4").tobytes()


def test_round_trip_keeps_values_dtypes_and_layouts():
    arrays = {
        "keypoints": (np.random.default_rng(0).normal(size=(5, 17, 2)), "h36m17"),
        "visible": (np.eye(5, 17, dtype=bool), None),
        "empty": (np.zeros((0, 17, 2), np.float32), None),
    }
    message = wire.decode([bytes(f) for f in wire.request("lift", "x", None, arrays)])
    assert message.op == "lift" and message.id == "x" and message.params == {}
    for name, (array, _) in arrays.items():
        assert message.arrays[name].dtype == array.dtype
        np.testing.assert_array_equal(message.arrays[name], array)
    assert message.layouts == {"keypoints": "h36m17"}


def _frames(header: dict, *arrays: bytes) -> list[bytes]:
    return [msgpack.packb(header), *arrays]


GOOD = {"v": wire.VERSION, "op": "lift", "id": "a"}
DESC = {"name": "keypoints", "dtype": "float32", "shape": [1, 17, 2]}


@pytest.mark.parametrize(
    ("frames", "code", "words"),
    [
        ([], wire.BAD_HEADER, "empty"),
        ([b"\xc1garbage"], wire.BAD_HEADER, "not a msgpack map"),
        ([msgpack.packb([1, 2])], wire.BAD_HEADER, "not a map"),
        (_frames({"op": "lift", "id": "a"}), wire.BAD_VERSION, "version None"),
        (_frames({**GOOD, "v": 99}), wire.BAD_VERSION, "speaks 1"),
        (_frames({**GOOD, "id": 5}), wire.BAD_HEADER, "'id' must be a str"),
        (_frames({**GOOD, "arrays": [DESC]}), wire.BAD_ARRAY, "describes 1 arrays but 0"),
        (_frames({**GOOD, "arrays": [DESC]}, b"\0" * 10), wire.BAD_ARRAY, "needs 136 bytes"),
        (_frames({**GOOD, "arrays": [{**DESC, "dtype": "object"}]}, b""), wire.BAD_ARRAY, "dtype"),
        (
            _frames({**GOOD, "arrays": [{**DESC, "shape": [-1, 17, 2]}]}, b""),
            wire.BAD_ARRAY,
            "shape",
        ),
        (_frames({**GOOD, "arrays": [{**DESC, "shape": "big"}]}, b""), wire.BAD_ARRAY, "shape"),
        (_frames({**GOOD, "arrays": ["x"]}, b""), wire.BAD_ARRAY, "must be a map"),
        (
            _frames({**GOOD, "arrays": [{**DESC, "name": ""}]}, b""),
            wire.BAD_ARRAY,
            "without a name",
        ),
        (
            _frames({**GOOD, "arrays": [{**DESC, "shape": [10**9, 17, 2]}]}, b""),
            wire.TOO_LARGE,
            "frames",
        ),
        (
            _frames({**GOOD, "arrays": [{**DESC, "shape": [10, 1000, 2]}]}, b""),
            wire.TOO_LARGE,
            "joints",
        ),
        (_frames({**GOOD, "arrays": [DESC] * 9}, *[b""] * 9), wire.TOO_LARGE, "arrays"),
        ([b"\x00" * (wire.MAX_HEADER_BYTES + 1)], wire.TOO_LARGE, "header"),
    ],
)
def test_malformed_messages_get_their_code_and_a_reason(frames, code, words):
    with pytest.raises(wire.ProtocolError) as caught:
        wire.decode(frames)
    assert caught.value.code == code
    assert words in caught.value.message


def test_size_limits_are_checked_before_allocating():
    # 2^40 bytes described: refused from the descriptor alone, with no such frame sent.
    header = {**GOOD, "arrays": [{**DESC, "shape": [1_000_000, 64, 4, 4096]}]}
    with pytest.raises(wire.ProtocolError) as caught:
        wire.decode(_frames(header, b""))
    assert caught.value.code == wire.TOO_LARGE


def test_error_codes_are_stable():
    assert wire.ERROR_CODES == (
        "bad_header", "bad_version", "unknown_op", "bad_array", "bad_params", "too_large",
        "non_finite", "bad_input", "cancelled", "busy", "timeout", "internal", "forbidden",
    )  # fmt: skip
