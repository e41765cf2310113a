"""Train the foot-contact classifier that foot lock uses (`blender_addon/core/contact_model.py`).

Training-split mocap (CMU and ReActIdle; never HDM05) is filmed by random hand-held cameras
(`training.data.cameras`), given a detector's noise, lifted by the shipped model and levelled
as the add-on does (`blender_addon.result.level_joints`); the labels are the mocap's own
contacts (`devtools.quality_metrics.contacts`: the ankle near its floor and still). The val
split (CMU val, HDM05) is lifted the same way and only measured.

    python -m devtools.contact_training                     # ~4 min; writes contact_model.json
    python -m devtools.contact_training --check             # measure the shipped weights on val only
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
FPS = 30.0
# Training stretches of 1 to 10 s, each lifted as its own track: users' clips are often short,
# and a lift's first and last frames (a landing the clip ends on) are where it is least sure.
# The val split is measured on stretches of up to 10 s.
TRAIN_FRAMES, VAL_FRAMES = (30, 300), (300, 300)
HIDDEN = 32
TRAIN_SOURCES = {"cmu_actions", "cmu_dance", "reactidle"}
VAL_SOURCES = {"cmu_actions", "cmu_dance", "hdm05"}
# The model lifts the training clips' own bodies better than anyone's, and the clips hold few
# crouches, so most stretches are re-posed on a newly drawn body in the training's postures.
REPOSED = 0.8


def _batch_config():
    """The batch's defaults: what a user's `python -m blender_addon.batch` lifts and levels by."""
    from blender_addon.batch_cli import build_parser, config_from_args

    return config_from_args(
        build_parser().parse_args(["tracks", "--rig", "metarig", "--out", "out"])
    )


def _bodies():
    """The training's bodies and postures (crouches, bends) without its bone-angle changes,
    which would slide planted feet."""
    from training.data.bodies import BodyConfig

    return BodyConfig(arm_swing_deg=0.0, leg_swing_deg=0.0, elbow_flex_deg=0.0, knee_flex_deg=0.0)


def film(joints: np.ndarray, rng: np.random.Generator):
    """A Track of the clip (T, 17, 3, Y up) as a random hand-held camera and a detector see it."""
    from mpm_backend.tracks.track import Track
    from training.data.cameras import sample_camera
    from training.data.corruption import NoiseConfig, corrupt_2d

    camera = sample_camera(rng, joints)
    uv = camera.project(camera.world_to_camera(joints))
    noisy, confidence = corrupt_2d(uv, camera.width, camera.height, rng, NoiseConfig())
    return Track(noisy, confidence, "h36m17", fps=FPS, image_size=(camera.width, camera.height))


def segments(
    mocap: Path, split: str, sources: set[str], per_file: int, seed: int, lengths: tuple[int, int]
):
    """(name, (T, 17, 3) Y-up joints) of `per_file` seeded stretches of each clip, T drawn in
    `lengths` (fewer where the clip is short), skipping the clip's first second (some files
    open with the legs settling)."""
    from training.data.sources import find_mocap_files, load_files

    rng = np.random.default_rng(seed)
    rows = find_mocap_files(mocap, split, sources)
    for item, clip in load_files(rows, target_fps=FPS):
        usable = len(clip.joints) - int(FPS)
        if usable < 2 * FPS:
            continue
        for _ in range(per_file):
            frames = int(rng.integers(lengths[0], lengths[1] + 1))
            start = int(FPS) + int(rng.integers(0, max(usable - frames, 0) + 1))
            yield (
                f"{item.source}/{Path(item.path).stem}@{start}",
                clip.joints[start : start + frames],
            )


def examples(
    engine,
    mocap: Path,
    split: str,
    sources: set[str],
    per_file: int,
    seed: int,
    *,
    reposed: float,
    lengths: tuple[int, int],
):
    """Per `segments` stretch, a share `reposed` of them on a new body: (name, window features
    (T, 2, F), the mocap's contacts (T, 2), the levelled joints (T, 17, 3) cleanup reads)."""
    from blender_addon import lifters, result
    from blender_addon.core import cleanup
    from devtools.quality_metrics import contacts
    from training.data.bodies import repose

    config = _batch_config()
    rng = np.random.default_rng(seed)
    out = []
    for name, joints in segments(mocap, split, sources, per_file, seed, lengths):
        if rng.random() < reposed:
            joints = repose(joints, rng, _bodies())
        track = film(joints, rng)
        lifted = engine.lift(**lifters.lift_request_for(track, config).arguments())
        arrays = {"joints3d": lifted.joints3d, "root": lifted.root}
        level, _ = result.level_joints(arrays, FPS, config.options)
        features = cleanup.contact_features(level, FPS)
        out.append((name, features, contacts(joints, FPS), level))
    return out


def _stack(items) -> tuple[torch.Tensor, torch.Tensor]:
    x = np.concatenate([f.reshape(-1, f.shape[-1]) for _, f, _, _ in items])
    y = np.concatenate([c.reshape(-1) for _, _, c, _ in items])
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


def train(items, steps: int, seed: int) -> dict:
    """Fit the classifier (BCE, AdamW) on every foot-frame; its weights as contact_model reads."""
    torch.manual_seed(seed)
    x, y = _stack(items)
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    x = (x - mean) / std
    net = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], HIDDEN),
        torch.nn.Tanh(),
        torch.nn.Linear(HIDDEN, HIDDEN),
        torch.nn.Tanh(),
        torch.nn.Linear(HIDDEN, 1),
    )
    optimiser = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    generator = torch.Generator().manual_seed(seed)
    for step in range(steps):
        batch = torch.randint(0, len(x), (4096,), generator=generator)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x[batch])[:, 0], y[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 500 == 0:
            print(f"step {step}: loss {loss.item():.4f}", file=sys.stderr)
    linear = [m for m in net if isinstance(m, torch.nn.Linear)]
    return {
        "features": len(x[0]),
        "mean": _rounded(mean),
        "std": _rounded(std),
        "layers": [{"weight": _rounded(m.weight), "bias": _rounded(m.bias)} for m in linear],
    }


def _rounded(values: torch.Tensor) -> list:
    """Nested lists of 5 significant digits: half the JSON, the same contacts."""
    return np.vectorize(lambda v: float(f"{v:.5g}"))(values.detach().numpy()).tolist()


def scores(items, weights: dict | None) -> dict[str, float]:
    """Per foot-frame agreement with the mocap's contacts, after the cleanup's own hysteresis;
    `weights` None: the cleanup's thresholds (`cleanup.detect_foot_contacts`) instead."""
    from blender_addon.core import cleanup, contact_model
    from blender_addon.core.filters import butterworth

    held = truth = both = frames = 0
    for _, features, true, level in items:
        if weights is None:  # as `cleanup.clean_joints(contacts="thresholds")` reads them
            copy = butterworth(level, FPS, cleanup.CONTACT_SMOOTH_HZ)
            found = cleanup.detect_foot_contacts(
                copy, FPS, lead=cleanup.CONTACT_LEAD, trail=cleanup.CONTACT_TRAIL
            )
        else:
            found = cleanup.contacts_from_probability(
                contact_model.classify(features, weights), FPS
            )
        held += int(found.sum())
        truth += int(true.sum())
        both += int((found & true).sum())
        frames += true.size
    return {
        "foot_frames": frames,
        "true_contacts": truth,
        "found": held,
        "precision": round(both / max(held, 1), 3),
        "recall": round(both / max(truth, 1), 3),
    }


def main(argv: list[str] | None = None) -> int:
    from blender_addon.core import contact_model
    from mpm_backend.inference import Engine

    parser = argparse.ArgumentParser(
        prog="python -m devtools.contact_training", description=__doc__
    )
    parser.add_argument("--mocap", type=Path, default=ROOT.parent / "shared" / "mocap")
    parser.add_argument("--per-file", type=int, default=16, help="stretches of each train clip")
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=contact_model.WEIGHTS)
    parser.add_argument("--check", action="store_true", help="measure the shipped weights only")
    args = parser.parse_args(argv)
    tick = time.perf_counter()
    engine = Engine("default", device="cpu")
    val = examples(
        engine, args.mocap, "val", VAL_SOURCES, 1, args.seed + 1, reposed=0.0, lengths=VAL_FRAMES
    )
    if args.check:
        print(json.dumps(scores(val, contact_model.load_weights(args.out)), indent=1))
        return 0
    items = examples(
        engine,
        args.mocap,
        "train",
        TRAIN_SOURCES,
        args.per_file,
        args.seed,
        reposed=REPOSED,
        lengths=TRAIN_FRAMES,
    )
    print(
        f"{len(items)} train stretches lifted, {time.perf_counter() - tick:.0f} s", file=sys.stderr
    )
    weights = train(items, args.steps, args.seed)
    given = sys.argv[1:] if argv is None else argv
    command = " ".join(["python -m devtools.contact_training", *given])
    weights["trained_on"] = {"stretches": len(items), "command": command}
    report = {
        "train": scores(items, weights),
        "val": scores(val, weights),
        "val_cmu": scores([v for v in val if v[0].startswith("cmu")], weights),
        "val_thresholds": scores(val, None),
        "val_cmu_thresholds": scores([v for v in val if v[0].startswith("cmu")], None),
    }
    weights["scores"] = report
    args.out.write_text(json.dumps(weights) + "\n")
    print(json.dumps(report, indent=1))
    print(f"wrote {args.out} ({time.perf_counter() - tick:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
