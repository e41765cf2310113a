"""Benchmark live mode: `python -m devtools.live_bench`.

    python -m devtools.live_bench [--mocap ../shared/mocap] [--cameras 1] [--seed 0]
        [--windows 27,41,81] [--look-aheads 0,1,2,4] [--video examples/video/video.mp4]
        [--threads 1] [--skip-accuracy] [--skip-video] [--out docs/benchmarks.md]
        [--json ACC.json] [--reuse-accuracy ACC.json]

1. Accuracy: CMU val under the evaluation's `noisy` condition (training.evaluate's seeded cameras
   and detector-like noise), lifted offline (`lift_sequences`: cross-faded windows of 81) and as a
   stream at 30 fps (`live.causal_lift`: frame j from the window ending at j + look-ahead), per
   window and look-ahead: MPJPE both ways, their ratio, and the stream's per-frame model latency
   (`StreamLifter.push`, median / p95 over a 300-frame track).
2. End to end: a video replayed at its own rate (`live.Source`, realtime) → BlazePose → stream,
   in this process and through a backend subprocess: frame-to-3D latency (frame available → its 3D
   received, the look-ahead's wait included), detector and lift times, dropped frames.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from devtools.model_benchmark import source_data
from devtools.sections import publish
from mpm_backend.inference import Engine
from mpm_backend.live import Detector, LiveRun, RemoteStream, Source, run_live, summary
from mpm_backend.streams import (
    DEFAULT_LOOK_AHEAD,
    DEFAULT_WINDOW,
    StreamLifter,
    causal_lift,
    warm_up,
)
from training.evaluate import film_view, lift_sequences
from training.metrics import summarise

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "examples" / "video" / "video.mp4"
START, END = "<!-- live-benchmark:start -->", "<!-- live-benchmark:end -->"


def accuracy(engine: Engine, clips: list, cameras: int, seed: int, windows, look_aheads) -> list:
    """Rows (window, look-ahead, live MPJPE, offline MPJPE) on the noisy condition."""
    views = [
        film_view(c, seed, i, k, ("noisy",)) for i, c in enumerate(clips) for k in range(cameras)
    ]
    truth = [v.pose3d for v in views]
    offline = summarise(lift_sequences(engine.lifter, [v.inputs["noisy"] for v in views]), truth)
    rows = []
    for window in windows:
        for look_ahead in look_aheads:
            tick = time.perf_counter()
            preds = [
                causal_lift(engine.lifter, *v.inputs["noisy"], window, look_ahead) for v in views
            ]
            live = summarise(preds, truth)
            rows.append((window, look_ahead, live["mpjpe"], offline["mpjpe"], live["p_mpjpe"]))
            print(
                f"window {window} look-ahead {look_ahead}: {live['mpjpe']:.1f} mm vs "
                f"{offline['mpjpe']:.1f} ({time.perf_counter() - tick:.0f} s)",
                flush=True,
            )
    return rows


def push_latency(engine: Engine, window: int, look_ahead: int, frames: int = 300) -> tuple:
    """(median, p95) ms of one StreamLifter.push on the example video's true 2D."""
    truth = np.load(ROOT / "examples" / "video" / "truth.npz")
    uv = np.concatenate([truth["joints_2d"]] * (frames // len(truth["joints_2d"]) + 1))[:frames]
    size = (int(truth["width"]), int(truth["height"]))
    lifter = StreamLifter(engine, "h36m17", 30.0, size, look_ahead, window)
    times = []
    for frame in uv:
        tick = time.perf_counter()
        lifter.push(frame)
        times.append(time.perf_counter() - tick)
    times = np.array(times[10:]) * 1000  # the first passes allocate
    return float(np.median(times)), float(np.percentile(times, 95))


def warm_detector(detector: Detector, video: Path) -> None:
    """The first BlazePose calls load its graph (~1 s): not part of a live frame's cost."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    ok, image = capture.read()
    capture.release()
    for _ in range(3 if ok else 0):
        detector(image)


def end_to_end(engine, video: Path, look_ahead: int, window: int, backend: str | None, repeats=3):
    """The video replayed `repeats` times, each a fresh stream and detector; runs pooled."""
    runs = [_replay(engine, video, look_ahead, window, backend) for _ in range(repeats)]
    pooled = LiveRun(*([] for _ in range(6)), 0, 0)
    for run in runs:
        for name in ("index", "joints3d", "root", "latency_s", "detect_s", "lift_s"):
            getattr(pooled, name).extend(getattr(run, name))
        pooled.dropped += run.dropped
        pooled.frames += run.frames
    return summary(pooled)


def _replay(engine: Engine, video: Path, look_ahead: int, window: int, backend: str | None):
    detector = Detector(1)
    warm_detector(detector, video)
    source = Source(str(video), realtime=True)
    try:
        if backend is None:
            sink = StreamLifter(engine, "blazepose33", source.fps, source.size, look_ahead, window)
            return run_live(source, detector, sink)
        from mpm_backend.client import Client

        with Client(backend, timeout=10) as client:
            warm = RemoteStream(client, "blazepose33", source.fps, source.size, 0, window)
            for _ in range(10):  # the server's first stream_open warms it up
                warm.push(np.zeros((33, 2)), np.ones(33))
            warm.flush()
            sink = RemoteStream(client, "blazepose33", source.fps, source.size, look_ahead, window)
            return run_live(source, detector, sink)
    finally:
        detector.close()


def start_backend(port: int, threads: int) -> subprocess.Popen:
    """`python -m mpm_backend.serve` on a loopback port, torch limited to `threads`."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    address = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "mpm_backend.serve", "--bind", address, "--device", "cpu"],
        env=env,
        cwd=ROOT,
    )
    from mpm_backend.client import BackendError, Client

    with Client(address, timeout=2) as client:
        for _ in range(60):
            try:
                client.ping()
                return process
            except BackendError:
                time.sleep(0.5)
    process.terminate()
    raise RuntimeError("the backend did not start")


def _ms(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def report(rows: list, latency: dict, videos: dict, command: str, load: str) -> tuple[str, str]:
    lines = [
        START,
        "## Live mode",
        "",
        f"Command: `{command}`. Load while measuring: {load} "
        "(2 cores, shared with training jobs: latencies are pessimistic).",
        "",
    ]
    if rows:
        lines += [
            "CMU val, `noisy` condition; offline = the lift of whole clips (windows of 81, "
            "cross-faded). Latency: one `StreamLifter.push`, in-process, torch threads as "
            "given, ms.",
            "",
            "| window | look-ahead | live MPJPE | offline MPJPE | ratio | live P-MPJPE | "
            "push median | push p95 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for window, look_ahead, live, offline, p_live in rows:
            med, p95 = latency.get((window, look_ahead), (None, None))
            lines.append(
                f"| {window} | {look_ahead} | {live:.1f} | {offline:.1f} | "
                f"{live / offline:.3f} | {p_live:.1f} | {_ms(med)} | {_ms(p95)} |"
            )
    if videos:
        lines += [
            "",
            "End to end: `examples/video/video.mp4` (108 frames, 30 fps, 640×480) "
            "replayed at its own rate 3 times (a fresh stream each) → BlazePose (full) → "
            "stream; latency = frame available → its 3D received (includes the look-ahead's "
            "wait of L/30 s). ms.",
            "",
            "| path | look-ahead | window | frames | dropped | latency median | latency p95 "
            "| BlazePose median | lift median | lift p95 |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for (path, look_ahead, window), s in videos.items():
            lines.append(
                f"| {path} | {look_ahead} | {window} | {s['frames']} | {s['dropped']} | "
                f"{_ms(s['latency_median_ms'])} | {_ms(s['latency_p95_ms'])} | "
                f"{_ms(s['detect_median_ms'])} | {_ms(s['lift_median_ms'])} | "
                f"{_ms(s['lift_p95_ms'])} |"
            )
    lines.append(END)
    table = "\n".join(lines[1:-1])
    return table, "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mocap", type=Path, default=ROOT.parent / "shared" / "mocap")
    parser.add_argument("--cameras", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--windows", default="27,41,81")
    parser.add_argument("--look-aheads", default="0,1,2,4")
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=5601)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-video", action="store_true")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--json", type=Path, help="save the accuracy rows and push latencies")
    parser.add_argument("--reuse-accuracy", type=Path, help="take them from such a --json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    engine = Engine("default", device="cpu")
    windows = [int(w) for w in args.windows.split(",")]
    look_aheads = [int(n) for n in args.look_aheads.split(",")]
    rows, latency, videos = [], {}, {}
    if args.reuse_accuracy:  # deterministic: only the timings change between runs
        saved = json.loads(args.reuse_accuracy.read_text())
        rows = [tuple(r) for r in saved["rows"]]
        latency = {(w, n): tuple(v) for w, n, *v in saved["latency"]}
    elif not args.skip_accuracy:
        _, clips = source_data(args.mocap)["cmu"]
        rows = accuracy(engine, clips, args.cameras, args.seed, windows, look_aheads)
        latency = {(w, n): push_latency(engine, w, n) for w, n, *_ in rows}
    if args.json:
        latency_rows = [[w, n, *v] for (w, n), v in latency.items()]
        args.json.write_text(json.dumps({"rows": rows, "latency": latency_rows}, indent=1))
    if not args.skip_video:
        warm_up(engine.lifter, DEFAULT_WINDOW)  # as the CLI and the server do
        for look_ahead in sorted({0, 1, 2, DEFAULT_LOOK_AHEAD}):
            key = ("in-process", look_ahead, DEFAULT_WINDOW)
            videos[key] = end_to_end(engine, args.video, look_ahead, DEFAULT_WINDOW, None)
        backend = start_backend(args.port, args.threads)
        try:
            key = ("backend (zmq)", DEFAULT_LOOK_AHEAD, DEFAULT_WINDOW)
            address = f"tcp://127.0.0.1:{args.port}"
            videos[key] = end_to_end(
                engine, args.video, DEFAULT_LOOK_AHEAD, DEFAULT_WINDOW, address
            )
        finally:
            backend.terminate()
            backend.wait(10)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) + " (1, 5, 15 min)"
    command = "python -m devtools.live_bench " + shlex.join(
        argv if argv is not None else sys.argv[1:]
    )
    table, section = report(rows, latency, videos, command.strip(), load)
    publish(table, section, args.out, START, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
