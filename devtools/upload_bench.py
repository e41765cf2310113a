"""What sending a video to the backend costs: `python -m devtools.upload_bench` prints a table.

    python -m devtools.upload_bench [--mb 100] [--chunks-kib 512,1024,2048] [--repeats 9]
                                    [--out docs/benchmarks.md]

`Client.upload` of a file to a `python -m mpm_backend.serve` process on loopback TCP against
`shutil.copyfile` of the same file to a new file in the same temporary folder (the server's
upload folder lies there too), timed alternately in the same run; medians of the repeats. The
goal: an upload takes at most 1.5 × the disk copy. The sha256 row also has both sides hash the
bytes (`Client.upload(verify=True)`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devtools.sections import publish
from mpm_backend.client import UPLOAD_CHUNK_BYTES, UPLOAD_WINDOW, BackendError, Client

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- upload-benchmark:start -->", "<!-- upload-benchmark:end -->"
GOAL = 1.5  # an upload at most this many times the disk copy


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.upload_bench", description=__doc__)
    parser.add_argument("--mb", type=int, default=100, help="file size in MB (10^6 bytes)")
    parser.add_argument("--chunks-kib", default="512,1024,2048", help="chunk sizes to compare")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--port", type=int, default=5599)
    parser.add_argument("--out", type=Path, help="record the section in this Markdown file")
    return parser.parse_args(argv)


def _start_server(address: str) -> subprocess.Popen:
    """The real backend command, waited for until it answers."""
    server = subprocess.Popen(
        [sys.executable, "-m", "mpm_backend.serve", "--bind", address, "--device", "cpu"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with Client(address, timeout=1.0) as client:
        for _ in range(120):
            try:
                client.ping(timeout=1.0)
                return server
            except BackendError:
                if server.poll() is not None:
                    raise RuntimeError(
                        f"the backend exited with code {server.returncode}"
                    ) from None
    server.kill()
    raise RuntimeError(f"the backend at {address} did not answer within 2 minutes")


def _cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time (Linux /proc): the work, whatever else runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(client: Client, server: int, source: Path, chunk: int, verify: bool, repeats: int):
    """Medians of (copy s, upload s) alternated so both see the same load, and the CPU seconds
    per copy and per upload (client and server processes together)."""
    copies, uploads = [], []
    target = source.with_name("copy.bin")
    client.cancel_upload(client.upload(source, chunk_bytes=chunk, verify=verify))  # warm-up
    copy_cpu = upload_cpu = 0.0
    for _ in range(repeats):
        cpu, start = time.process_time(), time.perf_counter()
        shutil.copyfile(source, target)
        copies.append(time.perf_counter() - start)
        copy_cpu += time.process_time() - cpu
        target.unlink()
        cpu, start = time.process_time() + _cpu_seconds(server), time.perf_counter()
        upload = client.upload(source, chunk_bytes=chunk, verify=verify)
        uploads.append(time.perf_counter() - start)
        upload_cpu += time.process_time() + _cpu_seconds(server) - cpu
        client.cancel_upload(upload)  # deleted, as a lift would
    median = statistics.median
    return median(copies), median(uploads), copy_cpu / repeats, upload_cpu / repeats


def _table(size: int, rows: list[tuple]) -> str:
    lines = [
        "| size (MB) | chunk | disk copy s | upload s | ratio | upload MB/s | CPU s per copy / "
        "upload | goal ≤ 1.5 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, copy, upload, copy_cpu, upload_cpu in rows:
        ratio = upload / copy
        lines.append(
            f"| {size / 1e6:.0f} | {label} | {copy:.3f} | {upload:.3f} | {ratio:.2f} | "
            f"{size / 1e6 / upload:,.0f} | {copy_cpu:.3f} / {upload_cpu:.3f} | "
            f"{'met' if ratio <= GOAL else 'not met'} |"
        )
    return "\n".join(lines)


def _note(rows: list[tuple], load: float) -> str:
    """What bounds the ratio, from this run's CPU seconds: an upload's work (reading the file,
    two copies through loopback TCP, the server's write) against the copy's one in-kernel copy."""
    plain = [row for row in rows if "sha256" not in row[0]]
    work = sum(r[4] for r in plain) / sum(r[3] for r in plain)
    cores = os.cpu_count() or 1
    return (
        f"The client sends chunks of {UPLOAD_CHUNK_BYTES >> 10} KiB, {UPLOAD_WINDOW} in flight "
        f"(`mpm_backend.client`). An upload does {work:.1f}× the CPU work of the copy (client and "
        f"server processes together), so on {cores} cores it cannot take less than "
        f"{work / cores:.2f}× the copy's time even with nothing else running; the load average "
        f"was {load:.1f} during this run."
    )


def main(argv: list[str] | None = None) -> int:
    """Measure every chunk size (and the checked upload), print the table, record it."""
    args = _parse_args(argv)
    chunks = [int(k) << 10 for k in args.chunks_kib.split(",")]
    address = f"tcp://127.0.0.1:{args.port}"
    folder = Path(tempfile.mkdtemp(prefix="mpm-upload-bench-"))
    server = _start_server(address)
    try:
        source = folder / "video.mp4"
        size = args.mb * 1_000_000
        source.write_bytes(os.urandom(size))
        rows = []
        with Client(address, timeout=30) as client:
            for chunk in chunks:
                times = _measure(client, server.pid, source, chunk, False, args.repeats)
                rows.append((f"{chunk >> 10} KiB", *times))
            times = _measure(client, server.pid, source, UPLOAD_CHUNK_BYTES, True, args.repeats)
            rows.append((f"{UPLOAD_CHUNK_BYTES >> 10} KiB + sha256", *times))
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(folder, ignore_errors=True)
    table = _table(size, rows)
    section = (
        f"{START}\n## Upload benchmark\n\nCommand: `python -m devtools.upload_bench --mb {args.mb} "
        f"--chunks-kib {args.chunks_kib} --repeats {args.repeats}` ({os.cpu_count()} cores, "
        "shared with other work): `Client.upload` of a file of random bytes to "
        "`python -m mpm_backend.serve` on loopback TCP (separate processes; the server writes "
        "into its own temporary folder), against `shutil.copyfile` of the same file within the "
        f"same temporary folder, alternated, medians of {args.repeats}. Upload time runs from "
        "`upload_begin` to the answer of `upload_end`; the sha256 row also has both sides hash "
        f"the bytes (`verify=True`).\n\n{table}\n\n{_note(rows, os.getloadavg()[0])}\n{END}"
    )
    publish(table, section, args.out, START, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
