"""The batch with a track file of several people: one output per person (`<track>.p<k>`), the
summary saying who is who; `--person k` keeps the one output it always wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bpy")

from blender_addon import batch  # noqa: E402
from blender_addon.batch_config import BatchConfig  # noqa: E402
from blender_addon.discovery import make_jobs  # noqa: E402
from mpm_backend.inference import Engine  # noqa: E402
from tests.test_people import B_START, _crossing, _write_detections  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tracks" / "walking.json"


@pytest.fixture
def shots(tmp_path) -> Path:
    """Two people crossing (no ids in the file) and the one-person example."""
    folder = tmp_path / "shots"
    folder.mkdir()
    points, seen = _crossing()
    _write_detections(folder / "two.json", points, seen, ids=False)
    shutil.copy(EXAMPLE, folder / "walk.json")
    return folder


def test_jobs_are_one_per_person(shots, tmp_path):
    config = BatchConfig(tracks=[shots], rigs=["mixamo"], out=tmp_path / "out", formats=("bvh",))
    paths = [shots / "two.json", shots / "walk.json"]
    jobs = make_jobs(config, paths)
    assert [(j.name, j.person, j.people) for j in jobs] == [
        ("two.p0", 0, 2),
        ("two.p1", 1, 2),
        ("walk", None, 1),
    ]
    assert jobs[1].outputs == {"mixamo.bvh": tmp_path / "out" / "two.p1.mixamo.bvh"}
    config.person = 1
    assert [(j.name, j.person) for j in make_jobs(config, paths)] == [("two", None), ("walk", None)]


def test_batch_writes_each_person_and_lists_them(shots, tmp_path, capsys):
    engine = Engine("default", device="cpu")
    out, summary = tmp_path / "out", tmp_path / "summary.json"
    args = [str(shots / "two.json"), "--rig", "mixamo", "--out", str(out), "--format", "blend"]
    assert batch.main([*args, "--json", str(summary), "--no-progress"], engine=engine) == 0
    assert sorted(p.name for p in out.iterdir()) == ["two.p0.mixamo.blend", "two.p1.mixamo.blend"]
    data = json.loads(summary.read_text())
    assert data["people"] == {str(shots / "two.json"): 2}
    assert [(t["name"], t["person"], t["person_id"], t["people"]) for t in data["tracks"]] == [
        ("two.p0", 0, 0, 2),
        ("two.p1", 1, 1, 2),
    ]
    assert "person 1" in capsys.readouterr().out
    # --person 1: only that person, under the name a one-person file gets.
    one = tmp_path / "one"
    assert (
        batch.main(
            [*args[:-4], "--out", str(one), "--format", "blend", "--person", "1", "--no-progress"],
            engine=engine,
        )
        == 0
    )
    assert [p.name for p in one.iterdir()] == ["two.mixamo.blend"]


def _bvh_root_path(path: Path) -> np.ndarray:
    """(T, 3) the root's position channels, frame by frame, as the BVH file has them."""
    lines = path.read_text().splitlines()
    motion = lines.index("MOTION")
    return np.array([[float(v) for v in line.split()[:3]] for line in lines[motion + 3 :]])


def test_each_person_stands_in_the_first_persons_world(shots, tmp_path):
    """As the panel places people: the second person's output starts beside the first, where
    they were filmed (farther and to the right), not at its own origin; also when person 0's
    output was already there (a resumed run lifts person 0 again for it)."""
    engine = Engine("default", device="cpu")
    out = tmp_path / "out"
    args = [str(shots / "two.json"), "--rig", "mixamo", "--out", str(out), "--format", "bvh"]
    assert batch.main([*args, "--no-progress"], engine=engine) == 0
    walk = _bvh_root_path(out / "two.p0.mixamo.bvh")
    run = _bvh_root_path(out / "two.p1.mixamo.bvh")
    span = np.linalg.norm(walk[-1] - walk[0])  # the walk's length, in the file's units
    apart = np.linalg.norm((run[B_START] - walk[0])[[0, 2]])  # Y up: the ground is X, Z
    assert apart > 0.4 * span, (apart, span)
    (out / "two.p1.mixamo.bvh").unlink()
    assert batch.main([*args, "--no-progress"], engine=engine) == 0
    assert np.allclose(_bvh_root_path(out / "two.p1.mixamo.bvh"), run, atol=1e-3)
