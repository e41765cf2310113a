"""Real-detector training data (training.detected): a real render, real MediaPipe, real training.

Skipped without the render extra (bpy, body assets) and the video extra (mediapipe).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("bpy")
pytest.importorskip("cv2")
pytest.importorskip("mediapipe")

from training.render.assets import assets_available  # noqa: E402

if not assets_available():
    pytest.skip("no body assets: run scripts/install_render.sh", allow_module_level=True)

from mpm_backend.screen import denormalise_screen  # noqa: E402
from mpm_backend.skeleton import H36M17  # noqa: E402
from training import retrain  # noqa: E402
from training.config import DetectedConfig  # noqa: E402
from training.data.dataset import ClipWindows, WindowConfig  # noqa: E402
from training.detected import DetectedWindows, load_clip, main, plan_files, training_rows  # noqa: E402
from training.train import StepBatches, load_config, train  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WALK = REPO / "examples" / "mocap" / "cmu_actions_train_walking_1.bvh"
MOCAP = REPO.parent / "shared" / "mocap"
TINY = REPO / "training" / "configs" / "tiny.yaml"
FRAMES = 12
# Close enough that a 320×240 person is tall enough for MediaPipe.
ARGS = ["--frames", str(FRAMES), "--size", "320x240", "--distance", "2.5", "3.5", "--quiet"]


def build_args(out: Path, clips: int = 1) -> list[str]:
    return ["build", "--mocap", str(WALK), "--out", str(out), "--clips", str(clips), *ARGS]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("detected")
    assert main(build_args(out)) == 0
    return out


def test_a_clip_is_rendered_detected_and_stored_compactly(cache):
    index = json.loads((cache / "index.json").read_text())
    (entry,) = index["clips"]
    assert entry["status"] == "ok" and entry["frames"] == FRAMES
    assert sorted(p.name for p in cache.iterdir()) == sorted(["index.json", entry["file"]])
    assert (cache / entry["file"]).stat().st_size < 30_000
    with np.load(cache / entry["file"]) as npz:
        data = {k: npz[k] for k in npz.files}
    assert data["points_2d"].shape == data["joints_2d"].shape == (FRAMES, 17, 2)
    assert data["confidence"].shape == (FRAMES, 17)
    assert data["joints_camera"].shape == (FRAMES, 17, 3)
    assert data["K"].shape == (3, 3) and (int(data["width"]), int(data["height"])) == (320, 240)
    assert float(data["fps"]) == 30.0 and str(data["source"]) == WALK.name
    assert int(data["body_seed"]) == entry["body_seed"]
    assert data["found"].mean() >= 0.8
    # The detector's limbs lie within a few % of the person's height of the projected truth.
    height = float(data["stature_m"]) * data["K"][0, 0] / data["joints_camera"][:, 0, 2]
    limbs = [H36M17.index(f"{s}_{j}") for s in ("left", "right") for j in ("hip", "knee", "ankle",
             "shoulder", "elbow", "wrist")]  # fmt: skip
    error = np.linalg.norm(data["points_2d"] - data["joints_2d"], axis=-1)[:, limbs]
    assert np.nanmedian(error / height[:, None]) < 0.05
    assert np.all(data["confidence"][~np.isfinite(data["points_2d"]).all(-1)] == 0)


def test_a_rerun_skips_finished_clips_and_other_settings_are_refused(cache, capsys):
    stamp = (cache / "index.json").stat().st_mtime_ns
    assert main(build_args(cache)) == 0
    assert "1 clips done, 0 to build" in capsys.readouterr().err
    assert (cache / "index.json").stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="use the same options"):
        main(build_args(cache)[: -len(ARGS)] + ["--frames", "20", "--size", "320x240"])


def test_windows_are_clip_windows_items(cache, mini_cache):
    windows = DetectedWindows(cache, WindowConfig(window=81, stride=40))
    assert len(windows) == 1
    item = windows[0]
    reference = ClipWindows(mini_cache, "train", WindowConfig(window=81))[0]
    assert item.keys() == reference.keys()
    for key, value in reference.items():
        assert item[key].shape == value.shape and item[key].dtype == value.dtype, key
    assert item["valid"][:FRAMES].all() and not item["valid"][FRAMES:].any()
    assert np.allclose(item["pose3d"][:, H36M17.index("pelvis")], 0)
    with np.load(next(cache.glob("*.npz"))) as npz:
        truth = npz["joints_2d"]
    clean = denormalise_screen(item["pose2d_clean"][:FRAMES], 320, 240)
    assert np.allclose(clean, truth, atol=1e-3)


def test_a_slower_render_is_resampled_to_the_model_rate(cache, tmp_path):
    with np.load(next(cache.glob("*.npz"))) as npz:
        data = {k: npz[k] for k in npz.files}
    np.savez(tmp_path / "slow.npz", **(data | {"fps": np.float64(24.0)}))
    clip = load_clip(tmp_path / "slow.npz")
    assert len(clip.pose2d) == int(np.ceil((FRAMES - 1) / 24 * 30)) + 1
    assert np.allclose(clip.pose3d[0], load_clip(next(cache.glob("*.npz"))).pose3d[0])


def test_training_mixes_in_a_share_of_detected_windows(cache, mini_cache, tmp_path):
    config = load_config(TINY, [f"data.cache={mini_cache}", "adapt.steps=3", "finetune.steps=2"])
    config.data.detected = DetectedConfig(cache=str(cache), share=0.5)
    windows = DetectedWindows(cache, WindowConfig(window=config.window))
    batches = StepBatches(
        ClipWindows(mini_cache, "train", WindowConfig(window=27)), 4, 0, detected=(windows, 0.5)
    )
    batch = batches[0]
    assert batch["pose3d"].shape[0] == 4 and batch["occlude2d"].shape[0] == 4
    assert np.allclose(batch["pose3d"][3].numpy(), windows[0]["pose3d"])  # the last two items
    summary = train(config, "adapt", tmp_path / "adapt", workers=0, show_progress=False)
    assert summary["steps"] == 3 and np.isfinite(summary["last"]["loss"])
    # only the adapt stage reads the cache: fine-tuning from scratch runs without it
    config.data.detected = DetectedConfig(cache=str(tmp_path / "absent"), share=0.5)
    summary = train(config, "finetune", tmp_path / "finetune", workers=0, show_progress=False)
    assert summary["steps"] == 2


@pytest.mark.skipif(not MOCAP.is_dir(), reason="no shared mocap")
def test_clips_are_training_rows_spread_over_the_sources():
    rows = training_rows(MOCAP, None)
    assert rows and all(r.split == "train" for r in rows)
    picked = plan_files(rows, 20, seed=0)
    assert [r.path for r in picked] == [r.path for r in plan_files(rows, 30, seed=0)[:20]]
    counts = {s: sum(r.source == s for r in picked) for s in {r.source for r in rows}}
    for source, count in counts.items():
        share = sum(r.source == source for r in rows) / len(rows)
        assert abs(count - 20 * share) <= 1, (source, count)


def test_a_clip_that_cannot_be_built_is_recorded_and_not_retried(tmp_path, capsys):
    broken = tmp_path / "broken.bvh"
    broken.write_text("HIERARCHY\nnot a skeleton\n")
    argv = ["build", "--mocap", str(broken), "--out", str(tmp_path / "out"), "--clips", "1", *ARGS]
    assert main(argv) == 0
    (entry,) = json.loads((tmp_path / "out" / "index.json").read_text())["clips"]
    assert entry["status"] == "error" and entry["error"]
    assert main(argv) == 0
    assert "1 clips done, 0 to build" in capsys.readouterr().err
    assert not (tmp_path / "out" / "work").exists()


def test_retrain_adapts_the_fine_tuned_model_to_the_detected_cache(cache, mini_cache, tmp_path):
    detected = f"data.detected={{cache: {cache}, share: 0.5, clips: 1}}"
    args = ["--config", str(TINY), "--runs", str(tmp_path), "--minutes", "0.02"]
    assert retrain.main([*args, "--adapt-minutes", "0.02", "--set", f"data.cache={mini_cache}",
                         "--set", detected]) == 0  # fmt: skip
    adapted = torch.load(tmp_path / "adapt" / "model.pt", weights_only=True)["meta"]["training"]
    assert adapted["init"] == str(tmp_path / "finetune" / "model.pt")
    assert adapted["elapsed_s"] >= 1.2 and adapted["total_elapsed_s"] >= 2.4
