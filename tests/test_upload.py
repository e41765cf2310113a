"""Uploads over real loopback sockets (and CURVE) to a real server thread: the bytes arrive
exactly, by chunks or by the local handoff (an open file passed over a Unix socket), limits and
offsets are enforced with their error codes, and nothing stays on the server's disk once an
upload is used, cancelled, abandoned or the server stops."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import msgpack
import numpy as np
import pytest

from mpm_backend import fd_uploads
from mpm_backend import protocol as wire
from mpm_backend.client import UPLOAD_VIA_ENV, BackendError, Client, _pass_file
from mpm_backend.keys import make_keys
from mpm_backend.uploads import UploadStore
from tests.live_backend import free_port, live_server

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "examples" / "video" / "video.mp4"  # rendered walker, 108 frames, 640×480


def _file(folder: Path, size: int, name: str = "clip.mp4", seed: int = 0) -> Path:
    path = folder / name
    path.write_bytes(np.random.default_rng(seed).bytes(size))
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _left_on_disk(server) -> list[Path]:
    return sorted(server.uploads.folder.iterdir())


def test_an_upload_arrives_byte_for_byte_with_progress(client, server, tmp_path):
    source = _file(tmp_path, 5 * 2**20 + 12_345, "Walk.Clip.MP4")
    progress: list[tuple[int, int]] = []
    upload = client.upload(
        source, lambda d, t: progress.append((d, t)), 1 << 20, verify=True, via="wire"
    )
    assert client.last_upload_via == "wire"
    stored = server.uploads.uploads[upload]
    assert stored.path.parent == server.uploads.folder and stored.path.suffix == ".mp4"
    assert stored.path.stat().st_size == source.stat().st_size
    assert _sha256(stored.path) == _sha256(source)
    assert [d for d, _ in progress] == [*range(1 << 20, 5 * 2**20 + 1, 1 << 20), 5 * 2**20 + 12_345]
    assert {t for _, t in progress} == {source.stat().st_size}
    assert client.cancel_upload(upload) is True
    assert not stored.path.exists() and upload not in server.uploads.uploads
    assert client.cancel_upload(upload) is False


def test_upload_end_reports_the_verified_sha256_and_refuses_a_wrong_one(client, server, tmp_path):
    source = _file(tmp_path, 300_001)
    data = np.frombuffer(source.read_bytes(), np.uint8)
    digest = _sha256(source)
    for announced, ok in ((digest, True), ("0" * 64, False)):
        params = {"name": source.name, "size": data.size, "sha256": announced}
        upload = client.call("upload_begin", params).result["upload"]
        chunk = {"upload": upload, "offset": 0}
        assert client.call("upload_chunk", chunk, {"data": (data, None)}).result == {
            "received": data.size
        }
        if ok:
            end = client.call("upload_end", {"upload": upload}).result
            assert end == {"upload": upload, "size": data.size, "sha256": digest}
            client.cancel_upload(upload)
        else:
            with pytest.raises(BackendError) as caught:
                client.call("upload_end", {"upload": upload})
            assert caught.value.code == wire.BAD_INPUT and digest in caught.value.message
    assert _left_on_disk(server) == []


def test_a_file_over_the_limit_is_refused_and_nothing_stays(engine, tmp_path):
    limit = 1 << 20
    with live_server(engine, uploads=UploadStore(max_bytes=limit)) as server:
        with Client(server.address, timeout=10) as c:
            assert c.info()["limits"]["max_upload_bytes"] == limit
            with pytest.raises(BackendError) as caught:
                c.upload(_file(tmp_path, limit + 1))
            assert caught.value.code == wire.TOO_LARGE
            assert (
                f"{limit:,} bytes" in caught.value.message
                and "--max-upload-mb" in caught.value.message
            )
            upload = c.upload(_file(tmp_path, limit, "fits.avi"))  # the limit itself is fine
            assert c.cancel_upload(upload)
            assert _left_on_disk(server) == [] and server.uploads.uploads == {}
        folder = server.uploads.folder
    assert not folder.exists()  # the server removes its folder when it stops


def test_chunks_out_of_order_past_the_size_or_too_early_an_end_are_refused(client, server):
    data = np.arange(1000, dtype=np.int64).astype(np.uint8)
    upload = client.call("upload_begin", {"name": "a.mp4", "size": 1500}).result["upload"]

    def refused(op: str, params: dict, arrays=None) -> BackendError:
        with pytest.raises(BackendError) as caught:
            client.call(op, {"upload": upload, **params}, arrays)
        return caught.value

    error = refused("upload_chunk", {"offset": 10}, {"data": (data, None)})
    assert error.code == wire.BAD_PARAMS and "offset 0 next" in error.message
    client.call("upload_chunk", {"upload": upload, "offset": 0}, {"data": (data, None)})
    error = refused("upload_chunk", {"offset": 1000}, {"data": (data, None)})
    assert error.code == wire.BAD_PARAMS and "past the 1,500 bytes" in error.message
    error = refused("upload_end", {})
    assert error.code == wire.BAD_PARAMS and "1,000 of 1,500" in error.message
    error = refused("lift_video", {})
    assert error.code == wire.BAD_PARAMS and "upload_end" in error.message
    assert refused("upload_chunk", {"offset": -1}).code == wire.BAD_PARAMS
    assert refused("upload_chunk", {"offset": 1000}).code == wire.BAD_ARRAY  # no data frame
    assert server.uploads.uploads[upload].received == 1000  # refusals leave it as it was
    assert client.cancel_upload(upload)
    with pytest.raises(BackendError) as caught:
        client.call("upload_chunk", {"upload": upload, "offset": 0}, {"data": (data, None)})
    assert caught.value.code == wire.BAD_PARAMS and "upload the file again" in caught.value.message
    assert _left_on_disk(server) == []


def test_names_keep_only_a_safe_suffix(client, server):
    for name, suffix in (
        ("../../etc/evil.MP4", ".mp4"),
        ("C:\\v\\x.tar;rm -rf", ""),
        ("noext", ""),
    ):
        upload = client.call("upload_begin", {"name": name, "size": 0}).result["upload"]
        path = server.uploads.uploads[upload].path
        assert path.parent == server.uploads.folder and path.name == upload + suffix
        client.cancel_upload(upload)
    for bad in ({"size": 5}, {"name": "a.mp4", "size": -1}, {"name": "a.mp4", "size": True}):
        with pytest.raises(BackendError) as caught:
            client.call("upload_begin", bad)
        assert caught.value.code == wire.BAD_PARAMS


def test_cancel_during_an_upload_deletes_the_server_copy(client, server, tmp_path):
    source = _file(tmp_path, 6 << 20)
    seen: list[int] = []
    with pytest.raises(BackendError) as caught:
        client.upload(
            source, lambda d, t: seen.append(d), 1 << 20, cancelled=lambda: bool(seen), via="wire"
        )
    assert caught.value.code == wire.CANCELLED and seen == [1 << 20]
    assert server.uploads.uploads == {} and _left_on_disk(server) == []
    assert client.ping()["pong"]  # the chunks still in flight did not upset the client


def test_an_abandoned_upload_expires(engine):
    with live_server(engine, uploads=UploadStore(idle_s=0.2)) as server:
        with Client(server.address, timeout=10) as c:
            upload = c.call("upload_begin", {"name": "a.mp4", "size": 10}).result["upload"]
            c.call("upload_chunk", {"upload": upload, "offset": 0},
                   {"data": (np.zeros(4, np.uint8), None)})  # fmt: skip
            path = server.uploads.uploads[upload].path
            assert path.read_bytes() == bytes(4)
            deadline = time.monotonic() + 5
            while path.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not path.exists() and upload not in server.uploads.uploads


def test_a_claimed_upload_never_expires_and_is_deleted_on_release(tmp_path):
    store = UploadStore(idle_s=0.0)
    header = {"op": "upload_begin", "id": "b", "params": {"name": "a.mp4", "size": 0}}
    store.handle(wire.Message(header))
    (upload,) = store.uploads
    store.handle(wire.Message({"op": "upload_end", "id": "e", "params": {"upload": upload}}))
    path, name = store.claim(upload)
    assert name == "a.mp4" and path.exists()
    cancel = wire.Message({"op": "upload_cancel", "id": "c", "params": {"upload": upload}})
    with pytest.raises(wire.ProtocolError, match="cancel that lift_video request instead"):
        store.handle(cancel)  # the lift's end deletes it
    assert store.expire(now=time.monotonic() + 10) == [] and path.exists()
    store.unclaim(upload)
    store.claim(upload)  # refused lifts hand it back; a later one may claim it
    store.release(upload)
    assert not path.exists() and store.uploads == {}
    store.close()


def test_the_command_line_sets_the_limit_and_cleans_up_when_stopped(tmp_path):
    """A real `python -m mpm_backend.serve` process: --max-upload-mb reaches `info`, a local
    handoff works across processes, and the upload folder (an unfinished and a handed-over
    upload in it) and the handoff socket's folder go when SIGTERM stops it."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    address = f"tcp://127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [sys.executable, "-m", "mpm_backend.serve", "--bind", address, "--device", "cpu",
         "--max-upload-mb", "3"],
        cwd=ROOT, env={**os.environ, "TMPDIR": str(temp)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with Client(address, timeout=60) as c:
            assert c.info()["limits"]["max_upload_bytes"] == 3 << 20
            with pytest.raises(BackendError) as caught:
                c.upload(_file(tmp_path, (3 << 20) + 1))
            assert "3 MiB" in caught.value.message
            source = _file(tmp_path, 2 << 20, "handed.mkv")
            handed = c.upload(source, via="fd", verify=True)
            begun = c.call("upload_begin", {"name": "a.mp4", "size": 10}).result
            upload, local = begun["upload"], Path(begun["local"])
            (folder,) = temp.glob("mpm-uploads-*")
            assert sorted(p.name for p in folder.iterdir()) == sorted(
                [f"{upload}.mp4", f"{handed}.mkv"]
            )
            assert (folder / f"{handed}.mkv").read_bytes() == source.read_bytes()
            assert local.parent.parent == temp and local.parent.name.startswith("mpm-local-")
            assert stat.S_ISSOCK(local.stat().st_mode)
            assert stat.S_IMODE(local.parent.stat().st_mode) == 0o700
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
        assert list(temp.iterdir()) == []
    finally:
        server.kill()


def test_at_most_max_uploads_are_held_at_once():
    store = UploadStore(max_uploads=2)
    begin = {"op": "upload_begin", "id": "b", "params": {"name": "a.mp4", "size": 1}}
    for _ in range(2):
        store.handle(wire.Message(begin))
    with pytest.raises(wire.ProtocolError) as caught:
        store.handle(wire.Message(begin))
    assert caught.value.code == wire.BUSY and "at most 2" in caught.value.message
    bad = {**begin, "params": {"name": "a.mp4", "size": 1, "sha256": "a" * 64 + "\n"}}
    with pytest.raises(wire.ProtocolError, match="64 lowercase hex digits"):
        store.handle(wire.Message(bad))
    folder = store.folder
    assert len(list(folder.iterdir())) == 2
    store.close()
    assert not folder.exists() and store.uploads == {}


def test_uploads_work_over_curve(engine, tmp_path):
    make_keys(tmp_path / "keys")
    source = _file(tmp_path, 3 << 20)
    with live_server(engine, curve_dir=tmp_path / "keys") as server:
        with Client(server.address, timeout=10, curve_dir=tmp_path / "keys") as c:
            upload = c.upload(source, verify=True)
            assert c.last_upload_via == "wire"  # keys mean a remote client: never a handoff
            assert _sha256(server.uploads.uploads[upload].path) == _sha256(source)
            c.cancel_upload(upload)
            assert "local" not in c.call("upload_begin", {"name": "a", "size": 1}).result
            with pytest.raises(BackendError, match="offers no local handoff"):
                c.upload(source, via="fd")


def test_lift_video_of_an_upload_then_the_upload_is_gone(client, server, tmp_path):
    pytest.importorskip("mediapipe")
    upload = client.upload(CLIP)
    path = server.uploads.uploads[upload].path
    reply = client.lift_video(upload=upload, max_frames=6, timeout=120)
    assert reply.arrays["keypoints"].shape == (6, 33, 2)
    assert reply.arrays["joints3d"].shape == (6, 17, 3)
    assert np.isfinite(reply.arrays["joints3d"]).all()
    assert reply.result["image_size"] == [640, 480] and reply.result["frames"] == 6
    assert not path.exists() and server.uploads.uploads == {}
    with pytest.raises(BackendError) as caught:  # used up
        client.lift_video(upload=upload)
    assert caught.value.code == wire.BAD_PARAMS and f"no upload {upload!r}" in caught.value.message
    local = client.lift_video(CLIP, max_frames=3, timeout=120, local=True)  # upload, then lift
    assert local.arrays["keypoints"].shape == (3, 33, 2)
    assert _left_on_disk(server) == []
    broken = _file(tmp_path, 1000, "broken.mp4")
    with pytest.raises(BackendError) as caught:
        client.lift_video(broken, local=True, timeout=120)
    assert caught.value.code == wire.BAD_INPUT and "broken.mp4" in caught.value.message
    assert str(server.uploads.folder) not in caught.value.message
    assert _left_on_disk(server) == []


def test_lift_video_takes_a_path_or_an_upload_not_both(client):
    with pytest.raises(BackendError) as caught:
        client.call("lift_video", {"path": "/x.mp4", "upload": "abc"})
    assert caught.value.code == wire.BAD_PARAMS and "not both" in caught.value.message
    with pytest.raises(BackendError) as caught:
        client.call("lift_video", {"path": os.fspath(CLIP)})
    assert caught.value.code == wire.FORBIDDEN and "upload" in caught.value.message


# ----------------------------------------------------------------------------- the local handoff

needs_fds = pytest.mark.skipif(not fd_uploads.SUPPORTED, reason="no SCM_RIGHTS (Windows)")


def _begin(client: Client, size: int, **params) -> tuple[str, str]:
    """A raw upload_begin: (the upload id, the handoff socket's path)."""
    result = client.call("upload_begin", {"name": "a.mp4", "size": size, **params}).result
    return result["upload"], result["local"]


def _hand(local: str, upload: str, path: Path) -> int:
    """A raw handoff of `path`'s open file into `upload`; the bytes the server then holds."""
    with path.open("rb") as file:
        return _pass_file(local, upload, file.fileno(), 10)


@needs_fds
def test_the_local_handoff_delivers_the_file_byte_for_byte(client, server, tmp_path):
    source = _file(tmp_path, 7 * 2**20 + 3, "Walk.MOV")
    progress: list[tuple[int, int]] = []
    upload = client.upload(source, lambda d, t: progress.append((d, t)), verify=True)
    assert client.last_upload_via == "fd" and progress == [(source.stat().st_size,) * 2]
    stored = server.uploads.uploads[upload]
    assert stored.complete and stored.path.parent == server.uploads.folder
    assert stored.path.suffix == ".mov" and _sha256(stored.path) == _sha256(source)
    assert source.read_bytes() == stored.path.read_bytes()  # the client's file is untouched
    assert client.cancel_upload(upload) and _left_on_disk(server) == []
    empty = client.upload(_file(tmp_path, 0, "empty.mp4"), via="fd")
    assert server.uploads.uploads[empty].path.read_bytes() == b""
    client.cancel_upload(empty)


@needs_fds
def test_a_handoff_needs_the_id_of_a_fresh_upload(client, server, tmp_path):
    """Holding the id is what allows filling an upload: an unknown or guessed one is refused, as
    is one that has bytes already; a refusal leaves the upload as it was."""
    source = _file(tmp_path, 100_000)
    upload, local = _begin(client, source.stat().st_size)
    guessed = upload[:-1] + ("0" if upload[-1] != "0" else "1")
    for wrong, says in ((guessed, f"no upload {guessed!r}"), ("0" * 32, "no upload '000"),
                        ("", "the id upload_begin returned"), (7, "the id upload_begin")):  # fmt: skip
        with pytest.raises(BackendError) as caught:
            _hand(local, wrong, source)
        assert caught.value.code == wire.BAD_PARAMS and says in caught.value.message
    assert server.uploads.uploads[upload].received == 0
    assert _hand(local, upload, source) == source.stat().st_size
    with pytest.raises(BackendError, match="a local handoff fills a fresh upload"):
        _hand(local, upload, source)  # twice
    client.call("upload_end", {"upload": upload})
    assert server.uploads.uploads[upload].path.read_bytes() == source.read_bytes()
    with pytest.raises(BackendError, match="fills a fresh upload"):
        _hand(local, upload, source)  # ended
    client.cancel_upload(upload)
    with pytest.raises(BackendError, match="no upload"):
        _hand(local, upload, source)  # used up


@needs_fds
def test_a_handoff_takes_only_a_regular_file_of_the_announced_size(client, server, tmp_path):
    source = _file(tmp_path, 50_000)
    for size in (49_999, 50_001):  # a file that changed since upload_begin
        upload, local = _begin(client, size)
        with pytest.raises(BackendError) as caught:
            _hand(local, upload, source)
        assert caught.value.code == wire.BAD_PARAMS and "50,000 bytes" in caught.value.message
        assert server.uploads.uploads[upload].path.stat().st_size == 0
        client.cancel_upload(upload)
    upload, local = _begin(client, 10)
    read, write = os.pipe()
    try:
        with pytest.raises(BackendError, match="holds no file"):
            _pass_file(local, upload, read, 10)
    finally:
        for fd in (read, write):
            os.close(fd)
    request = msgpack.packb({"v": wire.VERSION, "upload": upload})
    assert _raw(local, request, []) == {
        "code": wire.BAD_PARAMS,
        "message": "a handoff passes exactly one open file, got 0",
    }
    client.cancel_upload(upload)
    assert _left_on_disk(server) == [] and client.ping()["pong"]


def _raw(local: str, body: bytes, fds: list[int]) -> dict:
    """Any request (what a confused local process might send): the server's error."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(local)
        socket.send_fds(connection, [body], fds) if fds else connection.sendall(body)
        connection.shutdown(socket.SHUT_WR)
        return msgpack.unpackb(connection.recv(4096))["error"]


def _open_fds(path: Path) -> list[int]:
    """This process's fds open on `path`."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                found.append(int(fd))
        except OSError:  # closed meanwhile (listdir's own fd among them)
            pass
    return found


@needs_fds
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts fds in /proc")
def test_a_garbled_handoff_is_refused_and_its_file_closed(client, server, tmp_path):
    """The server runs in this process, so the fds it receives show up here; none may stay."""
    upload, local = _begin(client, 10)
    source = _file(tmp_path, 10)
    with source.open("rb") as file:
        for body in (b"\xc1", msgpack.packb([upload]), msgpack.packb({"v": 2, "upload": upload})):
            assert _raw(local, body, [file.fileno()])["code"] == wire.BAD_HEADER
        assert _raw(local, b"x" * 5000, [file.fileno()])["code"] == wire.TOO_LARGE
        assert _open_fds(source) == [file.fileno()]
    assert server.uploads.uploads[upload].received == 0 and client.cancel_upload(upload)


@needs_fds
def test_the_size_limit_holds_for_the_handoff(engine, tmp_path):
    limit = 1 << 20
    with live_server(engine, uploads=UploadStore(max_bytes=limit)) as server:
        with Client(server.address, timeout=10) as c:
            with pytest.raises(BackendError) as caught:
                c.upload(_file(tmp_path, limit + 1), via="fd")
            assert caught.value.code == wire.TOO_LARGE
            upload, local = _begin(c, limit)  # announced within the limit, a larger file passed
            with pytest.raises(BackendError, match=f"{limit + 1:,} bytes"):
                _hand(local, upload, _file(tmp_path, limit + 1, "big.mp4"))
            assert server.uploads.uploads[upload].path.stat().st_size == 0
            assert c.cancel_upload(upload)
            fits = c.upload(_file(tmp_path, limit, "fits.mp4"), via="fd")
            assert server.uploads.uploads[fits].path.stat().st_size == limit
            c.cancel_upload(fits)
            assert _left_on_disk(server) == []


@needs_fds
def test_forced_wire_and_the_fallback_when_the_handoff_fails(engine, tmp_path, monkeypatch):
    source = _file(tmp_path, 3 * 2**20 + 17)
    with live_server(engine) as server:
        with Client(server.address, timeout=10) as c:
            monkeypatch.setenv(UPLOAD_VIA_ENV, "wire")
            upload = c.upload(source)
            assert c.last_upload_via == "wire"
            assert _sha256(server.uploads.uploads[upload].path) == _sha256(source)
            monkeypatch.delenv(UPLOAD_VIA_ENV)
            c.cancel_upload(upload)
            # the handoff socket gone (as in a container that does not share /tmp): chunks
            probe, local = _begin(c, 1)
            c.cancel_upload(probe)
            server.uploads._receiver.close()
            assert not Path(local).exists()
            progress: list[int] = []
            upload = c.upload(source, lambda d, t: progress.append(d), 1 << 20)
            assert c.last_upload_via == "wire" and c.last_upload_fallback
            assert progress == [1 << 20, 2 << 20, 3 << 20, source.stat().st_size]
            assert _sha256(server.uploads.uploads[upload].path) == _sha256(source)
            assert list(server.uploads.uploads) == [upload]  # the failed try left nothing
            with pytest.raises(OSError):
                c.upload(source, via="fd")
            with pytest.raises(ValueError, match="via must be one of"):
                c.upload(source, via="carrier pigeon")
            assert list(server.uploads.uploads) == [upload]
            server.uploads._receiver = None  # let the server's close() find nothing to stop


@needs_fds
def test_the_handoff_socket_and_its_folder_go_when_the_server_stops(engine, tmp_path):
    with live_server(engine) as server:
        with Client(server.address, timeout=10) as c:
            c.upload(_file(tmp_path, 1000), via="fd")
            _, local = _begin(c, 5)
        local, folder = Path(local), server.uploads.folder
        assert stat.S_ISSOCK(local.stat().st_mode) and len(list(folder.iterdir())) == 2
    assert not local.exists() and not local.parent.exists() and not folder.exists()


def test_only_loopback_addresses_without_keys_offer_the_handoff():
    assert wire.is_loopback("tcp://127.0.0.1:5555") and wire.is_loopback("ipc:///tmp/x")
    assert not wire.is_loopback("tcp://0.0.0.0:5555") and not wire.is_loopback("tcp://h:5")
    with Client("tcp://192.168.1.4:5555") as remote, Client("tcp://localhost:5555") as local:
        assert not remote._local_possible()
        assert local._local_possible() == fd_uploads.SUPPORTED


# ----------------------------------------------------------------------------- the add-on


@pytest.fixture
def panel(server):
    """The add-on enabled on an empty scene, pointed at a backend with no --allow-dir."""
    bpy = pytest.importorskip("bpy")
    import addon_utils

    bpy.ops.wm.read_homefile(use_empty=True)
    addon_utils.enable("blender_addon", default_set=True)
    bpy.context.preferences.addons["blender_addon"].preferences.address = server.address
    yield bpy.context.scene
    addon_utils.disable("blender_addon", default_set=True)


def _drive(job, seconds: float = 120) -> list[str]:
    """Step the job as Blender's timer would; the status lines it showed."""
    shown, deadline = [], time.monotonic() + seconds
    while job.step() is not None:
        shown.append(job.scene.mpm_lift.status)
        assert time.monotonic() < deadline, "the lift did not end"
        time.sleep(0.01)
    return shown


def _short_clip(folder: Path, frames: int = 8) -> Path:
    """The shipped clip's first frames, so the detector's part stays short."""
    cv2 = pytest.importorskip("cv2")
    capture = cv2.VideoCapture(str(CLIP))
    out = folder / "short.mp4"
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    for _ in range(frames):
        ok, frame = capture.read()
        assert ok
        writer.write(frame)
    writer.release()
    capture.release()
    return out


def test_the_panel_uploads_the_video_then_lifts_it(panel, server, tmp_path):
    pytest.importorskip("mediapipe")
    import bpy

    from blender_addon import jobs

    panel.mpm_lift.video_path = str(_short_clip(tmp_path))
    assert bpy.ops.mpm.lift_video() == {"FINISHED"}
    job = jobs.ACTIVE
    assert job.scene.mpm_lift.status.startswith("Uploading short.mp4")
    shown = _drive(job)
    assert job.state == "done", job.message
    assert any(s.startswith("Detecting and lifting short.mp4") for s in shown)
    assert job.request.arrays["joints3d"].shape == (8, 17, 3) and job.objects
    assert server.uploads.uploads == {} and _left_on_disk(server) == []


def test_a_video_the_backend_cannot_read_fails_and_leaves_the_scene(panel, server, tmp_path):
    import bpy

    from blender_addon import jobs

    before = sorted(o.name for o in bpy.data.objects)
    panel.mpm_lift.video_path = str(_file(tmp_path, 50_000, "broken.mp4"))
    assert bpy.ops.mpm.lift_video() == {"FINISHED"}
    job = jobs.ACTIVE
    _drive(job)
    assert job.state == "failed" and "broken.mp4" in job.message, job.message
    assert sorted(o.name for o in bpy.data.objects) == before
    assert server.uploads.uploads == {} and _left_on_disk(server) == []
    panel.mpm_lift.video_path = str(tmp_path / "missing.mp4")
    with pytest.raises(RuntimeError, match="No video file"):  # the operator's error report
        bpy.ops.mpm.lift_video()
    assert panel.mpm_lift.status.startswith("No video file")


def test_cancel_while_the_panel_uploads(panel, server, tmp_path):
    import bpy

    from blender_addon import jobs

    panel.mpm_lift.video_path = str(_file(tmp_path, 40 << 20, "big.mp4"))
    assert bpy.ops.mpm.lift_video() == {"FINISHED"}
    job = jobs.ACTIVE
    job.cancel()
    assert job.state == "cancelled" and job.step() is None
    job.uploading.thread.join(20)
    assert job.uploading.upload is None or job.uploading.done == 40 << 20
    deadline = time.monotonic() + 5
    while server.uploads.uploads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.uploads.uploads == {} and _left_on_disk(server) == []
