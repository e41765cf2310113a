"""The MPM network: tasks as masking patterns, mask tokens, MAE frame dropping, flip TTA, checkpoints."""

from __future__ import annotations

import pytest
import torch

from mpm_backend.checkpoint import load_lifter, save_checkpoint
from mpm_backend.model import MPM, MPMConfig, flip_2d, flip_averaged, mirror_joints, mirror_pose
from mpm_backend.skeleton import H36M17

PELVIS = H36M17.index("pelvis")
SMALL = MPMConfig(width=32, ffn=64, heads=2, depth=2, max_frames=27, dropout=0.0)


@pytest.fixture
def model() -> MPM:
    torch.manual_seed(0)
    m = MPM(SMALL).eval()
    for p in m.parameters():  # heads start at zero; give them weights so outputs depend on input
        torch.nn.init.normal_(p, std=0.1)
    return m


def inputs(batch=2, frames=27):
    g = torch.Generator().manual_seed(1)
    return torch.randn(batch, frames, 17, 2, generator=g) * 0.3, torch.rand(
        batch, frames, 17, generator=g
    ) * 0.5 + 0.5


def test_every_task_gives_every_frame_root_relative(model):
    pose2d, conf = inputs()
    pose3d, completed = model.lift_and_complete(pose2d, conf)
    assert pose3d.shape == (2, 27, 17, 3) and completed.shape == (2, 27, 17, 2)
    assert torch.equal(pose3d[..., PELVIS, :], torch.zeros(2, 27, 3))
    visible = torch.ones(2, 27, 17, dtype=torch.bool)
    assert model.complete_3d(pose3d, visible).shape == (2, 27, 17, 3)


@pytest.mark.parametrize("frames", [1, 5, 26, 27])
def test_any_window_up_to_the_trained_length(model, frames):
    pose2d, conf = inputs(frames=frames)
    assert model.lift(pose2d, conf).shape == (2, frames, 17, 3)


def test_longer_window_than_trained_is_refused(model):
    pose2d, conf = inputs(frames=28)
    with pytest.raises(ValueError, match="exceeds the model's 27"):
        model.lift(pose2d, conf)


def test_hidden_joints_enter_as_mask_tokens_not_as_values(model):
    pose2d, conf = inputs()
    conf[:, 10:14, H36M17.index("left_wrist")] = 0.0  # below the visibility threshold
    moved = pose2d.clone()
    moved[:, 10:14, H36M17.index("left_wrist")] += 5.0  # wherever the hidden joint claims to be
    with torch.no_grad():
        assert torch.allclose(model.lift(pose2d, conf), model.lift(moved, conf), atol=1e-6)
        # ... and a hidden joint is not the same as a joint seen at zero with confidence 0.
        seen_at_zero = pose2d.clone()
        seen_at_zero[:, 10:14, H36M17.index("left_wrist")] = 0.0
        assert not torch.allclose(
            model(torch.cat([seen_at_zero, conf[..., None]], -1), "2d", None)["3d"],
            model.lift(pose2d, conf),
            atol=1e-4,
        )


def test_dropped_frames_do_not_reach_the_trunk(model):
    pose2d, conf = inputs(batch=1)
    x = torch.cat([pose2d, conf[..., None]], -1)
    keep = torch.tensor([[0, 3, 8, 20]])
    changed = x.clone()
    changed[:, 1:3] += 3.0  # frames 1 and 2 are dropped
    with torch.no_grad():
        a = model(x, "2d", None, keep, ("3d", "2d"))
        b = model(changed, "2d", None, keep, ("3d", "2d"))
    assert torch.allclose(a["3d"], b["3d"], atol=1e-6) and torch.allclose(
        a["2d"], b["2d"], atol=1e-6
    )


def test_flip_averaging_is_mirror_consistent(model):
    pose2d, conf = inputs()
    tta = flip_averaged(model)
    with torch.no_grad():
        direct = tta.lift(pose2d, conf)
        mirrored = tta.lift(*flip_2d(pose2d, conf))
    assert torch.allclose(mirror_pose(mirrored), direct, atol=1e-5)
    # MPM's completions are mirror-averaged too: the mirror's fills are the fills' mirror.
    with torch.no_grad():
        lifted, completed2d = tta.lift_and_complete(pose2d, conf)
        lifted_m, completed2d_m = tta.lift_and_complete(*flip_2d(pose2d, conf))
        pose3d, visible = lifted, conf > 0.75  # about half hidden
        filled = tta.complete_3d(pose3d, visible)
        filled_m = tta.complete_3d(mirror_pose(pose3d), mirror_joints(visible))
    assert torch.allclose(lifted, direct, atol=1e-6)
    assert torch.allclose(mirror_pose(lifted_m), lifted, atol=1e-5)
    assert torch.allclose(mirror_pose(completed2d_m), completed2d, atol=1e-5)
    assert torch.allclose(mirror_pose(filled_m), filled, atol=1e-5)
    # Flipping swaps sides: the mirrored left wrist is the right wrist with x negated.
    flipped, _ = flip_2d(pose2d, conf)
    lw, rw = H36M17.index("left_wrist"), H36M17.index("right_wrist")
    assert torch.equal(flipped[..., lw, 0], -pose2d[..., rw, 0])


def test_checkpoint_round_trip_with_weights_only(model, tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", model, meta={"training": {"note": "test"}})
    raw = torch.load(path, weights_only=True)  # no arbitrary pickles inside
    assert raw["kind"] == "mpm" and raw["config"]["max_frames"] == 27
    loaded, meta = load_lifter(str(path))
    assert meta["layout"] == "h36m17" and meta["fps"] == 30.0 and meta["training"]["note"] == "test"
    assert (
        meta["joints"] == list(H36M17.joints) and "normalisation" in meta and meta["code_version"]
    )
    pose2d, conf = inputs()
    with torch.no_grad():
        assert torch.equal(loaded.lift(pose2d, conf), model.lift(pose2d, conf))


def test_unreadable_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_lifter(str(bad))
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_lifter(str(tmp_path / "missing.pt"))


def test_centred_2d_input_ignores_hidden_joints_and_keeps_position_apart():
    from mpm_backend.model import _centred

    torch.manual_seed(0)
    pose = torch.rand(2, 5, 17, 3)
    visible = torch.rand(2, 5, 17) > 0.3
    rel, extra = _centred(pose, visible)
    w = visible.float()[..., None]
    mean = (rel[..., :2] * w).sum(-2) / w.sum(-2)
    rms = ((rel[..., :2] ** 2).sum(-1) * visible).sum(-1) / visible.sum(-1)
    assert torch.allclose(mean, torch.zeros_like(mean), atol=1e-5)
    assert torch.allclose(rms, torch.ones_like(rms), atol=1e-4)
    assert torch.equal(rel[..., 2], pose[..., 2])  # confidence untouched
    garbage = torch.where(visible[..., None], pose, torch.full_like(pose, 1e6))
    rel2, extra2 = _centred(garbage, visible)
    assert torch.allclose(extra, extra2) and torch.allclose(rel[visible], rel2[visible])
    shifted, extra3 = _centred(pose + torch.tensor([0.3, -0.2, 0.0]), visible)
    assert torch.allclose(shifted, rel, atol=1e-5)  # a moved person looks the same ...
    assert torch.allclose(extra3[..., :2] - extra[..., :2], torch.tensor([0.3, -0.2]), atol=1e-5)


def patched_model() -> MPM:
    """A small model with three frames per token and weights that make outputs input-dependent."""
    torch.manual_seed(0)
    config = MPMConfig(width=32, ffn=64, heads=2, depth=1, max_frames=27, frames_per_token=3)
    patched = MPM(config).eval()
    for p in patched.parameters():
        torch.nn.init.normal_(p, std=0.1)
    return patched


def test_temporal_patches_keep_every_frame_and_drop_whole_tokens():
    patched = patched_model()
    config = patched.config
    assert config.max_tokens == 9 and patched.tokens(25) == 9
    for frames in (1, 4, 25, 27):  # ragged last token: padded inside, cropped on the way out
        pose2d, conf = inputs(frames=frames)
        pose3d, completed = patched.lift_and_complete(pose2d, conf)
        assert pose3d.shape == (2, frames, 17, 3) and completed.shape == (2, frames, 17, 2)
    pose2d, conf = inputs()
    x = torch.cat([pose2d, conf[..., None]], -1)
    keep = torch.tensor([[0, 4, 8], [1, 2, 3]])  # token indices, three frames each
    with torch.no_grad():
        out = patched(x, "2d", conf > 0.2, keep, ("3d",))["3d"]
        changed = x.clone()
        changed[0, 3:6] += 1.0  # frames 3-5 are token 1: dropped for the first sample
        assert torch.equal(out[0], patched(changed, "2d", conf > 0.2, keep, ("3d",))["3d"][0])
    assert "merge.weight" not in MPM(SMALL).state_dict()  # one frame per token: no merge layer


def test_patched_model_averages_runs_with_shifted_token_borders_at_inference():
    patched = patched_model()
    pose2d, conf = inputs(batch=1)
    x = torch.cat([pose2d, conf[..., None]], -1)
    with torch.no_grad():
        runs = [patched(x[:, s:], "2d", conf[:, s:] > 0.2)["3d"] for s in range(3)]
        lifted = patched.lift(pose2d, conf)
    expected = torch.stack([runs[0][:, 2:], runs[1][:, 1:], runs[2]]).mean(0)
    assert torch.allclose(lifted[:, 2:], expected, atol=1e-6)
    assert torch.allclose(lifted[:, 0], runs[0][:, 0])  # frame 0 is only in the unshifted run
    patched.train()  # training: one pass, the token borders where the batch has them
    torch.manual_seed(1)
    one = patched(x, "2d", conf > 0.2)["3d"]
    torch.manual_seed(1)
    assert torch.equal(patched.lift(pose2d, conf), one)
