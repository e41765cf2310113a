"""Checkpoints: half-size copies lift like the originals; the shipped ones load as what they say."""

from __future__ import annotations

import torch

from mpm_backend.checkpoint import load_lifter, save_checkpoint, save_half
from mpm_backend.model import MPM, MPMConfig


def test_half_checkpoint_lifts_within_a_millimetre(tmp_path):
    torch.manual_seed(0)
    model = MPM(MPMConfig(width=64, ffn=128, heads=4, depth=2, max_frames=27))
    for p in model.parameters():  # heads start at zero; give every weight a real value
        torch.nn.init.normal_(p, std=0.05)
    full = save_checkpoint(tmp_path / "full.pt", model)
    half = save_half(full, tmp_path / "half.pt")
    assert half.stat().st_size < 0.6 * full.stat().st_size
    pose2d, conf = torch.rand(2, 27, 17, 2) * 2 - 1, torch.rand(2, 27, 17)
    with torch.no_grad():
        a = load_lifter(str(full))[0].lift(pose2d, conf)
        b, meta = load_lifter(str(half))
        b = b.lift(pose2d, conf)
    assert meta["stored_dtype"] == "float16"
    assert b.dtype == torch.float32
    assert (a - b).abs().max().item() < 1e-3  # metres


def test_shipped_checkpoints_load_as_their_kind():
    for spec, kind in [
        ("default", "mpm"),
        ("baseline:tcn", "tcn"),
        ("baseline:martinez_mlp", "martinez_mlp"),
    ]:
        model, meta = load_lifter(spec)
        assert meta["kind"] == kind
        assert meta["layout"] == "h36m17"
        assert meta["fps"] == 30
