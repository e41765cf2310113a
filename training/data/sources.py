"""Where the mocap files are: every manifest folder under a root, or plain BVH/AMC files.

The shared mocap root has a ``manifest.csv`` for ``bvh/`` and further folders (``hdm05/``,
``reactidle/``) with manifests of their own; each manifest's paths are relative to its own folder.
One row per motion file says its source, split, true frame rate and, for AMC, its skeleton.
Loading goes through `load_files`, which skips a whole manifest folder whose skeleton no map
recognises (one warning line) instead of failing the whole corpus.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from training.data.asf import find_skeleton
from training.data.mocap import SUFFIXES, MocapClip, load_clip
from training.data.skeleton_maps import UnknownSkeletonError

SPLITS = ("train", "val")
MANIFEST = "manifest.csv"
# Leading frames that are not motion: frame 0 of the CMU BVH conversions is a reference T-pose
# (mocap README). HDM05 and ReActIdle start with real motion (frame 0 flows into frame 1).
ADDED_FRAMES_BY_SOURCE = {"cmu_actions": 1, "cmu_dance": 1}
# Files found without a manifest: a BVH is assumed to be a CMU-style conversion, an AMC is not.
ADDED_FRAMES_BY_SUFFIX = {".bvh": 1, ".amc": 0}


@dataclass(frozen=True)
class MocapFile:
    """One motion file and what is known about it (from its manifest row, if it has one)."""

    file: Path  # absolute
    path: str  # relative to the folder that was searched (names in reports and index.json)
    source: str  # the manifest's source ("" for a file found without a manifest)
    split: str | None
    fps: float | None  # the true frame rate; None: the file's own
    subject: str = ""
    action: str = ""
    skeleton: Path | None = None  # an AMC's ASF, absolute
    skip_frames: int = 0  # leading frames that are not motion
    manifest: Path | None = None  # the manifest.csv it comes from


def find_manifests(root: Path) -> list[Path]:
    """The root's own manifest.csv and every one in its subfolders, sorted, root first."""
    root = Path(root)
    found = sorted(root.rglob(MANIFEST), key=lambda p: (len(p.relative_to(root).parts), str(p)))
    return [p for p in found if p.is_file()]


def read_manifest(folder: Path, relative_to: Path | None = None) -> list[MocapFile]:
    """Rows of one folder's manifest.csv; paths in `path` are relative to `relative_to`.

    The fps column is the true frame rate (it overrides file headers); an optional `skeleton`
    column names an AMC's ASF and an optional `skip_frames` column overrides the source default.
    """
    folder = Path(folder)
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise FileNotFoundError(
            f"no {MANIFEST} in {folder}: point --mocap at the shared mocap folder"
        )
    base = Path(relative_to) if relative_to is not None else folder
    with manifest.open(newline="") as f:
        rows = [_row(r, folder, base, manifest) for r in csv.DictReader(f)]
    bad = [r.path for r in rows if r.split not in SPLITS]
    if bad:
        raise ValueError(f"{manifest}: split must be train or val; not so for {bad[:5]}")
    return rows


def _row(raw: dict[str, str], folder: Path, base: Path, manifest: Path) -> MocapFile:
    file = (folder / raw["path"]).resolve()
    skeleton = raw.get("skeleton") or None
    skip = raw.get("skip_frames")
    return MocapFile(
        file=file,
        path=_relative(folder / raw["path"], base),
        source=raw["source"],
        split=raw["split"],
        fps=float(raw["fps"]) if raw.get("fps") else None,
        subject=raw.get("subject", ""),
        action=raw.get("action_or_style", ""),
        skeleton=(folder / skeleton).resolve() if skeleton else None,
        skip_frames=int(skip) if skip else ADDED_FRAMES_BY_SOURCE.get(raw["source"], 0),
        manifest=manifest,
    )


def _relative(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)


def read_manifests(root: Path) -> list[MocapFile]:
    """Rows of every manifest under root (see find_manifests), paths relative to root."""
    root = Path(root)
    manifests = find_manifests(root)
    if not manifests:
        raise FileNotFoundError(
            f"no {MANIFEST} in {root} or below: point --mocap at the shared mocap folder"
        )
    return [row for m in manifests for row in read_manifest(m.parent, relative_to=root)]


def find_mocap_files(
    path: Path, split: str | None = None, sources: set[str] | None = None
) -> list[MocapFile]:
    """A file, a folder holding manifests (any depth), or a folder of BVH/AMC files.

    `split` and `sources` select manifest rows; a folder without manifests has neither.
    """
    path = Path(path)
    if path.is_file():
        return [_plain(path, path.parent)]
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is neither a motion file nor a folder")
    if find_manifests(path):
        rows = read_manifests(path)
        if split is not None:
            rows = [r for r in rows if r.split == split]
        if sources:
            unknown = sources - {r.source for r in rows}
            if unknown:
                raise ValueError(
                    f"no source {sorted(unknown)} in the manifests under {path}; "
                    f"they have {sorted({r.source for r in rows})}"
                )
            rows = [r for r in rows if r.source in sources]
        return rows
    if split is not None or sources:
        raise ValueError(f"--split and --source need a folder with a {MANIFEST}; {path} has none")
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(f"no {' or '.join(SUFFIXES)} files under {path}")
    return [_plain(f, path) for f in files]


def _plain(file: Path, base: Path) -> MocapFile:
    """A file without a manifest row: the file's own frame rate, its suffix's skip default."""
    return MocapFile(
        file=file.resolve(),
        path=_relative(file, base),
        source="",
        split=None,
        fps=None,
        skip_frames=ADDED_FRAMES_BY_SUFFIX.get(file.suffix.lower(), 0),
    )


def skeleton_for(amc: Path) -> Path:
    """An AMC's ASF: from a manifest above it that lists it, else found beside it (asf.py)."""
    amc = Path(amc).resolve()
    for folder in amc.parents[:4]:
        if (folder / MANIFEST).is_file():
            for row in read_manifest(folder):
                if row.file == amc and row.skeleton is not None:
                    return row.skeleton
    return find_skeleton(amc)


@dataclass
class Skipped:
    """A manifest folder left out of a load, and why."""

    folder: str
    reason: str


def load_files(
    files: list[MocapFile],
    target_fps: float | None,
    skip_frames: int | None = None,
    skipped: list[Skipped] | None = None,
    progress: Callable[[list[MocapFile]], Iterator[MocapFile]] | None = None,
) -> Iterator[tuple[MocapFile, MocapClip]]:
    """(file, clip) for each file in order; skip_frames None means each file's own.

    A manifest folder whose skeleton no map recognises is left out whole — clips of it already
    yielded are not, so callers that must drop them collect first (see `load_all`) — with one
    warning line on stderr and an entry in `skipped`; a file without a manifest raises.
    """
    bad_folders: set[Path] = set()
    for item in progress(files) if progress else files:
        if item.manifest is not None and item.manifest.parent in bad_folders:
            continue
        try:
            clip = load_clip(
                item.file,
                fps=item.fps,
                target_fps=target_fps,
                skip_frames=item.skip_frames if skip_frames is None else skip_frames,
                skeleton=item.skeleton,
            )
        except UnknownSkeletonError as exc:
            if item.manifest is None:
                raise
            folder = item.manifest.parent
            bad_folders.add(folder)
            reason = str(exc).split(" To add one", 1)[0]
            print(f"warning: skipping the manifest folder {folder}: {reason}", file=sys.stderr)
            if skipped is not None:
                skipped.append(Skipped(str(folder), reason))
            continue
        yield item, clip


def load_all(
    files: list[MocapFile],
    target_fps: float | None,
    skip_frames: int | None = None,
    progress: Callable[[list[MocapFile]], Iterator[MocapFile]] | None = None,
) -> tuple[list[tuple[MocapFile, MocapClip]], list[Skipped]]:
    """Every loadable (file, clip), minus whole folders that were skipped; and what was skipped."""
    skipped: list[Skipped] = []
    loaded = list(load_files(files, target_fps, skip_frames, skipped, progress))
    gone = {s.folder for s in skipped}
    kept = [(f, c) for f, c in loaded if f.manifest is None or str(f.manifest.parent) not in gone]
    return kept, skipped
