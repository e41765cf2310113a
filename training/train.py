"""Train MPM (pre-training, fine-tuning, adapting) or a baseline lifter: `python -m training.train`.

    python -m training.train --config training/configs/default.yaml --stage pretrain --out runs/pre
    python -m training.train --config training/configs/default.yaml --stage finetune \
        --init runs/pre/model.pt --out runs/ft
    python -m training.train --config training/configs/default.yaml --stage adapt \
        --init runs/ft/model.pt --out runs/adapt

Adapting is fine-tuning again with the real detector's windows (`data.detected`) in each batch;
only that stage reads them.

Every step's batch, masks and dropout are drawn from generators seeded by (seed, step), so a run
stopped and resumed (`--resume`, from <out>/last.pt) continues exactly as if never stopped.
Multi-GPU / multi-node: launch the same command with `torchrun --nproc-per-node N`; each rank
draws its own batch for a step and gradients are averaged by DistributedDataParallel.
CUDA runs in bfloat16 autocast.
"""

from __future__ import annotations

import os

from training import spin_briefly

if __name__ == "__main__":
    spin_briefly()  # before torch loads, which reads it once

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from mpm_backend.baselines import fill_missing
from mpm_backend.checkpoint import build_model, model_config, save_checkpoint
from mpm_backend.model import token_count
from training.config import (
    STAGES,
    FinetuneConfig,
    PretrainConfig,
    Stage,
    TrainConfig,
    load_config,
)
from training.data.dataset import ClipWindows, WindowConfig
from training.data.masks import limb_tube_mask, random_joint_mask
from training.detected import from_config as detected_windows

# ----------------------------------------------------------------------------- runtime


@dataclass
class Runtime:
    device: torch.device
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_runtime(device: str) -> Runtime:
    """Pick the device; join the torchrun process group when launched by torchrun."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        dist.init_process_group("nccl" if device == "cuda" else "gloo")
        if device == "cuda":
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            return Runtime(torch.device("cuda", local), rank, world)
    return Runtime(torch.device(device), rank, world)


# ----------------------------------------------------------------------------- data


class StepBatches(Dataset):
    """Item s is the whole batch of step s: the same batch whatever the worker or resume point."""

    def __init__(
        self,
        windows: ClipWindows,
        batch_size: int,
        seed: int,
        rank: int = 0,
        source_shares: dict[str, float] | None = None,
        detected: tuple[Dataset | None, float] = (None, 0.0),
    ):
        self.windows, self.batch_size, self.seed, self.rank = windows, batch_size, seed, rank
        self.weights = windows.item_weights(source_shares) if source_shares else None
        # Real-detector windows (training.detected): a fixed count of every batch, drawn from
        # their own stream so that the synthetic draws are unchanged when they are off.
        self.detected, share = detected
        self.detected_count = round(share * batch_size) if self.detected is not None else 0

    def __len__(self) -> int:
        return 1 << 40  # unbounded: the sampler (a range of steps) says which batches are made

    def __getitem__(self, step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, step, self.rank, 1])
        count = self.batch_size - self.detected_count
        if self.weights is None:
            picks = rng.integers(0, len(self.windows), count)
        else:
            picks = rng.choice(len(self.windows), count, p=self.weights)
        self.windows.set_epoch(step * 64 + self.rank)  # a fresh camera and noise per step
        arrays = self.windows.batch([int(i) for i in picks])
        if self.detected_count:
            own = np.random.default_rng([self.seed, step, self.rank, 2])
            drawn = own.integers(0, len(self.detected), self.detected_count)
            items = [self.detected[int(i)] for i in drawn]
            arrays = {k: np.concatenate([v, [it[k] for it in items]]) for k, v in arrays.items()}
        batch = {k: torch.from_numpy(v) for k, v in arrays.items()}
        # Occlusion masks drawn here too, so they are part of the step's deterministic batch.
        size, t, j = batch["pose2d"].shape[:3]
        for key in ("occlude2d", "occlude3d"):
            batch[key] = torch.from_numpy(np.stack([_occlusion(rng, t, j) for _ in range(size)]))
        return batch


def _occlusion(rng: np.random.Generator, frames: int, joints: int) -> np.ndarray:
    """A limb hidden over a span, plus a few random joints: the occlusions users' videos have."""
    mask = limb_tube_mask(rng, frames, joints, n_limbs=1, min_len=max(1, frames // 4))
    if rng.random() < 0.5:
        mask |= random_joint_mask(rng, frames, joints, int(rng.integers(1, 4))) & (
            rng.random((frames, 1)) < 0.3
        )
    return mask


def make_windows(config: TrainConfig, split: str, seed: int) -> ClipWindows:
    """Training windows with the config's augmentation; val keeps the mocap's own bodies."""
    data = config.data
    train = split == "train"
    window = WindowConfig(
        window=config.window,
        stride=data.stride,
        mirror_prob=data.mirror_prob,
        noise=data.noise,
        bodies=data.bodies if train else None,
        detector=data.detector if train else None,
    )
    return ClipWindows(Path(data.cache), split, window, seed=seed)


# ----------------------------------------------------------------------------- losses


def mpjpe_loss(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean joint distance over valid frames (B, T)."""
    dist_ = torch.linalg.vector_norm(pred - target, dim=-1).mean(-1)
    weight = valid.to(dist_.dtype)
    return (dist_ * weight).sum() / weight.sum().clamp_min(1.0)


def hidden_mpjpe_loss(
    pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, hidden: torch.Tensor
) -> torch.Tensor:
    """Mean distance over the hidden joints (B, T, J) of valid frames only, MAE style.

    For 3D completion the visible joints are given exactly and come back as given, so only the
    hidden ones are worth learning; averaged over all joints they drown in easy ones.
    """
    dist_ = torch.linalg.vector_norm(pred - target, dim=-1)
    weight = (hidden & valid[..., None]).to(dist_.dtype)
    return (dist_ * weight).sum() / weight.sum().clamp_min(1.0)


def dropped(keep_index: torch.Tensor, frames: int, per_token: int = 1) -> torch.Tensor:
    """(B, T) bool: the frames whose token (of `per_token` frames) is not in keep_index."""
    gone = torch.ones(
        keep_index.shape[0],
        token_count(frames, per_token),
        dtype=torch.bool,
        device=keep_index.device,
    )
    gone = gone.scatter(1, keep_index, False)
    return gone.repeat_interleave(per_token, dim=1)[:, :frames]


def masked_frames(
    rng: torch.Generator, batch: int, frames: int, ratio: float, device
) -> torch.Tensor:
    """Sorted indices (B, K) of the frames (trunk tokens) the trunk keeps (MAE frame dropping)."""
    keep = max(1, frames - round(ratio * frames))
    # Drawn on the CPU generator (the same masks on every device), sorted on the device: a CPU
    # argsort in a GPU run's main process, beside busy loader workers, cost 3/4 of each step.
    order = torch.rand(batch, frames, generator=rng).to(device).argsort(dim=1)[:, :keep]
    return order.sort(dim=1).values


def masked_joints(rng: torch.Generator, batch: int, frames: int, joints: int, count: int, device):
    """(B, T, J) bool: `count` random joints hidden in every frame."""
    order = torch.rand(batch, frames, joints, generator=rng).to(device).argsort(dim=-1)
    return order.argsort(dim=-1) < count  # each joint's rank below `count`


def is_mpm(model: nn.Module) -> bool:
    return getattr(_core(model), "kind", None) == "mpm"


def _core(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def pretrain_loss(
    model, batch, stage: PretrainConfig, rng: torch.Generator
) -> tuple[torch.Tensor, dict]:
    """Masked 2D → 2D and 2D → 3D from one pass, masked 3D → 3D from another (paper's pretext)."""
    pose2d, conf, valid = batch["pose2d"], batch["confidence"], batch["valid"]
    b, t, j = conf.shape
    dev = pose2d.device
    threshold = _core(model).config.visibility_threshold
    per_token, tokens = _core(model).config.frames_per_token, _core(model).tokens(t)
    keep = masked_frames(rng, b, tokens, stage.frame_mask_ratio, dev)
    hide = masked_joints(rng, b, t, j, stage.joints_per_frame, dev)
    visible = (conf > threshold) & ~hide
    out = model(torch.cat([pose2d, conf[..., None]], -1), "2d", visible, keep, ("2d", "3d"))
    loss2d = mpjpe_loss(out["2d"], batch["pose2d_clean"], valid)
    lift = mpjpe_loss(out["3d"], batch["pose3d"], valid)
    keep3 = masked_frames(rng, b, tokens, stage.frame_mask_ratio, dev)
    hide3 = masked_joints(rng, b, t, j, stage.joints_per_frame, dev)
    out3 = model(batch["pose3d"], "3d", ~hide3, keep3, ("3d",))
    loss3d = hidden_mpjpe_loss(
        out3["3d"], batch["pose3d"], valid, hide3 | dropped(keep3, t, per_token)[..., None]
    )
    w = stage.loss_weights
    total = w.mask2d * loss2d + w.lift * lift + w.mask3d * loss3d
    return total, {
        "mask2d": loss2d.item(),
        "lift_mm": lift.item() * 1000,
        "mask3d_mm": loss3d.item() * 1000,
    }


def finetune_loss(
    model, batch, stage: FinetuneConfig, rng: torch.Generator
) -> tuple[torch.Tensor, dict]:
    """Full-supervision lifting from detector-like, sometimes occluded 2D (+ 2D and 3D completion)."""
    pose2d, conf, valid = batch["pose2d"], batch["confidence"], batch["valid"]
    chosen = torch.rand(conf.shape[0], 1, 1, generator=rng) < stage.occlusion_prob
    occlude = batch["occlude2d"] & chosen.to(conf.device)
    conf = torch.where(occlude, torch.zeros_like(conf), conf)
    pose2d = torch.where(occlude[..., None], torch.zeros_like(pose2d), pose2d)
    if not is_mpm(model):  # baselines see the same hidden joints, filled by interpolation
        filled = fill_missing(pose2d, conf, _core(model).confidence_threshold)
        lift = mpjpe_loss(model(filled), batch["pose3d"], valid)
        return lift, {"lift_mm": lift.item() * 1000}
    threshold = _core(model).config.visibility_threshold
    out = model(
        torch.cat([pose2d, conf[..., None]], -1), "2d", conf > threshold, None, ("3d", "2d")
    )
    lift = mpjpe_loss(out["3d"], batch["pose3d"], valid)
    loss2d = mpjpe_loss(out["2d"], batch["pose2d_clean"], valid)
    # 3D completion on the first part of the batch only, if asked: it costs a second pass.
    n3 = max(1, round(stage.complete3d_fraction * conf.shape[0]))
    hidden3 = batch["occlude3d"][:n3]
    out3 = model(batch["pose3d"][:n3], "3d", ~hidden3, None, ("3d",))
    loss3d = hidden_mpjpe_loss(out3["3d"], batch["pose3d"][:n3], valid[:n3], hidden3)
    w = stage.loss_weights
    total = w.lift * lift + w.complete2d * loss2d + w.complete3d * loss3d
    return total, {
        "lift_mm": lift.item() * 1000,
        "complete2d": loss2d.item(),
        "complete3d_mm": loss3d.item() * 1000,
    }


LOSSES = {"pretrain": pretrain_loss, "finetune": finetune_loss, "adapt": finetune_loss}


# ----------------------------------------------------------------------------- validation


@torch.no_grad()
def validate(model: nn.Module, windows: ClipWindows, device, count: int = 64) -> float:
    """Noisy-2D lifting MPJPE (mm) on a fixed set of val windows, for the training log."""
    core = _core(model)
    core.eval()
    windows.set_epoch(0)
    rng = np.random.default_rng(12345)
    picks = rng.choice(len(windows), size=min(count, len(windows)), replace=False)
    made = windows.batch([int(i) for i in picks])
    batch = {k: torch.from_numpy(v).to(device) for k, v in made.items()}
    pred = core.lift(batch["pose2d"], batch["confidence"])
    error = mpjpe_loss(pred, batch["pose3d"], batch["valid"]).item() * 1000
    core.train()
    return error


# ----------------------------------------------------------------------------- the loop


def learning_rate(step: int, stage: Stage, elapsed: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to 5 % of the peak at the end of the run.

    The end is the last step or, for a wall-clock budget (`minutes` in the stage), the end of
    the budget: baselines get the same time as MPM, whatever their speed per step.
    """
    peak, warmup, total = stage.lr, stage.warmup, stage.steps
    if step < warmup:
        return peak * (step + 1) / warmup
    if stage.minutes:
        progress = min(1.0, elapsed / (60.0 * stage.minutes))
    else:
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def out_of_time(stage: Stage, elapsed: float, runtime: Runtime) -> bool:
    """Whether a wall-clock budget is spent; rank 0 decides for all ranks."""
    if not stage.minutes:
        return False
    flag = torch.tensor([float(elapsed >= 60.0 * stage.minutes)], device=runtime.device)
    if runtime.world > 1:
        dist.broadcast(flag, src=0)
    return bool(flag.item())


def _load_init(model: nn.Module, init: str) -> tuple[float, float]:
    """Load the starting weights; returns the wall-clock and CPU seconds already spent on them,
    so a fine-tuned model's cost includes its pre-training."""
    payload = torch.load(init, map_location="cpu", weights_only=True)
    model.load_state_dict(payload["state_dict"])
    before = payload.get("meta", {}).get("training", {})
    init_elapsed = float(before.get("total_elapsed_s", before.get("elapsed_s", 0.0)))
    init_cpu = float(before.get("total_cpu_s", 0.0))
    return init_elapsed, init_cpu


def _load_resume(
    last: Path, model: nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[int, float, float, list]:
    """Restore model and optimizer from <out>/last.pt; returns (step, elapsed, cpu, history)
    so the run continues as if never stopped."""
    state = torch.load(last, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    start, elapsed, history = state["step"], state["elapsed"], json.loads(state["history"])
    cpu = float(state.get("cpu", 0.0))
    return start, elapsed, cpu, history


def _step_loader(
    config: TrainConfig,
    stage_name: str,
    seed: int,
    runtime: Runtime,
    train_windows: ClipWindows,
    steps: range,
    workers: int,
) -> DataLoader:
    """One batch per step, drawn by step number (the sampler), so resuming mid-run replays
    nothing and skips nothing."""
    return DataLoader(
        StepBatches(
            train_windows,
            config.stage(stage_name).batch_size,
            seed,
            runtime.rank,
            config.data.source_shares,
            detected_windows(config, seed) if stage_name == "adapt" else (None, 0.0),
        ),
        batch_size=None,
        sampler=steps,
        num_workers=workers,
        prefetch_factor=4 if workers else None,
    )


def _optimizer_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batch: dict[str, torch.Tensor],
    stage_name: str,
    stage: Stage,
    step: int,
    seed: int,
    runtime: Runtime,
    elapsed: float,
) -> tuple[torch.Tensor, dict[str, float]]:
    """One training step; dropout and masks are seeded by (seed, step, rank) so a resumed run
    draws exactly what an uninterrupted one would."""
    batch = {k: v.to(runtime.device, non_blocking=True) for k, v in batch.items()}
    torch.manual_seed(seed * 1_000_003 + step * 64 + runtime.rank)  # dropout of this step
    rng = torch.Generator().manual_seed(seed * 7_919 + step * 64 + runtime.rank)
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(step, stage, elapsed)
    use_amp = runtime.device.type == "cuda"
    with torch.autocast(runtime.device.type, dtype=torch.bfloat16, enabled=use_amp):
        loss, parts = LOSSES[stage_name](model, batch, stage, rng)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), stage.grad_clip)
    optimizer.step()
    return loss, parts


class _Timer:
    """Wall-clock and CPU seconds of the stage, carried over from a resumed checkpoint, so a
    wall-clock budget and the reported cost span all sessions of a run."""

    def __init__(self, elapsed: float, cpu: float) -> None:
        self.elapsed, self.cpu = elapsed, cpu
        self.tick, self.cpu_tick = time.perf_counter(), time.process_time()

    def lap(self) -> None:
        """Add the time since the last lap."""
        now, cpu_now = time.perf_counter(), time.process_time()
        self.elapsed, self.cpu = self.elapsed + now - self.tick, self.cpu + cpu_now - self.cpu_tick
        self.tick, self.cpu_tick = now, cpu_now


def _progress_bar(stage_name: str, stage: Stage, start: int, enabled: bool) -> tqdm:
    """The console bar; a wall-clock budget has no step count to show."""
    return tqdm(
        total=None if stage.minutes else stage.steps,  # a clock budget: no step count
        initial=start,
        desc=stage_name,
        disable=not enabled,
    )


def _show_step(bar: tqdm, loss: torch.Tensor, parts: dict[str, float], fps: float) -> None:
    """Advance the bar with the loss, the throughput and the millimetre parts."""
    bar.update(1)
    shown = {k: f"{v:.1f}" for k, v in parts.items() if k.endswith("mm")}
    bar.set_postfix(loss=f"{loss.item():.4f}", frames_s=f"{fps:.0f}", **shown)


def _step_record(done: int, loss: torch.Tensor, parts: dict[str, float], elapsed: float) -> dict:
    """The history row of one step (validation is added by the caller when due)."""
    return {
        "step": done,
        "loss": round(loss.item(), 6),
        **{k: round(v, 4) for k, v in parts.items()},
        "elapsed_s": round(elapsed, 1),
    }


def train(
    config: TrainConfig,
    stage_name: str,
    out: Path,
    init: str | None = None,
    resume: bool = False,
    device: str = "auto",
    workers: int = 1,
    show_progress: bool = True,
    stop_after: int | None = None,
) -> dict:
    """Run one stage; returns a summary. Checkpoints: <out>/last.pt (resumable), <out>/model.pt.

    stop_after ends the process after that step (with a checkpoint) without changing the
    schedule, as an interrupted session would; --resume then finishes the run.
    """
    runtime = setup_runtime(device)
    stage = config.stage(stage_name)
    seed = int(config.seed)
    torch.manual_seed(seed)
    model_cfg = {k: v for k, v in config.model.items() if k != "kind"}
    model = build_model(config.model["kind"], model_cfg).to(runtime.device)
    # training already in the starting weights (pre-training)
    init_elapsed, init_cpu = _load_init(model, init) if init else (0.0, 0.0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=stage.lr, weight_decay=stage.weight_decay)
    start, elapsed, cpu, history = 0, 0.0, 0.0, []
    last = out / "last.pt"
    end = stage.steps if stop_after is None else min(stage.steps, stop_after)
    if resume and last.is_file():
        start, elapsed, cpu, history = _load_resume(last, model, optimizer)
        if out_of_time(stage, elapsed, runtime):  # a finished wall-clock run: nothing left to do
            end = start
    if runtime.world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    train_windows = make_windows(config, "train", seed)
    val_windows = make_windows(config, "val", seed + 1) if runtime.main else None
    loader = _step_loader(
        config, stage_name, seed, runtime, train_windows, range(start, end), workers
    )
    checkpoint_every = int(config.checkpoint_every)
    validate_every = int(config.validate_every)
    model.train()
    bar = _progress_bar(stage_name, stage, start, show_progress and runtime.main)
    frames_per_step = stage.batch_size * config.window * runtime.world
    timer = _Timer(elapsed, cpu)
    elapsed_at_start, done = elapsed, start
    for step, batch in zip(range(start, end), loader, strict=False):
        loss, parts = _optimizer_step(
            model, optimizer, batch, stage_name, stage, step, seed, runtime, timer.elapsed
        )
        timer.lap()
        done = step + 1
        stop = out_of_time(stage, timer.elapsed, runtime)
        if runtime.main:
            fps = frames_per_step * (done - start) / max(timer.elapsed - elapsed_at_start, 1e-9)
            _show_step(bar, loss, parts, fps)
            record = _step_record(done, loss, parts, timer.elapsed)
            if done % validate_every == 0 or done == stage.steps or stop:
                record["val_noisy_mpjpe_mm"] = round(
                    validate(model, val_windows, runtime.device), 2
                )
            history.append(record)
            if done % checkpoint_every == 0 or done == end or stop:
                clock = Clock(timer.elapsed, timer.cpu, init_elapsed, init_cpu, str(runtime.device))
                _save(out, model, optimizer, done, clock, history, config, stage_name, init)
        if stop:
            break
    bar.close()
    if runtime.world > 1:
        dist.destroy_process_group()
    return {
        "stage": stage_name,
        "steps": done,
        "elapsed_s": round(timer.elapsed, 1),
        "last": history[-1] if history else {},
    }


@dataclass
class Clock:
    """What a run cost, so that models trained at an equal budget can be compared: wall-clock
    and CPU seconds of this stage and of the stages before it (`init_*`, from the starting
    weights). CPU time is the training process's own, over all its threads (loader workers not
    included), so a run that shared the machine shows it."""

    elapsed: float
    cpu: float
    init_elapsed: float = 0.0
    init_cpu: float = 0.0
    device: str = "cpu"


def _save(
    out: Path,
    model,
    optimizer,
    step: int,
    clock: Clock,
    history: list,
    config: TrainConfig,
    stage: str,
    init: str | None = None,
) -> None:
    core = _core(model)
    out.mkdir(parents=True, exist_ok=True)
    state = {
        "model": core.state_dict(),
        "optimizer": optimizer.state_dict(),
        "step": step,
        "elapsed": clock.elapsed,
        "cpu": clock.cpu,
        "history": json.dumps(history),
    }
    tmp = out / "last.pt.tmp"
    torch.save(state, tmp)
    tmp.replace(out / "last.pt")
    last = history[-1] if history else {}
    save_checkpoint(
        out / "model.pt",
        core,
        meta={
            "training": {
                "stage": stage,
                "step": step,
                "elapsed_s": round(clock.elapsed, 1),
                "total_elapsed_s": round(clock.init_elapsed + clock.elapsed, 1),
                "cpu_s": round(clock.cpu, 1),
                "total_cpu_s": round(clock.init_cpu + clock.cpu, 1),
                "device": clock.device,
                "threads": torch.get_num_threads(),
                # how idle threads wait (training.spin_briefly): it changes the CPU a run takes
                "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
                "gomp_spincount": os.environ.get("GOMP_SPINCOUNT", ""),
                "init": init or "",
                "config": json.dumps(config.to_dict()),
                "last": json.dumps(last),
                "model_config": json.dumps(model_config(core)),
            }
        },
    )
    (out / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--stage", choices=STAGES, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--init", help="start from this checkpoint's weights (fine-tuning)")
    parser.add_argument("--resume", action="store_true", help="continue from <out>/last.pt")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--workers", type=int, default=1, help="data-loading processes")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config entry, e.g. --set finetune.steps=100",
    )
    args = parser.parse_args(argv)
    config = load_config(args.config, args.set)
    summary = train(config, args.stage, args.out, args.init, args.resume, args.device, args.workers)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
