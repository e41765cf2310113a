"""The clip cache: the whole mocap corpus as H36M-17 joints at the model frame rate, built once.

Reading and mapping 270 MB of BVH and AMC takes a while; training reads this instead. Every
manifest folder under the mocap root is read (`sources.read_manifests`). Layout of <out>:

    index.json   what was built: source folder, fps, per clip its file, source, split, frames,
                 height; manifest folders skipped (unknown skeleton) and why
    train.npz    joints (N, 17, 3) float32 metres Y-up, starts (C + 1,) int64 clip boundaries
    val.npz      the same for the val split

Splits come from each manifest's `split` column and only from there: a file is in exactly one
split file, so nothing from a val file can reach training.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mpm_backend.timebase import MODEL_FPS
from training.data.mocap import standing_height
from training.data.sources import (
    SPLITS,
    MocapFile,
    find_mocap_files,
    load_all,
    read_manifest,  # noqa: F401  (callers import it from here)
    read_manifests,
)

CACHE_VERSION = 1
# One manifest row; read_manifest reads one folder's, read_manifests every folder's below a root.
ManifestRow = MocapFile


def build_cache(
    mocap_dir: Path,
    out_dir: Path,
    fps: float = MODEL_FPS,
    show_progress: bool = True,
    sources: set[str] | None = None,
) -> dict:
    """Read every manifest under mocap_dir, map to H36M-17, resample to fps, write the cache.

    A manifest folder whose skeleton no map recognises is skipped whole with one warning line
    (and listed under "skipped" in index.json); everything else must load. Returns the index.
    """
    mocap_dir, out_dir = Path(mocap_dir), Path(out_dir)
    rows = find_mocap_files(mocap_dir, sources=sources) if sources else read_manifests(mocap_dir)
    started = time.perf_counter()

    def progress(files: list[MocapFile]):
        return tqdm(files, desc="mocap → clips", unit="file", disable=not show_progress)

    loaded, skipped = load_all(rows, target_fps=fps, progress=progress)
    per_split: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    clips = []
    for row, clip in loaded:
        per_split[row.split].append(clip.joints.astype(np.float32))
        clips.append(
            {
                "path": row.path,
                "source": row.source,
                "split": row.split,
                "subject": row.subject,
                "action": row.action,
                "family": clip.family,
                "source_fps": row.fps,
                "frames": clip.num_frames,
                "height_m": round(standing_height(clip), 4),
            }
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, arrays in per_split.items():
        lengths = [len(a) for a in arrays]
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        joints = np.concatenate(arrays) if arrays else np.zeros((0, 17, 3), np.float32)
        _atomic_savez(out_dir / f"{split}.npz", joints=joints, starts=starts)
    index = {
        "version": CACHE_VERSION,
        "mocap_dir": str(mocap_dir.resolve()),
        "fps": fps,
        "layout": "h36m17",
        "units": "metres",
        "axes": "Y up; the floor near y = 0",
        "clips": clips,  # in each split, clips appear in this order
        "skipped": [{"folder": s.folder, "reason": s.reason} for s in skipped],
        "build_seconds": round(time.perf_counter() - started, 1),
    }
    tmp = out_dir / "index.json.tmp"
    tmp.write_text(json.dumps(index, indent=1))
    tmp.replace(out_dir / "index.json")
    return index


def _atomic_savez(path: Path, **arrays: np.ndarray) -> None:
    """Write an .npz under a temporary name, then rename: a stopped build leaves no torn file."""
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


@dataclass
class SplitClips:
    """All clips of one split: joints (N, 17, 3) metres and starts (C + 1,) boundaries."""

    joints: np.ndarray
    starts: np.ndarray
    clips: list[dict]
    fps: float

    def clip(self, i: int) -> np.ndarray:
        return self.joints[self.starts[i] : self.starts[i + 1]]

    def __len__(self) -> int:
        return len(self.starts) - 1


def load_split(cache_dir: Path, split: str) -> SplitClips:
    """Load one split of a built cache, with a clear error if it is missing or stale."""
    cache_dir = Path(cache_dir)
    index_path = cache_dir / "index.json"
    if not index_path.is_file():
        raise FileNotFoundError(
            f"no clip cache in {cache_dir}: build it with "
            f"`python -m training.data build --mocap ../shared/mocap --out {cache_dir}`"
        )
    index = json.loads(index_path.read_text())
    if index.get("version") != CACHE_VERSION:
        raise ValueError(f"{cache_dir} was built by another version of the code: rebuild it")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    with np.load(cache_dir / f"{split}.npz") as data:
        joints, starts = data["joints"], data["starts"]
    clips = [c for c in index["clips"] if c["split"] == split]
    return SplitClips(joints=joints, starts=starts, clips=clips, fps=float(index["fps"]))
