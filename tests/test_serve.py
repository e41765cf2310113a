"""The backend over real loopback sockets: same bits as in-process, many clients, bad requests,
fuzzing, cancel, a restart, CURVE, and the command line's start and stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgpack
import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mpm_backend
from mpm_backend import protocol as wire
from mpm_backend.client import CANCELLED, DONE, BackendError, Client
from mpm_backend.keys import make_keys
from mpm_backend.serve import is_loopback
from mpm_backend.skeleton import COCO17, H36M17
from tests.live_backend import free_port, live_server
from tests.synthetic import film, front_camera
from training.data.mocap import load_clip

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "examples" / "mocap" / "cmu_actions_val_running_1.bvh"


@pytest.fixture(scope="module")
def track() -> tuple[np.ndarray, tuple[int, int]]:
    """A real running clip filmed by a 1920×1080 camera: (T, 17, 2) H36M-17 pixels."""
    clip = load_clip(CLIP, skip_frames=1, target_fps=30)
    camera = front_camera(distance=6.0)
    return film(camera, clip.joints).astype(np.float32), (camera.width, camera.height)


def test_ping_and_info(client, engine):
    assert client.ping()["pong"] is True
    info = client.info()
    assert info["protocol"] == wire.VERSION
    assert info["version"] == mpm_backend.__version__  # the one project version
    assert info["kind"] == "mpm" and info["fps"] == 30
    assert {"h36m17", "coco17", "blazepose33", "body25"} <= set(info["layouts"])


def test_over_the_wire_equals_in_process_bit_for_bit(client, engine, track):
    uv, size = track
    local = engine.lift(uv, "h36m17", 30.0, size)
    remote = client.lift(uv, "h36m17", 30.0, image_size=size)
    assert remote.result["frames"] == len(uv)
    for name in ("joints3d", "completed2d", "confidence", "root"):
        expected = getattr(local, name)
        assert remote.arrays[name].dtype == expected.dtype
        assert remote.arrays[name].tobytes() == expected.tobytes(), name
    visible = np.ones(local.joints3d.shape[:2], bool)
    visible[:, [12, 13]] = False  # left elbow and wrist hidden
    completed = client.complete_3d(local.joints3d, 30.0, visible).arrays["joints3d"]
    assert completed.tobytes() == engine.complete_3d(local.joints3d, 30.0, visible).tobytes()


def test_a_coco_track_with_missing_eyes_and_ears_at_25_fps(client, track):
    uv, size = track
    coco = np.full((len(uv), COCO17.num_joints, 2), np.nan, np.float32)  # eyes, ears: not found
    for name in COCO17.joints:
        if name in H36M17.joints:
            coco[:, COCO17.index(name)] = uv[:, H36M17.index(name)]
    result = client.lift(coco, "coco17", 25.0, image_size=size)
    assert result.arrays["joints3d"].shape == (len(uv), 17, 3)
    assert np.isfinite(result.arrays["joints3d"]).all()
    assert result.result == {**result.result, "frames": len(uv), "fps": 25.0, "layout": "h36m17"}


def _expected_frames(op: str, frames: int) -> int | None:
    return frames if op in wire.LONG_OPS else None


def test_eight_clients_fifty_mixed_requests_each(server, engine, track):
    uv, size = track
    reference = {n: engine.lift(uv[:n], "h36m17", 30.0, size).joints3d for n in (5, 17, 40)}
    failures: list[str] = []

    def run(worker: int) -> None:
        rng = np.random.default_rng(worker)
        with Client(server.address, timeout=60) as c:
            requests = []
            for i in range(50):
                kind = ("ping", "info", "lift", "complete_3d", "bad")[i % 5]
                n = int(rng.choice([5, 17, 40]))
                if kind in ("ping", "info"):
                    requests.append((kind, n, c.submit(kind)))
                elif kind == "lift":
                    requests.append((kind, n, c.submit_lift(uv[:n], "h36m17", 30.0, size)))
                elif kind == "complete_3d":
                    requests.append((kind, n, c.submit_complete_3d(reference[n], 30.0)))
                else:
                    requests.append((kind, n, c.submit_lift(uv[:n, :5], "h36m17", 30.0)))
            for kind, n, request in requests:
                try:
                    c.wait(request)
                except BackendError as exc:
                    if not (kind == "bad" and exc.code == wire.BAD_ARRAY):
                        failures.append(f"{worker}: {kind} failed: {exc}")
                    continue
                if kind == "bad":
                    failures.append(f"{worker}: bad request answered ok")
                elif kind == "lift" and not np.array_equal(
                    request.arrays["joints3d"], reference[n]
                ):
                    failures.append(f"{worker}: lift of {n} frames got someone else's answer")
                elif kind == "complete_3d" and request.arrays["joints3d"].shape[0] != n:
                    failures.append(f"{worker}: complete_3d of {n} frames got another size")
                elif kind == "ping" and request.result.get("pong") is not True:
                    failures.append(f"{worker}: ping got {request.result}")

    threads = [threading.Thread(target=run, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    assert not failures, failures[:5]


def test_ping_is_answered_while_a_long_lift_runs_and_progress_then_cancel(client, track):
    uv, size = track
    long_track = np.tile(uv, (max(1, 18_000 // len(uv)), 1, 1))  # about 10 minutes at 30 fps
    request = client.submit_lift(long_track, "h36m17", 30.0, size)
    seen_progress = None
    while seen_progress is None:
        client.poll(0.05)
        seen_progress = request.progress
    start = time.perf_counter()
    assert client.ping()["pong"]
    assert time.perf_counter() - start < 0.5  # not stuck behind the lift
    assert not request.finished
    client.cancel(request)
    assert request.state == CANCELLED
    # The server stopped it: the next lift is answered promptly.
    start = time.perf_counter()
    quick = client.lift(uv[:10], "h36m17", 30.0, size)
    assert quick.state == DONE
    assert time.perf_counter() - start < 5


def test_long_lift_reports_progress_to_the_end(client, track):
    uv, size = track
    long_track = np.tile(uv, (max(1, 3000 // len(uv)), 1, 1))
    seen: list[tuple[int, int]] = []
    result = client.lift(
        long_track, "h36m17", 30.0, size, on_progress=lambda d, t: seen.append((d, t))
    )
    assert result.arrays["joints3d"].shape[0] == len(long_track)
    assert seen and seen[-1][0] == seen[-1][1]
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def _raw(server) -> zmq.Socket:
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(server.address)
    return sock


def _ask(sock: zmq.Socket, frames: list, wait_ms: int = 5000) -> dict | None:
    sock.send_multipart(frames)
    if not sock.poll(wait_ms):
        return None
    return msgpack.unpackb(sock.recv_multipart()[0])


def _lift_request(keypoints, layout="h36m17", params=None, confidence=None, **descriptor_changes):
    arrays = {"keypoints": (keypoints, layout)}
    if confidence is not None:
        arrays["confidence"] = (confidence, layout)
    return [
        bytes(f)
        for f in wire.request("lift", "bad", {"fps": 30.0} if params is None else params, arrays)
    ]


KEYS = np.zeros((4, 17, 2), np.float32)


@pytest.mark.parametrize(
    ("frames", "code", "words"),
    [
        ([msgpack.packb({"v": 1, "op": "explode", "id": "1"})], wire.UNKNOWN_OP, "explode"),
        ([msgpack.packb({"v": 2, "op": "ping", "id": "1"})], wire.BAD_VERSION, "version 2"),
        ([msgpack.packb({"v": 1, "op": "ping"})], wire.BAD_HEADER, "'id'"),
        ([b"not msgpack \xc1"], wire.BAD_HEADER, "msgpack"),
        (_lift_request(KEYS.astype(np.int32)), wire.BAD_ARRAY, "dtype int32"),
        (_lift_request(KEYS[:, :5]), wire.BAD_ARRAY, "17 joints"),
        (_lift_request(KEYS, layout="openpose18"), wire.BAD_ARRAY, "unknown joint layout"),
        (_lift_request(KEYS, layout=None), wire.BAD_ARRAY, "needs a layout"),
        (_lift_request(KEYS[:0]), wire.BAD_ARRAY, "at least one frame"),
        (_lift_request(KEYS.reshape(4, 34)), wire.BAD_ARRAY, "shape (T, J, 2)"),
        (_lift_request(np.full((4, 17, 2), np.inf, np.float32)), wire.NON_FINITE, "Inf"),
        (_lift_request(KEYS, confidence=np.full((4, 17), 2.0)), wire.BAD_ARRAY, "[0, 1]"),
        (_lift_request(KEYS, confidence=np.ones((3, 17))), wire.BAD_ARRAY, "3 frames"),
        (_lift_request(KEYS, params={}), wire.BAD_PARAMS, "'fps'"),
        (_lift_request(KEYS, params={"fps": -5}), wire.BAD_PARAMS, "> 0"),
        (_lift_request(KEYS, params={"fps": "thirty"}), wire.BAD_PARAMS, "finite number"),
        (
            _lift_request(KEYS, params={"fps": 30, "image_size": [0, 5]}),
            wire.BAD_PARAMS,
            "image_size",
        ),
        (_lift_request(KEYS, params={"fps": 30, "threshold": 3}), wire.BAD_PARAMS, "threshold"),
        (
            [
                msgpack.packb(
                    {
                        "v": 1,
                        "op": "lift",
                        "id": "1",
                        "arrays": [
                            {"name": "keypoints", "dtype": "float32", "shape": [3_000_000, 17, 2]}
                        ],
                    }
                )
            ],
            wire.BAD_ARRAY,
            "but 0 array frames",
        ),
        (
            [
                msgpack.packb(
                    {
                        "v": 1,
                        "op": "lift",
                        "id": "1",
                        "arrays": [
                            {"name": "keypoints", "dtype": "float64", "shape": [100_000_000, 17, 2]}
                        ],
                    }
                ),
                b"",
            ],
            wire.TOO_LARGE,
            "frames",
        ),
        (
            [msgpack.packb({"v": 1, "op": "cancel", "id": "1", "params": {}})],
            wire.BAD_PARAMS,
            "target",
        ),
    ],
)
def test_every_bad_request_gets_its_error_and_the_server_goes_on(server, frames, code, words):
    sock = _raw(server)
    try:
        reply = _ask(sock, frames)
        assert reply is not None, "no reply"
        assert reply["status"] == "error"
        assert reply["error"]["code"] == code
        assert words in reply["error"]["message"]
        assert _ask(sock, [bytes(f) for f in wire.request("ping", "p")])["status"] == "ok"
    finally:
        sock.close()


headers = st.dictionaries(
    st.sampled_from(["v", "op", "id", "params", "arrays", "x"]),
    st.one_of(
        st.integers(-5, 5),
        st.text(max_size=8),
        st.sampled_from(list(wire.OPS)),
        st.lists(
            st.dictionaries(
                st.sampled_from(["name", "dtype", "shape", "layout"]),
                st.one_of(
                    st.text(max_size=6),
                    st.integers(-3, 40),
                    st.lists(st.integers(-2, 40), max_size=4),
                    st.sampled_from(list(wire.DTYPES)),
                ),
            ),
            max_size=3,
        ),
        st.dictionaries(
            st.text(max_size=5), st.one_of(st.integers(-(2**40), 2**40), st.floats(), st.text())
        ),
    ),
)
frame_lists = st.one_of(
    st.lists(st.binary(max_size=64), min_size=1, max_size=4),
    st.tuples(headers.map(msgpack.packb), st.lists(st.binary(max_size=200), max_size=3)).map(
        lambda t: [t[0], *t[1]]
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frames=frame_lists)
def test_fuzzed_messages_never_stop_the_server(server, frames):
    sock = _raw(server)
    try:
        reply = _ask(sock, frames, wait_ms=10_000)
        if reply is not None:  # a real lift can slip through; anything else must be an error
            assert reply["status"] in ("error", "ok", "progress")
        assert _ask(sock, [bytes(f) for f in wire.request("ping", "p")], 10_000) is not None
    finally:
        sock.close()


def test_curve_admits_only_known_clients(engine, tmp_path):
    make_keys(tmp_path / "keys")
    with live_server(engine, curve_dir=tmp_path / "keys") as server:
        with Client(server.address, timeout=5, curve_dir=tmp_path / "keys") as good:
            assert good.ping()["pong"]
        with Client(server.address, timeout=1) as stranger:
            with pytest.raises(BackendError) as caught:
                stranger.ping(timeout=1)
            assert caught.value.code == wire.TIMEOUT


def test_loopback_addresses():
    assert is_loopback("tcp://127.0.0.1:5555") and is_loopback("tcp://localhost:1")
    assert is_loopback("tcp://[::1]:5555") and is_loopback("ipc:///tmp/x")
    assert not is_loopback("tcp://0.0.0.0:5555") and not is_loopback("tcp://*:5555")
    assert not is_loopback("tcp://192.168.1.4:5555")


# ----------------------------------------------------------------------------- the command line


def _serve(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mpm_backend.serve", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait_for_log(process: subprocess.Popen, words: str, seconds: float = 60) -> str:
    lines = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if words in line:
            return "".join(lines)
    raise AssertionError(f"no {words!r} in the server's log:\n{''.join(lines)}")


@pytest.mark.slow
def test_restart_mid_run_then_sigterm(track):
    uv, size = track
    address = f"tcp://127.0.0.1:{free_port()}"
    first = _serve("--bind", address, "--device", "cpu")
    try:
        log = _wait_for_log(first, "listening on")
        assert "model mpm" in log and "coco17" in log and "30 fps" in log and address in log
        client = Client(address, timeout=3)
        assert client.info()["flip"] is True  # mirror-averaged by default
        assert client.lift(uv[:30], "h36m17", 30.0, size).arrays["joints3d"].shape == (30, 17, 3)
        first.kill()
        first.wait(10)
        start = time.perf_counter()
        with pytest.raises(BackendError) as caught:
            client.lift(uv[:30], "h36m17", 30.0, size)
        assert caught.value.code == wire.TIMEOUT and "mpm_backend.serve" in caught.value.message
        assert time.perf_counter() - start < 4.5  # the deadline, not forever
        second = _serve("--bind", address, "--device", "cpu", "--no-flip")  # lifts once
        try:
            _wait_for_log(second, "listening on")
            assert client.info()["flip"] is False
            assert client.lift(uv[:30], "h36m17", 30.0, size).arrays["joints3d"].shape == (
                30,
                17,
                3,
            )
            client.close()
            second.send_signal(signal.SIGTERM)
            assert second.wait(15) == 0
            assert "stopped" in second.stdout.read()
        finally:
            second.kill()
    finally:
        first.kill()


def test_refuses_a_public_address_without_keys_and_a_bad_checkpoint(tmp_path):
    public = _serve("--bind", "tcp://0.0.0.0:5999")
    out, _ = public.communicate(timeout=60)
    assert public.returncode == 2 and "--allow-remote" in out
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    bad = _serve("--bind", f"tcp://127.0.0.1:{free_port()}", "--checkpoint", str(broken))
    out, _ = bad.communicate(timeout=60)
    assert bad.returncode == 2 and "cannot load checkpoint" in out and "broken.pt" in out


def test_the_server_really_stops_a_cancelled_lift(server, track):
    """The client marks a cancelled request at once; this checks the server's own answer."""
    uv, size = track
    long_track = np.tile(uv, (max(1, 18_000 // len(uv)), 1, 1))
    sock = _raw(server)
    try:
        lift = wire.request("lift", "long", {"fps": 30.0, "image_size": list(size)},
                            {"keypoints": (long_track, "h36m17")})  # fmt: skip
        sock.send_multipart([bytes(f) for f in lift])
        assert sock.poll(10_000)
        assert msgpack.unpackb(sock.recv_multipart()[0])["status"] == "progress"
        sock.send_multipart([bytes(f) for f in wire.request("cancel", "c", {"target": "long"})])
        final = None
        while final is None:
            assert sock.poll(10_000)
            reply = msgpack.unpackb(sock.recv_multipart()[0])
            if reply["id"] == "long" and reply["status"] != "progress":
                final = reply
        assert final["status"] == "error" and final["error"]["code"] == wire.CANCELLED
    finally:
        sock.close()
