"""What sending a video to the backend costs: `python -m devtools.upload_bench` prints a table.

    python -m devtools.upload_bench [--mb 100] [--chunks-kib 512,1024,2048] [--repeats 9]
                                    [--out docs/benchmarks.md]

`Client.upload` of a file to a `python -m mpm_backend.serve` process on loopback TCP, by both
paths: the local handoff (`via="fd"`: the open file passed over a Unix socket, copied by the
server) and chunks over the wire (`via="wire"`, each chunk size), against `shutil.copyfile` of
the same file to a new file in the same temporary folder (the server's upload folder lies there
too), timed alternately in the same run; medians of the repeats. The goal: an upload takes at
most 1.5 × the disk copy. The sha256 rows also have both sides hash the bytes (`verify=True`).
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


def _measure(
    client: Client, server: int, source: Path, via: str, chunk: int, verify: bool, repeats: int
):
    """Medians of (copy s, upload s) alternated so both see the same load, and the CPU seconds
    per copy and per upload (client and server processes together)."""
    copies, uploads = [], []
    target = source.with_name("copy.bin")
    send = {"chunk_bytes": chunk, "verify": verify, "via": via}
    client.cancel_upload(client.upload(source, **send))  # warm-up
    copy_cpu = upload_cpu = 0.0
    for _ in range(repeats):
        cpu, start = time.process_time(), time.perf_counter()
        shutil.copyfile(source, target)
        copies.append(time.perf_counter() - start)
        copy_cpu += time.process_time() - cpu
        target.unlink()
        cpu, start = time.process_time() + _cpu_seconds(server), time.perf_counter()
        upload = client.upload(source, **send)
        uploads.append(time.perf_counter() - start)
        upload_cpu += time.process_time() + _cpu_seconds(server) - cpu
        assert client.last_upload_via == via, f"asked for {via}, went {client.last_upload_via}"
        client.cancel_upload(upload)  # deleted, as a lift would
    median = statistics.median
    return median(copies), median(uploads), copy_cpu / repeats, upload_cpu / repeats


def _table(size: int, rows: list[tuple]) -> str:
    lines = [
        "| size (MB) | path | chunk | disk copy s | upload s | ratio | upload MB/s | CPU s per "
        "copy / upload | goal ≤ 1.5 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for path, chunk, copy, upload, copy_cpu, upload_cpu in rows:
        ratio = upload / copy
        lines.append(
            f"| {size / 1e6:.0f} | {path} | {chunk} | {copy:.3f} | {upload:.3f} | {ratio:.2f} | "
            f"{size / 1e6 / upload:,.0f} | {copy_cpu:.3f} / {upload_cpu:.3f} | "
            f"{'met' if ratio <= GOAL else 'not met'} |"
        )
    return "\n".join(lines)


def _work(rows: list[tuple], path: str) -> float:
    """An upload's CPU seconds over the copy's, over the unhashed rows of one path."""
    plain = [r for r in rows if r[0] == path]
    return sum(r[5] for r in plain) / sum(r[4] for r in plain)


def _note(rows: list[tuple], load: float) -> str:
    """What bounds each path, from this run's CPU seconds: chunks cost reading the file, two
    copies through loopback TCP and the server's write; the handoff one in-kernel copy, like
    the disk copy itself."""
    cores = os.cpu_count() or 1
    wire_work, fd_work = _work(rows, "wire"), _work(rows, "fd")
    return (
        "`Client.upload` takes the handoff by itself where the server offers it (a loopback "
        "address without CURVE keys, Linux or macOS) and chunks otherwise; the handoff costs "
        f"{fd_work:.1f}× the CPU work of the copy (client and server processes together). Chunks "
        f"go {UPLOAD_CHUNK_BYTES >> 10} KiB at a time, {UPLOAD_WINDOW} in flight "
        f"(`mpm_backend.client`), and cost {wire_work:.1f}× the copy's CPU work, so on {cores} "
        f"cores they cannot take less than {wire_work / cores:.2f}× the copy's time even with "
        f"nothing else running. The load average was {load:.1f} during this run."
    )


def main(argv: list[str] | None = None) -> int:
    """Measure the handoff and every chunk size (and both checked), print the table, record it."""
    args = _parse_args(argv)
    chunks = [int(k) << 10 for k in args.chunks_kib.split(",")]
    address = f"tcp://127.0.0.1:{args.port}"
    folder = Path(tempfile.mkdtemp(prefix="mpm-upload-bench-"))
    server = _start_server(address)
    try:
        source = folder / "video.mp4"
        size = args.mb * 1_000_000
        source.write_bytes(os.urandom(size))
        cases = [  # (row's path, via, chunk bytes, verify)
            ("fd", "fd", UPLOAD_CHUNK_BYTES, False),
            *(("wire", "wire", chunk, False) for chunk in chunks),
            ("fd + sha256", "fd", UPLOAD_CHUNK_BYTES, True),
            ("wire + sha256", "wire", UPLOAD_CHUNK_BYTES, True),
        ]
        rows = []
        with Client(address, timeout=30) as client:
            for label, via, chunk, verify in cases:
                times = _measure(client, server.pid, source, via, chunk, verify, args.repeats)
                rows.append((label, "–" if via == "fd" else f"{chunk >> 10} KiB", *times))
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
        "into its own temporary folder), by the local handoff (path `fd`: the open file passed "
        "over a Unix socket, the server copies it with `copy_file_range`) and by chunks (path "
        "`wire`), against `shutil.copyfile` of the same file within the same temporary folder, "
        f"alternated, medians of {args.repeats}. Upload time runs from `upload_begin` to the "
        "answer of `upload_end`; the sha256 rows also have both sides hash the bytes "
        f"(`verify=True`).\n\n{table}\n\n{_note(rows, os.getloadavg()[0])}\n{END}"
    )
    publish(table, section, args.out, START, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
