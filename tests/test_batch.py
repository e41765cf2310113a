"""Headless batch retargeting (`python -m blender_addon.batch`) in real Blender (the bpy wheel),
with the shipped model in-process and once through a live backend on loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_addon import batch, presets, result  # noqa: E402
from tests.live_backend import free_port, live_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRACKS = ROOT / "examples" / "tracks"
FORMATS = ("blend", "bvh", "fbx")


@pytest.fixture
def folder(tmp_path) -> Path:
    """Two good tracks (a track file, an OpenPose folder without a frame rate) and a broken one."""
    tracks = tmp_path / "tracks"
    tracks.mkdir()
    shutil.copy(TRACKS / "walking.json", tracks / "walk.json")
    shutil.copytree(TRACKS / "walking_openpose", tracks / "walk_openpose")
    (tracks / "broken.json").write_text('{"frames": [{"people": [{"pose_keypoints_2d": [1, 2]}]')
    (tracks / "notes.txt").write_text("not a track")
    return tracks


def mtimes(paths) -> dict:
    return {p: Path(p).stat().st_mtime_ns for p in paths}


def bvh_frames(path: Path) -> int:
    text = Path(path).read_text()
    return int(text.split("Frames:")[1].split()[0])


def test_a_folder_with_a_broken_track_resume_and_force(folder, tmp_path, engine, capsys):
    out, summary = tmp_path / "out", tmp_path / "summary.json"
    args = [str(folder), "--rig", "mixamo", "--out", str(out), "--fps", "30"]
    args += ["--json", str(summary), "--no-progress"]

    assert batch.main(args, engine=engine) == 1
    lines = capsys.readouterr().out.splitlines()
    expected = {f"{name}.mixamo.{fmt}" for name in ("walk", "walk_openpose") for fmt in FORMATS}
    assert {p.name for p in out.iterdir()} == expected  # no temporary file left behind
    report = json.loads(summary.read_text())
    assert report["counts"] == {"ok": 2, "skipped": 0, "failed": 1}
    assert len(report["inputs"]) == 3 and len(report["outputs"]) == 6
    (error,) = report["errors"]
    assert error["input"].endswith("broken.json") and "broken.json" in error["error"]
    by_name = {t["name"]: t for t in report["tracks"]}
    assert by_name["walk"]["frames"] == 86 and by_name["walk_openpose"]["frames"] == 30
    assert by_name["walk"]["seconds"] > 0 and by_name["broken"]["status"] == "failed"
    # how the floor was levelled; OpenPose files give no image size, so no root travel: said
    assert by_name["walk"]["floor"]["source"] in ("feet", "trunk")
    assert abs(by_name["walk"]["floor"]["camera_pitch_deg"]) < 45
    assert by_name["walk"]["warnings"] == []
    assert "no image size" in by_name["walk_openpose"]["warnings"][0]
    assert any(line.strip().startswith("warning: no image size") for line in lines)
    assert sum(line.startswith("ok ") for line in lines) == 2
    assert any(line.startswith("failed") and "broken.json" in line for line in lines)
    assert bvh_frames(out / "walk.mixamo.bvh") == 86
    assert bvh_frames(out / "walk_openpose.mixamo.bvh") == 30
    before = mtimes(out.iterdir())

    # Re-run: finished tracks are skipped, untouched; the broken one fails again.
    assert batch.main(args, engine=engine) == 1
    report = json.loads(summary.read_text())
    assert report["counts"] == {"ok": 0, "skipped": 2, "failed": 1}
    assert mtimes(out.iterdir()) == before
    assert sum(line.startswith("skipped") for line in capsys.readouterr().out.splitlines()) == 2

    # --force redoes them.
    assert batch.main([*args, "--force"], engine=engine) == 1
    report = json.loads(summary.read_text())
    assert report["counts"] == {"ok": 2, "skipped": 0, "failed": 1}
    after = mtimes(out.iterdir())
    assert set(after) == set(before) and all(after[p] != before[p] for p in before)

    # Only good tracks: exit code 0.
    assert batch.main([str(folder / "walk.json"), *args[1:-3]], engine=engine) == 0


def test_camera_option_words_and_angles(tmp_path, capsys):
    parse = batch.build_parser(batch.__doc__).parse_args
    base = ["t.json", "--rig", "metarig", "--out", str(tmp_path)]
    assert parse(base).camera == ("AUTO", 0.0, 0.0)
    assert parse([*base, "--camera", "level"]).camera == ("LEVEL", 0.0, 0.0)
    options = batch.config_from_args(parse([*base, "--camera", "12,-3"])).options
    assert (options.level, options.camera_pitch, options.camera_roll) == ("KNOWN", 12.0, -3.0)
    assert batch.main([*base, "--camera", "steep"]) == 2
    assert "give auto, level, or the camera's pitch" in capsys.readouterr().err
    # the lens: a focal length in pixels, or a field of view across the long side
    lens = batch.config_from_args(parse([*base, "--fov", "65"])).options
    assert lens.focal_for((1920, 1080)) == pytest.approx(1506.9, abs=0.1)
    assert lens.focal_for(None) is None  # no image size: no root path (and a warning)
    assert (
        batch.config_from_args(parse([*base, "--focal-px", "1400"])).options.focal_for((640, 480))
        == 1400.0
    )
    assert batch.main([*base, "--fov", "200"]) == 2
    assert "under 180 degrees" in capsys.readouterr().err


def test_cleanup_flags_mean_what_they_say(tmp_path, capsys):
    parse = batch.build_parser(batch.__doc__).parse_args
    base = ["t.json", "--rig", "metarig", "--out", str(tmp_path)]

    def recorded(*flags: str) -> dict:
        config = batch.config_from_args(parse([*base, *flags]))
        return batch.BatchSummary(config, [], 0.0).as_json()["options"]

    plain = recorded("--no-cleanup")
    assert (plain["smoothing"], plain["foot_lock"]) == ("NONE", False)
    assert "cutoff_hz" not in plain and "one_euro_beta" not in plain
    euro = recorded("--smooth", "one_euro", "--min-cutoff", "0.5", "--beta", "0.1")
    assert (euro["one_euro_min_cutoff"], euro["one_euro_beta"]) == (0.5, 0.1)
    assert "cutoff_hz" not in euro  # recorded only where the filter that uses it ran
    default = recorded()
    assert (default["smoothing"], default["cutoff_hz"], default["foot_lock"]) == (
        "BUTTERWORTH", 6.0, True,
    )  # fmt: skip
    for flags, said in (
        (
            ["--smooth", "one_euro", "--cutoff", "3"],
            "--cutoff is a parameter of --smooth butterworth",
        ),
        (["--beta", "0.2"], "--beta is a parameter of --smooth one_euro, not of butterworth"),
        (["--no-cleanup", "--foot-lock"], "--no-cleanup means --smooth none --no-foot-lock"),
    ):
        assert batch.main([*base, *flags]) == 2
        assert said in capsys.readouterr().err


def test_exported_bvh_reimports_as_the_action_it_came_from(tmp_path, engine):
    """Blender's BVH importer with its default settings, on what Blender's exporter wrote, gives
    the retargeted rig's bone heads back within 1 mm at every frame checked (the meta-rig: 159
    bones, rolls, an unconnected hierarchy); the file is Y up, as BVH files usually are."""
    out = tmp_path / "out"
    config = batch.BatchConfig(
        tracks=[TRACKS / "walking.json"], rigs=["metarig"], out=out, formats=("blend", "bvh"),
        progress=False,
    )  # fmt: skip
    summary = batch.run(config, engine=engine, echo=lambda line: None)
    assert summary.exit_code == 0
    bpy.ops.wm.open_mainfile(filepath=str(out / "walking.metarig.blend"))
    scene = bpy.context.scene
    rig = bpy.data.objects["metarig"]
    skeleton = bpy.data.objects[result.SKELETON_NAME]
    assert result.stored_joints(skeleton).shape == (86, 17, 3)
    assert (scene.frame_start, scene.frame_end, scene.render.fps) == (1, 86, 30)
    frames = (1, 17, 43, 70, 86)
    heads = {}
    for f in frames:
        scene.frame_set(f)
        heads[f] = {pb.name: np.array(rig.matrix_world @ pb.head) for pb in rig.pose.bones}
    bpy.ops.import_anim.bvh(filepath=str(out / "walking.metarig.bvh"))  # default settings
    imported = bpy.context.active_object
    assert imported is not rig and len(imported.pose.bones) == len(rig.pose.bones)
    assert tuple(imported.animation_data.action.frame_range) == (1.0, 86.0)
    worst = 0.0
    for f in frames:
        scene.frame_set(f)
        for pb in imported.pose.bones:
            here = np.array(imported.matrix_world @ pb.head)
            worst = max(worst, float(np.linalg.norm(here - heads[f][pb.name])))
    assert worst < 1e-3, f"{worst * 1000:.3f} mm"
    text = (out / "walking.metarig.bvh").read_text()
    offsets = text.split("MOTION")[0]
    assert "ROOT spine" in offsets  # one root: the meta-rig's pelvis bone
    child = [float(v) for v in offsets.split("OFFSET")[2].split()[:3]]  # spine.001 above it
    assert child[1] > 0.1 and abs(child[2]) < 0.05, child  # Y up
    # and the rig really moves: the pelvis travels with the walker
    travel = heads[86]["spine"] - heads[1]["spine"]
    assert np.linalg.norm(travel[:2]) > 1.0


def test_the_backend_path_through_a_live_server(tmp_path, engine):
    with live_server(engine) as server:
        out = tmp_path / "wire"
        args = [str(TRACKS / "walking.json"), str(TRACKS / "walking.npz")]
        args += ["--rig", "mixamo", "--out", str(out), "--format", "bvh"]
        args += ["--backend", server.address, "--no-progress", "--json", str(tmp_path / "s.json")]
        assert batch.main(args) == 0
    report = json.loads((tmp_path / "s.json").read_text())
    assert report["backend"] == server.address
    # walking.json and walking.npz share a stem: the outputs keep them apart by the suffix
    assert sorted(p.name for p in out.iterdir()) == [
        "walking_json.mixamo.bvh",
        "walking_npz.mixamo.bvh",
    ]
    assert all(t["lift_seconds"] is not None for t in report["tracks"])
    # The same lift in-process gives the same motion.
    local = tmp_path / "local"
    local_args = [args[0], "--rig", "mixamo", "--out", str(local), "--format", "bvh"]
    assert batch.main([*local_args, "--no-progress"], engine=engine) == 0
    wire = bvh_motion(out / "walking_json.mixamo.bvh")
    here = bvh_motion(local / "walking.mixamo.bvh")
    assert wire.shape == here.shape == (86, wire.shape[1])
    assert np.abs(wire - here).max() < 1e-3


def test_flip_lifts_in_process_with_the_mirror_image_averaged(tmp_path, engine):
    """Lifts are flip-averaged by default; --no-flip builds an engine that lifts once. The
    motion is the same walk, a little changed, and the summary says which ran."""
    runs = {}
    for name, extra, given in (("flip", [], engine), ("plain", ["--no-flip"], None)):
        out = tmp_path / name
        args = [str(TRACKS / "walking.json"), "--rig", "mixamo", "--out", str(out)]
        args += ["--format", "bvh", "--no-progress", "--json", str(tmp_path / f"{name}.json")]
        assert batch.main([*args, *extra], engine=given) == 0
        assert json.loads((tmp_path / f"{name}.json").read_text())["flip"] == (name == "flip")
        runs[name] = bvh_motion(out / "walking.mixamo.bvh")
    change = np.abs(runs["flip"][:, 3:] - runs["plain"][:, 3:])  # joint angles, degrees
    assert change.max() > 0.5  # the mirror image's lift did count
    assert np.median(change) < 2.0  # and it is the same walk


def bvh_motion(path: Path) -> np.ndarray:
    """(frames, channels) of a BVH file's MOTION block."""
    lines = path.read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("Frame Time")) + 1
    return np.loadtxt(str(path), skiprows=row)


def test_backend_down_fails_every_track_with_a_clear_message(tmp_path, capsys):
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{free_port()}"
    args = [str(TRACKS / "walking.json"), "--rig", "mixamo", "--out", str(out)]
    assert batch.main([*args, "--backend", address, "--timeout", "1", "--no-progress"]) == 1
    text = capsys.readouterr().out
    assert "failed" in text and "mpm_backend.serve" in text and address in text
    assert list(out.iterdir()) == []


def test_a_failing_exporter_leaves_no_file_under_a_final_name(tmp_path, engine, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / f".walking.mixamo.bvh{batch.PARTIAL}999999999.bvh"  # a killed run's leftover
    stale.write_text("half a file")

    def broken_fbx(path, *_):
        Path(path).write_text("half an fbx")
        raise RuntimeError("disk full")

    monkeypatch.setitem(batch.export.WRITERS, "fbx", broken_fbx)
    config = batch.BatchConfig(
        tracks=[TRACKS / "walking.json"], rigs=["mixamo"], out=out, progress=False
    )
    summary = batch.run(config, engine=engine, echo=lambda line: None)
    assert summary.exit_code == 1 and "disk full" in summary.results[0].error
    assert list(out.iterdir()) == []  # neither the .blend/.bvh written before, nor temporaries


@pytest.mark.parametrize(
    "args, message",
    [
        (["--rig", "nosuchrig"], "not a preset"),
        (["--rig", "missing.blend"], "no such file"),
        (["--rig", "mixamo", "--format", "bvh,obj"], "choose from"),
        (["--rig", "mixamo", "--backend", "tcp://x:1", "--in-process"], "not allowed with"),
        (["--rig", "mixamo", "--smooth", "gaussian"], "invalid choice"),
        (["--rig", "mixamo", "--backend", "tcp://x:1", "--flip"], "serve --flip"),
        (["--rig", "mixamo", "--backend", "tcp://x:1", "--no-flip"], "serve --no-flip"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert batch.main([str(TRACKS / "walking.json"), "--out", str(out), *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() or not list(out.iterdir())


def test_missing_inputs_and_empty_folders_are_bad_arguments(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for missing in (tmp_path / "nope.json", tmp_path / "empty"):
        assert batch.main([str(missing), "--rig", "mixamo", "--out", str(tmp_path / "o")]) == 2
        assert str(missing) in capsys.readouterr().err


def test_presets_and_rig_files(tmp_path, engine):
    """cmu (Blender's BVH importer) and rig files: an FBX and a BVH the batch wrote itself, and
    a .blend whose first armature is the MPM skeleton (passed over for the rig)."""
    first = tmp_path / "first"
    config = batch.BatchConfig(
        tracks=[TRACKS / "walking.json"], rigs=["mixamo"], out=first, formats=FORMATS,
        progress=False,
    )  # fmt: skip
    assert batch.run(config, engine=engine, echo=lambda line: None).exit_code == 0
    rigs = ["cmu", *(str(first / f"walking.mixamo.{fmt}") for fmt in FORMATS)]
    out = tmp_path / "out"
    config = batch.BatchConfig(
        tracks=[TRACKS / "walking_coco.json"], rigs=rigs, out=out, formats=("bvh",), fps=30,
        image_size=(1920, 1080), progress=False, person=0,  # the walker, not the bystander
    )  # fmt: skip
    summary = batch.run(config, engine=engine, echo=lambda line: None)
    assert summary.exit_code == 0, summary.results[0].error
    labels = ["cmu", *(f"walking.mixamo_{fmt}" for fmt in FORMATS)]  # same stem: + suffix
    assert batch.rig_labels(rigs) == labels
    assert sorted(p.name for p in out.iterdir()) == sorted(f"walking_coco.{x}.bvh" for x in labels)
    assert bvh_frames(out / "walking_coco.cmu.bvh") == 86
    for fmt in FORMATS:  # the .blend's first armature is the MPM skeleton: passed over
        text = (out / f"walking_coco.walking.mixamo_{fmt}.bvh").read_text()
        assert "ROOT mixamorig:Hips" in text and "mpm_" not in text


def test_the_mixamo_stand_in_has_mixamos_names_and_proportions():
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    rig = presets.build("mixamo")
    names = {b.name for b in rig.armature.data.bones}
    assert {"mixamorig:Hips", "mixamorig:LeftForeArm", "mixamorig:RightToeBase"} <= names
    assert rig.armature.data.bones["mixamorig:LeftArm"].parent.name == "mixamorig:LeftShoulder"
    assert rig.rig_map == "mixamo"
    heads = {b.name: np.array(b.head_local) for b in rig.armature.data.bones}
    assert 1.6 < rig.armature.data.bones["mixamorig:Head"].tail_local.z < 1.9
    assert heads["mixamorig:LeftArm"][0] > 0  # left on +X, facing -Y, as Blender rigs are
    thigh = np.linalg.norm(heads["mixamorig:LeftLeg"] - heads["mixamorig:LeftUpLeg"])
    assert 0.38 < thigh < 0.48


def test_runs_as_a_file_with_arguments_after_dashes(tmp_path):
    """As `blender -b -P blender_addon/batch.py -- ...` runs it (here with the wheel's Python)."""
    out = tmp_path / "out"
    command = [sys.executable, str(ROOT / "blender_addon" / "batch.py"), "--"]
    command += [str(TRACKS / "walking.json"), "--rig", "mixamo", "--out", str(out)]
    command += ["--format", "bvh", "--no-progress"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok ") and (out / "walking.mixamo.bvh").is_file()


@pytest.mark.slow
def test_rigify_preset_generates_and_keys_the_fk_controls(tmp_path, engine):
    out = tmp_path / "out"
    config = batch.BatchConfig(
        tracks=[TRACKS / "walking.json"], rigs=["rigify"], out=out, formats=("blend", "fbx"),
        progress=False,
    )  # fmt: skip
    summary = batch.run(config, engine=engine, echo=lambda line: None)
    assert summary.exit_code == 0, summary.results[0].error
    bpy.ops.wm.open_mainfile(filepath=str(out / "walking.rigify.blend"))
    rig = bpy.data.objects["rig"]
    joints = result.stored_joints(bpy.data.objects[result.SKELETON_NAME])
    j = result.J
    scene = bpy.context.scene
    errors = []
    for f in (0, 30, 60, 85):
        scene.frame_set(1 + f)
        for bone, a, b in (("DEF-thigh.L", "left_hip", "left_knee"),
                           ("DEF-forearm.R", "right_elbow", "right_wrist")):  # fmt: skip
            pb = rig.pose.bones[bone]
            d = np.array(rig.matrix_world @ pb.tail) - np.array(rig.matrix_world @ pb.head)
            s = joints[f, j(b)] - joints[f, j(a)]
            cos = d @ s / np.linalg.norm(d) / np.linalg.norm(s)
            errors.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    assert max(errors) < 3.0, errors
