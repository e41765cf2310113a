"""The model benchmark's target check and its markdown sections (one per comparison)."""

from __future__ import annotations

from devtools.model_benchmark import (
    equal_budget,
    markdown,
    markers,
    merge_conditions,
    target_budgets,
    targets,
)
from devtools.sections import write_section


def result(noisy: float, occluded: float, complete3d: float | None = None) -> dict:
    conditions = {
        "clean": {"mpjpe": noisy - 5, "p_mpjpe": noisy / 2},
        "noisy": {"mpjpe": noisy, "p_mpjpe": noisy / 2},
        "occluded": {"mpjpe": occluded, "p_mpjpe": occluded / 2, "mpjpe_hidden": occluded + 9},
    }
    if complete3d is not None:
        conditions["complete3d"] = {"mpjpe": complete3d}
    return {
        "parameters": 3_000_000,
        "training_minutes": 70.0,
        "training_cpu_minutes": 135.0,
        "training_device": "cpu",
        "conditions": conditions,
        "references": {"interpolation": {"conditions": {"complete3d": {"mpjpe": 100.0}}}},
        "throughput_fps": 9000.0,
        "sources": {"cmu": conditions},
    }


RESULTS = {
    "mpm": result(51.0, 44.0, 40.0),
    "mpm_pretrained": result(51.0, 44.0, 40.0),
    "mpm_scratch": result(60.0, 70.0, 80.0),
    "tcn": result(60.0, 80.0),
}


def test_targets_are_ratios_to_the_baselines_and_interpolation():
    rows = {name: (value, limit, met) for name, value, limit, met in targets(RESULTS)}
    assert rows["noisy MPJPE / TCN"] == (0.85, 0.85, True)
    assert rows["occluded MPJPE / TCN"] == (0.55, 0.6, True)
    assert rows["noisy MPJPE, pre-trained / scratch"] == (0.85, 0.93, True)
    assert rows["complete3d / interpolation"] == (0.4, 0.5, True)
    assert rows["lifting frames/s (at least)"] == (9000.0, 5000.0, True)
    worse = dict(RESULTS, mpm=result(70.0, 50.0, 60.0))
    met = {name: ok for name, _, _, ok in targets(worse)}
    assert not met["noisy MPJPE / TCN"] and not met["complete3d / interpolation"]
    assert met["noisy MPJPE, pre-trained / scratch"]  # a property of the recipe, not of `mpm`
    unpaid = dict(RESULTS, mpm_pretrained=result(61.0, 70.0))
    met = {name: ok for name, _, _, ok in targets(unpaid)}
    assert not met["noisy MPJPE, pre-trained / scratch"] and met["noisy MPJPE / TCN"]


def test_targets_without_a_model_are_unknown_not_met():
    rows = {name: met for name, _, _, met in targets({"mpm": result(50.0, 40.0, 30.0)})}
    assert rows["noisy MPJPE / TCN"] is None
    assert rows["noisy MPJPE, pre-trained / scratch"] is None


def test_sections_replace_only_their_own_part(tmp_path):
    out = tmp_path / "benchmarks.md"
    data = {"clips": 28, "frames": 6833, "cameras": 4, "seed": 0}
    gpu = markdown(RESULTS, "cmd gpu", data, "model-benchmark", "On a GPU")
    cpu = markdown(RESULTS, "cmd cpu", data, "model-benchmark-cpu", "On this CPU")
    assert gpu.startswith(markers("model-benchmark")[0] + "\n## On a GPU")
    assert "| mpm | 3.00 M | 70.0 | 135.0 | 46.0 | 51.0 |" in gpu
    assert "| noisy MPJPE / TCN | 0.85 | 0.85 | yes | yes |" in gpu
    write_section(out, gpu, *markers("model-benchmark"))
    write_section(out, cpu, *markers("model-benchmark-cpu"))
    write_section(out, cpu.replace("cmd cpu", "cmd cpu again"), *markers("model-benchmark-cpu"))
    text = out.read_text()
    assert "cmd gpu" in text and "cmd cpu again" in text and "`cmd cpu`" not in text
    assert text.count("## On this CPU") == 1 and text.count("## On a GPU") == 1


def test_a_ratio_target_counts_only_at_an_equal_budget():
    """Equal wall-clock is not enough: a run that shared the CPU with two others got a third of
    the CPU time, and a checkpoint without a CPU-time record cannot be judged."""
    alone, shared = result(60.0, 70.0), result(60.0, 70.0)
    shared["training_cpu_minutes"] = 45.0
    assert equal_budget(alone, result(55.0, 60.0)) is True
    assert equal_budget(alone, shared) is False
    assert equal_budget(alone, dict(alone, training_device="cuda")) is False
    assert equal_budget(alone, dict(alone, training_cpu_minutes=None)) is None
    budgets = target_budgets(dict(RESULTS, tcn=shared))
    assert budgets["noisy MPJPE / TCN"] is False and budgets["occluded MPJPE / TCN"] is False
    assert budgets["noisy MPJPE, pre-trained / scratch"] is True
    table = markdown(
        dict(RESULTS, tcn=shared), "cmd", {"clips": 1, "frames": 9, "cameras": 1, "seed": 0}
    )
    assert "| noisy MPJPE / TCN | 0.85 | 0.85 | yes | NO |" in table


def test_unseen_people_targets_read_hdm05_against_cmu_val_and_the_tcn():
    mpm, tcn = result(50.0, 55.0), result(60.0, 70.0)
    mpm["sources"]["hdm05"] = {
        "noisy": {"mpjpe": 60.0, "p_mpjpe": 45.0},
        "occluded": {"mpjpe": 66.0},
    }
    mpm["sources"]["hdm05_upright"] = {"noisy": {"mpjpe": 58.0}}
    tcn["sources"]["hdm05"] = {"noisy": {"mpjpe": 80.0}, "occluded": {"mpjpe": 75.0}}
    rows = {name: (value, met) for name, value, _, met in targets({"mpm": mpm, "tcn": tcn})}
    assert rows["unseen-people ratio: HDM05 noisy / CMU val noisy"] == (1.2, True)
    assert rows["HDM05 noisy MPJPE (mm)"] == (60.0, True)
    assert rows["HDM05 without lying down, noisy MPJPE (mm)"] == (58.0, True)
    assert rows["HDM05 noisy P-MPJPE (mm)"] == (45.0, True)
    assert rows["HDM05 noisy MPJPE / TCN"] == (0.75, True)
    assert rows["HDM05 occluded MPJPE / TCN"] == (0.88, False)
    assert rows["CMU val noisy / the previous default's 55.6"] == (0.899, True)


def test_merged_sources_weigh_each_part_by_its_joint_frames():
    a = {"noisy": {"mpjpe": 40.0, "p_mpjpe": 30.0, "frames": 10, "scored": 170}}
    b = {"noisy": {"mpjpe": 100.0, "p_mpjpe": 60.0, "frames": 30, "scored": 510}}
    merged = merge_conditions([a, b])["noisy"]
    assert merged["mpjpe"] == 85.0 and merged["p_mpjpe"] == 52.5
    assert merged["frames"] == 40 and merged["scored"] == 680
