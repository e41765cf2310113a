"""The footage benchmark on the shipped rendered clip: real MediaPipe, the real default model.

Skipped without the video extra (mediapipe, cv2); the renderer checks also need the render extra
and the shared mocap.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cv2")
pytest.importorskip("mediapipe")

from devtools.footage_benchmark import DEFAULT_SOURCES, Settings, main, select_clips  # noqa: E402
from mpm_backend.skeleton import H36M17  # noqa: E402
from training.data.bodies import BODY_LENGTH_PER_STATURE, body_length  # noqa: E402
from training.data.cameras import sample_camera  # noqa: E402
from training.evaluate import evaluate  # noqa: E402
from training.footage import OFFSET_JOINTS, Rendered, lift_ideal, load_rendered  # noqa: E402
from training.metrics import summarise  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "video"
MOCAP = REPO.parent / "shared" / "mocap"


def test_the_benchmark_scores_a_folder_of_renders(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nkept\n")
    out = tmp_path / "footage.json"
    argv = ["--renders", str(EXAMPLE), "--frames", "12", "--work", str(tmp_path / "work")]
    summary = main(argv + ["--json", str(out), "--out", str(doc)])
    saved = json.loads(out.read_text())
    assert saved["frames"] == summary["frames"] == 12
    for path in ("footage", "ideal"):
        assert {"mpjpe", "p_mpjpe", "n_mpjpe", "accel", "root_abs_mm"} <= set(saved[path])
    assert saved["detection_rate"] == 1.0
    assert np.isfinite(saved["footage"]["mpjpe"]) and saved["footage"]["mpjpe"] < 250
    assert saved["footage"]["p_mpjpe"] < saved["footage"]["mpjpe"]
    assert saved["ratio"] == pytest.approx(saved["footage"]["mpjpe"] / saved["ideal"]["mpjpe"])
    assert set(saved["detector_offsets"]) == set(OFFSET_JOINTS)
    assert saved["detector_offsets"]["hip"]["detector"]["n"] == 24  # both hips, 12 frames
    text = doc.read_text()
    assert "kept" in text and "<!-- footage-benchmark:start -->" in text
    assert (tmp_path / "work" / "tracks" / "video.npz").is_file()  # the detection is cached


def test_the_ideal_path_reproduces_evaluates_noisy_condition(engine):
    """Same camera, same noise draw, same clip: the engine path equals training.evaluate's
    (flip-averaged as the engine is)."""
    world = load_rendered(EXAMPLE, 60).joints_world
    seed = 4
    camera_rng, noise_rng, *_ = np.random.default_rng([seed, 0, 0]).spawn(4)
    camera = sample_camera(camera_rng, world)
    cam = camera.world_to_camera(world)
    stature = body_length(world) / BODY_LENGTH_PER_STATURE
    clip = Rendered("film", EXAMPLE, "", camera, world, cam, camera.project(cam), 30.0, stature)
    ours = lift_ideal(engine, clip, noise_rng)
    truth = cam - cam[:, H36M17.index("pelvis") : H36M17.index("pelvis") + 1]
    mine = summarise([ours.joints3d.astype(np.float64)], [truth])
    theirs = evaluate(engine.lifter, [world], cameras=1, seed=seed, conditions=("noisy",))
    assert mine["mpjpe"] == pytest.approx(theirs["conditions"]["noisy"]["mpjpe"], abs=0.5)
    assert mine["p_mpjpe"] == pytest.approx(theirs["conditions"]["noisy"]["p_mpjpe"], abs=0.5)


@pytest.mark.skipif(not MOCAP.is_dir(), reason="no shared mocap")
def test_clip_selection_is_seeded_and_spread_over_sources():
    settings = Settings(per_source=2, seed=1)
    rows = select_clips(MOCAP, DEFAULT_SOURCES, settings)
    assert [r.path for r in rows] == [
        r.path for r in select_clips(MOCAP, DEFAULT_SOURCES, settings)
    ]
    assert sorted({r.source for r in rows}) == sorted(DEFAULT_SOURCES)
    assert len(rows) == 6 and all(r.split == "val" for r in rows)
