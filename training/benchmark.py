"""Benchmark MPM against the baselines: `python -m training.benchmark`.

    python -m training.benchmark [--mocap ../shared/mocap] [--cameras 4] [--seed 0]
        [--model NAME=SPEC ...] [--out docs/benchmarks.md] [--json docs/benchmarks_model.json]
        [--section model-benchmark] [--title "Model benchmark"] [--flip]

Evaluates every model on the val split under every condition of `training.evaluate` (same
seeded cameras, noise and occlusion for all), measures in-process lifting throughput on a
10-minute 30 fps track, and checks the shipped default's targets. SPEC is anything
`load_lifter` takes ("default", "baseline:tcn", a path); models whose checkpoint is missing are
listed as such. The table replaces the `--section` part of docs/benchmarks.md (one section per
comparison, e.g. models trained on a GPU and models trained on this CPU).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mpm_backend.bench import write_section
from mpm_backend.checkpoint import load_lifter, resolve
from mpm_backend.model import flip_averaged
from mpm_backend.timebase import MODEL_FPS
from training.evaluate import film_view, lift_sequence, load_bvh_clips, run_evaluation

# The shipped default and the shipped TCN baseline, each trained 100 minutes alone on this 2-core
# CPU (`python -m training.retrain`; the TCN command is in docs/model.md): the noisy and occluded
# targets' pair. The pre-training pair comes from one equal-budget run that exists only where it
# was made (`scripts/train_equal_budget.sh 100 runs/cpu100 --parallel --models mpm,scratch,tcn`:
# three at once). The MLP baseline is GPU-trained (6 min), for reference.
DEFAULT_MODELS = {
    "mpm": "default",
    "tcn": "baseline:tcn",
    "mpm_pretrained": "runs/cpu100/mpm/model.pt",
    "mpm_scratch": "runs/cpu100/scratch/model.pt",
    "mlp": "baseline:martinez_mlp",
}
THROUGHPUT_FRAMES = 10 * 60 * 30  # ten minutes at 30 fps


def long_track(clips: list[np.ndarray], frames: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A noisy 2D track of `frames` frames: val clips one after another, filmed by one camera."""
    world = np.concatenate(clips)
    world = np.concatenate([world] * (frames // len(world) + 1))[:frames]
    view = film_view(world, seed, 0, 0, ("noisy",), MODEL_FPS)
    return view.inputs["noisy"]


def throughput(lifter, pose2d: np.ndarray, confidence: np.ndarray, repeats: int = 2) -> float:
    """Best of `repeats` in-process runs of a whole long track, frames per second."""
    best = float("inf")
    for _ in range(repeats):
        tick = time.perf_counter()
        lift_sequence(lifter, pose2d, confidence)
        best = min(best, time.perf_counter() - tick)
    return len(pose2d) / best


def training_minutes(meta: dict, clock: str = "elapsed") -> float | None:
    """Minutes of all training stages that made the checkpoint (pre-training included):
    wall-clock (`clock="elapsed"`) or the training process's CPU time (`"cpu"`, recorded since
    session 6; it shows whether a run had the machine to itself)."""
    training = meta.get("training") or {}
    total = training.get(f"total_{clock}_s", training.get(f"{clock}_s"))
    return round(total / 60, 1) if total is not None else None


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b not in (None, 0) else None


PAIRED_TARGETS = {  # target → (model, the model it is measured against, condition, limit)
    "noisy MPJPE / TCN": ("mpm", "tcn", "noisy", 0.85),
    "occluded MPJPE / TCN": ("mpm", "tcn", "occluded", 0.60),
    "noisy MPJPE, pre-trained / scratch": ("mpm_pretrained", "mpm_scratch", "noisy", 0.93),
}
BUDGET_KEYS = ("training_device", "training_minutes", "training_cpu_minutes")


def equal_budget(a: dict, b: dict, tolerance: float = 0.1) -> bool | None:
    """Whether two benchmarked models were trained on the same budget: the same device, and
    wall-clock and CPU minutes within `tolerance` of each other. None where a record is missing
    (CPU time is recorded since session 6): equal wall-clock alone cannot tell a run that had the
    machine to itself from one of three sharing it."""
    if any(a.get(key) is None or b.get(key) is None for key in BUDGET_KEYS):
        return None
    if a["training_device"] != b["training_device"]:
        return False
    return all(abs(a[key] - b[key]) <= tolerance * max(a[key], b[key]) for key in BUDGET_KEYS[1:])


def target_budgets(results: dict) -> dict[str, bool | None]:
    """For each ratio target: whether its two models had an equal budget (see equal_budget)."""
    return {
        name: equal_budget(results.get(model, {}), results.get(against, {}))
        for name, (model, against, _, _) in PAIRED_TARGETS.items()
    }


def targets(results: dict) -> list[tuple[str, float | None, float, bool | None]]:
    """(target, measured ratio or value, limit, met) for the shipped default."""

    def metric(name, condition, key="mpjpe"):
        entry = results.get(name, {}).get("conditions", {}).get(condition)
        return entry.get(key) if entry else None

    rows = [
        (name, ratio(metric(model, condition), metric(against, condition)), limit)
        for name, (model, against, condition, limit) in PAIRED_TARGETS.items()
    ]
    interp = results.get("mpm", {}).get("references", {}).get("interpolation", {})
    interp_mpjpe = (interp.get("conditions", {}).get("complete3d") or {}).get("mpjpe")
    rows.append(
        ("complete3d / interpolation", ratio(metric("mpm", "complete3d"), interp_mpjpe), 0.5)
    )
    fps = results.get("mpm", {}).get("throughput_fps")
    rows.append(("lifting frames/s (at least)", fps, 5000.0))
    out = []
    for name, value, limit in rows:
        met = None if value is None else (value >= limit if "at least" in name else value <= limit)
        out.append((name, value, limit, met))
    return out


def _cell(conditions: dict, condition: str, key: str = "mpjpe") -> str:
    entry = conditions.get(condition)
    return f"{entry[key]:.1f}" if entry and entry.get(key) is not None else "–"


def markers(section: str) -> tuple[str, str]:
    return f"<!-- {section}:start -->", f"<!-- {section}:end -->"


def markdown(
    results: dict,
    command: str,
    data: dict,
    section: str = "model-benchmark",
    title: str = "Model benchmark",
) -> str:
    start, end = markers(section)
    lines = [
        start,
        f"## {title}",
        "",
        f"Command: `{command}`. Val split: {data['clips']} files, {data['frames']} frames at 30 fps, "
        f"× {data['cameras']} seeded cameras (seed {data['seed']}). MPJPE / P-MPJPE in mm; "
        "`complete3d` is the error on the hidden joints only. Throughput: in-process lifting of a "
        "10-minute 30 fps track on this machine's CPU."
        + (
            " Every model flip-averaged (its output on the input and on the mirror image)."
            if data.get("flip")
            else ""
        ),
        "",
        "| model | parameters | training (min) | CPU (min) | clean | noisy | noisy P-MPJPE | "
        "occluded | occluded hidden joints | complete3d | frames/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"| {name} | – | – | – | {r['error']} | | | | | | |")
            continue
        c = r["conditions"]
        lines.append(
            f"| {name} | {r['parameters'] / 1e6:.2f} M | {r['training_minutes'] or '–'} | "
            f"{r.get('training_cpu_minutes') or '–'} | "
            f"{_cell(c, 'clean')} | {_cell(c, 'noisy')} | {_cell(c, 'noisy', 'p_mpjpe')} | {_cell(c, 'occluded')} | "
            f"{_cell(c, 'occluded', 'mpjpe_hidden')} | {_cell(c, 'complete3d')} | {r['throughput_fps']:.0f} |"
        )
    first = next((r for r in results.values() if "references" in r), None)
    interp = (first or {}).get("references", {}).get("interpolation", {}).get("conditions", {})
    if interp.get("complete3d"):
        lines.append(
            f"| linear interpolation (reference) | – | – | – | | | | | | "
            f"{interp['complete3d']['mpjpe']:.1f} | |"
        )
    lines += [
        "",
        "Targets (the model issue's limits for the shipped default), measured on `mpm` (against "
        "`tcn`; pre-training: `mpm_pretrained` against `mpm_scratch`). A ratio target counts "
        "only at an equal budget (same device, wall-clock and CPU minutes within 10 %; "
        "`unknown` where a checkpoint predates the CPU-time record):",
        "",
        "| target | measured | limit | met | equal budget |",
        "|---|---|---|---|---|",
    ]
    budgets = target_budgets(results)
    for name, value, limit, met in targets(results):
        shown = "–" if value is None else f"{value:g}"
        budget = (
            {True: "yes", False: "NO", None: "unknown"}[budgets[name]] if name in budgets else ""
        )
        lines.append(
            f"| {name} | {shown} | {limit:g} | {'–' if met is None else 'yes' if met else 'NO'} "
            f"| {budget} |"
        )
    lines.append(end)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.benchmark",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--mocap", type=Path, default=Path("../shared/mocap"))
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="models to compare (default: " + ", ".join(DEFAULT_MODELS) + ")",
    )
    parser.add_argument(
        "--flip", action="store_true", help="flip test-time augmentation on every model"
    )
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--json", type=Path, default=Path("docs/benchmarks_model.json"))
    parser.add_argument("--section", default="model-benchmark", help="marker name in --out")
    parser.add_argument("--title", default="Model benchmark", help="heading of the section")
    args = parser.parse_args(argv)
    models = dict(m.split("=", 1) for m in args.model) if args.model else DEFAULT_MODELS
    torch.set_num_threads(2)

    names, clips = load_bvh_clips(args.mocap, split="val")
    pose2d, confidence = long_track(clips, THROUGHPUT_FRAMES, args.seed)
    results: dict[str, dict] = {}
    for name, spec in models.items():
        if not resolve(spec).is_file():
            results[name] = {"error": f"no checkpoint ({spec})"}
            print(f"{name}: no checkpoint at {resolve(spec)}", file=sys.stderr)
            continue
        lifter, meta = load_lifter(spec)
        if args.flip:
            lifter = flip_averaged(lifter)
        print(f"{name}: evaluating {spec}", file=sys.stderr)
        run = run_evaluation(lifter, clips, args.cameras, args.seed, names=names)
        results[name] = {
            "spec": spec,
            "parameters": sum(p.numel() for p in lifter.parameters()),
            "training_minutes": training_minutes(meta),
            "training_cpu_minutes": training_minutes(meta, "cpu"),
            "training_device": (meta.get("training") or {}).get("device"),
            "conditions": run.summary["conditions"],
            "references": run.summary["references"],
            "throughput_fps": round(throughput(lifter, pose2d, confidence), 1),
        }
    data = {
        "clips": len(clips),
        "frames": int(sum(map(len, clips))),
        "cameras": args.cameras,
        "seed": args.seed,
        "flip": args.flip,
    }
    command = shlex.join(["python", "-m", "training.benchmark", *(argv or sys.argv[1:])])
    section = markdown(results, command, data, args.section, args.title)
    print(section)
    write_section(args.out, section, *markers(args.section))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "data": data,
                "results": results,
                "targets": targets(results),
                "equal_budget": target_budgets(results),
            },
            indent=1,
        )
    )
    print(f"wrote {args.out} and {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
