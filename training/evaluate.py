"""Evaluate a 2D→3D lifter (MPM or a baseline) on any mocap motion, filmed by seeded virtual cameras.

    python -m training.evaluate --checkpoint default|PATH --mocap DIR_OR_FILE [--cameras 4]
        [--split val] [--source hdm05,cmu_actions] [--seed 0] [--json OUT] [--baseline NAME]
        [--figure OUT.png] [--limit-frames N]

--mocap (alias --bvh) is a BVH or AMC file, a folder of them (recursively), or a folder holding
manifest.csv files (its own and its subfolders', e.g. the shared mocap root with bvh/, hdm05/,
reactidle/): manifest rows give each file's true fps, skeleton and source; --split val picks the
validation rows and --source the rows of some sources. Clips are read by the data pipeline at
30 fps, dropping each file's leading non-motion frames (1 for CMU BVH conversions' T-pose, 0 for
AMC; --skip-frames overrides). The JSON's data.sources gives each clip's source. Each clip is
filmed by --cameras virtual cameras drawn from a generator seeded by (seed, clip index, camera
index); the same seed gives the same numbers.

Conditions (the keys of "conditions" in the JSON):

- clean: the exact projection, confidence 1 (0, with coordinates 0, for joints outside the image).
- noisy: the data pipeline's default detector-like corruption (`NoiseConfig()`).
- occluded: the noisy 2D with occlusion (`OcclusionConfig`, also written to the JSON): one limb
  tube — a random limb of `masks.LIMBS` hidden over a contiguous span of 1–3 s (the whole clip
  if shorter) — plus 10 % of the remaining joint-frames hidden at random (exactly that share,
  drawn without replacement). Hidden joints get confidence 0 and coordinates 0. Besides the
  all-joint metrics, "mpjpe_hidden" is the MPJPE of the joint-frames the occlusion hid.
- complete3d: the true 3D with one limb tube hidden (same tube rule), hidden coordinates 0; a
  lifter with `complete_3d(pose3d, visible)` completes it, fitted to the seen joints as the
  backend does (`completion.fit_to_seen`; `fit_fills=False` scores the raw fill). All metrics
  are computed on the hidden joint-frames only (alignment for P-/N-MPJPE still uses the whole
  frame; velocities and accelerations count where the joint is hidden in
  every frame they span). A lifter without complete_3d gets null. The "interpolation"
  reference — linear interpolation in time of each hidden joint from its nearest visible
  frames, holding the nearest value at the ends — is always reported under
  references.interpolation.conditions.complete3d.

Ground truth is the camera-frame (x right, y down, z forward) root-relative 3D in metres. Metrics
(`training.metrics`) pool every frame of every clip × camera (frame-weighted): mpjpe, p_mpjpe,
n_mpjpe, mpjve (mm/frame), accel (mm/frame²), pck150 and auc (%), per_joint (name → mm).

Long clips are cut into overlapping windows of the lifter's max_frames, batched, and blended with
raised-cosine cross-fades (`lift_sequence`), so the numbers hold for any clip length.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from mpm_backend.completion import fit_to_seen
from mpm_backend.model import flip_averaged
from mpm_backend.skeleton import H36M17
from mpm_backend.timebase import (  # MODEL_FPS, interpolate_masked: re-exported for callers
    MODEL_FPS,
    interpolate_masked,
)
from mpm_backend.windows import (  # window_starts, blend_weights: re-exported for callers
    blend_weights,  # noqa: F401
    device_of,
    inference_mode,
    window_starts,  # noqa: F401
    windowed_apply,
)
from training.data.cameras import Camera, normalise_screen, root_relative, sample_camera
from training.data.corruption import NoiseConfig, corrupt_2d, outside_image
from training.data.masks import LIMBS, limb_tube_mask
from training.metrics import summarise

CONDITIONS = ("clean", "noisy", "occluded", "complete3d")
LIFT_CONDITIONS = ("clean", "noisy", "occluded")
TABLE_METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "accel", "pck150", "auc")


@runtime_checkable
class Lifter(Protocol):
    """What the evaluator needs of a model; MPM and the baselines both provide it."""

    max_frames: int

    def lift(self, pose2d: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        """(B, T, 17, 2) screen-normalised 2D (0 where missing) + (B, T, 17) confidence
        → (B, T, 17, 3) camera-frame root-relative 3D, metres; T ≤ max_frames."""
        ...


# --------------------------------------------------------------------------- windowed inference
# window_starts, blend_weights and windowed_apply live in mpm_backend.windows (the runtime uses them).


def _window_and_overlap(lifter: Lifter, window: int | None, overlap: int | None) -> tuple[int, int]:
    limit = int(lifter.max_frames)
    window = limit if window is None else int(window)
    if not 1 <= window <= limit:
        raise ValueError(f"window must be in [1, {limit}] (the lifter's max_frames), got {window}")
    return window, window // 4 if overlap is None else int(overlap)


def _windowed(
    lifter: Any,
    apply: Callable,
    items: Sequence[tuple[np.ndarray, np.ndarray]],
    window: int | None,
    overlap: int | None,
    batch: int,
) -> list[np.ndarray]:
    """Run one of the lifter's methods over whole tracks in cross-faded windows, so lifting and
    3D completion share the window checks and the seams' handling."""
    window, overlap = _window_and_overlap(lifter, window, overlap)
    with inference_mode(lifter):
        return windowed_apply(apply, items, window, overlap, batch, device_of(lifter))


def lift_sequences(
    lifter: Lifter,
    tracks: Sequence[tuple[np.ndarray, np.ndarray]],
    window: int | None = None,
    overlap: int | None = None,
    batch: int = 64,
) -> list[np.ndarray]:
    """Lift many (pose2d (T, 17, 2), confidence (T, 17)) tracks; windows batched across tracks."""
    return _windowed(lifter, lifter.lift, tracks, window, overlap, batch)


def lift_sequence(
    lifter: Lifter,
    pose2d: np.ndarray,
    confidence: np.ndarray,
    window: int | None = None,
    overlap: int | None = None,
    batch: int = 64,
) -> np.ndarray:
    """Lift a track of any length: (T, 17, 2) + (T, 17) → (T, 17, 3) root-relative metres.

    Windows of `window` frames (default: the lifter's max_frames; a shorter clip is one window of
    all its frames), neighbours sharing `overlap` frames (default window // 4) that are
    cross-faded with raised-cosine weights, so there are no seams; `batch` windows per call.
    """
    return lift_sequences(lifter, [(pose2d, confidence)], window, overlap, batch)[0]


def complete_sequences(
    lifter: Any,
    poses: Sequence[tuple[np.ndarray, np.ndarray]],
    window: int | None = None,
    overlap: int | None = None,
    batch: int = 64,
) -> list[np.ndarray]:
    """3D completion of many (pose3d (T, 17, 3), visible (T, 17) bool) through complete_3d."""
    return _windowed(lifter, lifter.complete_3d, poses, window, overlap, batch)


# --------------------------------------------------------------------------- the conditions


@dataclass(frozen=True)
class OcclusionConfig:
    """The fixed occlusion of the `occluded` (2D) and `complete3d` (3D) conditions."""

    limb_tubes: int = 1  # limbs hidden, each over its own contiguous span
    tube_seconds: tuple[float, float] = (1.0, 3.0)  # span length, uniform; clipped to the clip
    random_joint_fraction: float = 0.1  # share of the joint-frames left after the tubes (2D only)

    def tube_frames(self, fps: float) -> tuple[int, int]:
        low, high = self.tube_seconds
        return max(1, round(low * fps)), max(1, round(high * fps))

    def to_json(self, fps: float) -> dict:
        out = asdict(self)
        out["tube_seconds"] = list(self.tube_seconds)
        out["tube_frames"] = list(self.tube_frames(fps))
        out["limbs"] = {name: [H36M17.joints[j] for j in joints] for name, joints in LIMBS.items()}
        out["occluded"] = "noisy 2D + limb tubes + random joints; hidden: confidence 0, coords 0"
        out["complete3d"] = "true 3D + limb tubes (no random joints); hidden: coords 0"
        return out


@dataclass
class View:
    """One clip filmed by one camera, with the inputs of every condition."""

    camera: Camera
    pose3d: np.ndarray  # (T, 17, 3) camera frame, root-relative, metres
    clean2d: np.ndarray  # (T, 17, 2) exact projection, screen-normalised (NaN behind the camera)
    inputs: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    hidden2d: np.ndarray | None = None  # (T, 17) joints the occlusion hid (occluded)
    visible3d: np.ndarray | None = None  # (T, 17) joints shown to 3D completion


def _model_input(uv: np.ndarray, confidence: np.ndarray, hidden: np.ndarray, camera: Camera):
    """Pixels + confidence → screen-normalised float32 input, 0 wherever a joint is hidden."""
    hidden = hidden | ~np.isfinite(uv).all(axis=-1)
    pose2d = normalise_screen(np.where(hidden[..., None], 0.0, uv), camera.width, camera.height)
    pose2d[hidden] = 0.0
    confidence = np.where(hidden, 0.0, confidence)
    return pose2d.astype(np.float32), confidence.astype(np.float32)


def _random_joints(rng: np.random.Generator, allowed: np.ndarray, fraction: float) -> np.ndarray:
    """Exactly round(fraction · allowed) of the allowed joint-frames, without replacement."""
    mask = np.zeros(allowed.shape, dtype=bool)
    candidates = np.flatnonzero(allowed)
    count = int(round(fraction * candidates.size))
    mask.flat[rng.choice(candidates, size=count, replace=False)] = True
    return mask


def _tube(rng: np.random.Generator, frames: int, occlusion: OcclusionConfig, fps: float):
    low, high = occlusion.tube_frames(fps)
    return limb_tube_mask(
        rng, frames, H36M17.num_joints, occlusion.limb_tubes, min_len=low, max_len=high
    )


def film_view(
    world: np.ndarray,
    seed: int,
    clip_index: int,
    camera_index: int,
    conditions: Sequence[str] = CONDITIONS,
    fps: float = MODEL_FPS,
    occlusion: OcclusionConfig | None = None,
) -> View:
    """Camera, ground truth and the inputs of every condition for one clip and camera.

    Drawn from default_rng([seed, clip_index, camera_index]), split into independent child
    generators for camera, noise, 2D occlusion and 3D masking, so leaving out a condition does
    not change the others.
    """
    occlusion = occlusion or OcclusionConfig()
    camera_rng, noise_rng, occlusion_rng, complete_rng = np.random.default_rng(
        [seed, clip_index, camera_index]
    ).spawn(4)
    camera = sample_camera(camera_rng, world)
    cam = camera.world_to_camera(world)
    uv = camera.project(cam)
    view = View(camera, root_relative(cam), normalise_screen(uv, camera.width, camera.height))
    frames = len(world)
    if "clean" in conditions:
        outside = outside_image(uv, camera.width, camera.height)
        view.inputs["clean"] = _model_input(uv, np.ones(uv.shape[:-1]), outside, camera)
    if "noisy" in conditions or "occluded" in conditions:
        noisy, confidence = corrupt_2d(uv, camera.width, camera.height, noise_rng, NoiseConfig())
        none = np.zeros(confidence.shape, dtype=bool)
        if "noisy" in conditions:
            view.inputs["noisy"] = _model_input(noisy, confidence, none, camera)
        if "occluded" in conditions:
            tube = _tube(occlusion_rng, frames, occlusion, fps)
            hidden = tube | _random_joints(occlusion_rng, ~tube, occlusion.random_joint_fraction)
            view.hidden2d = hidden
            view.inputs["occluded"] = _model_input(noisy, confidence, hidden, camera)
    if "complete3d" in conditions:
        view.visible3d = ~_tube(complete_rng, frames, occlusion, fps)
    return view


# --------------------------------------------------------------------------- the evaluation


@dataclass
class EvaluationRun:
    """The JSON-ready summary plus what a figure needs (one view's inputs and predictions)."""

    summary: dict
    example: dict | None = None


def json_safe(value: Any, digits: int = 3) -> Any:
    """NaN → None, numpy scalars → Python, floats rounded (to 0.001 mm or % by default) for
    stable files."""
    if isinstance(value, dict):
        return {k: json_safe(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, digits) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, digits)
    return value


def count_parameters(lifter: object) -> int | None:
    if isinstance(lifter, nn.Module):
        return sum(p.numel() for p in lifter.parameters())
    return None


def _evaluate_lifting(lifter, views, condition, window, overlap, batch) -> tuple[dict, list]:
    preds = lift_sequences(lifter, [v.inputs[condition] for v in views], window, overlap, batch)
    result = summarise(preds, [v.pose3d for v in views])
    if condition == "occluded":
        hidden = summarise(preds, [v.pose3d for v in views], [v.hidden2d for v in views])
        result["mpjpe_hidden"] = hidden["mpjpe"]
    return result, preds


def _completion_inputs(views: Sequence[View]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (np.where(v.visible3d[..., None], v.pose3d, 0.0).astype(np.float32), v.visible3d)
        for v in views
    ]


def _evaluate_completion(
    lifter, views, window, overlap, batch, fit_fills
) -> tuple[dict | None, dict]:
    """The model's 3D completion as the backend gives it (with `fit_fills`, fitted to the seen
    joints: `completion.fit_to_seen`), and linear interpolation as the reference."""
    truth = [v.pose3d for v in views]
    hidden = [~v.visible3d for v in views]
    reference = [interpolate_masked(v.pose3d, v.visible3d) for v in views]
    interpolation = summarise(reference, truth, hidden)
    if not callable(getattr(lifter, "complete_3d", None)):
        return None, interpolation
    inputs = _completion_inputs(views)
    fills = complete_sequences(lifter, inputs, window, overlap, batch)
    if fit_fills:
        fills = [fit_to_seen(f, pose, seen) for f, (pose, seen) in zip(fills, inputs, strict=True)]
    return summarise(fills, truth, hidden), interpolation


def _example(views: list[View], preds: dict[str, list], condition: str, index: int) -> dict:
    view = views[index]
    pose2d, confidence = view.inputs[condition]
    return {
        "condition": condition,
        "pose2d": pose2d,
        "confidence": confidence,
        "clean2d": view.clean2d,
        "pred": preds[condition][index],
        "truth": view.pose3d,
    }


def run_evaluation(
    lifter: Lifter,
    clips: Sequence[np.ndarray],
    cameras: int = 4,
    seed: int = 0,
    conditions: Sequence[str] = CONDITIONS,
    fps: float = MODEL_FPS,
    occlusion: OcclusionConfig | None = None,
    window: int | None = None,
    overlap: int | None = None,
    batch: int = 64,
    names: Sequence[str] | None = None,
    fit_fills: bool = True,
) -> EvaluationRun:
    """Evaluate on world-frame clips (T, 17, 3) at `fps`; see the module docstring."""
    unknown = set(conditions) - set(CONDITIONS)
    if unknown:
        raise ValueError(f"unknown conditions {sorted(unknown)}; known: {CONDITIONS}")
    if not clips or cameras < 1:
        raise ValueError("need at least one clip and one camera")
    occlusion = occlusion or OcclusionConfig()
    started = time.perf_counter()
    views = [
        film_view(np.asarray(world, np.float64), seed, c, k, conditions, fps, occlusion)
        for c, world in enumerate(clips)
        for k in range(cameras)
    ]
    results: dict[str, dict | None] = {}
    references: dict[str, dict] = {}
    seconds: dict[str, float] = {}
    preds: dict[str, list] = {}
    for condition in conditions:
        tick = time.perf_counter()
        if condition in LIFT_CONDITIONS:
            results[condition], preds[condition] = _evaluate_lifting(
                lifter, views, condition, window, overlap, batch
            )
        else:
            results[condition], references["complete3d"] = _evaluate_completion(
                lifter, views, window, overlap, batch, fit_fills
            )
        seconds[condition] = time.perf_counter() - tick
    frames = int(sum(len(c) for c in clips))
    lifted = frames * cameras * len(preds)
    lift_seconds = sum(seconds[c] for c in preds)
    summary = {
        "model": {
            "kind": getattr(lifter, "kind", None) or type(lifter).__name__,
            "parameters": count_parameters(lifter),
        },
        "data": {
            "files": list(names) if names is not None else [f"clip{i}" for i in range(len(clips))],
            "clips": len(clips),
            "frames": frames,
            "cameras": cameras,
            "seed": seed,
            "fps": fps,
        },
        "occlusion": occlusion.to_json(fps),
        "conditions": results,
        "references": {"interpolation": {"conditions": references}} if references else {},
        "timing": {
            "seconds": time.perf_counter() - started,
            "per_condition_seconds": seconds,
            "lift_frames_per_second": lifted / lift_seconds if lift_seconds > 0 else None,
        },
    }
    shown = next((c for c in ("occluded", "noisy", "clean") if c in preds), None)
    example = _example(views, preds, shown, 0) if shown else None
    return EvaluationRun(json_safe(summary), example)


def evaluate(
    lifter: Lifter,
    clips: Sequence[np.ndarray],
    cameras: int = 4,
    seed: int = 0,
    conditions: Sequence[str] = CONDITIONS,
    **options: Any,
) -> dict:
    """The JSON-ready summary of `run_evaluation` (options: fps, occlusion, window, overlap,
    batch, names, fit_fills)."""
    return run_evaluation(lifter, clips, cameras, seed, conditions, **options).summary


# --------------------------------------------------------------------------- report


def format_table(summary: dict) -> str:
    """Condition × metric table (mm; PCK and AUC in %), with the interpolation reference."""
    header = f"{'condition':<24}" + "".join(f"{m:>10}" for m in TABLE_METRICS)
    rows = [header, "-" * len(header)]

    def row(label: str, values: dict | None) -> str:
        if values is None:
            return f"{label:<24}" + f"{'n/a':>10}" * len(TABLE_METRICS)
        cells = [values.get(m) for m in TABLE_METRICS]
        return f"{label:<24}" + "".join(f"{'—':>10}" if v is None else f"{v:>10.1f}" for v in cells)

    for condition, values in summary["conditions"].items():
        label = condition + (" (hidden joints)" if condition == "complete3d" else "")
        rows.append(row(label, values))
        if values and "mpjpe_hidden" in values and values["mpjpe_hidden"] is not None:
            rows.append(f"{'  mpjpe of hidden joints':<24}{values['mpjpe_hidden']:>10.1f}")
    for name, ref in summary.get("references", {}).items():
        for condition, values in ref["conditions"].items():
            rows.append(row(f"{condition} ({name})", values))
    return "\n".join(rows)


# --------------------------------------------------------------------------- data and CLI


@dataclass
class EvalClips:
    """Clips to evaluate: names (paths), world joints (T, 17, 3) and each clip's manifest source
    ("" for a file found without a manifest), so reports can be grouped by source."""

    names: list[str]
    clips: list[np.ndarray]
    sources: list[str]


def parse_sources(values: Sequence[str] | None) -> set[str] | None:
    """--source given repeatedly and/or comma-separated; None when not given."""
    names = {n.strip() for v in values or () for n in v.split(",") if n.strip()}
    return names or None


def find_bvh_files(path: Path, split: str | None = None) -> list[tuple[Path, float | None]]:
    """(file, fps override) for a motion file, a folder of them, or a folder with manifests."""
    from training.data.sources import find_mocap_files

    return [(f.file, f.fps) for f in find_mocap_files(path, split)]


def load_mocap_clips(
    path: Path,
    split: str | None = None,
    skip_frames: int | None = None,
    limit_frames: int | None = None,
    fps: float = MODEL_FPS,
    sources: set[str] | None = None,
) -> EvalClips:
    """Every clip the path names (see `sources.find_mocap_files`), at `fps`.

    skip_frames None drops each file's own leading non-motion frames (the manifest's source
    default; 1 for a BVH and 0 for an AMC found without a manifest). A manifest folder whose
    skeleton is unknown is skipped with a warning.
    """
    from training.data.sources import find_mocap_files, load_all

    loaded, _ = load_all(find_mocap_files(path, split, sources), fps, skip_frames)
    out = EvalClips([], [], [])
    for item, clip in loaded:
        joints = clip.joints[:limit_frames] if limit_frames else clip.joints
        if len(joints) == 0:
            print(f"skipping {item.file}: no frames", file=sys.stderr)
            continue
        out.names.append(item.path)
        out.clips.append(joints)
        out.sources.append(item.source)
    if not out.clips:
        raise ValueError(f"no usable clips under {path}")
    return out


def load_bvh_clips(
    path: Path,
    split: str | None = None,
    skip_frames: int | None = None,
    limit_frames: int | None = None,
    fps: float = MODEL_FPS,
) -> tuple[list[str], list[np.ndarray]]:
    """Names and world joints (T, 17, 3) at `fps`, as `load_mocap_clips` without the sources."""
    loaded = load_mocap_clips(path, split, skip_frames, limit_frames, fps)
    return loaded.names, loaded.clips


def load_model(spec: str) -> tuple[Any, dict]:
    """The lead's checkpoint loader: "default", a path, or "baseline:NAME"."""
    try:
        from mpm_backend.checkpoint import load_lifter
    except ImportError as error:
        raise SystemExit(
            f"cannot load {spec!r}: mpm_backend.checkpoint is missing ({error})"
        ) from error
    return load_lifter(spec)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluate",
        description="Evaluate a 2D→3D lifter on BVH motion filmed by seeded virtual cameras.",
    )
    parser.add_argument("--checkpoint", default="default", help="'default' or a checkpoint path")
    parser.add_argument("--baseline", help="evaluate a shipped baseline instead (e.g. tcn)")
    parser.add_argument(
        "--mocap",
        "--bvh",
        dest="mocap",
        required=True,
        type=Path,
        help="a BVH/AMC file, a folder of them, or a folder with manifest.csv files (any depth)",
    )
    parser.add_argument("--split", help="with manifest folders: train or val")
    parser.add_argument(
        "--source",
        action="append",
        help="with manifest folders: only these sources (repeatable or comma-separated)",
    )
    parser.add_argument(
        "--skip-frames",
        type=int,
        help="leading frames to drop (default: each file's own: 1 for CMU BVH, 0 for AMC)",
    )
    parser.add_argument("--limit-frames", type=int, help="use at most N frames of each clip")
    parser.add_argument("--cameras", type=int, default=4, help="virtual cameras per clip")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--conditions", default=",".join(CONDITIONS), help="comma-separated")
    parser.add_argument("--window", type=int, help="frames per window (default max_frames)")
    parser.add_argument("--overlap", type=int, help="frames shared by windows (default 1/4)")
    parser.add_argument("--batch", type=int, default=64, help="windows per forward pass")
    parser.add_argument("--device", default="cpu", help="torch device for an nn.Module lifter")
    parser.add_argument(
        "--flip", action="store_true", help="flip test-time augmentation (mirror image averaged)"
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--figure", type=Path, help="figure path (default: next to --json)")
    parser.add_argument("--no-figure", action="store_true", help="skip the figure")
    return parser.parse_args(argv)


def main(
    argv: Sequence[str] | None = None,
    loader: Callable[[str], tuple[Any, dict]] = load_model,
) -> dict:
    """The CLI; `loader` maps a checkpoint spec to (lifter, meta) (tests pass their own)."""
    args = _parse_args(argv)
    spec = f"baseline:{args.baseline}" if args.baseline else args.checkpoint
    data = load_mocap_clips(
        args.mocap, args.split, args.skip_frames, args.limit_frames,
        sources=parse_sources(args.source),
    )  # fmt: skip
    names, clips = data.names, data.clips
    lifter, meta = loader(spec)
    if isinstance(lifter, nn.Module):
        lifter = lifter.to(args.device)
    if args.flip:
        lifter = flip_averaged(lifter)
    conditions = tuple(c.strip() for c in args.conditions.split(",") if c.strip())
    print(
        f"evaluating {spec} on {len(clips)} clips ({sum(map(len, clips))} frames) "
        f"× {args.cameras} cameras, seed {args.seed}" + (", flip-averaged" if args.flip else ""),
        file=sys.stderr,
    )
    run = run_evaluation(
        lifter, clips, args.cameras, args.seed, conditions,
        window=args.window, overlap=args.overlap, batch=args.batch, names=names,
    )  # fmt: skip
    parameters = count_parameters(lifter) or meta.get("parameters")
    kind = meta.get("kind") or getattr(lifter, "kind", None) or type(lifter).__name__
    model = {"kind": kind, "parameters": parameters, "meta": json_safe(_plain(meta))}
    run.summary["data"]["sources"] = data.sources
    summary = {"checkpoint": spec, "flip": args.flip, **run.summary, "model": model}
    print(format_table(summary))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1))
        print(f"wrote {args.json}", file=sys.stderr)
    if not args.no_figure:
        figure = args.figure or (args.json.with_suffix(".png") if args.json else Path("eval.png"))
        from training.evaluate_figure import save_figure

        save_figure(run, figure)
        print(f"wrote {figure}", file=sys.stderr)
    return summary


def _plain(meta: dict) -> dict:
    """The JSON-serialisable part of a checkpoint's metadata."""
    out = {}
    for key, value in meta.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        out[key] = value
    return out


if __name__ == "__main__":
    main()
