"""Real-detector training data: rendered training mocap run through MediaPipe once, cached.

    python -m training.detected build --mocap ../shared/mocap --out cache/detected
        [--clips 40] [--frames 90] [--seed 0] [--size 640x480] [--distance MIN MAX]
        [--sources cmu_actions,cmu_dance,reactidle]

Synthetic 2D noise only imitates a detector; these windows are the detector itself. Clip k of
the cache is a seeded segment of a training-split mocap file (never a val row; the files are
spread over the sources in proportion to their file counts), rendered on a seeded person and
camera by `training.render` (its own distributions, the camera 2.5–4.5 m away unless
--distance says otherwise), detected by the project's MediaPipe track
(`training.footage.detect_cached`), converted to H36M-17 and stored as `<k>_<name>.npz`; the
video is deleted. Resumable: index.json lists finished clips (a rerun skips them, a larger
--clips continues the same sequence, an interrupted clip resumes at its first missing frame),
and a clip detected on fewer than half its frames is recorded as failed, never retried.

`DetectedWindows` serves the cache as training windows in `ClipWindows`' item format; the adapt
stage mixes them in with `data.detected: {cache: cache/detected, share: 0.2}` (docs/render.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from torch.utils.data import Dataset

from mpm_backend.screen import normalise_screen
from mpm_backend.skeleton import H36M17, to_h36m17
from mpm_backend.timebase import MODEL_FPS, frame_times, min_at, resample_at
from training.data.dataset import WindowConfig, window_starts
from training.render import size_argument

if TYPE_CHECKING:
    from training.config import TrainConfig

INDEX = "index.json"
PELVIS = H36M17.index("pelvis")
FAIL_BELOW = 0.5  # a clip detected on fewer frames than this fraction is recorded as failed
MAX_RENDER_FPS = 30.0  # a slower source renders at its own rate; the windows resample to 30


@dataclass(frozen=True)
class BuildSettings:
    """What makes a cache: a rerun must use the same, or it would mix two distributions."""

    frames: int = 90
    size: tuple[int, int] = (640, 480)
    seed: int = 0
    # The footage benchmark's 2.5–4.5 m, not the training cameras' 2.5–8 m: at 640×480 a person
    # 7 m away is ~125 px tall and MediaPipe finds no one, so such a render is wasted.
    distance: tuple[float, float] | None = (2.5, 4.5)
    sources: tuple[str, ...] | None = None  # None: every source with training rows

    def to_json(self) -> dict:
        return json.loads(json.dumps(asdict(self)))


@dataclass(frozen=True)
class Job:
    """Clip k of the cache: which file, which segment, which person and camera."""

    index: int
    row: object  # training.data.sources.MocapFile
    seed: int  # the render's seed (body, camera, look)
    start: int  # first rendered frame, counted at the render's frame rate
    skip_rows: int  # the source rows before it (the file's own leading rows included)

    @property
    def name(self) -> str:
        return f"{self.index:05d}_{Path(self.row.path).with_suffix('').name}"


# --------------------------------------------------------------------------- choosing clips


def training_rows(mocap: Path, sources: tuple[str, ...] | None) -> list:
    """Training-split rows of every manifest (or every file of a folder without manifests)."""
    from training.data.sources import find_manifests, find_mocap_files

    if Path(mocap).is_dir() and find_manifests(mocap):
        rows = find_mocap_files(mocap, "train", set(sources) if sources else None)
    else:
        rows = find_mocap_files(mocap)
    return sorted(rows, key=lambda r: (r.source, r.path))


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


def plan_files(rows: list, count: int, seed: int) -> list:
    """The first `count` files of the cache's endless sequence, deterministic in (rows, seed).

    Each pick goes to the source furthest behind its share (its fraction of the files), so any
    prefix is spread over the sources; within a source the files come in a seeded order,
    reshuffled after each pass.
    """
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(row.source, []).append(row)
    names = sorted(groups)
    shares = np.array([len(groups[s]) for s in names], dtype=np.float64) / len(rows)
    taken = np.zeros(len(names), dtype=np.int64)
    picked = []
    for k in range(count):
        s = int(np.argmax((k + 1) * shares - taken))
        group = groups[names[s]]
        cycle, position = divmod(int(taken[s]), len(group))
        order = np.random.default_rng([seed, _crc(names[s]), cycle]).permutation(len(group))
        picked.append(group[order[position]])
        taken[s] += 1
    return picked


def render_fps(row) -> float:
    return min(MAX_RENDER_FPS, row.fps or MAX_RENDER_FPS)


def make_job(index: int, row, settings: BuildSettings) -> Job:
    """Seeded segment and render seed of clip `index` (reads the file for its length)."""
    from training.data.mocap import read_motion

    rng = np.random.default_rng([settings.seed, index, _crc(row.path)])
    motion = read_motion(row.file, row.skeleton, row.fps)
    source_fps = row.fps or motion.fps
    available = int((motion.positions.shape[0] - row.skip_frames) / source_fps * render_fps(row))
    start = int(rng.integers(0, max(0, available - settings.frames) + 1))
    skip = row.skip_frames + int(round(start * source_fps / render_fps(row)))
    return Job(index, row, int(rng.integers(0, 2**31 - 1)), start, skip)


def clip_job(job: Job, settings: BuildSettings):
    """The renderer's job: the segment starts `skip_rows` source rows into the file."""
    from training.render.clip import ClipJob

    return ClipJob(
        str(job.row.file), seed=job.seed, frames=settings.frames, size=settings.size,
        fps=render_fps(job.row), skip_frames=job.skip_rows, distance=settings.distance,
    )  # fmt: skip


# --------------------------------------------------------------------------- one clip


def build_clip(job: Job, settings: BuildSettings, out: Path, progress: bool = True) -> dict:
    """Render, detect and store clip `job`; returns its index entry. Removes the render."""
    from training.footage import detect_cached, detected, error_2d, load_rendered
    from training.render.clip import render_clip

    work = out / "work" / job.name
    started = time.perf_counter()
    render_clip(clip_job(job, settings), work, progress=progress)  # resumes a partial render
    rendered = time.perf_counter()
    clip = load_rendered(work, source=job.row.source)
    track = detect_cached(clip, work / "track.npz")
    detect_s = time.perf_counter() - rendered
    points, confidence = to_h36m17(
        track.keypoints.astype(np.float64), track.layout, track.confidence
    )
    found = detected(track)
    meta = json.loads((work / "meta.json").read_text())
    with np.load(work / "truth.npz") as truth:
        arrays = {
            "points_2d": points.astype(np.float32),  # detected H36M-17 pixels, NaN where missing
            "confidence": confidence.astype(np.float32),  # MediaPipe's visibility (min of parts)
            "found": found,
            "joints_2d": truth["joints_2d"],
            "joints_camera": truth["joints_camera"],
            "K": truth["K"],
            "R": truth["R"],
            "t": truth["t"],
            "width": truth["width"],
            "height": truth["height"],
            "fps": truth["fps"],
            "source_frames": truth["source_frames"],
            "stature_m": truth["stature_m"],
            "body_seed": np.int64(job.seed),
            "source": np.array(job.row.path),
            "body": np.array(json.dumps(meta["body"])),
        }
    partial = out / f"{job.name}.partial.npz"
    np.savez_compressed(partial, **arrays)
    partial.rename(out / f"{job.name}.npz")  # a clip file exists only when whole
    shutil.rmtree(work)
    errors = error_2d(np.where(found[:, None, None], points, np.nan), clip)
    rate = found.mean()
    return {
        "name": job.name,
        "index": job.index,
        "status": "ok" if rate >= FAIL_BELOW else "failed",
        "file": f"{job.name}.npz",
        "path": job.row.path,
        "source": job.row.source,
        "frames": clip.frames,
        "start": job.start,
        "fps": clip.fps,
        "body_seed": job.seed,
        "detected": round(float(rate), 4),
        "error_2d_median": _rounded(np.nanmedian(errors) if np.isfinite(errors).any() else None),
        "render_s": round(rendered - started, 2),
        "prepare_s": round(meta["timings_s"]["prepare"], 2),
        "detect_s": round(detect_s, 2),
    }


def _rounded(value) -> float | None:
    return None if value is None else round(float(value), 5)


# --------------------------------------------------------------------------- the cache


def read_index(out: Path) -> dict:
    path = Path(out) / INDEX
    return json.loads(path.read_text()) if path.is_file() else {"settings": None, "clips": []}


def write_index(out: Path, index: dict) -> None:
    partial = Path(out) / (INDEX + ".partial")
    partial.write_text(json.dumps(index, indent=1))
    partial.replace(Path(out) / INDEX)


def build(
    mocap: Path, out: Path, clips: int, settings: BuildSettings, progress: bool = True
) -> dict:
    """Fill the cache up to `clips` clips (skipping finished ones); returns the index."""
    out.mkdir(parents=True, exist_ok=True)
    index = read_index(out)
    if index["settings"] not in (None, settings.to_json()):
        raise ValueError(
            f"{out} was built with {index['settings']}, not {settings.to_json()}: "
            "use the same options (only --clips may change) or another --out"
        )
    index = {"settings": settings.to_json(), "mocap": str(mocap), "clips": index["clips"]}
    rows = training_rows(mocap, settings.sources)
    if not rows:
        raise FileNotFoundError(f"no training-split mocap under {mocap}")
    planned = plan_files(
        rows, max([clips] + [c["index"] + 1 for c in index["clips"]]), settings.seed
    )
    moved = [c["path"] for c in index["clips"] if planned[c["index"]].path != c["path"]]
    if moved:  # the sequence depends on the training rows: new rows would reshuffle it
        raise ValueError(f"{out}: the training rows under {mocap} changed ({moved[:3]}, ...)")
    done = {c["index"] for c in index["clips"]}
    todo = [(k, row) for k, row in enumerate(planned[:clips]) if k not in done]
    print(f"{out}: {len(done)} clips done, {len(todo)} to build", file=sys.stderr)
    frames = seconds = 0.0
    for count, (k, row) in enumerate(todo, 1):
        label = f"[{count}/{len(todo)}] clip {k} {row.path}"
        name = Job(k, row, 0, 0, 0).name
        try:
            entry = build_clip(make_job(k, row, settings), settings, out, progress)
        except Exception as exc:  # recorded so that a rerun does not retry it forever
            shutil.rmtree(out / "work" / name, ignore_errors=True)
            entry = {"name": name, "index": k, "status": "error", "path": row.path,
                     "source": row.source, "error": f"{type(exc).__name__}: {exc}"}  # fmt: skip
            print(f"{label}: error ({entry['error']})", file=sys.stderr)
        else:
            spent = entry["render_s"] + entry["detect_s"]
            frames, seconds = frames + entry["frames"], seconds + spent
            print(
                f"{label}: {entry['frames']} frames, detected {entry['detected']:.0%} "
                f"({entry['status']}), {entry['frames'] / spent:.2f} frames/s "
                f"(render {entry['render_s']:.1f} s, detect {entry['detect_s']:.1f} s); "
                f"this run {frames / seconds:.2f} frames/s",
                file=sys.stderr,
            )
        index["clips"] = sorted(index["clips"] + [entry], key=lambda c: c["index"])
        write_index(out, index)
    if (out / "work").is_dir() and not any((out / "work").iterdir()):
        (out / "work").rmdir()
    return index


# --------------------------------------------------------------------------- training windows


@dataclass
class _Clip:
    """One cached clip at MODEL_FPS, already in the item's units."""

    pose2d: np.ndarray
    confidence: np.ndarray
    pose2d_clean: np.ndarray
    pose3d: np.ndarray
    root: np.ndarray
    intrinsics: np.ndarray


def load_clip(path: Path) -> _Clip:
    """A cache file resampled to MODEL_FPS as the engine resamples a track (confidence: the
    lower of the two bracketing frames), then screen-normalised and made root-relative."""

    with np.load(path) as npz:
        data = {k: npz[k] for k in npz.files}
    fps, width, height = float(data["fps"]), float(data["width"]), float(data["height"])
    points, confidence = data["points_2d"].astype(np.float64), data["confidence"]
    truth2d, camera = data["joints_2d"].astype(np.float64), data["joints_camera"].astype(np.float64)
    if abs(fps - MODEL_FPS) > 1e-6:
        times = frame_times(len(points), fps)
        new = frame_times(int(np.ceil(times[-1] * MODEL_FPS - 1e-6)) + 1, MODEL_FPS)
        points, confidence = resample_at(points, times, new), min_at(confidence, times, new)
        truth2d, camera = resample_at(truth2d, times, new), resample_at(camera, times, new)
    missing = ~np.isfinite(points).all(-1) | (confidence <= 0)
    pose2d = normalise_screen(np.where(missing[..., None], 0.0, points), width, height)
    pose2d[missing] = 0.0
    k = data["K"]
    root = camera[:, PELVIS]
    return _Clip(
        pose2d=pose2d.astype(np.float32),
        confidence=np.where(missing, 0.0, confidence).astype(np.float32),
        pose2d_clean=normalise_screen(truth2d, width, height).astype(np.float32),
        pose3d=(camera - root[:, None]).astype(np.float32),
        root=root.astype(np.float32),
        intrinsics=np.array([k[0, 0], k[1, 1], k[0, 2], k[1, 2], width, height], np.float32),
    )


class DetectedWindows(Dataset):
    """Windows of the cache's detected clips, in `ClipWindows`' item format.

    Nothing is drawn: the detections are what they are. Not mirrored (a mirrored detection is
    not what the detector gives on a mirrored image), so items do not depend on seed or epoch.
    """

    def __init__(self, cache_dir: Path, config: WindowConfig | None = None, seed: int = 0):
        self.config = config or WindowConfig()
        self.seed, self.epoch = seed, 0
        entries = [c for c in read_index(cache_dir)["clips"] if c["status"] == "ok"]
        if not entries:
            raise FileNotFoundError(f"no detected clips in {cache_dir}: run python -m {__name__}")
        self.clips = [load_clip(Path(cache_dir) / c["file"]) for c in entries]
        window, stride = self.config.window, self.config.stride
        self.items = [
            (c, s)
            for c, clip in enumerate(self.clips)
            for s in window_starts(len(clip.pose2d), window, stride)
        ]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        clip_index, start = self.items[index]
        clip, window = self.clips[clip_index], self.config.window
        span = slice(start, start + window)
        frames = len(clip.pose2d[span])
        item = {}
        for key in ("pose2d", "confidence", "pose2d_clean", "pose3d", "root"):
            part = getattr(clip, key)[span]
            if frames < window:  # pad a short clip by holding its last frame, as ClipWindows
                part = np.concatenate([part, np.repeat(part[-1:], window - frames, axis=0)])
            item[key] = np.ascontiguousarray(part)
        item["intrinsics"] = clip.intrinsics.copy()
        item["valid"] = np.arange(window) < frames
        return item


def from_config(config: TrainConfig, seed: int) -> tuple[DetectedWindows | None, float]:
    """The training config's `data.detected` windows and their share of each batch (off when
    the section is absent or null)."""
    section = config.data.detected
    if section is None:
        return None, 0.0
    window = WindowConfig(window=config.window, stride=config.data.stride)
    return DetectedWindows(Path(section.cache), window, seed), float(section.share)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__name__}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("build", help="render, detect and cache clips (resumes)")
    defaults = BuildSettings()
    cmd.add_argument("--mocap", type=Path, required=True, help="the shared mocap folder")
    cmd.add_argument("--out", type=Path, required=True)
    cmd.add_argument("--clips", type=int, default=40, help="fill the cache up to this many")
    cmd.add_argument("--frames", type=int, default=defaults.frames, help="frames per clip")
    cmd.add_argument("--seed", type=int, default=defaults.seed)
    cmd.add_argument("--size", type=size_argument, default=defaults.size, help="WIDTHxHEIGHT")
    cmd.add_argument(
        "--distance", type=float, nargs=2, default=defaults.distance, metavar=("MIN", "MAX"),
        help="camera distance range in metres (default 2.5 4.5; the training cameras': 2.5 8)",
    )  # fmt: skip
    cmd.add_argument("--sources", help="comma-separated (default: every training source)")
    cmd.add_argument("--quiet", action="store_true", help="no per-frame progress bar")
    args = parser.parse_args(argv)
    sources = (
        tuple(s.strip() for s in args.sources.split(",") if s.strip()) if args.sources else None
    )
    settings = BuildSettings(
        frames=args.frames, size=tuple(args.size), seed=args.seed,
        distance=tuple(args.distance), sources=sources,
    )  # fmt: skip
    started = time.perf_counter()
    index = build(args.mocap, args.out, args.clips, settings, progress=not args.quiet)
    clips = index["clips"]
    ok = [c for c in clips if c["status"] == "ok"]
    spent = sum(c.get("render_s", 0) + c.get("detect_s", 0) for c in clips)
    frames = sum(c.get("frames", 0) for c in clips if "render_s" in c)
    print(
        f"{args.out}: {len(ok)} of {len(clips)} clips usable, {sum(c['frames'] for c in ok)} "
        f"frames; {frames / spent if spent else 0:.2f} frames/s over the cache "
        f"(this run {time.perf_counter() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
