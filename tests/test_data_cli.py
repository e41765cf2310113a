"""`python -m training.data inspect|build` as a user runs it: real processes, JSON out, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mpm_backend.skeleton import H36M17

REPO = Path(__file__).resolve().parents[1]
WALK = REPO / "examples" / "mocap" / "cmu_actions_train_walking_1.bvh"
BLENDER = REPO / "tests" / "data" / "blender_export.bvh"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "training.data", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_inspect_prints_one_json_object_with_the_facts():
    result = run_cli("inspect", str(WALK))
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["frames"] == 344 and info["fps"] == 120.0
    assert info["seconds"] == pytest.approx(344 / 120, abs=1e-3)
    assert info["joints"] == 31 and info["end_sites"] == 7
    assert info["skeleton_family"] == "cmu_actions"
    assert 1.35 < info["standing_height_m"] < 1.5  # manifest: 1.431 (head end site, not eyes)
    # Limb bones are rigid; the derived spine/neck segments bend with the back, a few cm at most.
    assert info["bone_length_deviation_mm"]["left_hip-left_knee"] < 0.01
    assert info["max_bone_length_deviation_mm"] < 50
    first = info["first_frame_joints_m"]
    assert list(first) == list(H36M17.joints)
    assert first["left_wrist"][0] > first["pelvis"][0] + 0.5  # T-pose, left on +X
    assert first["head"][1] > first["thorax"][1] > first["pelvis"][1] > first["left_ankle"][1]


def test_inspect_reads_a_blender_export_z_up():
    info = json.loads(run_cli("inspect", str(BLENDER)).stdout)
    assert info["skeleton_family"] == "blender_metarig"
    first = info["first_frame_joints_m"]
    assert first["head"][1] > first["pelvis"][1] > first["left_ankle"][1]  # Z-up became Y-up
    assert first["left_hip"][0] > first["right_hip"][0]  # left on +X


def test_inspect_fps_override():
    info = json.loads(run_cli("inspect", str(WALK), "--fps", "60").stdout)
    assert info["fps"] == 60.0 and info["seconds"] == pytest.approx(344 / 60, abs=1e-3)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "No such file"),
        ("not a bvh file\n", "HIERARCHY"),
    ],
)
def test_unreadable_file_exits_2_with_a_clear_message(tmp_path, content, message):
    path = tmp_path / "broken.bvh"
    if content is not None:
        path.write_text(content)
    result = run_cli("inspect", str(path))
    assert result.returncode == 2
    assert str(path) in result.stderr and message.lower() in result.stderr.lower()
    assert result.stdout == ""


def test_unknown_skeleton_exits_2_and_says_how_to_add_a_map(tmp_path):
    text = WALK.read_text().replace("lfemur", "left_leg_top")
    path = tmp_path / "renamed.bvh"
    path.write_text(text)
    result = run_cli("inspect", str(path))
    assert result.returncode == 2
    assert "unknown skeleton" in result.stderr and "TEMPLATE.yaml.example" in result.stderr
    assert "lfemur" in result.stderr  # the closest family names the joint it lacks


def test_extra_skeleton_map_folder_is_used(tmp_path):
    maps = tmp_path / "maps"
    maps.mkdir()
    yaml_text = (REPO / "training/data/skeleton_maps/cmu_actions.yaml").read_text()
    (maps / "mine.yaml").write_text(
        yaml_text.replace("family: cmu_actions", "family: mine").replace("lfemur", "left_leg_top")
    )
    path = tmp_path / "renamed.bvh"
    path.write_text(WALK.read_text().replace("lfemur", "left_leg_top"))
    info = json.loads(run_cli("inspect", str(path), "--skeleton-maps", str(maps)).stdout)
    assert info["skeleton_family"] == "mine"


def test_build_without_manifest_exits_2(tmp_path):
    result = run_cli("build", "--mocap", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "manifest.csv" in result.stderr
