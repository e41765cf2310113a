"""Benchmark MPM against the baselines: `python -m devtools.model_benchmark`.

    python -m devtools.model_benchmark [--mocap ../shared/mocap] [--cameras 4] [--seed 0]
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

from devtools.sections import write_section
from mpm_backend.checkpoint import load_lifter, resolve
from mpm_backend.model import flip_averaged
from mpm_backend.timebase import MODEL_FPS
from training.evaluate import film_view, lift_sequence, load_mocap_clips, run_evaluation

# The shipped default and TCN baseline are the noisy and occluded targets' pair; the pre-training
# pair is a local equal-budget run (scripts/train_equal_budget.sh; how each was trained:
# docs/model.md). The MLP baseline is there for reference.
DEFAULT_MODELS = {
    "mpm": "default",
    "tcn": "baseline:tcn",
    "mpm_pretrained": "runs/cpu100/mpm/model.pt",
    "mpm_scratch": "runs/cpu100/scratch/model.pt",
    "mlp": "baseline:martinez_mlp",
}
THROUGHPUT_FRAMES = 10 * 60 * 30  # ten minutes at 30 fps
# The val data by source: the training skeletons' own val files, new people filmed the same way,
# and people and a lab the training never shows (HDM05, val only). Lying on the floor is HDM05's
# one pose family with no counterpart in training, so it is also reported apart.
SOURCES = {
    "cmu": ("CMU val", {"cmu_actions", "cmu_dance"}),
    "reactidle": ("ReActIdle val (two unseen people)", {"reactidle"}),
    "hdm05": ("HDM05 (unseen people and lab)", {"hdm05"}),
}
LYING = "lieDownFloor"
# The reference of the "CMU val may not get worse by more than 5 %" target: the default shipped
# before bodies were varied, on CMU val (docs/model.md).
PREVIOUS_CMU_VAL_NOISY = 55.6


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
    wall-clock (`clock="elapsed"`) or the training process's CPU time (`"cpu"`, which shows
    whether a run had the machine to itself; older checkpoints lack it)."""
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
    (older checkpoints have no CPU time): equal wall-clock alone cannot tell a run that had the
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
    rows += unseen_people_rows(results)
    fps = results.get("mpm", {}).get("throughput_fps")
    rows.append(("lifting frames/s (at least)", fps, 5000.0))
    out = []
    for name, value, limit in rows:
        met = None if value is None else (value >= limit if "at least" in name else value <= limit)
        out.append((name, value, limit, met))
    return out


def unseen_people_rows(results: dict) -> list[tuple[str, float | None, float]]:
    """The model issue's targets on people the training never saw (HDM05), for `mpm`."""

    def metric(name, source, condition="noisy", key="mpjpe"):
        entry = results.get(name, {}).get("sources", {}).get(source, {}).get(condition)
        return entry.get(key) if entry else None

    hdm05 = metric("mpm", "hdm05")
    return [
        (
            "unseen-people ratio: HDM05 noisy / CMU val noisy",
            ratio(hdm05, metric("mpm", "cmu")),
            1.25,
        ),
        ("HDM05 noisy MPJPE (mm)", hdm05, 75.0),
        ("HDM05 without lying down, noisy MPJPE (mm)", metric("mpm", "hdm05_upright"), 65.0),
        ("HDM05 noisy P-MPJPE (mm)", metric("mpm", "hdm05", key="p_mpjpe"), 50.0),
        ("HDM05 noisy MPJPE / TCN", ratio(hdm05, metric("tcn", "hdm05")), 0.85),
        (
            "HDM05 occluded MPJPE / TCN",
            ratio(metric("mpm", "hdm05", "occluded"), metric("tcn", "hdm05", "occluded")),
            0.85,
        ),
        (
            f"CMU val noisy / the previous default's {PREVIOUS_CMU_VAL_NOISY}",
            ratio(metric("mpm", "cmu"), PREVIOUS_CMU_VAL_NOISY),
            1.05,
        ),
    ]


def merge_conditions(parts: list[dict]) -> dict:
    """Pool per-condition summaries of disjoint clip sets, weighted by the joint-frames scored
    (every metric is a mean over joint-frames); per-joint tables are left out."""
    merged = {}
    for condition in parts[0]:
        entries = [p[condition] for p in parts if p.get(condition)]
        if not entries:
            merged[condition] = None
            continue
        weights = np.array([e["scored"] for e in entries], dtype=float)
        merged[condition] = {
            key: float(np.average([e[key] for e in entries], weights=weights))
            for key in entries[0]
            if key not in ("per_joint", "frames", "scored") and entries[0][key] is not None
        } | {"frames": sum(e["frames"] for e in entries), "scored": int(weights.sum())}
    return merged


def evaluate_sources(lifter, data: dict, cameras: int, seed: int) -> dict[str, dict]:
    """Each source's evaluation summary (conditions, references); HDM05's upright and lying
    clips are evaluated apart and pooled into "hdm05"."""
    out = {
        key: run_evaluation(lifter, clips, cameras, seed, names=names).summary
        for key, (names, clips) in data.items()
    }
    if "hdm05_upright" in out and "hdm05_lying" in out:
        parts = [out["hdm05_upright"]["conditions"], out["hdm05_lying"]["conditions"]]
        out["hdm05"] = {"conditions": merge_conditions(parts)}
    return out


def source_data(mocap: Path) -> dict[str, tuple[list[str], list[np.ndarray]]]:
    """Val clips per benchmark source; HDM05 split into upright and lying down."""
    loaded = load_mocap_clips(mocap, split="val")
    groups: dict[str, tuple[list[str], list[np.ndarray]]] = {}
    for name, clip, source in zip(loaded.names, loaded.clips, loaded.sources, strict=True):
        key = next((k for k, (_, members) in SOURCES.items() if source in members), None)
        if key == "hdm05":
            key = "hdm05_lying" if LYING in name else "hdm05_upright"
        if key is not None:
            names, clips = groups.setdefault(key, ([], []))
            names.append(name)
            clips.append(clip)
    return groups


def _cell(conditions: dict, condition: str, key: str = "mpjpe") -> str:
    entry = conditions.get(condition)
    return f"{entry[key]:.1f}" if entry and entry.get(key) is not None else "–"


def source_tables(results: dict, data: dict) -> list[str]:
    """Per source: every model's MPJPE under each condition (and noisy P-MPJPE)."""
    lines = [
        "",
        "By source (val clips of each; HDM05 is never trained on; its lying-down clips apart):",
        "",
        "| source | clips / frames | model | clean | noisy | noisy P-MPJPE | occluded | complete3d |",
        "|---|---|---|---|---|---|---|---|",
    ]
    labels = {k: label for k, (label, _) in SOURCES.items()}
    labels |= {"hdm05_upright": "HDM05 without lying down", "hdm05_lying": "HDM05 lying down"}
    for key, label in labels.items():
        counts = data.get("sources", {}).get(key, ["?", "?"])
        if key == "hdm05":
            parts = [
                data.get("sources", {}).get(k, [0, 0]) for k in ("hdm05_upright", "hdm05_lying")
            ]
            counts = [sum(p[0] for p in parts), sum(p[1] for p in parts)]
        for name, r in results.items():
            c = r.get("sources", {}).get(key)
            if not c:
                continue
            lines.append(
                f"| {label} | {counts[0]} / {counts[1]} | {name} | {_cell(c, 'clean')} | "
                f"{_cell(c, 'noisy')} | {_cell(c, 'noisy', 'p_mpjpe')} | {_cell(c, 'occluded')} | "
                f"{_cell(c, 'complete3d')} |"
            )
    return lines


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
        f"Command: `{command}`. CMU val split: {data['clips']} files, {data['frames']} frames at 30 fps, "
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
    lines += source_tables(results, data)
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


def _parser() -> argparse.ArgumentParser:
    """The command line (see the module doc); main keeps it to report a bad --include."""
    parser = argparse.ArgumentParser(
        prog="python -m devtools.model_benchmark",
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
    parser.add_argument(
        "--include",
        type=Path,
        action="append",
        default=[],
        metavar="JSON",
        help="add the models of an earlier run's --json (same data, cameras and seed)",
    )
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--json", type=Path, default=Path("docs/benchmarks_model.json"))
    parser.add_argument("--section", default="model-benchmark", help="marker name in --out")
    parser.add_argument("--title", default="Model benchmark", help="heading of the section")
    return parser


def _evaluate_model(
    name: str,
    spec: str,
    args: argparse.Namespace,
    data_by_source: dict,
    pose2d: np.ndarray,
    confidence: np.ndarray,
) -> dict:
    """One model's row of the results: size, training cost, errors per source and condition,
    throughput."""
    lifter, meta = load_lifter(spec)
    if args.flip:
        lifter = flip_averaged(lifter)
    print(f"{name}: evaluating {spec}", file=sys.stderr)
    summaries = evaluate_sources(lifter, data_by_source, args.cameras, args.seed)
    return {
        "spec": spec,
        "parameters": sum(p.numel() for p in lifter.parameters()),
        "training_minutes": training_minutes(meta),
        "training_cpu_minutes": training_minutes(meta, "cpu"),
        "training_device": (meta.get("training") or {}).get("device"),
        "conditions": summaries["cmu"]["conditions"],
        "references": summaries["cmu"]["references"],
        "sources": {key: summary["conditions"] for key, summary in summaries.items()},
        "throughput_fps": round(throughput(lifter, pose2d, confidence), 1),
    }


def _evaluate_models(
    models: dict[str, str], args: argparse.Namespace, data_by_source: dict
) -> dict[str, dict]:
    """Every model's results; a missing checkpoint is a row with its error, not a failure."""
    _, clips = data_by_source["cmu"]
    pose2d, confidence = long_track(clips, THROUGHPUT_FRAMES, args.seed)
    results: dict[str, dict] = {}
    for name, spec in models.items():
        if not resolve(spec).is_file():
            results[name] = {"error": f"no checkpoint ({spec})"}
            print(f"{name}: no checkpoint at {resolve(spec)}", file=sys.stderr)
            continue
        results[name] = _evaluate_model(name, spec, args, data_by_source, pose2d, confidence)
    return results


def _data_record(args: argparse.Namespace, data_by_source: dict) -> dict:
    """What the models were measured on; runs merged with --include must agree on it."""
    _, clips = data_by_source["cmu"]
    return {
        "clips": len(clips),
        "frames": int(sum(map(len, clips))),
        "sources": {k: [len(c), int(sum(map(len, c)))] for k, (_, c) in data_by_source.items()},
        "cameras": args.cameras,
        "seed": args.seed,
        "flip": args.flip,
    }


def _write_json(path: Path, data: dict, results: dict[str, dict]) -> None:
    """The machine-readable results, which a later run can --include."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
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


def main(argv: list[str] | None = None) -> int:
    """Evaluate the models, merge earlier runs, write the section and the JSON."""
    parser = _parser()
    args = parser.parse_args(argv)
    models = dict(m.split("=", 1) for m in args.model) if args.model else DEFAULT_MODELS
    torch.set_num_threads(2)

    data_by_source = source_data(args.mocap)
    results = _evaluate_models(models, args, data_by_source)
    data = _data_record(args, data_by_source)
    for path in args.include:
        earlier = json.loads(path.read_text())
        if earlier["data"] != data:
            parser.error(f"{path} was measured on other data: {earlier['data']} vs {data}")
        for name, result in earlier["results"].items():
            results.setdefault(name, result)
    command = shlex.join(["python", "-m", "devtools.model_benchmark", *(argv or sys.argv[1:])])
    section = markdown(results, command, data, args.section, args.title)
    print(section)
    write_section(args.out, section, *markers(args.section))
    _write_json(args.json, data, results)
    print(f"wrote {args.out} and {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
