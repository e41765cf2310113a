"""Manifest folders: every manifest under a root, its rows' paths, skeletons and skipped frames;
the cache and the evaluator read them all, skipping a folder whose skeleton is unknown."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from training.data.__main__ import main as data_main
from training.data.cache import build_cache, load_split
from training.data.mocap import load_clip
from training.data.sources import find_mocap_files, read_manifests
from training.evaluate import load_bvh_clips, load_mocap_clips

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mocap"
WALK = "cmu_actions_train_walking_1.bvh"
RUN = "cmu_actions_val_running_1.bvh"
EXAMPLE_AMC = EXAMPLES / "hdm05_bd_rotateArmsBothBackward1Reps_003.amc"
AMC = "HDM_bd_rotateArmsBothBackward1Reps_003_120.amc"  # its name in HDM05
HEADER = "path,source,original_path,subject,action_or_style,split,frames,fps,seconds\n"
UNKNOWN_BVH = (
    "HIERARCHY\nROOT foo\n{\n OFFSET 0 0 0\n CHANNELS 3 Xposition Yposition Zposition\n"
    " JOINT bar\n {\n  OFFSET 0 1 0\n  CHANNELS 3 Zrotation Xrotation Yrotation\n"
    "  End Site\n  {\n   OFFSET 0 1 0\n  }\n }\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\n0 0 0 0 0 0\n"
)


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """A mocap root like the shared one: bvh/ with the root manifest, hdm05/ with its own
    (skeleton column, asf/ and amc/<action>/), and odd/ whose skeleton no map knows."""
    (tmp_path / "bvh").mkdir()
    for name in (WALK, RUN):
        shutil.copy(EXAMPLES / name, tmp_path / "bvh" / name)
    (tmp_path / "manifest.csv").write_text(
        HEADER
        + f"bvh/{WALK},cmu_actions,,,walking,train,,120,\n"
        + f"bvh/{RUN},cmu_actions,,,running,val,,120,\n"
    )
    hdm = tmp_path / "hdm05"
    (hdm / "asf").mkdir(parents=True)
    (hdm / "amc" / "rotate").mkdir(parents=True)
    shutil.copy(EXAMPLES / "HDM_bd.asf", hdm / "asf" / "HDM_bd.asf")
    shutil.copy(EXAMPLES / "HDM_bd.asf", hdm / "asf" / "HDM_xx.asf")  # two: the name decides
    shutil.copy(EXAMPLE_AMC, hdm / "amc" / "rotate" / AMC)
    (hdm / "manifest.csv").write_text(
        "path,skeleton,source,original_path,subject,action_or_style,split,frames,fps,seconds\n"
        f"amc/rotate/{AMC},asf/HDM_bd.asf,hdm05,,bd,rotate,val,85,120,0.708\n"
    )
    odd = tmp_path / "deeper" / "odd"
    odd.mkdir(parents=True)
    (odd / "a.bvh").write_text(UNKNOWN_BVH)
    (odd / "manifest.csv").write_text(HEADER + "a.bvh,odd,,,idle,train,1,10,0.1\n")
    return tmp_path


def test_every_manifest_is_read_with_paths_relative_to_its_folder(root):
    rows = {r.path: r for r in read_manifests(root)}
    assert list(rows) == [
        f"bvh/{WALK}",
        f"bvh/{RUN}",
        f"hdm05/amc/rotate/{AMC}",
        "deeper/odd/a.bvh",
    ]
    amc = rows[f"hdm05/amc/rotate/{AMC}"]
    assert amc.file == (root / "hdm05" / "amc" / "rotate" / AMC).resolve()
    assert amc.skeleton == (root / "hdm05" / "asf" / "HDM_bd.asf").resolve()
    assert (amc.source, amc.split, amc.fps, amc.subject, amc.action) == (
        "hdm05", "val", 120.0, "bd", "rotate"
    )  # fmt: skip
    # The CMU conversions' frame 0 is an added T-pose; HDM05's (and unknown sources') is motion.
    assert [r.skip_frames for r in rows.values()] == [1, 1, 0, 0]
    assert rows[f"bvh/{WALK}"].skeleton is None
    assert [r.path for r in find_mocap_files(root / "hdm05")] == [f"amc/rotate/{AMC}"]


def test_cache_reads_every_manifest_folder_and_skips_an_unknown_skeleton(root, tmp_path, capsys):
    out = tmp_path / "cache"
    index = build_cache(root, out, show_progress=False)
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and str(root / "deeper" / "odd") in warnings[0]
    assert "unknown skeleton" in warnings[0]
    assert [s["folder"] for s in index["skipped"]] == [str(root / "deeper" / "odd")]
    assert [(c["path"], c["source"], c["split"]) for c in index["clips"]] == [
        (f"bvh/{WALK}", "cmu_actions", "train"),
        (f"bvh/{RUN}", "cmu_actions", "val"),
        (f"hdm05/amc/rotate/{AMC}", "hdm05", "val"),
    ]
    val = load_split(out, "val")
    # 85 frames at 120 fps, none dropped, at 30 fps: 22; running: (163 - 2) // 4 + 1 = 41.
    assert [len(val.clip(i)) for i in range(len(val))] == [41, 22]
    np.testing.assert_allclose(val.clip(1), load_clip(EXAMPLE_AMC, target_fps=30).joints, atol=1e-6)
    only = build_cache(root, tmp_path / "only", show_progress=False, sources={"hdm05"})
    assert [c["source"] for c in only["clips"]] == ["hdm05"]


def test_evaluator_takes_manifest_folders_files_and_plain_folders(root):
    data = load_mocap_clips(root, split="val")
    assert data.names == [f"bvh/{RUN}", f"hdm05/amc/rotate/{AMC}"]
    assert data.sources == ["cmu_actions", "hdm05"]
    assert [len(c) for c in data.clips] == [41, 22]
    assert load_mocap_clips(root, sources={"hdm05", "odd"}).sources == ["hdm05"]  # odd skipped
    with pytest.raises(ValueError, match="no source"):
        load_mocap_clips(root, sources={"nope"})
    # A single AMC (its ASF found by name in ../../asf) and a folder without manifest.
    single = load_mocap_clips(root / "hdm05" / "amc" / "rotate" / AMC)
    assert single.sources == [""] and len(single.clips[0]) == 22
    names, clips = load_bvh_clips(EXAMPLES)
    assert names == sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".bvh", ".amc"))
    assert (
        len(clips[names.index(EXAMPLE_AMC.name)]) == 22
    )  # AMC: no frame dropped without a manifest


def test_inspect_finds_the_skeleton_through_the_manifest(root, capsys):
    (root / "hdm05" / "asf" / "HDM_bd.asf").rename(root / "hdm05" / "asf" / "actor.asf")
    manifest = root / "hdm05" / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("HDM_bd.asf", "actor.asf"))
    amc = root / "hdm05" / "amc" / "rotate" / AMC
    assert data_main(["inspect", str(amc)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["skeleton"] == str((root / "hdm05" / "asf" / "actor.asf").resolve())
    assert report["frames"] == 85 and report["skeleton_family"] == "cmu_actions"
    assert report["standing_height_m"] == pytest.approx(1.603, abs=0.002)
    assert data_main(["inspect", str(amc), "--skeleton", str(EXAMPLES / "HDM_bd.asf")]) == 0
    capsys.readouterr()
    lonely = root / "lonely.amc"
    shutil.copy(EXAMPLE_AMC, lonely)
    (root / "hdm05" / "asf" / "HDM_xx.asf").unlink()
    assert data_main(["inspect", str(lonely)]) == 2
    assert "pass the skeleton" in capsys.readouterr().err
