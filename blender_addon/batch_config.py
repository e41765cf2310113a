"""The batch run's settings and units of work, shared by the CLI (batch.py), the track discovery
(discovery.py) and the lifters (lifters.py) so none of them imports the script module."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import export
from .jobs import LiftOptions

PARTIAL = ".partial-"  # temporary outputs: DIR/.<final name>.partial-<pid>@<host>.<suffix>
DEFAULT_LOOKAHEAD = 2


class UsageError(ValueError):
    """Bad arguments (exit code 2): a missing input, an unknown format, a rig that cannot be built."""


@dataclass
class BatchConfig:
    tracks: list[Path]
    rigs: list[str]
    out: Path
    formats: tuple[str, ...] = export.FORMATS
    backend: str | Sequence[str] | None = None  # backend address(es); None lifts in-process
    checkpoint: str = "default"  # in-process only
    device: str = "auto"  # in-process only
    # in-process only: each lift averaged with its mirror image's (None: the engine's default,
    # on); the run records what its engine did
    flip: bool | None = None
    options: LiftOptions = field(default_factory=LiftOptions)
    fps: float | None = None  # for tracks whose file gives none
    image_size: tuple[int, int] | None = None  # overrides the files'
    layout: str | None = None
    person: int | None = None
    threshold: float | None = None  # None: the model's own
    force: bool = False
    lookahead: int = DEFAULT_LOOKAHEAD  # tracks lifted ahead of the one being retargeted
    timeout: float = 120.0  # backend: longest silence for one request, seconds
    curve_dir: Path | None = None  # backend: CURVE keys (server.key, client.key_secret)
    rig_object: str | None = None  # which armature of a rig file
    shard: tuple[int, int] | None = None  # (i, n), 1-based: only the tracks of shard i of n
    bvh_up: str = "Y"  # BVH files: Y up (the BVH habit) or Z up (Blender's own axes)
    keep_arrays: bool = False  # keep each track and its lift on its TrackResult (the demo)
    progress: bool | None = None  # the progress bar: None = on a terminal only
    verbose: bool = False  # Blender's own output and tracebacks

    @property
    def backends(self) -> list[str]:
        """The backend addresses, in the order given (commas split, repeats dropped)."""
        given = [self.backend] if isinstance(self.backend, str) else list(self.backend or ())
        split = [a.strip() for value in given for a in value.split(",")]
        return list(dict.fromkeys(a for a in split if a))


@dataclass
class Job:
    source: Path
    name: str
    outputs: dict[str, Path]  # "<rig>.<format>" → final path
    person: int | None = None  # which person of a file with several (None: --person, or the one)
    people: int = 1  # how many people the file holds (1 when it could not be read yet)
