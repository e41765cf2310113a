"""The world-space quality benchmark's report: its rows, overall numbers, targets and tables.

`devtools.quality_benchmark` measures; this turns its per-clip numbers into the printed tables,
the JSON's overall block and the docs/benchmarks.md section `world-quality` (a `--set`
other than the default: `world-quality-<set>`).
"""

from __future__ import annotations

import math

import numpy as np

from devtools import quality_metrics as qm

# Meta-rig bones no body joint drives (face, fingers, breasts): listed apart from the body's.
DETAIL_BONES = ("brow", "cheek", "chin", "ear", "eye", "face", "forehead", "jaw", "lid", "lip")
DETAIL_BONES += ("nose", "teeth", "temple", "tongue", "f_", "thumb", "palm", "breast")
RUNS = (
    ("none", "no cleanup", ["--smooth", "none", "--no-foot-lock"]),
    ("default", "default cleanup", []),
)
# The default cleanup's two parts, each run alone: which of them costs what.
PARTS = (
    ("smoothing", "smoothing only", ["--no-foot-lock"]),
    ("foot_lock", "foot lock only", ["--smooth", "none"]),
)
# (overall key, column, format) of the parts table.
PART_COLUMNS = (
    ("bone_error_median_deg", "bone error, median (°)", ".1f"),
    ("leg_bone_error_median_deg", "thighs and shins (°)", ".1f"),
    ("other_bone_error_median_deg", "arms, trunk, neck (°)", ".1f"),
    ("contact_speed_p95_cm", "contact speed p95 (cm/frame)", ".2f"),
    ("held_in_swing_pct", "held in the swing (%)", ".1f"),
    ("swaps_per_1000", "left/right swaps (per 1000)", ".1f"),
    ("ground_slope_deg_max", "worst slope (°)", ".2f"),
    ("root_accel_ratio", "mid-hip acceleration / mocap", ".2f"),
)
# (metric key, label, format, target text, check on the value or None) for the table and targets.
METRICS = (
    ("ground_slope_deg", "ground slope under the feet (°)", ".2f", "≤ 1 on every clip", "max"),
    ("start_hip_error_m", "start hip height − expected (m)", "+.3f", "within ±0.05", "absmax"),
    ("below_floor_m", "lowest foot point below the floor (m)", ".3f", "≤ 0.02", "max"),
    ("below_ground_m", "lowest ankle below its footprints' plane (m)", ".3f", "", "max"),
    ("contact_height_m", "planted ankle above its standing height (m)", "+.3f", "", None),
    (
        "planted_foot_over_floor_cm",
        "planted foot's lowest point over the floor, p95 (cm)",
        ".1f",
        "",
        None,
    ),  # fmt: skip
    ("contact_speed_median_cm", "foot speed in contact, median (cm/frame)", ".2f", "≤ 0.3", None),
    ("contact_speed_p95_cm", "foot speed in contact, p95 (cm/frame)", ".2f", "≤ 1.0", None),
    ("limb_accel_mm", "limb acceleration (mm/frame²)", ".2f", "", None),
    ("limb_accel_ratio", "limb acceleration / mocap (size-scaled)", ".2f", "0.8–1.2", None),
    ("root_accel_mm", "mid-hip acceleration (mm/frame²)", ".2f", "", None),
    ("root_accel_ratio", "mid-hip acceleration / mocap (size-scaled)", ".2f", "≤ 1.5", None),
    ("bone_error_median_deg", "bone-direction error, median (°)", ".1f", "default ≤ none", None),
    ("bone_error_p90_deg", "bone-direction error, p90 (°)", ".1f", "default ≤ none", None),
    ("flips_per_1000", "bone flips > 30°/frame (per 1000 frames)", ".1f", "", None),
    ("swaps_per_1000", "left/right swaps (per 1000 frames)", ".1f", "", None),
    ("held_in_swing_pct", "feet held still in the mocap's swing (%)", ".1f", "", None),
)
POOLED = {"contact_speed_median_cm": 50, "contact_speed_p95_cm": 95}


def markers(clip_set: str) -> tuple[str, str]:
    """The docs/benchmarks.md section a clip set's run replaces."""
    name = "world-quality" if clip_set == "default" else f"world-quality-{clip_set}"
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def bone_counts(moving: set[str], keyed: set[str]) -> dict:
    """How many of the BVH's bones (with channels) change over any clip; the body's still ones."""
    body = {b for b in keyed if not b.startswith(DETAIL_BONES)}
    return {
        "moving": len(moving),
        "keyed": len(keyed),
        "body_moving": len(moving & body),
        "body": len(body),
        "body_still": sorted(body - moving),
        "still": sorted(keyed - moving),
    }


def overall(per_clip: dict[str, dict], speeds: dict[str, np.ndarray]) -> dict[str, float]:
    """Every metric over all clips: frame-weighted means, maxima for the per-clip targets."""
    out: dict[str, float] = {}
    weights = np.array([m["frames"] for m in per_clip.values()])
    keys = [k for k in next(iter(per_clip.values())) if k not in ("frames", "contact_frames")]
    for key in keys:
        values = np.array([m[key] for m in per_clip.values()], dtype=np.float64)
        ok = np.isfinite(values)
        out[key] = float(np.average(values[ok], weights=weights[ok])) if ok.any() else float("nan")
    for key in (
        "ground_slope_deg",
        "below_ground_m",
        "below_floor_m",
        "ground_slope_deg_truth",
        "below_ground_m_truth",
        "below_floor_m_truth",
    ):
        values = [m[key] for m in per_clip.values() if key in m]
        out[f"{key}_max"] = max(values, default=float("nan"))
    out["start_hip_error_m_absmax"] = max(abs(m["start_hip_error_m"]) for m in per_clip.values())
    for key, q in POOLED.items():  # pooled over every contact frame of every clip
        for label in ("", "_truth"):
            out[key + label] = qm.percentile(speeds[label], q)
    out["frames"] = float(weights.sum())
    return out


def targets(results: dict[str, dict]) -> list[tuple[str, str, bool]]:
    """(target, measured on the default cleanup, met) for the issue's targets."""
    d, n = results["default"]["overall"], results["none"]["overall"]
    rows = [
        (
            "ground slope ≤ 1° on every clip",
            f"max {d['ground_slope_deg_max']:.2f}°",
            d["ground_slope_deg_max"] <= 1.0,
        ),
        (
            "start hip height within 5 cm of the rig's standing hip height (scaled)",
            f"worst {d['start_hip_error_m_absmax'] * 100:.1f} cm",
            d["start_hip_error_m_absmax"] <= 0.05,
        ),
        (
            "no foot below the floor by more than 2 cm",
            f"max {d['below_floor_m_max'] * 100:.1f} cm",
            d["below_floor_m_max"] <= 0.02,
        ),
        (
            "foot speed in true contact, median ≤ 0.3 cm/frame",
            f"{d['contact_speed_median_cm']:.2f}",
            d["contact_speed_median_cm"] <= 0.3,
        ),
        (
            "foot speed in true contact, p95 ≤ 1.0 cm/frame",
            f"{d['contact_speed_p95_cm']:.2f}",
            d["contact_speed_p95_cm"] <= 1.0,
        ),
        (
            "limb acceleration 0.8–1.2 × mocap",
            f"{d['limb_accel_ratio']:.2f}",
            0.8 <= d["limb_accel_ratio"] <= 1.2,
        ),
        (
            "mid-hip acceleration ≤ 1.5 × mocap",
            f"{d['root_accel_ratio']:.2f}",
            d["root_accel_ratio"] <= 1.5,
        ),
        (
            "bone-direction error with cleanup no worse than without (median)",
            f"{d['bone_error_median_deg']:.1f}° vs {n['bone_error_median_deg']:.1f}°",
            d["bone_error_median_deg"] <= n["bone_error_median_deg"] + 0.05,
        ),
    ]
    return rows


def _cell(value: float, fmt: str) -> str:
    return "–" if value is None or not math.isfinite(value) else format(value, fmt)


def tables(results: dict[str, dict], clips: list[str], cameras: dict[str, dict]) -> str:
    """The markdown tables: overall, per clip, the targets, the bones."""
    lines = [
        "| metric | target | ground truth | no cleanup | default cleanup |",
        "|---|---|---|---|---|",
    ]
    for key, label, fmt, goal, agg in METRICS:
        shown = f"{key}_{agg}" if agg else key
        shown_label = label + (" (worst clip)" if agg else "")
        truth_key = {None: f"{key}_truth", "max": f"{key}_truth_max"}.get(agg, "")
        truth = results["none"]["overall"].get(truth_key, float("nan"))
        lines.append(
            f"| {shown_label} | {goal} | {_cell(truth, fmt)} "
            f"| {_cell(results['none']['overall'].get(shown), fmt)} "
            f"| {_cell(results['default']['overall'].get(shown), fmt)} |"
        )
    lines += ["", "Per clip (no cleanup → default cleanup):", ""]
    short = [
        m for m in METRICS if m[0] not in ("limb_accel_mm", "root_accel_mm", "bone_error_p90_deg")
    ]
    names = " | ".join(m[1].split(" (")[0] for m in short)
    lines.append(f"| clip | frames | camera looks down (°) | {names} |")
    lines.append("|---|---|---|" + "---|" * len(short))
    for clip in clips:
        a, b = results["none"]["clips"][clip], results["default"]["clips"][clip]
        down = -cameras[clip]["optical_axis_elevation_deg"]
        cells = [f"{_cell(a.get(k), f)} → {_cell(b.get(k), f)}" for k, _, f, _, _ in short]
        lines.append(f"| {clip} | {int(a['frames'])} | {down:.1f} | " + " | ".join(cells) + " |")
    lines += ["", "| target | measured (default cleanup) | met |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {'yes' if ok else 'NO'} |" for t, m, ok in targets(results)]
    lines += ["", *parts_table(results)]
    lines += ["", "| run | BVH bones that move | body bones that move | body bones never moving |"]
    lines += ["|---|---|---|---|"]
    for key, name, _ in RUNS:
        b = results[key]["bones"]
        still = ", ".join(b["body_still"]) or "–"
        counts = f"{b['moving']} of {b['keyed']} | {b['body_moving']} of {b['body']}"
        lines.append(f"| {name} | {counts} | {still} |")
    return "\n".join(lines)


def parts_table(results: dict[str, dict]) -> list[str]:
    """The default cleanup against each of its parts run alone (the runs `results` has)."""
    runs = [(k, n) for k, n, _ in (RUNS[0], *PARTS, RUNS[1]) if k in results]
    lines = ["| run | " + " | ".join(c for _, c, _ in PART_COLUMNS) + " |"]
    lines.append("|---|" + "---|" * len(PART_COLUMNS))
    for key, name in runs:
        values = results[key]["overall"]
        cells = [_cell(values.get(k), fmt) for k, _, fmt in PART_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def section(text: str, command: str, info: dict) -> str:
    start, end = markers(info["set"])
    title = "" if info["set"] == "default" else f" ({info['set']} set: clips nothing was tuned on)"
    return (
        f"{start}\n## World-space animation quality on the meta-rig{title}\n\n"
        f"Command: `{command}` ({info['minutes']:.1f} min). {info['clips']} held-out clips "
        f"(CMU val, HDM05), ≤ {info['frames']} frames at 30 fps, {info['total_frames']} frames in "
        f"all; seed {info['seed']}. Each clip is filmed by {info['cameras']} seeded hand-held "
        "cameras (a row each; `<clip>_c<k>`: camera k; 1920×1080, "
        "focal 1400 px, 3.5–5 m, 1.2–1.6 m high, aimed at the subject's mean pelvis, then "
        "pitched by up to ±15° (halved while under 95 % of the joint-frames stay in the image) "
        "and rolled by up to ±5°; still), given the training's detector noise (`NoiseConfig()`), "
        "written as an H36M-17 track and run through `python -m blender_addon.batch TRACKS --rig "
        "metarig --format bvh` (in-process, shipped model) without cleanup (`--smooth none "
        "--no-foot-lock`), with the defaults and with each of their two parts alone "
        "(`--no-foot-lock`: smoothing only; `--smooth none`: foot lock only; the parts table); "
        "the BVH is read back (the meta-rig map of `training/data/skeleton_maps`, Y up) and "
        "compared with the mocap "
        "(`devtools/quality_metrics.py`); leading frames with the mocap's ankles 5 cm below their "
        "usual low (the CMU dance files open with some) are dropped. Contacts are the mocap's "
        "(ankle within 5 cm of its clip low, under 0.3 m/s, ≥ 3 frames). Ground slope: of the "
        "ground under the rig's footprints (one per contact: the ankle's median position at the "
        "contact's 10th-percentile height; one height per foot; level along directions in which "
        "a foot's footprints spread less than 10 cm). Below the floor: the lowest point of "
        "the skeleton (every joint and end site: toes, heels) under its floor (the rig's rest "
        "floor, the scene's ground; the mocap's floor), not the ankle joint: a kick sweeps the "
        "ankle below its standing height without touching the floor (the mocap's soccer kick "
        "does); the lowest ankle under the footprints' ground is shown too. Planted ankle: a footprint's height above the rig's floor minus its rest "
        "ankle height. Planted foot's lowest point: the lowest of the rig's foot and what "
        "hangs from it (toes, heel) over its floor in the mocap's contacts, p95 (a planted "
        "foot held flat while its ankle rises floats). Start hip height: the rig's first-frame "
        "pelvis above its rest floor "
        "against its rest pelvis height times the mocap's first-frame pelvis height over its "
        "standing one (legs + ankle height). Bone directions after one rotation per clip "
        "(Kabsch); the rig's accelerations are divided by the leg-length ratio before the "
        "ratios. Feet held in the swing: of the foot-frames in which the mocap's foot moves "
        "faster than 3 cm/frame (0.9 m/s, in the rig's size), the share in which the rig's "
        "moves under 0.2 cm/frame (a contact found where there is none). Means are "
        "frame-weighted; contact speeds pooled over all contact frames.\n\n"
        f"{text}\n{end}"
    )
