"""Baseline lifters: gap filling, shapes, root, receptive field, sizes, rebuild from config."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mpm_backend.baselines import (
    MartinezMLP,
    TemporalConvLifter,
    build_baseline,
    fill_missing,
)
from mpm_backend.skeleton import H36M17


def _track(b: int = 1, t: int = 8, j: int = 17) -> torch.Tensor:
    """(B, T, J, 2) with value = 10·frame + joint on x and −frame on y: easy to read."""
    frame = torch.arange(t, dtype=torch.float32).view(1, t, 1)
    joint = torch.arange(j, dtype=torch.float32).view(1, 1, j)
    x = (10 * frame + joint).expand(b, t, j)
    y = (-frame).expand(b, t, j)
    return torch.stack([x, y], dim=-1).clone()


def test_fill_missing_interpolates_gaps_and_holds_ends():
    pose = _track()
    conf = torch.ones(1, 8, 17)
    knee = H36M17.index("left_knee")
    conf[0, 2:5, knee] = 0.0  # gap between frames 1 and 5
    conf[0, :2, 3] = 0.0  # hidden at the start: hold frame 2
    conf[0, 6:, 16] = 0.0  # hidden at the end: hold frame 5
    corrupted = pose.clone()
    corrupted[conf == 0] = float("nan")  # never read
    filled = fill_missing(corrupted, conf)
    torch.testing.assert_close(filled[0, :, knee], pose[0, :, knee])  # linear track: exact
    torch.testing.assert_close(filled[0, :2, 3], pose[0, 2, 3].expand(2, 2))
    torch.testing.assert_close(filled[0, 6:, 16], pose[0, 5, 16].expand(2, 2))
    visible = conf > 0
    torch.testing.assert_close(filled[visible], pose[visible])


def test_fill_missing_hand_values_non_linear():
    pose = torch.zeros(1, 5, 17, 2)
    pose[0, :, 0, 0] = torch.tensor([0.0, 99.0, 99.0, 99.0, 4.0])
    conf = torch.ones(1, 5, 17)
    conf[0, 1:4, 0] = 0.1
    filled = fill_missing(pose, conf, threshold=0.5)
    torch.testing.assert_close(filled[0, :, 0, 0], torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0]))


def test_fill_missing_never_visible_joints():
    pose = _track(t=4)
    conf = torch.ones(1, 4, 17)
    wrist, elbow = H36M17.index("right_wrist"), H36M17.index("right_elbow")
    conf[0, :, [elbow, wrist]] = 0.0  # whole forearm unseen: both collapse onto the shoulder
    filled = fill_missing(pose, conf)
    shoulder = pose[0, :, H36M17.index("right_shoulder")]
    torch.testing.assert_close(filled[0, :, elbow], shoulder)
    torch.testing.assert_close(filled[0, :, wrist], shoulder)
    conf[0, :, 0] = 0.0  # no pelvis either: the mean of the seen joints
    filled = fill_missing(pose, conf)
    seen = [j for j in range(17) if j not in (0, elbow, wrist)]
    torch.testing.assert_close(filled[0, :, 0], pose[0, :, seen].mean(dim=1))
    nothing = fill_missing(pose, torch.zeros(1, 4, 17))
    assert torch.count_nonzero(nothing) == 0


def test_fill_missing_batch_independent():
    pose = _track(b=3, t=6)
    conf = torch.rand(3, 6, 17)
    together = fill_missing(pose, conf, 0.3)
    alone = torch.cat([fill_missing(pose[i : i + 1], conf[i : i + 1], 0.3) for i in range(3)])
    torch.testing.assert_close(together, alone)


@pytest.mark.parametrize(
    "model",
    [MartinezMLP(width=64, blocks=2), TemporalConvLifter(channels=32, blocks=2)],
    ids=["mlp", "tcn"],
)
def test_shapes_root_and_missing_input(model):
    model.eval()
    pose = torch.randn(3, 30, 17, 2) * 0.3
    conf = torch.rand(3, 30, 17)
    conf[conf < 0.2] = 0.0
    pose[conf == 0] = 0.0
    out = model.lift(pose, conf)
    assert out.shape == (3, 30, 17, 3)
    assert torch.isfinite(out).all()
    assert torch.count_nonzero(out[:, :, H36M17.index("pelvis")]) == 0
    assert model.lift(pose[:, :1], conf[:, :1]).shape == (3, 1, 17, 3)
    with pytest.raises(ValueError):
        model.lift(
            torch.zeros(1, model.max_frames + 1, 17, 2), torch.ones(1, model.max_frames + 1, 17)
        )


def _changed_frames(model, t_len: int, t: int) -> np.ndarray:
    model.eval()
    torch.manual_seed(0)
    pose = torch.randn(1, t_len, 17, 2)
    conf = torch.ones(1, t_len, 17)
    with torch.no_grad():
        base = model.lift(pose, conf)
        pose2 = pose.clone()
        pose2[0, t] += 0.5
        moved = model.lift(pose2, conf)
    return torch.nonzero((moved - base).abs().amax(dim=(0, 2, 3)) > 0).flatten().numpy()


@pytest.mark.parametrize("blocks,rf", [(2, 27), (3, 81)])
def test_tcn_receptive_field(blocks, rf):
    model = TemporalConvLifter(channels=16, blocks=blocks)
    assert model.receptive_field == rf
    half = (rf - 1) // 2
    t_len = rf + 40
    for t in (t_len // 2, 0, t_len - 1):
        changed = _changed_frames(model, t_len, t)
        expected = np.arange(max(t - half, 0), min(t + half, t_len - 1) + 1)
        np.testing.assert_array_equal(changed, expected)


def test_mlp_is_per_frame():
    np.testing.assert_array_equal(_changed_frames(MartinezMLP(width=32), 20, 7), [7])


def test_parameter_counts_match_papers():
    tcn = build_baseline("tcn")
    mlp = build_baseline("martinez_mlp")
    assert tcn.receptive_field == 27
    assert 2.1e6 < tcn.num_parameters() < 2.3e6  # VideoPose3D, 27 frames, 512 channels
    assert 4.0e6 < mlp.num_parameters() < 4.4e6  # Martinez et al. ~4 M


@pytest.mark.parametrize("kind", ["martinez_mlp", "tcn"])
def test_rebuild_from_config(kind):
    small = {"martinez_mlp": {"width": 48}, "tcn": {"channels": 24, "blocks": 3}}[kind]
    model = build_baseline(kind, max_frames=81, **small)
    clone = build_baseline(model.kind, **model.config)
    clone.load_state_dict(model.state_dict())
    assert clone.config == model.config and clone.max_frames == 81
    model.eval()
    clone.eval()
    pose, conf = torch.randn(2, 10, 17, 2), torch.ones(2, 10, 17)
    torch.testing.assert_close(model.lift(pose, conf), clone.lift(pose, conf))
    with pytest.raises(ValueError, match="unknown baseline"):
        build_baseline("nope")


def test_trains_one_step():
    model = TemporalConvLifter(channels=16)
    model.train()
    pose, target = torch.randn(4, 27, 17, 2), torch.randn(4, 27, 17, 3)
    loss = (model(pose) - target).norm(dim=-1).mean()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
