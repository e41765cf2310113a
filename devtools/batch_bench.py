"""Batch throughput: `python -m devtools.batch_bench` prints a table and records it.

    python -m devtools.batch_bench [--tracks 20] [--frames 1800] [--rig metarig]
        [--formats "blend;blend,bvh,fbx"] [--lookahead 2] [--out docs/benchmarks.md] [--no-write]

Makes --tracks one-minute tracks (examples/tracks/walking.npz played forwards and backwards to
--frames frames, so the loop has no jump), starts `python -m mpm_backend.serve` on loopback, and
runs `blender_addon.batch` over them twice for each format set: one after another (--lookahead 0:
read, lift, wait, retarget, write, next) and pipelined (the next tracks are submitted to the
backend while the current one is retargeted and written). Writes the table into
docs/benchmarks.md between the batch-benchmark markers.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from blender_addon import batch
from blender_addon.batch_config import DEFAULT_LOOKAHEAD
from devtools.sections import publish
from mpm_backend.tracks import read_track, write_track

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "tracks" / "walking.npz"
START, END = "<!-- batch-benchmark:start -->", "<!-- batch-benchmark:end -->"


def make_tracks(folder: Path, count: int, frames: int) -> list[Path]:
    """`count` tracks of `frames` frames: the example walk, forwards then backwards, looped."""
    track = read_track(EXAMPLE)
    order = np.concatenate([np.arange(track.num_frames), np.arange(track.num_frames)[::-1]])
    index = np.resize(order, frames)
    track.keypoints = track.keypoints[index]
    track.confidence = track.confidence[index]
    folder.mkdir(parents=True, exist_ok=True)
    return [write_track(track, folder / f"walk_{i:02d}.npz") for i in range(count)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(address: str, checkpoint: str, threads: int | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    server = subprocess.Popen(
        [sys.executable, "-m", "mpm_backend.serve", "--bind", address, "--device", "cpu",
         "--checkpoint", checkpoint],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )  # fmt: skip
    for line in server.stdout:
        if "listening on" in line:
            return server
    server.wait(10)
    raise RuntimeError(f"the backend did not start (exit code {server.returncode})")


def timed_run(tracks: list[Path], out: Path, address: str, rig: str, formats, lookahead: int):
    """(wall seconds, seconds Blender's side waited for lifts, backend lift seconds), summed."""
    config = batch.BatchConfig(
        tracks=tracks,
        rigs=[rig],
        out=out,
        formats=tuple(formats),
        backend=address,
        force=True,
        lookahead=lookahead,
        progress=False,
    )
    start = time.perf_counter()
    summary = batch.run(config, echo=lambda line: None)
    seconds = time.perf_counter() - start
    failed = [r for r in summary.results if r.status != batch.OK]
    if failed:
        raise RuntimeError(f"{len(failed)} track(s) failed, e.g. {failed[0].error}")
    wait = sum(r.wait_seconds for r in summary.results)
    lift = sum(r.lift_seconds or 0.0 for r in summary.results)
    return seconds, wait, lift


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (see the module doc)."""
    parser = argparse.ArgumentParser(
        prog="python -m devtools.batch_bench",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tracks", type=int, default=20)
    parser.add_argument("--frames", type=int, default=1800)
    parser.add_argument("--rig", default="metarig")
    parser.add_argument("--formats", default="blend;blend,bvh,fbx", help="format sets, ';'")
    parser.add_argument("--lookahead", type=int, default=DEFAULT_LOOKAHEAD)
    parser.add_argument("--repeats", type=int, default=2, help="runs per mode (best counts)")
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument(
        "--server-threads", type=int, help="the backend's torch threads (OMP_NUM_THREADS)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    return parser.parse_args(argv)


def _measure(args: argparse.Namespace) -> list[tuple[tuple[str, ...], list, list]]:
    """Run every format set one after another and pipelined, --repeats times each, against one
    backend; returns (formats, serial runs, pipelined runs) per format set."""
    format_sets = [tuple(s.split(",")) for s in args.formats.split(";") if s]
    address = f"tcp://127.0.0.1:{free_port()}"
    rows = []
    with tempfile.TemporaryDirectory(prefix="mpm-batch-bench-") as tmp:
        tracks = make_tracks(Path(tmp) / "tracks", args.tracks, args.frames)
        server = start_server(address, args.checkpoint, args.server_threads)
        try:
            timed_run(tracks[:2], Path(tmp) / "warm", address, args.rig, ("blend",), 0)
            for formats in format_sets:
                runs: dict[int, list] = {0: [], args.lookahead: []}
                for _ in range(args.repeats):  # alternate the modes against drifting load
                    for lookahead in runs:
                        out = Path(tmp) / "out"
                        runs[lookahead].append(
                            timed_run(tracks, out, address, args.rig, formats, lookahead)
                        )
                        print(f"{','.join(formats)}, --lookahead {lookahead}: "
                              f"{runs[lookahead][-1][0]:.1f} s", flush=True)  # fmt: skip
                rows.append((formats, runs[0], runs[args.lookahead]))
        finally:
            server.terminate()
            server.wait(30)
    return rows


def _cell(runs: list) -> str:
    """The best wall time, with every run's in brackets when there were several."""
    walls = [r[0] for r in runs]
    spread = " (" + ", ".join(f"{w:.1f}" for w in walls) + ")" if len(walls) > 1 else ""
    return f"{min(walls):.1f}{spread}"


def _table(rows: list[tuple[tuple[str, ...], list, list]], tracks: int) -> tuple[str, list[str]]:
    """The Markdown table, and notes on differences within the run-to-run spread (so a noisy
    saving is not read as one)."""
    lines, notes = [], []
    for formats, serial, piped in rows:
        s_best, p_best = min(serial), min(piped)
        saved = 1 - p_best[0] / s_best[0]
        spread = max(
            (max(r[0] for r in runs) - min(r[0] for r in runs)) / min(r[0] for r in runs)
            for runs in (serial, piped)
        )
        if len(serial) > 1 and abs(saved) < spread:
            notes.append(
                f"For {','.join(formats)} the difference ({100 * saved:+.0f} %) is within the "
                f"run-to-run spread of identical runs ({100 * spread:.0f} %)."
            )
        lines.append(
            f"| {','.join(formats)} | {_cell(serial)} | {_cell(piped)} | "
            f"{100 * (1 - p_best[0] / s_best[0]):.0f} % | {p_best[0] / tracks:.2f} | "
            f"{s_best[1]:.1f} → {p_best[1]:.1f} | {s_best[2]:.1f} |"
        )
    table = "\n".join(
        [
            "| formats | one after another, s (all runs) | pipelined, s (all runs) | saved "
            "| per track, pipelined (s) | Blender waiting for lifts: one after another → "
            "pipelined (s) | backend lift time (s) |",
            "|---|---|---|---|---|---|---|",
            *lines,
        ]
    )
    return table, notes


def _section(args: argparse.Namespace, table: str, notes: list[str]) -> str:
    """The docs/benchmarks.md section: how it was measured, the table, what it means."""
    minutes = args.tracks * args.frames / 30 / 60
    threads = f", {args.server_threads} torch thread(s)" if args.server_threads else ""
    return (
        f"{START}\n## Batch retargeting benchmark\n\nCommand: `python -m devtools.batch_bench` "
        f"({args.tracks} tracks × {args.frames} frames at 30 fps = {minutes:.0f} min of motion, "
        f"rig `{args.rig}`, through `python -m mpm_backend.serve` on loopback (CPU{threads}), "
        f"{os.cpu_count()} cores shared with other work, Blender {_blender_version()} as the `bpy` "
        f"module; {args.repeats} runs per mode, the modes alternated; best run shown, all runs "
        f"in brackets). Pipelined: `--lookahead {args.lookahead}` (the default), the next tracks "
        "queued on the backend while one is retargeted and written; one after another: "
        "`--lookahead 0`. Blender waiting for lifts: the time the main thread spent waiting for "
        "lift results (best runs), summed; backend lift time: the server's own seconds per lift, "
        "summed.\n\n"
        f"{table}\n\n"
        "Pipelining takes the lifts off Blender's critical path (the waiting column); what it can "
        "save is at most the lift time. Retargeting and Blender's exporters (BVH and FBX "
        "evaluate the rig frame by frame) run on Blender's one main thread and set the pace. "
        + " ".join(notes)
        + "\n"
        f"{END}"
    )


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, record it."""
    args = _parse_args(argv)
    rows = _measure(args)
    table, notes = _table(rows, args.tracks)
    section = _section(args, table, notes)
    publish(table, section, None if args.no_write else args.out, START, END)
    return 0


def _blender_version() -> str:
    import bpy

    return bpy.app.version_string


if __name__ == "__main__":
    sys.exit(main())
