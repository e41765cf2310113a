"""What the wire costs: `python -m devtools.backend_bench` prints a table and records it.

    python -m devtools.backend_bench [--checkpoint default] [--repeats 3] [--out docs/benchmarks.md]

In-process lifting vs the same lift through a server process on loopback, for a 10-minute
30 fps track (throughput) and a 10-second track (latency, median and p95 of many round trips),
plus the server's peak resident memory (VmHWM). The goals: the wire costs at most 10 % on the long
track, and a 10-second track round-trips in under 150 ms. Run from a checkout: the track is a real
CMU clip from examples/mocap filmed by a virtual camera (training.data makes it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from devtools.sections import publish
from mpm_backend.client import Client

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "mocap" / "cmu_actions_train_walking_1.bvh"
START, END = "<!-- backend-benchmark:start -->", "<!-- backend-benchmark:end -->"


def example_track(frames: int) -> tuple[np.ndarray, tuple[int, int]]:
    """(frames, 17, 2) pixels of a real walking clip, looped, filmed by a 1920×1080 camera."""
    from training.data.cameras import Camera, focal_from_fov, look_at_rotation
    from training.data.mocap import load_clip

    joints = load_clip(EXAMPLE, skip_frames=1, target_fps=30).joints
    joints = np.concatenate([joints, joints[::-1]])  # loop without a jump
    joints = np.concatenate([joints] * (frames // len(joints) + 1))[:frames]
    centre = joints[:, 0].mean(0)
    eye = centre + np.array([0.0, 0.0, 6.0])
    f = focal_from_fov(60.0, 1920)
    camera = Camera.from_pose(
        look_at_rotation(eye, centre), eye, np.array([f, f]), np.array([960.0, 540.0]), 1920, 1080
    )
    return camera.project(camera.world_to_camera(joints)).astype(np.float32), (1920, 1080)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (see the module doc)."""
    parser = argparse.ArgumentParser(
        prog="python -m devtools.backend_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--round-trips", type=int, default=50)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    return parser.parse_args(argv)


def _taking_turns(
    ways: dict[str, Callable[..., object]],
    long_uv: np.ndarray,
    short_uv: np.ndarray,
    size: tuple[int, int],
    repeats: int,
    round_trips: int,
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Per way of lifting: the best seconds for the long track, and the seconds of each short
    round trip. The ways take turns (each repeat lifts once by every way), so a machine whose
    speed drifts over the minute slows them alike; each is warmed up first."""

    def seconds(way: str, uv: np.ndarray) -> float:
        tick = time.perf_counter()
        ways[way](uv, "h36m17", 30.0, size)
        return time.perf_counter() - tick

    for way in ways:
        seconds(way, short_uv)  # warm up
    long_s = {way: float("inf") for way in ways}
    short_s: dict[str, list[float]] = {way: [] for way in ways}
    for _ in range(repeats):
        for way in ways:
            long_s[way] = min(long_s[way], seconds(way, long_uv))
    for _ in range(round_trips):
        for way in ways:
            short_s[way].append(seconds(way, short_uv))
    return long_s, short_s


@contextlib.contextmanager
def _server(args: argparse.Namespace) -> Iterator[tuple[Client, int]]:
    """A server process on loopback (flip-averaged, the default), its client and its pid."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mpm_backend.serve",
            "--bind",
            address,
            "--device",
            "cpu",
            "--checkpoint",
            args.checkpoint,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        for line in server.stdout:
            if "listening on" in line:
                break
        with Client(address, timeout=120) as client:
            yield client, server.pid
    finally:
        server.terminate()
        server.wait(30)


def _table(
    frames: int,
    local_long: float,
    local_short: list[float],
    wire_long: float,
    wire_short: list[float],
    peak: float,
    once_long: float,
) -> str:
    """The Markdown table, with the goals beside the measures they judge; ``once_long``: the
    long track in-process lifted once (no flip averaging), the baseline of the same run."""
    overhead = wire_long / local_long - 1
    p = lambda xs, q: 1000 * float(np.percentile(xs, q))  # noqa: E731
    rows = [
        (
            "10-min track (18,000 frames), frames/s",
            f"{frames / local_long:,.0f}",
            f"{frames / wire_long:,.0f}",
            f"wire costs {100 * overhead:+.1f} % (goal ≤ 10 %); flip-averaged (the default)",
        ),
        (
            "the same lifted once (`--no-flip`), frames/s",
            f"{frames / once_long:,.0f}",
            "",
            f"flip averaging takes {once_long / local_long:.2f} × the speed (goal ≥ 5,000 "
            "frames/s either way)",
        ),
        (
            "10-s track (300 frames), median ms",
            f"{p(local_short, 50):.1f}",
            f"{p(wire_short, 50):.1f}",
            "goal < 150 ms over the wire",
        ),
        ("10-s track, p95 ms", f"{p(local_short, 95):.1f}", f"{p(wire_short, 95):.1f}", ""),
        ("server peak memory (VmHWM), MB", "", f"{peak:.0f}", "model, torch, buffers"),
    ]
    return "\n".join(
        ["| measure | in-process | over the wire | note |", "|---|---|---|---|"]
        + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    )


def main(argv: list[str] | None = None) -> int:
    """Measure in-process and over the wire, print the table, record it."""
    args = _parse_args(argv)

    from mpm_backend.inference import Engine

    long_uv, size = example_track(10 * 60 * 30)
    short_uv = long_uv[: 10 * 30]
    engine = Engine(args.checkpoint, device="cpu")
    once = Engine(args.checkpoint, device="cpu", flip=False)
    with _server(args) as (client, pid):
        ways = {"local": engine.lift, "wire": client.lift, "once": once.lift}
        long_s, short_s = _taking_turns(
            ways, long_uv, short_uv, size, args.repeats, args.round_trips
        )
        peak = peak_rss_mb(pid)
    local_long, wire_long, once_long = long_s["local"], long_s["wire"], long_s["once"]
    local_short, wire_short = short_s["local"], short_s["wire"]

    table = _table(len(long_uv), local_long, local_short, wire_long, wire_short, peak, once_long)
    section = (
        f"{START}\n## Backend benchmark\n\nCommand: `python -m devtools.backend_bench` "
        f"(checkpoint `{args.checkpoint}`, CPU, {os.cpu_count()} cores, best of {args.repeats} for "
        f"the long track, {args.round_trips} round trips for the short one, the ways of lifting "
        f"taking turns; server and client on one machine, loopback TCP).\n\n{table}\n{END}"
    )
    publish(table, section, args.out, START, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
