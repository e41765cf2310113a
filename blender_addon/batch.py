"""Headless batch retargeting: a folder of 2D tracks → keyframed rigs in .blend, BVH and FBX.

    python -m blender_addon.batch TRACKS... --rig metarig --out DIR [--format blend,bvh,fbx]
        [--backend tcp://HOST:PORT[,...] | --in-process] [--shard i/n]
        [--smooth none|one_euro|butterworth]
        [--cutoff HZ | --min-cutoff HZ --beta B] [--foot-lock | --no-foot-lock] [--no-cleanup]
        [--root move|in_place|off]
        [--camera auto|level|PITCH[,ROLL]] [--force]
        [--json SUMMARY.json]
    blender -b --python-exit-code 1 -P blender_addon/batch.py -- TRACKS... --rig ... --out DIR

TRACKS are track files (every format `mpm_backend.tracks.read_track` reads) or folders: a folder
of OpenPose `*_keypoints.json` files is one track, any other folder stands for the track files
and OpenPose folders directly inside it. For each track: read → lift (the model in-process, or a
`python -m mpm_backend.serve` backend) → retarget onto a fresh copy of each rig in a fresh file →
write `DIR/<track>.<rig>.<format>` with Blender's own exporters (a file with several people:
`DIR/<track>.p<k>.<rig>.<format>` per person k, unless --person picks one). Writes go to hidden
temporary names and are renamed when all of a track's outputs are written; a track whose outputs
all exist is skipped unless --force. While one track is retargeted and exported, the next ones are being
read and lifted (--lookahead). Exit code 0: every track ok or skipped; 1: some failed; 2: bad
arguments. docs/batch.md has the details.

This module is the command line and the run; `discovery.py` finds the tracks and names the
outputs, `lifters.py` lifts (in-process or through a backend), `farm.py` through several
backends, `shards.py` picks a --shard's tracks, `batch_config.py` holds the settings they share.
"""

from __future__ import annotations

import sys
from pathlib import Path

if (
    __name__ == "__main__" and not __package__
):  # run as a file (blender -b -P blender_addon/batch.py)
    _REPO = Path(__file__).resolve().parents[1]
    if sys.path and Path(sys.path[0] or ".").resolve() == _REPO / "blender_addon":
        sys.path.pop(0)  # the script's folder would shadow nothing useful, only confuse imports
    sys.path.insert(0, str(_REPO))
    # Inside a Blender binary: borrow pyzmq, msgpack, PyYAML, tqdm and torch from the checkout's
    # venv (Blender's Python is 3.11 too); appended, so Blender's own numpy comes first.
    for _site in sorted((_REPO / ".venv" / "lib").glob("python3.11/site-packages")):
        if str(_site) not in sys.path:
            sys.path.append(str(_site))
    __package__ = "blender_addon"

import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections import deque  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import bpy  # noqa: E402

from . import export, people, presets, shards  # noqa: E402
from . import result as scene_result  # noqa: E402
from .batch_cli import build_parser, config_from_args  # noqa: E402
from .batch_config import (  # noqa: E402
    PARTIAL,
    BatchConfig,
    Job,
    UsageError,
)
from .core import rigmaps  # noqa: E402
from .deps import tracks  # noqa: E402
from .discovery import (  # noqa: E402
    find_tracks,
    make_jobs,
    partial_path,
    remove_stale_partials,
    rig_labels,
    track_names,
)
from .farm import BackendFarm  # noqa: E402
from .jobs import LiftOptions  # noqa: E402
from .lifters import BackendLifter, InProcessLifter  # noqa: E402

OK, SKIPPED, FAILED = "ok", "skipped", "failed"


@dataclass
class TrackResult:
    input: str
    name: str
    status: str
    frames: int | None = None
    fps: float | None = None
    seconds: float = 0.0  # wall time of this track in the main loop (waiting for its lift included)
    lift_seconds: float | None = None  # the lift itself (in-process) or as the backend reports it
    wait_seconds: float = 0.0  # how long Blender's side waited for this lift (0: pipelined away)
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    floor: dict | None = None  # how the ground was levelled (source, camera pitch and roll)
    warnings: list[str] = field(default_factory=list)
    person: int | None = None  # which person of a file with several (its output is <name>.p<k>)
    people: int = 1  # how many people the input file holds
    person_id: int | None = None  # that person's id in the file (or as associated)
    backend: str | None = None  # who lifted it: "in-process" or a backend's address
    retried_from: list[str] = field(default_factory=list)  # backends that failed it first
    track: object = None  # keep_arrays only; not in the JSON summary
    arrays: dict | None = None

    def as_json(self) -> dict:
        keep = (
            "input",
            "name",
            "person",
            "person_id",
            "people",
            "status",
            "frames",
            "fps",
            "seconds",
            "lift_seconds",
            "backend",
            "retried_from",
        )
        data = {k: getattr(self, k) for k in keep}
        data["seconds"] = round(self.seconds, 3)
        data["wait_seconds"] = round(self.wait_seconds, 3)
        if self.lift_seconds is not None:
            data["lift_seconds"] = round(self.lift_seconds, 3)
        return {
            **data,
            "outputs": self.outputs,
            "error": self.error,
            "floor": self.floor,
            "warnings": self.warnings,
        }

    def line(self, out: Path) -> str:
        """The one line a track gets in the log."""
        if self.status == FAILED:  # track errors start with the path already
            said = self.error or ""
            said = said if said.startswith(self.input) else f"{self.input}: {said}"
            return f"failed   {said}" + ("" if self.person is None else f" (person {self.person})")
        names = " ".join(_relative(p, out) for p in self.outputs)
        if self.status == SKIPPED:
            return f"skipped  {self.input}: outputs exist (--force redoes): {names}"
        said = "".join(f"\n  warning: {w}" for w in self.warnings)
        who = "" if self.person is None else f" person {self.person}"
        return (
            f"ok       {self.input}{who}: {self.frames} frames in {self.seconds:.1f} s → "
            f"{names}{said}"
        )


@dataclass
class BatchSummary:
    config: BatchConfig
    results: list[TrackResult]
    seconds: float
    other_shards: list[dict] = field(default_factory=list)  # tracks --shard left to the others
    backends: list[dict] = field(default_factory=list)  # per backend: lifted, down (several)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def exit_code(self) -> int:
        return 1 if self.count(FAILED) else 0

    def as_json(self) -> dict:
        c = self.config
        options = dataclasses.asdict(c.options)
        for reading in (
            "target",
            "layout",
            "fps",
            "image_size",
            "threshold",
            "rig",
            "rig_map_path",
        ):
            options.pop(reading, None)  # the run's own fields below say these
        for name, kept_when in (
            ("cutoff_hz", c.options.smoothing == "BUTTERWORTH"),
            ("one_euro_min_cutoff", c.options.smoothing == "ONE_EURO"),
            ("one_euro_beta", c.options.smoothing == "ONE_EURO"),
            ("camera_pitch", c.options.level == "KNOWN"),
            ("camera_roll", c.options.level == "KNOWN"),
            ("key_tolerance", c.options.reduce_keys),
        ):
            if not kept_when:
                options.pop(name)  # a parameter of a step that did not run
        options["bvh_up"] = c.bvh_up
        return {
            "rigs": rig_labels(c.rigs),
            "rig_sources": list(c.rigs),
            "formats": list(c.formats),
            "out": str(c.out),
            "backend": ",".join(c.backends) or "in-process",
            "flip": c.flip,
            "backends": self.backends,
            "shard": shards.as_json(c.shard),
            "other_shards": self.other_shards,
            "options": options,
            "reading": {
                "fps": c.fps,
                "image_size": list(c.image_size) if c.image_size else None,
                "layout": c.layout,
                "person": c.person,
                "threshold": c.threshold,
            },
            "seconds": round(self.seconds, 3),
            "counts": {s: self.count(s) for s in (OK, SKIPPED, FAILED)},
            "inputs": [r.input for r in self.results],
            "people": {r.input: r.people for r in self.results},  # per input file
            "outputs": [p for r in self.results for p in r.outputs],
            "frames": sum(r.frames or 0 for r in self.results if r.status == OK),
            "errors": [{"input": r.input, "error": r.error} for r in self.results if r.error],
            "tracks": [r.as_json() for r in self.results],
        }


def _relative(path: str | Path, base: Path) -> str:
    try:
        return str(Path(path).relative_to(base))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- quiet Blender


@contextlib.contextmanager
def silenced(enabled: bool = True) -> Iterator[None]:
    """Quiet what Blender and its exporters print meanwhile: Python's sys.stdout and fd 1 (where
    Blender's C code writes) go to /dev/null. Errors still raise; stderr is left alone."""
    if not enabled:
        yield
        return
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        try:
            sys.__stdout__.flush()
        except (AttributeError, OSError, ValueError):
            pass
        _flush_c_stdio()
        try:
            saved = os.dup(1)
        except OSError:  # no fd 1 (a GUI process on Windows)
            yield
            return
        try:
            os.dup2(null.fileno(), 1)
            yield
        finally:
            _flush_c_stdio()
            os.dup2(saved, 1)
            os.close(saved)


def _flush_c_stdio() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):
        pass


# --------------------------------------------------------------------------- rigs


@dataclass
class RigEntry:
    spec: str
    label: str
    rig_map: str
    library: Path  # a .blend holding just this rig
    armature: str
    extra: list[str]


def build_rig_library(config: BatchConfig, folder: Path) -> list[RigEntry]:
    """Build each rig once, check a rig map fits it, and keep it in its own small .blend."""
    entries = []
    for i, (spec, label) in enumerate(zip(config.rigs, rig_labels(config.rigs), strict=True)):
        with silenced(not config.verbose):
            fresh_file(30.0)
            try:
                rig = presets.build(spec, config.rig_object)
                scene_result.rig_map_for(rig.armature, LiftOptions(rig=rig.rig_map))
            except (presets.PresetError, rigmaps.RigMapError) as exc:
                raise UsageError(str(exc)) from None
            path = folder / f"rig{i}.blend"
            bpy.data.libraries.write(str(path), set(rig.objects), fake_user=True)
        entries.append(
            RigEntry(spec, label, rig.rig_map, path, rig.armature.name, [o.name for o in rig.extra])
        )
    return entries


def fresh_file(fps: float) -> bpy.types.Scene:
    """An empty file (factory settings) whose scene runs at the track's frame rate."""
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    scene.render.fps = max(1, round(fps))
    scene.render.fps_base = scene.render.fps / fps
    return scene


def append_rig(entry: RigEntry, scene: bpy.types.Scene) -> tuple[bpy.types.Object, list]:
    with bpy.data.libraries.load(str(entry.library), link=False) as (_, dst):
        dst.objects = [entry.armature, *entry.extra]
    for obj in dst.objects:
        scene.collection.objects.link(obj)
    return dst.objects[0], list(dst.objects)


# --------------------------------------------------------------------------- the run


def retarget_and_write(
    job: Job, track, arrays: dict, prepared, entries: list[RigEntry], config: BatchConfig
) -> list[Path]:
    """Every rig × format of one track, under temporary names, renamed when all are written.

    prepared: `result.prepare_joints` of the track, shared by its rigs."""
    written: dict[str, Path] = {}
    try:
        for entry in entries:
            with silenced(not config.verbose):
                scene = fresh_file(track.fps)
                armature, objects = append_rig(entry, scene)
                options = dataclasses.replace(
                    config.options, target=armature.name, rig=entry.rig_map
                )
                scene_result.apply(scene, track, arrays, options, prepared)
                for fmt in config.formats:
                    key = f"{entry.label}.{fmt}"
                    written[key] = partial_path(job.outputs[key])
                    extra = {"up": config.bvh_up} if fmt == "bvh" else {}
                    export.write(fmt, written[key], scene, armature, objects, **extra)
                    if not written[key].is_file():
                        raise RuntimeError(f"Blender's {fmt} exporter wrote no file")
        for key, temporary in written.items():
            os.replace(temporary, job.outputs[key])
    finally:
        for temporary in written.values():
            with contextlib.suppress(OSError):
                temporary.unlink()
        with silenced(not config.verbose):
            bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    return [job.outputs[key] for key in written]


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, tracks.TrackError | ValueError | OSError | RuntimeError):
        return text.splitlines()[0] if "\n" in text and len(text) > 500 else text
    return f"{type(exc).__name__}: {text}"


def run(
    config: BatchConfig,
    engine=None,
    client=None,
    echo: Callable[[str], None] | None = None,
) -> BatchSummary:
    """The whole batch; raises UsageError for bad arguments (nothing is written then)."""
    started = time.perf_counter()
    if not config.rigs:
        raise UsageError("give a rig: --rig metarig|rigify|mixamo|cmu|PATH.blend|PATH.fbx|PATH.bvh")
    for spec in config.rigs:
        try:
            presets.check_spec(spec)
        except presets.PresetError as exc:
            raise UsageError(str(exc)) from None
    unknown = [f for f in config.formats if f not in export.FORMATS]
    if unknown or not config.formats:
        raise UsageError(
            f"--format {','.join(config.formats)}: choose from {', '.join(export.FORMATS)}"
        )
    if config.lookahead < 0:
        raise UsageError("--lookahead must be 0 or more")
    config.formats = tuple(dict.fromkeys(config.formats))
    config.rigs = list(dict.fromkeys(config.rigs))
    rig_labels(config.rigs)  # refuses rigs whose outputs would collide
    paths = find_tracks(config.tracks)
    mine, others = shards.split(paths, track_names(paths), config.shard)
    jobs = make_jobs(config, paths, mine)
    try:
        config.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {config.out}: cannot create it ({exc.strerror or exc})") from None
    remove_stale_partials(config.out)

    results: dict[int, TrackResult] = {}
    todo = []
    for i, job in enumerate(jobs):
        if not config.force and all(p.is_file() for p in job.outputs.values()):
            results[i] = _result(job, SKIPPED, outputs=[str(p) for p in job.outputs.values()])
        else:
            todo.append((i, job))

    bar = _progress_bar(len(jobs), config.progress)
    emit = echo or (lambda line: _write_line(line))
    for i in sorted(results):
        emit(results[i].line(config.out))
        bar.update(1)
    backends: list[dict] = []
    if todo:
        with tempfile.TemporaryDirectory(prefix="mpm-batch-rigs-") as folder:
            bar.set_postfix_str("building the rig" + ("s" if len(config.rigs) > 1 else ""))
            entries = build_rig_library(config, Path(folder))
            lifter = _lifter(config, engine, client)
            try:
                _run_jobs(todo, entries, lifter, config, results, bar, emit)
            finally:
                lifter.close()
            if isinstance(lifter, InProcessLifter) and lifter.engine is not None:
                config.flip = bool(lifter.engine.flip)  # what the engine did, given or made
            backends = lifter.report() if isinstance(lifter, BackendFarm) else []
    bar.close()
    ordered = [results[i] for i in range(len(jobs))]
    seconds = time.perf_counter() - started
    return BatchSummary(config, ordered, seconds, others, backends)


def _lifter(config: BatchConfig, engine, client):
    """In-process, one backend, or several (farm.py: tracks spread, retried elsewhere)."""
    if len(config.backends) > 1:
        return BackendFarm(config)
    return BackendLifter(config, client) if config.backends else InProcessLifter(config, engine)


def _result(job: Job, status: str, **fields: object) -> TrackResult:
    """A job's result, saying which person of its file it is."""
    return TrackResult(
        str(job.source), job.name, status, person=job.person, people=job.people, **fields
    )


def _run_jobs(todo, entries, lifter, config, results, bar, emit) -> None:
    try:
        lifter.start()
    except Exception as exc:
        message = f"cannot lift ({lifter.name}): {_describe(exc)}"
        for i, job in todo:
            results[i] = _result(job, FAILED, error=message)
            emit(results[i].line(config.out))
            bar.update(1)
        return
    waiting = deque(todo)
    in_flight: list = []
    firsts = FirstPeople(config)

    def top_up(limit: int) -> None:
        while waiting and len(in_flight) < limit:
            i, job = waiting.popleft()
            in_flight.append((i, job, lifter.submit(job)))

    while waiting or in_flight:
        start = time.perf_counter()
        top_up(config.lookahead * lifter.lanes + 1)  # this track and the next ones
        first = getattr(lifter, "first_done", None)  # several backends: whichever is ready
        bar.set_postfix_str("lifting" if first else f"{in_flight[0][1].name}: lifting")
        i, job, handle = in_flight.pop(first([h for *_, h in in_flight]) if first else 0)
        track_result = _result(job, FAILED)
        try:
            track, arrays, lift_seconds = lifter.result(handle)
            track_result.wait_seconds = time.perf_counter() - start
            top_up(config.lookahead * lifter.lanes)  # the next lifts run during the retarget
            track_result.frames, track_result.fps = int(track.num_frames), float(track.fps)
            track_result.lift_seconds = lift_seconds
            track_result.person_id = getattr(track, "person_id", None)
            bar.set_postfix_str(f"{job.name}: retargeting, writing")
            prepared = scene_result.prepare_joints(arrays, track.fps, config.options)
            track_result.floor, track_result.warnings = scene_result.floor_report(
                prepared.level, arrays
            )
            prepared = firsts.place(job, track, arrays, prepared, lifter)
            outputs = retarget_and_write(job, track, arrays, prepared, entries, config)
            track_result.status, track_result.outputs = OK, [str(p) for p in outputs]
            if config.keep_arrays:
                track_result.track, track_result.arrays = track, arrays
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # a bad track: report it, go on with the others
            track_result.error = _describe(exc)
            if config.verbose:
                traceback.print_exc()
        track_result.backend, track_result.retried_from = lifter.lifted_by(handle)
        track_result.seconds = time.perf_counter() - start
        results[i] = track_result
        emit(track_result.line(config.out))
        bar.update(1)


class FirstPeople:
    """Person 0 of each file with several, so every further person's output stands in person
    0's world, beside them, as the panel places people (`people.place`): each output would
    otherwise start at its own origin. Person 0 is lifted again where its own job did not run
    first (skipped as done, or lifted elsewhere later)."""

    def __init__(self, config: BatchConfig):
        self.config = config
        self.seen: dict[Path, tuple] = {}  # file → (arrays, prepared) of its person 0

    def place(self, job: Job, track, arrays: dict, prepared, lifter):
        if job.person is None or job.people < 2:
            return prepared
        if job.person == 0:
            self.seen[job.source] = (arrays, prepared)
            return prepared
        if job.source not in self.seen:
            _, first_arrays, _ = lifter.result(lifter.submit(dataclasses.replace(job, person=0)))
            first = scene_result.prepare_joints(first_arrays, track.fps, self.config.options)
            self.seen[job.source] = (first_arrays, first)
        first_arrays, first = self.seen[job.source]
        return people.place([first, prepared], [first_arrays, arrays], [None, track])[1]


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, enabled: bool | None):
    try:
        from tqdm import tqdm
    except ImportError:  # a Blender binary without the venv
        return _NoBar()
    disable = None if enabled is None else not enabled
    return tqdm(total=total, unit="track", file=sys.stderr, disable=disable, dynamic_ncols=True)


def _write_line(line: str) -> None:
    try:
        from tqdm import tqdm

        tqdm.write(line, file=sys.stdout)
    except ImportError:
        print(line)
    sys.stdout.flush()


# --------------------------------------------------------------------------- command line


def write_summary(path: Path, summary: BatchSummary) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}{PARTIAL}{os.getpid()}")
    temporary.write_text(json.dumps(summary.as_json(), indent=1) + "\n")
    os.replace(temporary, path)


def main(argv: Sequence[str] | None = None, engine=None) -> int:
    parser = build_parser(__doc__)
    try:
        args = parser.parse_intermixed_args(argv)
    except SystemExit as exc:  # --help: 0, bad arguments: 2
        return int(exc.code or 0)
    try:
        config = config_from_args(args)
        summary = run(config, engine=engine)
    except UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{summary.count(s)} {s}" for s in (OK, SKIPPED, FAILED))
    frames = sum(r.frames or 0 for r in summary.results if r.status == OK)
    print(
        f"{len(summary.results)} track(s): {counts}; {frames} frames in {summary.seconds:.1f} s; "
        f"outputs in {config.out}" + shards.said(config.shard, len(summary.other_shards))
    )
    if args.json:
        write_summary(args.json, summary)
        print(f"summary: {args.json}")
    return summary.exit_code


def _argv_after_dashes(argv: Sequence[str]) -> list[str]:
    """Blender passes the script's arguments after `--`; `python batch.py` may or may not."""
    argv = list(argv)
    return argv[argv.index("--") + 1 :] if "--" in argv else argv[1:]


if __name__ == "__main__":
    sys.exit(main(_argv_after_dashes(sys.argv)))
