"""The synthetic-video renderer (training/render): real bpy, real MakeHuman assets, real MediaPipe.

Skipped unless the render extra is installed (`bash scripts/install_render.sh`; CI runs it);
the video-path test also needs the video extra (mediapipe).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
cv2 = pytest.importorskip("cv2")

from training.render.assets import assets_available  # noqa: E402

if not assets_available():
    pytest.skip("no body assets: run scripts/install_render.sh", allow_module_level=True)

from mpm_backend.skeleton import BLAZEPOSE33, H36M17  # noqa: E402
from training.data.mocap import load_clip  # noqa: E402
from training.render.body import build_in_blender, rest_body  # noqa: E402
from training.render.clip import ClipJob, prepare, render_clip  # noqa: E402
from training.render.motion import apply_pose, h36m_from_rig, load_mocap, retarget  # noqa: E402
from training.render.scene import blender_pixels, render_still  # noqa: E402
from training.render.shape import BodyParams, with_stature  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WALK = REPO / "examples" / "mocap" / "cmu_actions_train_walking_1.bvh"
EXAMPLE = REPO / "examples" / "video"
MOCAP = REPO.parent / "shared" / "mocap"
LIMBS = ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")


@pytest.mark.parametrize(
    ("params", "metres"),
    [(BodyParams(gender=0.1, age_years=9), 1.30), (BodyParams(gender=0.95, age_years=30), 1.95)],
)
def test_the_body_has_the_stature_asked_for_and_its_rig_fits_it(params, metres):
    rest = rest_body(with_stature(params, metres))
    assert rest.stature == pytest.approx(metres, abs=0.005)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    body = build_in_blender(rest)
    assert body.mesh.dimensions.z == pytest.approx(metres, abs=0.005)  # Blender's Z is up
    # The rig's joints sit where a person of that size has them (fractions of stature).
    y = {b: rest.heads[rest.index(b), 1] / metres for b in ("LeftUpLeg", "LeftLeg", "LeftArm")}
    assert 0.43 < y["LeftUpLeg"] < 0.58 and 0.22 < y["LeftLeg"] < 0.32
    assert 0.72 < y["LeftArm"] < 0.86
    assert 0.85 < rest.eyes[:, 1].mean() / metres < 0.97
    assert rest.eyes[0, 0] > 0 > rest.eyes[1, 0]  # the left eye on +x, the body facing +z
    assert rest.nose[2] > rest.eyes[:, 2].max()


def limbs_follow(rest, body, path: Path, skip_frames: int = 1) -> object:
    """Drive the rig by 20 frames of `path`; assert every limb points where the mocap's does."""
    mocap = load_mocap(path, skip_frames=skip_frames, max_frames=20)
    motion = retarget(rest, body.rest_rotations, mocap)
    joints = h36m_from_rig(rest, body.rest_rotations, motion.heads, motion.global_rotations)
    source = load_clip(path).joints[mocap.frames]
    j = H36M17.index
    for side in ("left", "right"):
        for a, b in (("hip", "knee"), ("knee", "ankle"), ("shoulder", "elbow"), ("elbow", "wrist")):
            u = joints[:, j(f"{side}_{b}")] - joints[:, j(f"{side}_{a}")]
            v = source[:, j(f"{side}_{b}")] - source[:, j(f"{side}_{a}")]
            cos = (u * v).sum(-1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)
            assert cos.min() > np.cos(np.radians(0.1))
    return motion


def test_the_rig_copies_the_mocaps_limb_directions_and_blender_agrees():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    rest = rest_body(with_stature(BodyParams(age_years=10), 1.35))  # a child on adult motion
    body = build_in_blender(rest)
    motion = limbs_follow(rest, body, WALK)
    apply_pose(body, motion, 7)
    heads = np.array([body.armature.pose.bones[n].head for n in rest.bone_names])
    assert (
        np.abs(heads @ np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]]) - motion.heads[7]).max() < 1e-5
    )


@pytest.mark.skipif(not MOCAP.is_dir(), reason="no shared mocap")
@pytest.mark.parametrize(
    "path",
    [
        "hdm05/amc/depositFloorR/HDM_mm_depositFloorR_019_120.amc",  # ASF/AMC
        "reactidle/acted/013_acted.bvh",  # Rigify names, no hands: the joint matcher's map
    ],
)
def test_the_rig_follows_amc_and_rigify_mocap(path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    body_rest = rest_body(with_stature(BodyParams(age_years=30), 1.7))
    limbs_follow(body_rest, build_in_blender(body_rest), MOCAP / path, skip_frames=0)


@pytest.mark.parametrize("size", [(640, 480), (720, 1280)])
def test_blender_projects_joints_where_the_project_camera_does(size):
    prepared = prepare(ClipJob(str(WALK), seed=5, frames=3, size=size))
    for frame in range(3):
        apply_pose(prepared.body, prepared.motion, frame)
        world = prepared.truth["joints_world"][frame]
        error = np.abs(blender_pixels(world) - prepared.truth["joints_2d"][frame])
        assert error.max() < 1.0, error.max()


def test_a_rendered_marker_lands_on_the_projected_joint(tmp_path):
    """Pixels, not formulas: a small red ball at the left wrist is rendered where K [R|t] says."""
    prepared = prepare(ClipJob(str(WALK), seed=2, frames=1, size=(320, 240), distance=(3.0, 3.5)))
    apply_pose(prepared.body, prepared.motion, 0)
    for obj in bpy.data.objects:
        obj.hide_render = obj.type != "CAMERA"
    wrist = prepared.truth["joints_world"][0, H36M17.index("left_wrist")]
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.01, location=(wrist[0], -wrist[2], wrist[1]))
    marker = bpy.context.active_object
    material = bpy.data.materials.new("marker")
    material.diffuse_color = (1.0, 0.0, 0.0, 1.0)
    marker.data.materials.append(material)
    bpy.context.scene.world.color = (0.0, 0.0, 0.0)
    bpy.context.scene.display.shading.light = "FLAT"
    render_still(str(tmp_path / "marker.png"))
    image = cv2.imread(str(tmp_path / "marker.png")).astype(float)
    red = (image[..., 2] > 100) & (image[..., 1] < 60)
    assert red.sum() >= 3
    v, u = np.nonzero(red)
    weights = image[v, u, 2]
    centre = np.array([np.average(u, weights=weights), np.average(v, weights=weights)]) + 0.5
    expected = prepared.truth["joints_2d"][0, H36M17.index("left_wrist")]
    assert np.linalg.norm(centre - expected) < 1.0


def test_rendering_writes_video_and_truth_then_resumes_and_skips(tmp_path):
    job = ClipJob(str(WALK), seed=0, frames=3, size=(160, 120))
    meta = render_clip(job, tmp_path, keep_frames=True, progress=False)
    assert meta["frames"] == 3 and meta["timings_s"]["rendered_frames"] == 3
    truth = np.load(tmp_path / "truth.npz")
    assert truth["joints_world"].shape == truth["joints_camera"].shape == (3, 17, 3)
    assert truth["joints_2d"].shape == (3, 17, 2) and truth["K"].shape == (3, 3)
    assert (truth["joints_camera"][..., 2] > 0).all()
    capture = cv2.VideoCapture(str(tmp_path / "video.mp4"))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    assert len(frames) == 3 and frames[0].shape == (120, 160, 3)
    assert json.loads((tmp_path / "meta.json").read_text())["body"]["stature_m"] > 1.0

    assert render_clip(job, tmp_path, progress=False) is None  # done: skipped
    # Interrupted after two frames: only the third is rendered again.
    for name in ("video.mp4", "truth.npz", "meta.json", "frames/00002.png"):
        (tmp_path / name).unlink()
    kept = (tmp_path / "frames" / "00000.png").stat().st_mtime_ns
    meta = render_clip(job, tmp_path, progress=False)
    assert meta["timings_s"]["rendered_frames"] == 1
    assert not (tmp_path / "frames").exists() and (tmp_path / "video.mp4").is_file()
    assert kept > 0
    again = np.load(tmp_path / "truth.npz")
    assert np.array_equal(again["joints_2d"], truth["joints_2d"])  # same seed, same clip


def test_mediapipe_finds_the_person_of_the_shipped_clip_where_the_truth_is():
    pytest.importorskip("mediapipe")
    from mpm_backend.track import detect

    truth = np.load(EXAMPLE / "truth.npz")
    track = detect(EXAMPLE / "video.mp4", progress=False)
    frames = len(truth["joints_2d"])
    assert len(track.keypoints) == frames
    assert track.image_size == (int(truth["width"]), int(truth["height"]))
    found = np.isfinite(track.keypoints).all(-1).any(-1)
    assert found.mean() >= 0.95
    # The person's height in pixels: stature at the pelvis's depth.
    pelvis_depth = truth["joints_camera"][:, H36M17.index("pelvis"), 2]
    tall = float(truth["stature_m"]) * truth["K"][1, 1] / pelvis_depth
    errors, agree, wide = [], 0, 0
    for limb in LIMBS:
        seen = {s: track.keypoints[:, BLAZEPOSE33.index(f"{s}_{limb}")] for s in ("left", "right")}
        true = {s: truth["joints_2d"][:, H36M17.index(f"{s}_{limb}")] for s in ("left", "right")}
        for side in ("left", "right"):
            ok = np.isfinite(seen[side]).all(-1)
            errors.append(np.linalg.norm(seen[side][ok] - true[side][ok], axis=-1) / tall[ok])
        # Left stays left: where the truth's pair is clearly apart, the detected pair points the
        # same way (a swap or a mirrored person points the other way).
        apart = true["left"] - true["right"]
        clear = (np.linalg.norm(apart, axis=-1) > 0.05 * tall) & np.isfinite(seen["left"]).all(-1)
        clear &= np.isfinite(seen["right"]).all(-1)
        wide += int(clear.sum())
        agree += int((((seen["left"] - seen["right"])[clear] * apart[clear]).sum(-1) > 0).sum())
    errors = np.concatenate(errors)
    assert np.median(errors) < 0.04, np.median(errors)
    assert wide > 100 and agree >= 0.95 * wide, (agree, wide)
