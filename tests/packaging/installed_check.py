"""Run by tests/test_packaging.py with the fresh environment's Python, from a folder outside the
repository: lifts over the wire through a running `mpm-lift-serve` and reads every example track
format, using only what the installed wheel provides. Prints one JSON line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mpm_backend
from mpm_backend.client import Client
from mpm_backend.tracks import read_track

address, tracks = sys.argv[1], Path(sys.argv[2])
formats = {}
for path in sorted(tracks.iterdir()):
    if path.suffix in (".json", ".npz", ".csv") or path.is_dir():
        size = (1920, 1080) if path.suffix == ".csv" else None
        track = read_track(path, image_size=size)
        formats[path.name] = [track.format, track.layout, len(track.keypoints)]

walk = read_track(tracks / "walking.json")
with Client(address, timeout=180) as client:
    info = client.info(timeout=180)
    result = client.lift(
        walk.keypoints, walk.layout, fps=walk.fps, image_size=walk.image_size
    ).raise_for_error()
print(
    json.dumps(
        {
            "package": str(Path(mpm_backend.__file__).resolve().parent),
            "version": mpm_backend.__version__,
            "info_version": info["version"],
            "code_version": info["code_version"],
            "joints3d": list(result.arrays["joints3d"].shape),
            "formats": formats,
        }
    )
)
