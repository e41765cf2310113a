"""Model checkpoints: one self-describing file per model, loadable with weights_only=True.

A checkpoint holds the weights and everything needed to use them without the training code:
the model kind and config, the joint layout, the frame rate, the 2D normalisation, a summary of
the training data and run, and the code version. Only tensors and plain Python values go in, so
`torch.load(path, weights_only=True)` reads it (no pickle of arbitrary objects).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import torch
from torch import nn

from mpm_backend import __version__
from mpm_backend.model import MPM, MPMConfig
from mpm_backend.skeleton import H36M17
from mpm_backend.timebase import MODEL_FPS

FORMAT = "mpm-lift-checkpoint"
FORMAT_VERSION = 1
CHECKPOINT_DIR = Path(__file__).with_name("checkpoints")
DEFAULT_CHECKPOINT = CHECKPOINT_DIR / "default.pt"
NORMALISATION = "screen: u_n = 2u/W - 1, v_n = 2v/W - H/W; 3D root-relative camera frame, metres"


def code_version() -> str:
    """Package version plus the git commit when run from a checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit}" if commit else __version__


def build_model(kind: str, config: dict) -> nn.Module:
    """Rebuild a model from its kind and config dict."""
    if kind == "mpm":
        return MPM(MPMConfig(**config))
    from mpm_backend.baselines import build_baseline

    return build_baseline(kind, **config)


def model_config(model: nn.Module) -> dict:
    config = model.config
    return config.to_dict() if hasattr(config, "to_dict") else dict(config)


def save_checkpoint(path: str | Path, model: nn.Module, meta: dict | None = None) -> Path:
    """Write weights + description atomically (a stopped run never leaves a torn file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": model.kind,
        "config": model_config(model),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": {
            "layout": H36M17.name,
            "joints": list(H36M17.joints),
            "fps": MODEL_FPS,
            "normalisation": NORMALISATION,
            "code_version": code_version(),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **(meta or {}),
        },
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def save_half(source: str | Path, target: str | Path) -> Path:
    """Copy a checkpoint with float16 weights: half the bytes in the repository.

    Loading casts them back to float32 (load_state_dict copies into the model's own dtype), so a
    half checkpoint runs exactly like any other; its numbers are measured on the half weights.
    """
    payload = torch.load(source, map_location="cpu", weights_only=True)
    payload["state_dict"] = {
        k: v.half() if v.is_floating_point() else v for k, v in payload["state_dict"].items()
    }
    payload["meta"]["stored_dtype"] = "float16"
    target = Path(target)
    tmp = target.with_name(target.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(target)
    return target


def resolve(spec: str) -> Path:
    """'default', 'baseline:NAME' or a path → the checkpoint file."""
    if spec == "default":
        return DEFAULT_CHECKPOINT
    if spec.startswith("baseline:"):
        return CHECKPOINT_DIR / f"baseline_{spec.split(':', 1)[1]}.pt"
    return Path(spec)


def load_lifter(
    spec: str = "default", device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict]:
    """Load a checkpoint as a ready model in eval mode, plus its description."""
    path = resolve(spec)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path} (asked for {spec!r})")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or foreign files
        raise ValueError(f"{path} is not a readable checkpoint: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not an MPM Lift checkpoint")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"{path} was written by a newer MPM Lift; update the code")
    model = build_model(payload["kind"], payload["config"])
    model.load_state_dict(payload["state_dict"])
    model.to(device).eval()
    meta = dict(payload["meta"], kind=payload["kind"], config=payload["config"], path=str(path))
    return model, meta
