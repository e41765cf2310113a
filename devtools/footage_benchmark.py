"""The footage benchmark: rendered people, the real detector, exact ground truth.

    python -m devtools.footage_benchmark [--mocap ../shared/mocap] [--frames 90] [--per-source 4]
        [--sources cmu_actions,reactidle,hdm05] [--size 640x480] [--distance 2.5 4.5] [--seed 0]
        [--work build/footage_benchmark] [--renders DIR] [--checkpoint default]
        [--json OUT] [--out docs/benchmarks.md] [--section footage-benchmark]

Renders held-out mocap (the val rows of every manifest under --mocap, a seeded subset of
--per-source clips per source; or every BVH/AMC of a folder without manifests) as videos of
seeded people (`training.render`), runs the project's video path on each (MediaPipe →
`Engine.lift` → root solve) and scores it against the render's exact truth; beside it, the same
clips lifted from their projected truth 2D with the training's synthetic detector noise, so the
detector gap is one ratio. --renders scores existing render folders (video.mp4 + truth.npz)
instead of rendering. Renders and detections are cached under --work: a rerun reuses them.
The markdown goes to the --section part of --out; see docs/video.md ("Footage benchmark").
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devtools.sections import write_section
from training.data.cameras import root_relative
from training.evaluate import json_safe
from training.footage import (
    PELVIS,
    Lifted,
    Rendered,
    body_frame_offsets,
    detect_cached,
    detected,
    error_2d,
    lift_footage,
    lift_ideal,
    load_rendered,
    root_errors,
    summarise_offsets,
    synthetic_offsets,
)
from training.footage_report import markdown
from training.metrics import summarise
from training.render import size_argument

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCES = ("cmu_actions", "reactidle", "hdm05")
TARGET_RATIO = 1.3  # footage MPJPE ≤ 1.3 × ideal-with-noise MPJPE
TARGET_DETECTION = 0.95  # of the frames where the whole body is in view
POSE_KEYS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "accel", "pck150", "auc")


@dataclass(frozen=True)
class Settings:
    frames: int = 90
    size: tuple[int, int] = (640, 480)
    # Closer than the training cameras' 2.5-8 m: at 640×480 a person beyond ~5 m is under a third
    # of the image height, which docs/video.md says the detector needs.
    distance: tuple[float, float] = (2.5, 4.5)
    seed: int = 0
    per_source: int = 4
    max_fps: float = 30.0  # render at the source's rate when it is lower (ReActIdle: 24)


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


# --------------------------------------------------------------------------- clips


def select_clips(mocap: Path, sources: tuple[str, ...] | None, settings: Settings) -> list:
    """A seeded subset: `per_source` val rows of each source (every file without manifests)."""
    from training.data.sources import find_manifests, find_mocap_files

    if not find_manifests(mocap):
        return find_mocap_files(mocap)
    rows = find_mocap_files(mocap, "val", set(sources) if sources else None)
    picked = []
    for source in sorted({r.source for r in rows}):
        group = sorted((r for r in rows if r.source == source), key=lambda r: r.path)
        rng = np.random.default_rng([settings.seed, _crc(source)])
        count = min(settings.per_source, len(group))
        picked += [group[i] for i in sorted(rng.choice(len(group), count, replace=False))]
    return picked


def render_clips(rows: list, work: Path, settings: Settings) -> list[tuple[Path, str]]:
    """Render (or reuse) each row's clip; (folder, source) per clip."""
    from training.render.clip import ClipJob, is_done, render_clip

    out = []
    w, h = settings.size
    for index, row in enumerate(rows):
        stem = Path(row.path).with_suffix("").as_posix().replace("/", "_")
        folder = work / "renders" / f"{stem}_f{settings.frames}_{w}x{h}_s{settings.seed}"
        fps = min(settings.max_fps, row.fps or settings.max_fps)
        seed = int(np.random.SeedSequence([settings.seed, _crc(row.path)]).generate_state(1)[0])
        job = ClipJob(
            str(row.file), seed=seed, frames=settings.frames, size=settings.size, fps=fps,
            skip_frames=row.skip_frames, distance=settings.distance,
        )  # fmt: skip
        label = f"[{index + 1}/{len(rows)}] {row.path}"
        if is_done(folder):
            print(f"{label}: rendered already", file=sys.stderr)
        else:
            print(f"{label}: rendering {settings.frames} frames", file=sys.stderr)
            render_clip(job, folder)
        out.append((folder, row.source or "mocap"))
    return out


def existing_renders(path: Path) -> list[tuple[Path, str]]:
    """Render folders at or under `path` (each with video.mp4 and truth.npz)."""
    folders = sorted({p.parent for p in Path(path).rglob("truth.npz")})
    folders = [f for f in folders if (f / "video.mp4").is_file()]
    if not folders:
        raise FileNotFoundError(f"no render (video.mp4 + truth.npz) at or under {path}")
    out = []
    for folder in folders:
        meta = folder / "meta.json"
        family = json.loads(meta.read_text()).get("family", "") if meta.is_file() else ""
        out.append((folder, family or "renders"))
    return out


# --------------------------------------------------------------------------- scoring


@dataclass
class ClipResult:
    clip: Rendered
    footage: Lifted
    ideal: Lifted
    found: np.ndarray  # (T,) frames with a detection
    offsets: dict[str, np.ndarray]
    synthetic: dict[str, np.ndarray]


def score_clip(engine, clip: Rendered, work: Path, seed: int, complexity: int) -> ClipResult:
    track = detect_cached(clip, work / "tracks" / f"{clip.name}.npz", complexity)
    footage = lift_footage(engine, track, clip)
    ideal = lift_ideal(engine, clip, np.random.default_rng([seed, _crc(clip.name)]))
    found = detected(track)
    offsets = body_frame_offsets(footage.points2d, clip)
    synthetic = synthetic_offsets(clip, _crc(clip.name) ^ seed)
    return ClipResult(clip, footage, ideal, found, offsets, synthetic)


def _path_metrics(results: list[ClipResult], path: str) -> dict:
    """Pose metrics (training.metrics, pooled frame-weighted), root and 2D errors of one path."""
    lifted = [getattr(r, path) for r in results]
    truth = [root_relative(r.clip.joints_camera) for r in results]
    out = summarise([x.joints3d.astype(np.float64) for x in lifted], truth)
    pelvis = [r.clip.joints_camera[:, PELVIS] for r in results]
    for key, attr in (("root", "root_focal"), ("root_default_fov", "root_default")):
        errors = [root_errors(getattr(x, attr), p) for x, p in zip(lifted, pelvis, strict=True)]
        for kind in ("abs", "aligned", "depth"):
            values = np.concatenate([e[kind] for e in errors])
            out[f"{key}_{kind}_mm"] = (
                float(np.nanmean(values)) if np.isfinite(values).any() else None
            )
    pairs = zip(lifted, results, strict=True)
    errs = np.concatenate([error_2d(x.points2d, r.clip).ravel() for x, r in pairs])
    errs = errs[np.isfinite(errs)]
    out["error_2d_median"] = float(np.median(errs)) if len(errs) else None
    out["error_2d_mean"] = float(errs.mean()) if len(errs) else None
    return out


def _detection(results: list[ClipResult]) -> dict:
    in_view = sum(int(r.clip.in_view().sum()) for r in results)
    found_in_view = sum(int((r.found & r.clip.in_view()).sum()) for r in results)
    frames = sum(r.clip.frames for r in results)
    return {
        "detection_rate": found_in_view / in_view if in_view else None,
        "detection_rate_all_frames": sum(int(r.found.sum()) for r in results) / frames,
        "in_view_frames": in_view,
        "frames": frames,
    }


def summarise_results(results: list[ClipResult]) -> dict:
    """The JSON's numbers: overall, per source, per clip, and the detector-offset table."""
    footage, ideal = _path_metrics(results, "footage"), _path_metrics(results, "ideal")
    out = {
        "footage": footage,
        "ideal": ideal,
        "ratio": footage["mpjpe"] / ideal["mpjpe"],
        **_detection(results),
        "clips": len(results),
    }
    sources = {}
    for source in sorted({r.clip.source for r in results}):
        group = [r for r in results if r.clip.source == source]
        f, i = _path_metrics(group, "footage"), _path_metrics(group, "ideal")
        sources[source] = {
            "footage": _short(f),
            "ideal": _short(i),
            "ratio": f["mpjpe"] / i["mpjpe"],
            **_detection(group),
            "clips": len(group),
        }
    out["sources"] = sources
    out["per_clip"] = [_clip_row(r) for r in results]
    detector = summarise_offsets([r.offsets for r in results])
    synthetic = summarise_offsets([r.synthetic for r in results])
    out["detector_offsets"] = {
        row: {"detector": detector[row], "synthetic": synthetic[row]} for row in detector
    }
    return out


def _short(metrics: dict) -> dict:
    keys = POSE_KEYS + ("root_abs_mm", "root_aligned_mm", "error_2d_median")
    return {k: metrics.get(k) for k in keys}


def _clip_row(r: ClipResult) -> dict:
    f, i = _path_metrics([r], "footage"), _path_metrics([r], "ideal")
    height = r.clip.stature * r.clip.pixels_per_metre()
    return {
        "name": r.clip.name,
        "source": r.clip.source,
        "footage": _short(f),
        "ideal": _short(i),
        "person_px": [float(height.min()), float(height.max())],
        **_detection([r]),
    }


def targets(summary: dict) -> dict:
    rate = summary["detection_rate"]
    return {
        "ratio_max": TARGET_RATIO,
        "ratio_met": bool(summary["ratio"] <= TARGET_RATIO),
        "detection_min": TARGET_DETECTION,
        "detection_met": bool(rate is not None and rate >= TARGET_DETECTION),
    }


# --------------------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.footage_benchmark",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = Settings()
    parser.add_argument("--mocap", type=Path, default=ROOT.parent / "shared" / "mocap")
    parser.add_argument("--renders", type=Path, help="score existing render folders instead")
    parser.add_argument("--sources", default=",".join(DEFAULT_SOURCES), help="comma-separated")
    parser.add_argument("--per-source", type=int, default=defaults.per_source)
    parser.add_argument("--frames", type=int, default=defaults.frames, help="frames per clip")
    parser.add_argument("--size", type=size_argument, default=defaults.size, help="WIDTHxHEIGHT")
    parser.add_argument(
        "--distance", type=float, nargs=2, default=defaults.distance, metavar=("MIN", "MAX")
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "footage_benchmark")
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--complexity", type=int, default=1, choices=(0, 1), help="BlazePose")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-doc", action="store_true", help="do not write --out")
    parser.add_argument("--section", default="footage-benchmark")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    """Render (or reuse), detect, lift and score; returns the JSON-ready summary."""
    import torch

    from mpm_backend.inference import Engine

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = Settings(
        frames=args.frames, size=tuple(args.size), distance=tuple(args.distance),
        seed=args.seed, per_source=args.per_source,
    )  # fmt: skip
    started = time.perf_counter()
    if args.renders:
        folders = existing_renders(args.renders)
    else:
        sources = tuple(s.strip() for s in args.sources.split(",") if s.strip())
        folders = render_clips(select_clips(args.mocap, sources, settings), args.work, settings)
    rendered_s = time.perf_counter() - started
    engine = Engine(args.checkpoint, device="cpu")
    results = []
    for folder, source in folders:
        clip = load_rendered(folder, args.frames, source)
        results.append(score_clip(engine, clip, args.work, args.seed, args.complexity))
        print(f"scored {clip.name} ({clip.frames} frames)", file=sys.stderr)
    summary = summarise_results(results)
    summary["targets"] = targets(summary)
    summary["settings"] = {
        "checkpoint": args.checkpoint,
        "renders": str(args.renders) if args.renders else None,
        "mocap": None if args.renders else str(args.mocap),
        "sources": args.sources,
        "per_source": args.per_source,
        "frames_per_clip": args.frames,
        "size": list(settings.size),
        "distance_m": list(settings.distance),
        "seed": args.seed,
        "detector": f"MediaPipe BlazePose (legacy solutions.pose), complexity {args.complexity}",
        "root": "root: focal from the truth's K, principal point at the image centre; "
        "root_default_fov: the engine's default field of view",
        "offsets_units": "fractions of stature (stature × focal / pelvis depth pixels)",
    }
    summary["timing"] = {
        "render_s": rendered_s,
        "score_s": time.perf_counter() - started - rendered_s,
        "total_s": time.perf_counter() - started,
    }
    return json_safe(summary, digits=6)  # fractions keep 6 digits


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    command = "python -m devtools.footage_benchmark " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    summary = run(args)
    summary["command"] = command.strip()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1))
        print(f"wrote {args.json}", file=sys.stderr)
    text = markdown(summary, args.section)
    print(text)
    if not args.no_doc:
        start, end = f"<!-- {args.section}:start -->", f"<!-- {args.section}:end -->"
        write_section(args.out, text, start, end)
        print(f"wrote the {args.section!r} section of {args.out}", file=sys.stderr)
    return summary


if __name__ == "__main__":
    main()
