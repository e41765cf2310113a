"""Evaluation harness: windowed lifting, the interpolation reference, metric plumbing, CLI, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mpm_backend.baselines import TemporalConvLifter, fill_missing
from mpm_backend.model import flip_averaged
from training.evaluate import (
    CONDITIONS,
    blend_weights,
    evaluate,
    film_view,
    interpolate_masked,
    lift_sequence,
    load_bvh_clips,
    main,
    window_starts,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mocap"
METRIC_KEYS = {"mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "accel", "pck150", "auc", "per_joint"}


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    _, loaded = load_bvh_clips(EXAMPLES)
    return loaded


class LookupOracle:
    """Knows every input the evaluator will make and the truth behind it, frame by frame.

    The evaluator's inputs are a pure function of (seed, clip, camera), so the test rebuilds them
    with `film_view`; a window is found by its first frame and checked frame by frame, which
    passes the ground truth through without the evaluator knowing.
    """

    def __init__(self, clips, cameras: int, seed: int, max_frames: int = 32):
        self.max_frames = max_frames
        self.sequences: list[tuple[np.ndarray, np.ndarray]] = []
        for c, world in enumerate(clips):
            for k in range(cameras):
                view = film_view(world, seed, c, k)
                for pose2d, confidence in view.inputs.values():
                    self._add(self._key(pose2d, confidence), view.pose3d)
                masked = np.where(view.visible3d[..., None], view.pose3d, 0.0).astype(np.float32)
                self._add(self._key(masked, view.visible3d), view.pose3d)
        self.table: dict[bytes, list[tuple[int, int]]] = {}
        for s, (key, _) in enumerate(self.sequences):
            for t in range(len(key)):
                self.table.setdefault(key[t].tobytes(), []).append((s, t))

    @staticmethod
    def _key(values: np.ndarray, extra: np.ndarray) -> np.ndarray:
        values = np.asarray(values, np.float32)
        return np.concatenate([values, np.asarray(extra, np.float32)[..., None]], axis=-1)

    def _add(self, key: np.ndarray, truth: np.ndarray) -> None:
        self.sequences.append((key, truth))

    def _find(self, window: np.ndarray) -> np.ndarray:
        for s, t in self.table[window[0].tobytes()]:
            key, truth = self.sequences[s]
            if np.array_equal(key[t : t + len(window)], window):
                return truth[t : t + len(window)]
        raise AssertionError("window not made by the evaluator")

    def _answer(self, values: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
        keys = self._key(values.numpy(), extra.numpy())
        return torch.from_numpy(np.stack([self._find(k) for k in keys]).astype(np.float32))

    def lift(self, pose2d: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        return self._answer(pose2d, confidence)

    def complete_3d(self, pose3d: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        return self._answer(pose3d, visible)


class MeanPose:
    """Always the same pose, whatever the input."""

    max_frames = 64

    def __init__(self, pose: np.ndarray):
        self.pose = torch.as_tensor(pose, dtype=torch.float32)

    def lift(self, pose2d: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        return self.pose.expand(*pose2d.shape[:2], 17, 3).clone()


class PerFrame:
    """An exactly per-frame lifter: output frame t depends on input frame t only."""

    def __init__(self, max_frames: int):
        self.max_frames = max_frames
        self.calls: list[tuple[int, ...]] = []

    @staticmethod
    def function(pose2d: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.sin(3 * pose2d), confidence[..., None] ** 2], dim=-1)

    def lift(self, pose2d: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(pose2d.shape))
        return self.function(pose2d, confidence)


class WindowConstant:
    """Returns, for every frame, the mean of the window's input: a different value per window."""

    def __init__(self, max_frames: int):
        self.max_frames = max_frames

    def lift(self, pose2d: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        mean = pose2d[..., :1].mean(dim=(1, 2, 3), keepdim=True)
        return mean.expand(*pose2d.shape[:2], 17, 3).clone()


# --------------------------------------------------------------------------- windowing


def test_window_starts_cover_every_frame():
    assert window_starts(10, 32, 8) == [0]
    assert window_starts(32, 32, 8) == [0]
    starts = window_starts(100, 32, 8)
    assert starts[0] == 0 and starts[-1] == 100 - 32
    covered = np.zeros(100, bool)
    for s in starts:
        covered[s : s + 32] = True
    assert covered.all()


def test_blend_weights_cross_fade_sums_to_one():
    out_ramp = blend_weights(32, 8, fade_in=False, fade_out=True)[-8:]
    in_ramp = blend_weights(32, 8, fade_in=True, fade_out=False)[:8]
    np.testing.assert_allclose(out_ramp + in_ramp, 1.0)
    assert (blend_weights(32, 8, True, True) > 0).all()
    np.testing.assert_array_equal(blend_weights(5, 8, False, False), 1.0)


@pytest.mark.parametrize("length", [1, 31, 32, 80])
def test_lift_sequence_is_exact_for_per_frame_lifter(length):
    window = 32
    rng = np.random.default_rng(length)
    pose2d = rng.normal(size=(length, 17, 2)).astype(np.float32)
    confidence = rng.random((length, 17)).astype(np.float32)
    lifter = PerFrame(window)
    out = lift_sequence(lifter, pose2d, confidence, batch=2)
    expected = PerFrame.function(torch.from_numpy(pose2d), torch.from_numpy(confidence)).numpy()
    assert out.shape == (length, 17, 3)
    np.testing.assert_array_equal(out, expected)
    assert all(shape[1] == min(window, length) and shape[0] <= 2 for shape in lifter.calls)


def test_lift_sequence_blends_windows_without_seams():
    window, overlap, length = 40, 10, 137
    ramp = np.linspace(0.0, 1.36, length)  # 0.01 per frame
    pose2d = np.repeat(ramp[:, None, None], 17, axis=1).repeat(2, axis=2).astype(np.float32)
    confidence = np.ones((length, 17), np.float32)
    out = lift_sequence(WindowConstant(window), pose2d, confidence, overlap=overlap)[:, 0, 0]
    hard_cut = 0.01 * (window - overlap)  # the jump between neighbouring windows' constants
    steps = np.abs(np.diff(out))
    # A raised-cosine cross-fade over `overlap` frames has slope at most π/2 per ramp length.
    assert steps.max() <= hard_cut * np.pi / (2 * overlap) * 1.05
    assert steps.max() < 0.2 * hard_cut


def test_lift_sequence_restores_training_mode_and_validates_window():
    model = TemporalConvLifter(channels=8, max_frames=16)
    model.train()
    out = lift_sequence(model, np.zeros((40, 17, 2)), np.ones((40, 17)))
    assert out.shape == (40, 17, 3) and model.training
    with pytest.raises(ValueError, match="window"):
        lift_sequence(model, np.zeros((40, 17, 2)), np.ones((40, 17)), window=17)


# --------------------------------------------------------------------------- interpolation


def test_interpolation_exact_for_linear_motion():
    frames = 20
    t = np.arange(frames, dtype=np.float64)
    values = np.zeros((frames, 17, 3))
    values[:, 12] = np.stack([0.1 * t, -0.05 * t + 1, 0.3 + 0 * t], axis=-1)
    visible = np.ones((frames, 17), dtype=bool)
    visible[3:15, 12] = False
    poisoned = values.copy()
    poisoned[~visible] = 99.0
    np.testing.assert_allclose(interpolate_masked(poisoned, visible), values, atol=1e-12)
    visible[:5, 7] = False
    visible[18:, 9] = False  # held at the ends
    filled = interpolate_masked(values + np.arange(17)[None, :, None], visible)
    np.testing.assert_allclose(filled[:5, 7], np.broadcast_to(filled[5, 7], (5, 3)))
    np.testing.assert_allclose(filled[18:, 9], np.broadcast_to(filled[17, 9], (2, 3)))


def test_interpolation_matches_torch_fill_missing():
    rng = np.random.default_rng(4)
    values = rng.normal(size=(30, 17, 2))
    visible = rng.random((30, 17)) > 0.5
    visible[:, 13] = False  # never seen: collapses onto its parent
    visible[:, 0] = False
    numpy_out = interpolate_masked(values, visible)
    torch_out = fill_missing(
        torch.from_numpy(values)[None], torch.from_numpy(visible.astype(np.float64))[None]
    )[0].numpy()
    np.testing.assert_allclose(numpy_out, torch_out, atol=1e-12)


# --------------------------------------------------------------------------- evaluation


def test_oracle_scores_zero_everywhere(clips):
    oracle = LookupOracle(clips, cameras=2, seed=3)
    summary = evaluate(oracle, clips, cameras=2, seed=3, fit_fills=False)
    for condition in CONDITIONS:
        result = summary["conditions"][condition]
        assert result["mpjpe"] < 1e-3, condition
        assert result["p_mpjpe"] < 1e-3 and result["mpjve"] < 1e-3
        assert result["pck150"] == 100.0
        # float32 round-off is > 0 mm, so only the 0 mm threshold of the 31 misses
        assert result["auc"] >= 30 / 31 * 100 - 1e-3
    assert summary["conditions"]["occluded"]["mpjpe_hidden"] < 1e-3
    reference = summary["references"]["interpolation"]["conditions"]["complete3d"]
    assert reference["mpjpe"] > 1.0  # interpolation is not perfect on real motion
    # as the backend gives it (fitted to the seen joints), a perfect fill stays all but perfect
    fitted = evaluate(oracle, clips, cameras=2, seed=3, conditions=("complete3d",))
    assert fitted["conditions"]["complete3d"]["mpjpe"] < 1.0


def test_mean_pose_scores_badly_and_has_no_completion(clips):
    view = film_view(clips[0], 0, 0, 0)
    summary = evaluate(MeanPose(view.pose3d.mean(axis=0)), clips, cameras=2, seed=0)
    for condition in ("clean", "noisy", "occluded"):
        assert summary["conditions"][condition]["mpjpe"] > 50.0
    assert summary["conditions"]["complete3d"] is None
    assert summary["references"]["interpolation"]["conditions"]["complete3d"]["mpjpe"] > 0


def test_conditions_inputs(clips):
    view = film_view(clips[1], 0, 1, 2)
    pose2d, confidence = view.inputs["clean"]
    shown = confidence > 0
    np.testing.assert_allclose(pose2d[shown], view.clean2d[shown], atol=1e-6)
    assert set(np.unique(confidence)) <= {0.0, 1.0}
    occluded, occluded_conf = view.inputs["occluded"]
    noisy, noisy_conf = view.inputs["noisy"]
    assert (occluded_conf[view.hidden2d] == 0).all() and (occluded[view.hidden2d] == 0).all()
    kept = ~view.hidden2d
    np.testing.assert_array_equal(occluded[kept], noisy[kept])
    tube_frames = (~view.visible3d).any(axis=1).sum()
    assert 1 <= tube_frames <= len(clips[1])
    hidden_share = view.hidden2d.mean()
    assert 0.1 <= hidden_share < 0.5
    np.testing.assert_allclose(view.pose3d[:, 0], 0.0)


def test_deterministic_per_seed(clips):
    model = TemporalConvLifter(channels=16, max_frames=48)
    torch.manual_seed(0)
    model.eval()
    first = evaluate(model, clips[:2], cameras=2, seed=5)
    again = evaluate(model, clips[:2], cameras=2, seed=5)
    other = evaluate(model, clips[:2], cameras=2, seed=6)
    assert first["conditions"] == again["conditions"]
    assert first["conditions"]["noisy"]["mpjpe"] != other["conditions"]["noisy"]["mpjpe"]


def test_cli_writes_json_and_figure(tmp_path):
    model = TemporalConvLifter(channels=16, max_frames=32)

    def loader(spec: str):
        assert spec == "baseline:tcn"
        return model, {"kind": "tcn", "config": model.config, "weights": object()}

    out = tmp_path / "result.json"
    main(
        ["--bvh", str(EXAMPLES), "--baseline", "tcn", "--cameras", "2", "--json", str(out),
         "--limit-frames", "60"],
        loader=loader,
    )  # fmt: skip
    summary = json.loads(out.read_text())
    assert set(summary) >= {"checkpoint", "model", "data", "occlusion", "conditions", "references"}
    assert summary["checkpoint"] == "baseline:tcn"
    assert summary["model"]["kind"] == "tcn"
    assert summary["model"]["parameters"] == sum(p.numel() for p in model.parameters())
    assert "weights" not in summary["model"]["meta"]
    data = summary["data"]
    assert data["cameras"] == 2 and data["seed"] == 0 and len(data["files"]) == 4
    assert data["frames"] == 60 + 41 + 60 + 22  # three CMU BVH clips and one HDM05 AMC clip
    assert data["sources"] == ["", "", "", ""]  # files found without a manifest
    assert set(summary["conditions"]) == set(CONDITIONS)
    for condition in ("clean", "noisy", "occluded"):
        assert set(summary["conditions"][condition]) >= METRIC_KEYS
        assert len(summary["conditions"][condition]["per_joint"]) == 17
    assert summary["conditions"]["complete3d"] is None
    assert set(summary["references"]["interpolation"]["conditions"]["complete3d"]) >= METRIC_KEYS
    assert summary["occlusion"]["random_joint_fraction"] == 0.1
    assert (tmp_path / "result.png").stat().st_size > 10_000


def test_cli_flip_scores_the_mirror_averaged_lifter(tmp_path):
    """--flip evaluates the lifter averaged with its run on the mirror image: the scores are
    those of flip_averaged(lifter), and differ from the plain lifter's."""
    torch.manual_seed(0)
    model = TemporalConvLifter(channels=16, max_frames=32).eval()
    args = ["--bvh", str(EXAMPLES), "--baseline", "tcn", "--cameras", "1", "--limit-frames", "60",
            "--conditions", "noisy", "--no-figure"]  # fmt: skip
    flipped = main([*args, "--flip"], loader=lambda spec: (model, {"kind": "tcn"}))
    plain = main(args, loader=lambda spec: (model, {"kind": "tcn"}))
    _, clips = load_bvh_clips(EXAMPLES, limit_frames=60)
    expected = evaluate(flip_averaged(model), clips, cameras=1, conditions=("noisy",))
    assert flipped["flip"] is True and plain["flip"] is False
    mpjpe = flipped["conditions"]["noisy"]["mpjpe"]
    assert mpjpe == pytest.approx(expected["conditions"]["noisy"]["mpjpe"], abs=1e-6)
    assert abs(mpjpe - plain["conditions"]["noisy"]["mpjpe"]) > 0.1


def test_cli_split_needs_manifest(tmp_path):
    with pytest.raises(ValueError, match="manifest"):
        main(["--bvh", str(EXAMPLES), "--split", "val", "--no-figure"], loader=None)


def test_manifest_split_selects_files_with_their_fps(mocap_dir):
    from training.evaluate import find_bvh_files

    val = find_bvh_files(mocap_dir, "val")
    train = find_bvh_files(mocap_dir, "train")
    assert val and train and not {p for p, _ in val} & {p for p, _ in train}
    assert len(find_bvh_files(mocap_dir)) == len(val) + len(train)
    assert all(path.is_file() and fps is not None and fps > 0 for path, fps in val)
