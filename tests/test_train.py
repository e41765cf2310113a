"""Training: a tiny config learns, and a stopped run resumes exactly where it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from training import retrain
from training.config import TrainConfig
from training.train import dropped, hidden_mpjpe_loss, load_config, train

TINY = Path(__file__).resolve().parents[1] / "training" / "configs" / "tiny.yaml"


def tiny_config(cache: Path, **stage_overrides) -> TrainConfig:
    config = load_config(TINY, [f"data.cache={cache}"])
    for stage in ("pretrain", "finetune"):
        setattr(config, stage, replace(config.stage(stage), **stage_overrides))
    return config


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def test_completion_loss_counts_hidden_joints_of_valid_frames_only():
    target = torch.zeros(1, 3, 2, 3)
    pred = torch.zeros(1, 3, 2, 3)
    pred[0, :, 0, 0] = 0.5  # joint 0 wrong by 0.5 m in every frame ...
    pred[0, :, 1, 0] = 0.1  # ... joint 1 by 0.1 m
    hidden = torch.tensor([[[True, False], [False, True], [True, True]]])
    valid = torch.tensor([[True, True, False]])  # the last frame is padding
    loss = hidden_mpjpe_loss(pred, target, valid, hidden)
    assert loss.item() == pytest.approx((0.5 + 0.1) / 2)
    assert hidden_mpjpe_loss(pred, target, valid, torch.zeros_like(hidden)).item() == 0.0


def test_dropped_frames_are_those_not_kept():
    keep = torch.tensor([[0, 2], [1, 3]])
    assert dropped(keep, 4).tolist() == [[False, True, False, True], [True, False, True, False]]


@pytest.mark.parametrize(
    ("stage", "per_token"), [("pretrain", 1), ("finetune", 1), ("pretrain", 3)]
)
def test_loss_falls(mini_cache, tmp_path, stage, per_token):
    config = tiny_config(mini_cache, steps=40)
    # Bent, crouched and lying new bodies take a tiny model longer than 40 steps; they have
    # their own tests (test_bodies.py).
    config.data = replace(config.data, bodies=None)
    config.model["frames_per_token"] = per_token
    config.checkpoint_every = config.validate_every = 40
    train(config, stage, tmp_path, workers=0, show_progress=False)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    first = sum(r["lift_mm"] for r in log[:5]) / 5
    last = sum(r["lift_mm"] for r in log[-5:]) / 5
    assert last < 0.6 * first, (first, last)


def test_resume_continues_exactly(mini_cache, tmp_path):
    config = tiny_config(mini_cache, steps=6)
    train(config, "pretrain", tmp_path / "straight", workers=0, show_progress=False)
    # The same run, stopped after step 3 (as a session ending would), then resumed.
    train(config, "pretrain", tmp_path / "resumed", workers=0, show_progress=False, stop_after=3)
    assert (
        json.loads((tmp_path / "resumed" / "log.jsonl").read_text().splitlines()[-1])["step"] == 3
    )
    train(config, "pretrain", tmp_path / "resumed", resume=True, workers=0, show_progress=False)
    a, b = weights(tmp_path / "straight" / "model.pt"), weights(tmp_path / "resumed" / "model.pt")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_finetune_starts_from_pretrained_weights(mini_cache, tmp_path):
    config = tiny_config(mini_cache, steps=3)
    train(config, "pretrain", tmp_path / "pre", workers=0, show_progress=False)
    config.finetune.lr = 0.0  # no update: the fine-tuned model must equal its start
    config.finetune.warmup = 1
    train(
        config,
        "finetune",
        tmp_path / "ft",
        init=str(tmp_path / "pre" / "model.pt"),
        workers=0,
        show_progress=False,
    )
    a, b = weights(tmp_path / "pre" / "model.pt"), weights(tmp_path / "ft" / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_wall_clock_budget_stops_the_run_and_decays_the_rate(mini_cache, tmp_path):
    config = tiny_config(mini_cache, steps=1000, minutes=0.02)  # 1.2 s for a 1,000-step schedule
    summary = train(config, "finetune", tmp_path, workers=0, show_progress=False)
    assert 1 <= summary["steps"] < 1000
    assert summary["elapsed_s"] >= 1.2
    assert (tmp_path / "model.pt").is_file()
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == summary["steps"] and "val_noisy_mpjpe_mm" in log[-1]


def test_a_spent_clock_budget_is_not_trained_again(mini_cache, tmp_path):
    config = tiny_config(mini_cache, steps=1000, minutes=0.01)
    first = train(config, "finetune", tmp_path, workers=0, show_progress=False)
    before = weights(tmp_path / "model.pt")
    again = train(config, "finetune", tmp_path, resume=True, workers=0, show_progress=False)
    assert again["steps"] == first["steps"] and again["elapsed_s"] == first["elapsed_s"]
    after = weights(tmp_path / "model.pt")
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_retrain_from_scratch_by_default(mini_cache, tmp_path):
    args = ["--config", str(TINY), "--runs", str(tmp_path), "--minutes", "0.02"]
    assert retrain.main([*args, "--set", f"data.cache={mini_cache}"]) == 0
    assert not (tmp_path / "pretrain").exists()
    fine = torch.load(tmp_path / "finetune" / "model.pt", weights_only=True)
    assert fine["meta"]["training"]["init"] == ""
    assert fine["meta"]["training"]["elapsed_s"] >= 1.2


def test_retrain_splits_the_clock_and_a_rerun_keeps_the_result(mini_cache, tmp_path):
    args = ["--config", str(TINY), "--runs", str(tmp_path), "--minutes", "0.04"]
    args += ["--pretrain-share", "0.5"]
    args += ["--set", f"data.cache={mini_cache}"]
    assert retrain.main(args) == 0
    stages = {}
    for stage in ("pretrain", "finetune"):
        log = [json.loads(r) for r in (tmp_path / stage / "log.jsonl").read_text().splitlines()]
        assert 1.2 <= log[-1]["elapsed_s"] < 10  # half of 0.04 minutes each, then stopped
        stages[stage] = (tmp_path / stage / "model.pt").stat().st_mtime_ns
    fine = torch.load(tmp_path / "finetune" / "model.pt", weights_only=True)
    assert fine["meta"]["training"]["init"] == str(tmp_path / "pretrain" / "model.pt")
    # The budget record adds up over stages; CPU seconds cannot exceed wall seconds × cores.
    pre = torch.load(tmp_path / "pretrain" / "model.pt", weights_only=True)["meta"]["training"]
    ft = fine["meta"]["training"]
    assert ft["device"] == "cpu" and ft["threads"] == torch.get_num_threads()
    assert ft["total_cpu_s"] == pytest.approx(pre["cpu_s"] + ft["cpu_s"], abs=0.11)
    assert ft["total_elapsed_s"] == pytest.approx(pre["elapsed_s"] + ft["elapsed_s"], abs=0.11)
    for stage in (pre, ft):
        assert 0 < stage["cpu_s"] <= stage["elapsed_s"] * os.cpu_count() * 1.05 + 0.5
    assert retrain.main(args) == 0  # as after an interruption: finished stages stay as they are
    for stage, mtime in stages.items():
        assert (tmp_path / stage / "model.pt").stat().st_mtime_ns == mtime


def test_overrides_read_numbers_as_users_write_them():
    config = load_config(
        TINY, ["finetune.lr=1e-3", "finetune.minutes=20", "data.cache=cache/x", "model.dropout=0"]
    )
    assert config.finetune.lr == pytest.approx(1e-3)
    assert config.finetune.minutes == 20
    assert config.data.cache == "cache/x"
    assert config.model["dropout"] == 0


CONFIGS = sorted((TINY.parent).glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_shipped_config_loads_and_round_trips(path):
    config = load_config(path)
    assert TrainConfig.from_dict(config.to_dict()) == config  # what checkpoints store reloads


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("finetune.setps=3", "finetune"),
        ("data.bodies.pro=0.5", "data.bodies"),
        ("finetune.loss_weights.lfit=2", "finetune.loss_weights"),
        ("model.widht=64", "model"),
        ("validate_evry=3", "top level"),
    ],
)
def test_an_unknown_key_is_an_error_naming_the_valid_keys(override, named):
    with pytest.raises(ValueError, match=named) as error:
        load_config(TINY, [override])
    assert override.partition("=")[0].rpartition(".")[2] in str(error.value)
    assert "valid keys:" in str(error.value)


def test_an_unknown_key_in_a_yaml_file_is_an_error(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text(TINY.read_text() + "chekpoint_every: 5\n")
    with pytest.raises(ValueError, match="checkpoint_every"):
        load_config(path)


def test_defaults_fill_what_a_config_leaves_out(tmp_path):
    path = tmp_path / "short.yaml"
    path.write_text("model: {kind: tcn}\ndata: {bodies: {}}\n")
    config = load_config(path, ["data.noise=null", "data.detector.prob=0.5"])
    assert config.model["channels"] == 512 and config.window == 243  # the baseline's own
    assert config.finetune.warmup == 100 and config.data.stride == 20
    assert config.data.noise is None and config.data.bodies.prob == 0.8
    assert config.data.detector.prob == 0.5 and config.data.detected is None


def test_dropped_tokens_drop_all_their_frames():
    keep = torch.tensor([[1]])  # of 3 tokens of 2 frames over 5 frames, only token 1 is kept
    assert dropped(keep, 5, per_token=2).tolist() == [[True, True, False, False, True]]


# Records how OpenMP's idle threads are asked to wait (OMP_WAIT_POLICY / GOMP_SPINCOUNT) as torch
# is first imported, then runs a module as `python -m` would (or imports it, as a library user
# would).
SPY = """
import importlib, os, runpy, sys
seen = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and not seen:
            seen.append(f'{os.environ.get("OMP_WAIT_POLICY")}/{os.environ.get("GOMP_SPINCOUNT")}')
sys.meta_path.insert(0, Spy())
module, run_name = sys.argv[1:3]
sys.argv = [module, "--help"]
try:
    if run_name == "import":
        importlib.import_module(module)
    else:
        runpy.run_module(module, run_name=run_name)
except SystemExit:
    pass
print(seen[0] if seen else "no torch")
"""


@pytest.mark.parametrize(
    ("module", "run_name", "expected"),
    [
        ("training.train", "__main__", "None/1000"),
        ("training.retrain", "__main__", "None/1000"),
        ("training.train", "import", "None/None"),  # imported as a library: left alone
        ("training.evaluate", "__main__", "None/None"),
    ],
)
def test_only_the_training_entry_points_ask_for_briefly_spinning_threads(
    module, run_name, expected
):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    args = [sys.executable, "-c", SPY, module, run_name]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    assert out.split()[-1] == expected


@pytest.mark.parametrize(
    ("own", "expected"),
    [({"OMP_WAIT_POLICY": "ACTIVE"}, "ACTIVE/None"), ({"GOMP_SPINCOUNT": "50"}, "None/50")],
)
def test_a_users_own_wait_setting_wins(own, expected):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    args = [sys.executable, "-c", SPY, "training.train", "__main__"]
    out = subprocess.run(args, env={**env, **own}, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == expected


def test_sweep_trains_each_variant_with_its_own_overrides(mini_cache, tmp_path):
    """scripts/sweep.sh: every variant gets its overrides and no other's, and a rerun resumes."""
    root = Path(__file__).resolve().parents[1]
    common = f"--set data.cache={mini_cache} --set finetune.steps=3"
    command = [
        "bash",
        str(root / "scripts" / "sweep.sh"),
        str(tmp_path),
        "--config",
        str(TINY),
        "--workers",
        "0",
        f"plain={common}",
        f"nodrop={common} --set model.dropout=0 --set finetune.steps=2",
    ]
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("GOMP_SPINCOUNT", None)
    subprocess.run(command, cwd=root, env=env, check=True, capture_output=True)
    made = {}
    for name in ("plain", "nodrop"):
        payload = torch.load(tmp_path / name / "model.pt", weights_only=True)
        training = payload["meta"]["training"]
        made[name] = (payload["config"]["dropout"], training["step"])
        # `python -m training.train` asks for briefly spinning OpenMP threads (spin_briefly)
        assert (training["omp_wait_policy"], training["gomp_spincount"]) == ("", "1000")
    assert made == {"plain": (pytest.approx(0.1), 3), "nodrop": (0, 2)}
    mtime = (tmp_path / "plain" / "model.pt").stat().st_mtime_ns
    subprocess.run(command, cwd=root, env=env, check=True, capture_output=True)
    assert (tmp_path / "plain" / "model.pt").stat().st_mtime_ns == mtime  # finished: left alone


def test_retrain_without_the_render_extra_says_how_to_get_the_detected_cache(
    mini_cache, tmp_path, monkeypatch
):
    monkeypatch.setattr(retrain, "RENDER_MODULES", ("no_such_module_for_this_test",))
    detected = f"data.detected={{cache: {tmp_path / 'detected'}, share: 0.2, clips: 3}}"
    args = ["--config", str(TINY), "--runs", str(tmp_path / "runs"), "--minutes", "0.02"]
    with pytest.raises(SystemExit, match="0 built.*install_render.sh.*--no-adapt"):
        retrain.main([*args, "--set", f"data.cache={mini_cache}", "--set", detected])
    assert not (tmp_path / "runs").exists()  # refused before any training
    assert retrain.main([*args, "--set", f"data.cache={mini_cache}", "--set", detected,
                         "--no-adapt"]) == 0  # fmt: skip
    assert not (tmp_path / "runs" / "adapt").exists()
