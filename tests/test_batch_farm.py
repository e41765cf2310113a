"""The batch on more than one machine: several backends serving one run (real servers on loopback,
the shipped model on the CPU), and `--shard i/n` splitting the tracks with no shared state."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bpy")

from blender_addon import batch, discovery, shards  # noqa: E402
from mpm_backend.keys import make_keys  # noqa: E402
from tests.live_backend import free_port, live_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("shot_a", "shot_b", "shot_c", "shot_d")  # shard 1/2: shot_c; 2/2: the other three
FRAMES = 30  # few frames: the test is about who lifts what, not the motion


@pytest.fixture
def shots(tmp_path) -> Path:
    """Four copies of the walking track (its first FRAMES frames) under different names."""
    walking = json.loads((ROOT / "examples" / "tracks" / "walking.json").read_text())
    walking["frames"] = walking["frames"][:FRAMES]
    folder = tmp_path / "shots"
    folder.mkdir()
    for name in NAMES:
        (folder / f"{name}.json").write_text(json.dumps(walking))
    return folder


def run_batch(shots: Path, out: Path, *flags: str, engine=None) -> tuple[int, dict]:
    """The command line on the shots folder, BVH onto the Mixamo stand-in; (exit code, summary)."""
    summary = out.parent / f"{out.name}.json"
    args = [str(shots), "--rig", "mixamo", "--format", "bvh", "--out", str(out)]
    code = batch.main([*args, "--no-progress", "--json", str(summary), *flags], engine=engine)
    return code, json.loads(summary.read_text()) if summary.is_file() else {}


def motion(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Frame Time")) + 1
    return np.array([[float(v) for v in line.split()] for line in lines[start:]])


class Stalled:
    """The shipped engine behind a gate: a server that answers pings but never finishes a lift
    until released (a machine that hangs mid-run, as its clients see it)."""

    def __init__(self, engine, gate: threading.Event):
        self.engine, self.gate = engine, gate

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def lift(self, **kwargs):
        self.gate.wait()
        return self.engine.lift(**kwargs)


def test_two_backends_share_one_batch_as_one_backend_would(shots, tmp_path, engine):
    with live_server(engine) as one, live_server(engine) as two:
        code, farm = run_batch(shots, tmp_path / "farm", "--backend", one.address,
                               "--backend", two.address)  # fmt: skip
        assert code == 0
        code, single = run_batch(shots, tmp_path / "single", "--backend", one.address)
        assert code == 0
        # a rerun skips every finished track, wherever it was lifted
        code, again = run_batch(
            shots, tmp_path / "farm", "--backend", f"{one.address},{two.address}"
        )
        assert code == 0 and again["counts"] == {"ok": 0, "skipped": 4, "failed": 0}
    assert farm["counts"] == {"ok": 4, "skipped": 0, "failed": 0}
    assert farm["backend"] == f"{one.address},{two.address}"
    assert sorted(t["name"] for t in farm["tracks"]) == list(NAMES)  # each once
    lifted = {b["address"]: b["lifted"] for b in farm["backends"]}
    assert lifted[one.address] >= 1 and lifted[two.address] >= 1 and sum(lifted.values()) == 4
    assert all(b["down"] is None for b in farm["backends"])
    by_backend = [t["backend"] for t in farm["tracks"]]
    assert sorted(by_backend.count(a) for a in lifted) == sorted(lifted.values())
    assert {t["backend"] for t in single["tracks"]} == {one.address}
    assert sorted(p.name for p in (tmp_path / "farm").iterdir()) == [
        f"{name}.mixamo.bvh" for name in NAMES
    ]
    for name in NAMES:
        here = motion(tmp_path / "farm" / f"{name}.mixamo.bvh")
        there = motion(tmp_path / "single" / f"{name}.mixamo.bvh")
        assert here.shape == there.shape == (FRAMES, here.shape[1])
        assert np.abs(here - there).max() < 1e-3


def test_dead_and_hanging_backends_lose_no_track(shots, tmp_path, engine, capsys):
    """Nothing listens on one address (left out at the start); another answers pings but hangs on
    lifts (its tracks time out and go to the good one); every track is still done, once."""
    dead = f"tcp://127.0.0.1:{free_port()}"
    gate = threading.Event()
    try:
        with live_server(Stalled(engine, gate)) as hanging, live_server(engine) as good:
            addresses = f"{dead},{hanging.address},{good.address}"
            code, report = run_batch(shots, tmp_path / "out", "--backend", addresses,
                                     "--timeout", "4", "--lookahead", "1")  # fmt: skip
            gate.set()
    finally:
        gate.set()
    assert code == 0, report.get("errors")
    assert report["counts"] == {"ok": 4, "skipped": 0, "failed": 0}
    assert {t["backend"] for t in report["tracks"]} == {good.address}
    retried = [t for t in report["tracks"] if t["retried_from"]]
    assert retried and all(t["retried_from"] == [hanging.address] for t in retried)
    down = {b["address"]: b["down"] for b in report["backends"]}
    assert "no answer" in down[dead] and "no answer" in down[hanging.address]
    assert down[good.address] is None
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"{name}.mixamo.bvh" for name in NAMES
    ]
    assert dead in capsys.readouterr().err  # said as it happened


def test_backends_behind_curve_keys(shots, tmp_path, engine, capsys):
    """Backends on other machines run with --allow-remote, so with CURVE keys: --curve-dir gives
    the batch's clients theirs (here two keyed servers on loopback sharing one key folder)."""
    keys = tmp_path / "keys"
    make_keys(keys)
    with live_server(engine, curve_dir=keys) as one, live_server(engine, curve_dir=keys) as two:
        code, report = run_batch(shots, tmp_path / "out", "--backend", f"{one.address},{two.address}",
                                 "--curve-dir", str(keys))  # fmt: skip
    assert code == 0 and report["counts"]["ok"] == 4
    assert {b["address"] for b in report["backends"] if b["lifted"]} == {one.address, two.address}
    for flags, said in (
        (["--curve-dir", str(keys)], "--curve-dir is for --backend"),
        (["--backend", one.address, "--curve-dir", str(tmp_path)], "no server.key or client.key"),
    ):
        assert run_batch(shots, tmp_path / "refused", *flags)[0] == 2
        assert said in capsys.readouterr().err


def test_every_backend_down_fails_each_track_clearly(shots, tmp_path, capsys):
    dead = [f"tcp://127.0.0.1:{free_port()}" for _ in range(2)]
    code, report = run_batch(shots, tmp_path / "out", "--backend", dead[0], "--backend", dead[1],
                             "--timeout", "1")  # fmt: skip
    assert code == 1 and report["counts"]["failed"] == 4
    for track in report["tracks"]:
        assert "no backend answered" in track["error"] and "mpm_backend.serve" in track["error"]
        assert all(address in track["error"] for address in dead)
    assert not list((tmp_path / "out").iterdir())


def test_shards_split_the_tracks_once_with_no_shared_state(shots, tmp_path, engine):
    out = tmp_path / "out"
    code1, first = run_batch(shots, out, "--shard", "1/2", engine=engine)
    done_first = {p.name for p in out.iterdir()}
    code2, second = run_batch(shots, out, "--shard", "2/2", engine=engine)
    assert code1 == code2 == 0
    mine = [{t["name"] for t in r["tracks"] if t["status"] == "ok"} for r in (first, second)]
    assert mine[0] and mine[1] and not mine[0] & mine[1]  # neither alone covers all
    assert mine[0] | mine[1] == set(NAMES)  # together, every track once
    assert second["counts"]["skipped"] == 0  # nothing of shard 1's was in shard 2
    assert done_first == {f"{name}.mixamo.bvh" for name in mine[0]}
    assert first["shard"] == {"index": 1, "count": 2, "key": shards.KEY}
    assert {o["name"] for o in first["other_shards"]} == mine[1]
    assert {o["shard"] for o in first["other_shards"]} == {"2/2"}
    # the key is the track's name: the same split whatever order the files are given in
    files = [str(shots / f"{name}.json") for name in reversed(NAMES)]
    summary = tmp_path / "reversed.json"
    args = [*files, "--rig", "mixamo", "--format", "bvh", "--out", str(out), "--shard", "1/2"]
    assert batch.main([*args, "--no-progress", "--json", str(summary)], engine=engine) == 0
    report = json.loads(summary.read_text())
    assert {t["name"] for t in report["tracks"]} == mine[0]  # and skipped: already written
    assert report["counts"]["skipped"] == len(mine[0])


def test_a_shared_output_folder_keeps_other_machines_temporaries(tmp_path):
    """Shards may share DIR: a run clears its own machine's killed runs' temporaries, never
    another host's (whose run may be writing them; its pid means nothing here)."""
    final = tmp_path / "shot_a.mixamo.bvh"
    mine = discovery.partial_path(final)
    assert f"@{discovery.HOST}" in mine.name and mine.name.startswith(".shot_a.mixamo.bvh")
    dead = 999_999_999
    killed_here = tmp_path / f".shot_b.mixamo.bvh{batch.PARTIAL}{dead}@{discovery.HOST}.bvh"
    elsewhere = tmp_path / f".shot_c.mixamo.bvh{batch.PARTIAL}{dead}@farm-node-7.bvh"
    for path in (mine, killed_here, elsewhere):
        path.write_text("half a file")
    discovery.remove_stale_partials(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, elsewhere.name])


@pytest.mark.parametrize(
    "shard, said",
    [
        ("3/2", "i must be 1 to n"),
        ("0/2", "i must be 1 to n"),
        ("1/0", "n, the number of shards, must be 1 or more"),
        ("2", "give it as i/n"),
        ("a/b", "give it as i/n"),
    ],
)
def test_bad_shards_are_refused(shots, tmp_path, capsys, shard, said):
    out = tmp_path / "out"
    args = [str(shots), "--rig", "mixamo", "--out", str(out), "--shard", shard]
    assert batch.main(args) == 2
    err = capsys.readouterr().err
    assert said in err and f"--shard {shard}" in err.replace("'", "")
    assert not out.exists()
