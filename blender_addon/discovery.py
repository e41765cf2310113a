"""Batch inputs and outputs: which tracks the TRACKS arguments name, what each writes, and
reading one with the run's overrides (docs/batch.md)."""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import re
import socket
from collections.abc import Collection, Sequence
from pathlib import Path

from . import presets
from .batch_config import PARTIAL, BatchConfig, Job, UsageError
from .deps import tracks

TRACK_SUFFIXES = tracks.TRACK_SUFFIXES  # the suffixes the track readers know
HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0]) or "host"


def is_openpose_folder(path: Path) -> bool:
    return path.is_dir() and any(path.glob("*_keypoints.json"))


def find_tracks(paths: Sequence[str | Path]) -> list[Path]:
    """Expand the TRACKS arguments: files as given, folders as described in the module doc."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file() or is_openpose_folder(path):
            found.append(path)
        elif path.is_dir():
            inside = sorted(
                p
                for p in path.iterdir()
                if not p.name.startswith(".")
                and ((p.is_file() and p.suffix.lower() in TRACK_SUFFIXES) or is_openpose_folder(p))
            )
            if not inside:
                raise UsageError(
                    f"{path}: no tracks in this folder (track files {', '.join(TRACK_SUFFIXES)} "
                    "or folders of OpenPose *_keypoints.json files)"
                )
            found.extend(inside)
        else:
            raise UsageError(f"{path}: no such file or folder")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def track_names(paths: Sequence[Path]) -> list[str]:
    """Output names: the file's stem (a folder's name); clashes get the suffix, then a number."""
    stems = [p.stem if p.is_file() else p.name for p in paths]
    names = [
        f"{stem}_{path.suffix.lstrip('.').lower()}"
        if stems.count(stem) > 1 and path.is_file() and path.suffix
        else stem
        for stem, path in zip(stems, paths, strict=True)
    ]
    clashing = {name for name in names if names.count(name) > 1}
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in clashing:
            seen[name] = seen.get(name, 0) + 1
            names[i] = f"{name}_{seen[name]}"
    return names


def make_jobs(
    config: BatchConfig, paths: Sequence[Path], keep: Collection[Path] | None = None
) -> list[Job]:
    """One job per track, or per person of a track with several (`<track>.p<k>`, k in
    `read_people`'s order: first appearance) unless --person picks one.

    keep: only these paths (a --shard's), named as among all of `paths` so that every shard
    gives a track the same name; the others are not even read to count their people."""
    labels = rig_labels(config.rigs)

    def job(path: Path, name: str, person: int | None, people: int) -> Job:
        outputs = {
            f"{label}.{fmt}": config.out / f"{name}.{label}.{fmt}"
            for label in labels
            for fmt in config.formats
        }
        return Job(path, name, outputs, person, people)

    jobs = []
    for path, name in zip(paths, track_names(paths), strict=True):
        if keep is not None and path not in keep:
            continue
        people = people_in(path, config)
        if people > 1:
            jobs += [job(path, f"{name}.p{k}", k, people) for k in range(people)]
        else:
            jobs.append(job(path, name, None, people))
    return jobs


def people_in(path: Path, config: BatchConfig) -> int:
    """How many people a track file holds; 1 with --person, or when it cannot be read (its
    error is reported in its turn)."""
    if config.person is not None:
        return 1
    try:
        return max(1, len(_people(path, config)))
    except (tracks.TrackError, OSError):
        return 1


def _people(path: Path, config: BatchConfig) -> tuple[tracks.Track, ...]:
    """`tracks.read_people` of a file, read once for counting and for every person's job."""
    return _read_people(path, path.stat().st_mtime_ns, config.layout, config.image_size)


@functools.lru_cache(maxsize=4)
def _read_people(path: Path, _stamp: int, layout, image_size) -> tuple[tracks.Track, ...]:
    return tuple(tracks.read_people(path, layout, None, image_size))


def rig_labels(specs: Sequence[str]) -> list[str]:
    """What output names call each rig: the preset's name or the rig file's stem; rig files
    with the same stem get their suffix appended (hero_fbx, hero_blend)."""
    stems = [presets.label_for(s) for s in specs]
    labels = [
        f"{stem}_{Path(spec).suffix.lstrip('.').lower()}"
        if stems.count(stem) > 1 and spec not in presets.PRESETS
        else stem
        for stem, spec in zip(stems, specs, strict=True)
    ]
    clashes = sorted({label for label in labels if labels.count(label) > 1})
    if clashes:
        raise UsageError(
            f"--rig: two rigs would both write *.{clashes[0]}.* files; give each rig once "
            "(rig files from different folders need different names)"
        )
    return labels


def partial_path(final: Path) -> Path:
    """`.<name>.partial-<pid>@<host>.<suffix>`: the host too, so that machines sharing one
    output folder (--shard) can tell their own leftovers from another machine's live run."""
    return final.with_name(f".{final.name}{PARTIAL}{os.getpid()}@{HOST}{final.suffix}")


def remove_stale_partials(folder: Path) -> None:
    """Temporary outputs left by runs of this machine that were killed (their process is gone);
    another machine's (another host's name) are left alone: its run may still be writing."""
    for path in folder.glob(f".*{PARTIAL}*"):
        match = re.search(re.escape(PARTIAL) + r"(\d+)(?:@([A-Za-z0-9-]+))?", path.name)
        if match is None or match.group(2) not in (None, HOST) or _alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            path.unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def load_track(path: Path, config: BatchConfig, person: int | None = None) -> tracks.Track:
    """Read a track with the run's overrides (person: a job's person, else --person); a track
    without a frame rate takes --fps."""
    try:
        if person is not None and config.person is None:  # one person's job of a file of several
            track = copy.copy(_people(path, config)[person])
        else:
            track = tracks.read_track(
                path,
                layout=config.layout,
                person=config.person if person is None else person,
                image_size=config.image_size,
            )
    except tracks.TrackError as exc:
        if "image size" in str(exc) and config.image_size is None:
            raise tracks.TrackError(f"{exc} (here: pass --image-size WxH)") from None
        raise
    if not track.fps:
        if not config.fps:
            raise tracks.TrackError(f"{path}: the file gives no frame rate; pass --fps")
        track.fps = float(config.fps)
    return track
