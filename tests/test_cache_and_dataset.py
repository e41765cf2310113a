"""The clip cache and the training windows: splits, determinism, geometry of every item."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from mpm_backend.skeleton import H36M17
from tests.conftest import MINI
from training.data.bodies import BodyConfig, DetectorConfig
from training.data.cache import build_cache, load_split
from training.data.dataset import (
    ClipWindows,
    WindowConfig,
    make_loader,
    mirror_world,
    window_starts,
)
from training.data.sources import read_manifests

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mocap"
PELVIS = H36M17.index("pelvis")


def frame_keys(joints: np.ndarray) -> set[bytes]:
    return {frame.tobytes() for frame in np.asarray(joints, np.float32)}


def test_window_starts_cover_every_frame():
    assert window_starts(50, 81, 40) == [0]
    assert window_starts(81, 81, 40) == [0]
    assert window_starts(200, 81, 40) == [0, 40, 80, 119]
    starts = window_starts(1000, 81, 27)
    covered = np.zeros(1000, bool)
    for s in starts:
        covered[s : s + 81] = True
    assert covered.all() and starts[-1] + 81 == 1000


def test_cache_holds_each_split_and_only_its_files(mini_cache):
    train, val = load_split(mini_cache, "train"), load_split(mini_cache, "val")
    assert [c["path"] for c in train.clips] == ["bvh/" + MINI[0][0], "bvh/" + MINI[1][0]]
    assert [c["path"] for c in val.clips] == ["bvh/" + MINI[2][0]]
    # 120 fps → 30 fps after dropping the T-pose frame: (frames - 2) // 4 + 1.
    assert [len(train.clip(i)) for i in range(2)] == [(344 - 2) // 4 + 1, (361 - 2) // 4 + 1]
    assert frame_keys(train.joints).isdisjoint(frame_keys(val.joints))


def test_items_are_deterministic_per_seed_and_epoch(mini_cache):
    ds = ClipWindows(mini_cache, "train", WindowConfig(window=27, stride=13), seed=3)
    a, b = ds[5], ds[5]
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    ds.set_epoch(1)
    c = ds[5]
    assert not np.allclose(a["pose2d_clean"], c["pose2d_clean"])  # a new camera every epoch
    np.testing.assert_allclose(  # the same motion though (up to mirroring), so bone lengths agree
        np.sort(np.linalg.norm(a["pose3d"][:, 1:] - a["pose3d"][:, :1], axis=-1).ravel()),
        np.sort(np.linalg.norm(c["pose3d"][:, 1:] - c["pose3d"][:, :1], axis=-1).ravel()),
        atol=1e-5,
    )
    other_seed = ClipWindows(mini_cache, "train", WindowConfig(window=27, stride=13), seed=4)[5]
    assert not np.allclose(a["pose2d"], other_seed["pose2d"])


def test_an_item_is_the_same_whatever_batch_it_is_made_in(mini_cache):
    # The loader makes a step's windows together; each must still be its own seed's alone, so
    # that resuming, another batch size or a worker count changes nothing. With bodies, detector
    # points, mirroring and noise on, and a window longer than the clips (padding).
    config = WindowConfig(window=27, stride=13, bodies=BodyConfig(), detector=DetectorConfig())
    ds = ClipWindows(mini_cache, "train", config, seed=3)
    ds.set_epoch(2)
    picks = [5, 0, 5, len(ds) - 1, 7, 3]
    together = ds.batch(picks)
    for row, index in enumerate(picks):
        alone = ds[index]
        for key, value in alone.items():
            np.testing.assert_allclose(together[key][row], value, rtol=0, atol=1e-6, err_msg=key)
    padded = ClipWindows(mini_cache, "train", WindowConfig(window=400), seed=0)
    batch = padded.batch([0, 1])
    assert [int(v.sum()) for v in batch["valid"]] == [len(padded.split.clip(c)) for c in (0, 1)]
    np.testing.assert_allclose(batch["pose3d"][1], padded[1]["pose3d"], atol=1e-6)


def test_item_geometry_is_consistent(mini_cache):
    config = WindowConfig(window=27, stride=13, noise=None)
    ds = ClipWindows(mini_cache, "train", config, seed=0)
    for index in range(0, len(ds), 3):
        item = ds[index]
        assert item["pose2d"].shape == (27, 17, 2) and item["pose3d"].shape == (27, 17, 3)
        np.testing.assert_allclose(item["pose3d"][:, PELVIS], 0.0, atol=1e-6)  # root-relative
        assert (item["root"][:, 2] > 0.5).all()  # the person is in front of the camera
        # The clean 2D is the pinhole projection of pose3d + root with the item's intrinsics.
        fx, fy, cx, cy, width, height = item["intrinsics"]
        cam = item["pose3d"] + item["root"][:, None]
        u = fx * cam[..., 0] / cam[..., 2] + cx
        v = fy * cam[..., 1] / cam[..., 2] + cy
        expected = np.stack([2 * u / width - 1, 2 * v / width - height / width], axis=-1)
        np.testing.assert_allclose(item["pose2d_clean"], expected, atol=1e-4)
        np.testing.assert_array_equal(item["pose2d"], item["pose2d_clean"])  # noise off
        # Head above pelvis in the image (y down): cameras are upright, people mostly too.
        assert (
            np.median(
                item["pose2d_clean"][:, H36M17.index("head"), 1]
                - item["pose2d_clean"][:, PELVIS, 1]
            )
            < 0
        )


def test_noisy_items_mark_missing_joints_with_zero_confidence(mini_cache):
    ds = ClipWindows(mini_cache, "train", WindowConfig(window=27, stride=13), seed=0)
    items = [ds[i] for i in range(len(ds))]
    confidence = np.concatenate([it["confidence"].ravel() for it in items])
    pose2d = np.concatenate([it["pose2d"].reshape(-1, 2) for it in items])
    assert np.isfinite(pose2d).all()
    assert 0 <= confidence.min() and confidence.max() <= 1
    assert (confidence < 1).mean() > 0.2  # confidences vary like a detector's
    assert (pose2d[confidence == 0] == 0).all()


def test_short_clip_is_padded_and_flagged(mini_cache):
    ds = ClipWindows(mini_cache, "val", WindowConfig(window=81, noise=None), seed=0)
    item = ds[0]  # running_1 has 41 frames at 30 fps
    assert item["valid"].sum() == (163 - 2) // 4 + 1 and not item["valid"][-1]


def test_mirroring_keeps_a_real_person():
    world = load_split_example()
    mirrored = mirror_world(world)
    np.testing.assert_allclose(mirror_world(mirrored), world)
    # The mirrored left wrist is where the right wrist was, reflected through x = 0.
    lw, rw = H36M17.index("left_wrist"), H36M17.index("right_wrist")
    np.testing.assert_allclose(mirrored[:, lw], world[:, rw] * [-1, 1, 1])


def load_split_example() -> np.ndarray:
    from training.data.mocap import load_clip

    return load_clip(EXAMPLES / MINI[0][0], target_fps=30).joints


def test_loader_batches_are_reproducible(mini_cache):
    ds = ClipWindows(mini_cache, "train", WindowConfig(window=27, stride=13), seed=0)
    first = next(iter(make_loader(ds, batch_size=4, shuffle=True, seed=1)))
    again = next(iter(make_loader(ds, batch_size=4, shuffle=True, seed=1)))
    assert first["pose3d"].shape == (4, 27, 17, 3) and first["pose3d"].dtype == torch.float32
    for key in first:
        assert torch.equal(first[key], again[key])


@pytest.mark.slow
def test_whole_shared_corpus_builds_with_human_heights_and_no_split_leak(mocap_dir, tmp_path):
    index = build_cache(mocap_dir, tmp_path, show_progress=False)
    manifest = {r.path: r for r in read_manifests(mocap_dir)}  # every manifest folder
    # All load but a folder whose skeleton no map knows yet (ReActIdle's, until its map lands).
    skipped = {s["folder"] for s in index["skipped"]}
    assert skipped <= {str(mocap_dir / "reactidle")}
    loaded = [p for p, r in manifest.items() if str(r.manifest.parent) not in skipped]
    assert [c["path"] for c in index["clips"]] == loaded
    assert sum(c["source"] in ("cmu_actions", "cmu_dance") for c in index["clips"]) == 139
    assert sum(c["source"] == "hdm05" for c in index["clips"]) == 232
    heights = {}  # the CMU manifest's height is to mid-eyes too (HDM05's is to the head's top)
    with (mocap_dir / "manifest.csv").open() as f:
        for row in csv.DictReader(f):
            heights[row["path"]] = float(row["height_m"])
    families = {"cmu_actions": "cmu_actions", "cmu_dance": "daz", "hdm05": "cmu_actions"}
    for clip in index["clips"]:
        assert clip["split"] == manifest[clip["path"]].split
        assert clip["family"] == families.get(clip["source"], clip["family"])
        assert 1.2 < clip["height_m"] < 1.9, clip
        if clip["path"] in heights:
            assert clip["height_m"] == pytest.approx(heights[clip["path"]], abs=0.1), clip
    train, val = load_split(tmp_path, "train"), load_split(tmp_path, "val")
    assert frame_keys(train.joints).isdisjoint(frame_keys(val.joints))
    assert {c["path"] for c in val.clips} == {p for p, r in manifest.items() if r.split == "val"}
    # Rigid limb bones keep their length through every frame of every clip (float32 cache);
    # ReActIdle's joints carry position channels (Blender's exporter): its bones stretch ~3 mm.
    for split in (train, val):
        for a, b in [(4, 5), (5, 6), (1, 2), (2, 3), (11, 12), (12, 13), (14, 15), (15, 16)]:
            length = np.linalg.norm(split.joints[:, a] - split.joints[:, b], axis=-1)
            for i in range(len(split)):
                seg = length[split.starts[i] : split.starts[i + 1]]
                tolerance = 5e-3 if split.clips[i]["source"] == "reactidle" else 1e-4
                assert seg.max() - seg.min() < tolerance, (split.clips[i]["path"], a, b)


def test_source_shares_set_how_often_each_source_is_drawn(mini_cache):
    windows = ClipWindows(mini_cache, "train", WindowConfig(stride=20))
    sources = np.array([windows.split.clips[c]["source"] for c, _ in windows.items])
    weights = windows.item_weights({"cmu_dance": 0.25})
    assert weights.sum() == pytest.approx(1.0)
    assert weights[sources == "cmu_dance"].sum() == pytest.approx(0.25)
    assert weights[sources == "cmu_actions"].sum() == pytest.approx(0.75)
    with pytest.raises(ValueError, match="do not fit"):
        windows.item_weights({"cmu_dance": 1.5})
