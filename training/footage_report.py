"""The footage benchmark's markdown section (docs/benchmarks.md), from its JSON summary."""

from __future__ import annotations


def _mm(value) -> str:
    return "–" if value is None else f"{value:.0f}"


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _row(label: str, part: dict) -> str:
    f, i = part["footage"], part["ideal"]
    return (
        f"| {label} | {part['clips']} | {part['frames']} | {_pct(part['detection_rate'])} | "
        f"{_mm(f['mpjpe'])} / {_mm(f['p_mpjpe'])} / {_mm(f['n_mpjpe'])} | {_mm(f['accel'])} | "
        f"{_mm(i['mpjpe'])} / {_mm(i['p_mpjpe'])} / {_mm(i['n_mpjpe'])} | {_mm(i['accel'])} | "
        f"{part['ratio']:.2f} | {_mm(f.get('root_abs_mm'))} / {_mm(f.get('root_aligned_mm'))} | "
        f"{_mm(i.get('root_abs_mm'))} / {_mm(i.get('root_aligned_mm'))} |"
    )


def _offset(value: dict) -> str:
    if value.get("n", 0) == 0:
        return "–"
    return (
        f"{100 * value['up']:+.1f} ± {100 * value['up_std']:.1f} | "
        f"{100 * value['out']:+.1f} ± {100 * value['out_std']:.1f}"
    )


def markdown(summary: dict, section: str = "footage-benchmark") -> str:
    """The section between its markers: settings, the score table, the detector-offset table."""
    s = summary["settings"]
    t = summary["targets"]
    f, i = summary["footage"], summary["ideal"]
    lines = [
        f"<!-- {section}:start -->",
        "## Footage benchmark",
        "",
        f"Command: `{summary.get('command', 'python -m devtools.footage_benchmark')}` "
        f"({summary['timing']['total_s'] / 60:.1f} min, rendering "
        f"{summary['timing']['render_s'] / 60:.1f}). {summary['clips']} rendered clips × "
        f"{s['frames_per_clip']} frames, {s['size'][0]}×{s['size'][1]}, camera "
        f"{s['distance_m'][0]}–{s['distance_m'][1]} m, seed {s['seed']}; checkpoint "
        f"`{s['checkpoint']}`. Footage: {s['detector']} → `Engine.lift` (BlazePose-33, the "
        "video's rate and size). Ideal: the truth's projected H36M-17 + `NoiseConfig()` noise, "
        "lifted the same way. Pose errors in mm, root-relative, camera frame (MPJPE / P-MPJPE / "
        "N-MPJPE; accel in mm/frame²). Root: pelvis error in mm with the truth's focal length, "
        "absolute / after removing each clip's mean offset. Detection: frames with a person "
        "found / frames with every joint in view.",
        "",
        "| source | clips | frames | detection | footage MPJPE / P / N | footage accel | "
        "ideal MPJPE / P / N | ideal accel | ratio | footage root abs / aligned | "
        "ideal root abs / aligned |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for source, part in summary["sources"].items():
        lines.append(_row(source, part))
    lines.append(_row("**all**", summary))
    lines += [
        "",
        f"Targets: footage MPJPE ≤ {t['ratio_max']} × ideal: ratio {summary['ratio']:.2f} "
        f"({'met' if t['ratio_met'] else 'NOT met'}); detection ≥ "
        f"{100 * t['detection_min']:.0f} % of in-view frames: "
        f"{_pct(summary['detection_rate'])} ({'met' if t['detection_met'] else 'NOT met'}). "
        f"Root with the engine's default field of view instead of the true focal: footage "
        f"{_mm(f.get('root_default_fov_abs_mm'))} / {_mm(f.get('root_default_fov_aligned_mm'))} "
        f"mm, ideal {_mm(i.get('root_default_fov_abs_mm'))} / "
        f"{_mm(i.get('root_default_fov_aligned_mm'))} mm. 2D error, median, % of stature: "
        f"detector {_pct(f.get('error_2d_median'))}, synthetic noise "
        f"{_pct(i.get('error_2d_median'))}.",
        "",
        "Where the detector puts its points relative to the truth's joint centres, % of stature "
        "(mean ± std over frames; up: along the projected trunk; out: away from the midline, "
        "head and nose towards the left shoulder), beside `DetectorConfig`'s moved points "
        "projected the same way (16 draws per clip):",
        "",
        "| joint | detector up | detector out | DetectorConfig up | DetectorConfig out |",
        "|---|---|---|---|---|",
    ]
    for row, values in summary["detector_offsets"].items():
        lines.append(f"| {row} | {_offset(values['detector'])} | {_offset(values['synthetic'])} |")
    lines.append(f"<!-- {section}:end -->")
    return "\n".join(lines)
