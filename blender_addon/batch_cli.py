"""The batch command's flags: parsing them into a `BatchConfig`, refusing what would not run.

Kept apart from `batch.py` (which runs the batch) so the options' words, their defaults (the
panel's `LiftOptions`) and their checks read in one place.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

from mpm_backend import cli

from . import export
from .batch_config import DEFAULT_LOOKAHEAD, BatchConfig, UsageError
from .core import vocabulary
from .jobs import LiftOptions
from .shards import parse_shard

# The batch flags' words → the panel's enum values (core/vocabulary.py owns both).
SMOOTHING = {word: value for value, word in vocabulary.SMOOTHING.items()}
ROOT_MOTION = {word: value for value, word in vocabulary.ROOT_MOTION.items()}


def _image_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX×,]\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: give the image size as WIDTHxHEIGHT")
    return int(match.group(1)), int(match.group(2))


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a positive number")
    return value


def _camera(text: str) -> tuple[str, float, float]:
    """--camera: (level mode, pitch, roll) from "auto", "level" or "PITCH[,ROLL]" in degrees."""
    word = text.strip().lower()
    if word in ("auto", "level"):
        return word.upper(), 0.0, 0.0
    try:
        angles = [float(v) for v in word.split(",")]
    except ValueError:
        angles = []
    if len(angles) not in (1, 2) or any(abs(a) >= 90 for a in angles):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give auto, level, or the camera's pitch down and roll in degrees "
            "(e.g. 12 or 12,-3)"
        )
    return "KNOWN", angles[0], angles[1] if len(angles) == 2 else 0.0


def build_parser(description: str = "") -> argparse.ArgumentParser:
    """The flags; `description`: the batch module's docstring, whose first paragraph heads --help."""
    p = argparse.ArgumentParser(
        prog=cli.prog("blender_addon.batch", "mpm-lift-batch"),
        description=description.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Presets: metarig, rigify, mixamo, cmu; or PATH.blend, PATH.fbx, PATH.bvh.\n"
        "See docs/batch.md.\n\n"
        + cli.exit_codes(
            "0  every track lifted and written, or skipped (outputs already there)",
            "1  at least one track failed (the others are still written)",
            "2  bad arguments: unknown rig, no tracks, no backend or checkpoint",
        ),
    )
    cli.add_version(p)
    p.add_argument("tracks", nargs="+", metavar="TRACKS", help="track files or folders")
    p.add_argument(
        "--rig",
        action="append",
        required=True,
        help="a preset or a rig file; repeat it (or separate by commas) for several rigs",
    )
    p.add_argument(
        "--rig-object", metavar="NAME", help="the armature to use in a rig file with several"
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--format",
        default=",".join(export.FORMATS),
        help="comma-separated: blend, bvh, fbx (default: all)",
    )
    p.add_argument(
        "--bvh-up",
        choices=["y", "z"],
        default="y",
        help="BVH axes: y (default; Y up, what Blender's BVH importer expects) or z (Blender's)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--backend",
        action="append",
        metavar="tcp://HOST:PORT",
        help="lift through this backend; repeat it (or separate by commas) to spread the tracks "
        "over several",
    )
    where.add_argument(
        "--in-process", action="store_true", help="lift with the model in this process (default)"
    )
    p.add_argument("--checkpoint", default="default", help="in-process model (default: shipped)")
    p.add_argument("--device", default="auto", help="in-process device: auto, cpu, cuda")
    p.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="in-process: average each lift with the lift of its mirror image (the default: "
        "about 2 mm better on unseen people); --no-flip lifts once, twice as fast. A backend "
        "decides this itself (python -m mpm_backend.serve [--no-flip])",
    )
    p.add_argument("--timeout", type=_positive, default=120.0, help="backend timeout, seconds")
    p.add_argument(
        "--curve-dir",
        type=Path,
        metavar="DIR",
        help="CURVE keys for backends on other machines (server.key, client.key_secret; "
        "python -m mpm_backend.keys)",
    )
    _add_motion_flags(p)
    _add_reading_flags(p)
    return p


def _add_motion_flags(p: argparse.ArgumentParser) -> None:
    """Cleanup and world-space flags; defaults are the panel's (`LiftOptions`)."""
    defaults = LiftOptions()
    smoothing = vocabulary.SMOOTHING[defaults.smoothing]
    root = vocabulary.ROOT_MOTION[defaults.root_motion]
    p.add_argument(
        "--smooth", choices=list(SMOOTHING), help=f"joint smoothing (default {smoothing})"
    )
    p.add_argument(
        "--cutoff",
        type=_positive,
        help=f"Butterworth cutoff, Hz (default {defaults.cutoff_hz:g})",
    )
    p.add_argument(
        "--min-cutoff",
        type=_positive,
        help=f"One-Euro cutoff when still, Hz (default {defaults.one_euro_min_cutoff:g})",
    )
    p.add_argument(
        "--beta",
        type=float,
        help=f"One-Euro speed coefficient (default {defaults.one_euro_beta:g})",
    )
    p.add_argument(
        "--no-cleanup",
        action="store_true",
        help="the model's motion as it is: no smoothing, no foot lock",
    )
    p.add_argument(
        "--foot-lock",
        action=argparse.BooleanOptionalAction,
        help="pin feet in contact with the floor (default: on)",
    )
    p.add_argument("--root", choices=list(ROOT_MOTION), default=root, help="root motion")
    p.add_argument(
        "--camera",
        type=_camera,
        default=("AUTO", 0.0, 0.0),
        metavar="auto|level|PITCH[,ROLL]",
        help="how the floor is levelled: from the motion (default), a level camera, or the "
        "camera's pitch down and clockwise roll in degrees",
    )
    lens = p.add_mutually_exclusive_group()
    lens.add_argument(
        "--focal-px",
        type=_positive,
        help="the camera's focal length in pixels, for the root's path (default: a 65° lens)",
    )
    lens.add_argument(
        "--fov",
        type=_positive,
        metavar="DEGREES",
        help="the camera's field of view across the image's long side",
    )
    p.add_argument(
        "--subject-height",
        type=_positive,
        metavar="METRES",
        help="the person's standing height: scales pose and path together (default: as lifted)",
    )
    p.add_argument("--frame-offset", type=int, default=defaults.frame_offset)
    p.add_argument("--reduce-keys", action="store_true", help="drop keys within a tolerance")


def _add_reading_flags(p: argparse.ArgumentParser) -> None:
    """How tracks are read, and how the run behaves and reports."""
    p.add_argument("--fps", type=_positive, help="frame rate for tracks whose file gives none")
    p.add_argument("--image-size", type=_image_size, metavar="WxH", help="overrides the files'")
    p.add_argument("--layout", help="joint layout, where the file cannot tell (see docs/tracks.md)")
    p.add_argument("--person", type=int, help="which person of multi-person files (0, 1, ...)")
    p.add_argument("--threshold", type=float, help="confidence threshold (default: the model's)")
    p.add_argument("--force", action="store_true", help="redo tracks whose outputs exist")
    p.add_argument(
        "--lookahead",
        type=int,
        default=DEFAULT_LOOKAHEAD,
        help=f"tracks lifted ahead of the one being retargeted (default {DEFAULT_LOOKAHEAD}; "
        "0: one after another)",
    )
    p.add_argument(
        "--shard",
        metavar="i/n",
        help="only the tracks of shard i of n (1-based; by a hash of the track's name), one "
        "machine's share of a farm",
    )
    p.add_argument("--json", type=Path, metavar="SUMMARY.json", help="write a JSON summary")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true", help="Blender's output and tracebacks")


def cleanup_options(args: argparse.Namespace) -> LiftOptions:
    """The smoothing and foot-lock flags as options; a flag that the chosen filter would ignore
    is refused rather than recorded as if it ran."""
    defaults = LiftOptions()
    if args.no_cleanup:
        if args.smooth not in (None, "none") or args.foot_lock:
            raise UsageError(
                "--no-cleanup means --smooth none --no-foot-lock; give one or the other"
            )
        args.smooth, args.foot_lock = "none", False
    smoothing = SMOOTHING[args.smooth] if args.smooth else defaults.smoothing
    for flag, value, used_by in (
        ("--cutoff", args.cutoff, "BUTTERWORTH"),
        ("--min-cutoff", args.min_cutoff, "ONE_EURO"),
        ("--beta", args.beta, "ONE_EURO"),
    ):
        if value is not None and smoothing != used_by:
            raise UsageError(
                f"{flag} is a parameter of --smooth {vocabulary.SMOOTHING[used_by]}, "
                f"not of {vocabulary.SMOOTHING[smoothing]}"
            )
    if args.beta is not None and args.beta < 0:
        raise UsageError(f"--beta {args.beta}: must be 0 or more")
    return dataclasses.replace(
        defaults,
        smoothing=smoothing,
        cutoff_hz=defaults.cutoff_hz if args.cutoff is None else args.cutoff,
        one_euro_min_cutoff=args.min_cutoff or defaults.one_euro_min_cutoff,
        one_euro_beta=defaults.one_euro_beta if args.beta is None else args.beta,
        foot_lock=defaults.foot_lock if args.foot_lock is None else args.foot_lock,
    )


def _check_curve_dir(args: argparse.Namespace) -> None:
    """--curve-dir: only with --backend, and holding the two files the client reads."""
    if args.curve_dir is None:
        return
    if not args.backend:
        raise UsageError("--curve-dir is for --backend (in-process lifting uses no keys)")
    missing = [n for n in ("server.key", "client.key_secret") if not (args.curve_dir / n).is_file()]
    if missing:
        raise UsageError(
            f"--curve-dir {args.curve_dir}: no {' or '.join(missing)} there (copies of the "
            "server's server.key and a client.key_secret from python -m mpm_backend.keys)"
        )


def config_from_args(args: argparse.Namespace) -> BatchConfig:
    if args.fov is not None and not args.fov < 180:
        raise UsageError(f"--fov {args.fov:g}: a field of view is under 180 degrees")
    _check_curve_dir(args)
    if args.flip is not None and args.backend:
        given = "--flip" if args.flip else "--no-flip"
        raise UsageError(
            f"{given} is for in-process lifting: a backend decides it itself "
            f"(python -m mpm_backend.serve {given})"
        )
    rigs = []
    for value in args.rig:
        rigs += [value] if Path(value).is_file() else [r for r in value.split(",") if r]
    options = dataclasses.replace(
        cleanup_options(args),
        root_motion=ROOT_MOTION[args.root],
        level=args.camera[0],
        camera_pitch=args.camera[1],
        camera_roll=args.camera[2],
        subject_height=args.subject_height or 0.0,
        focal_px=args.focal_px or 0.0,
        fov_deg=args.fov or 0.0,
        frame_offset=args.frame_offset,
        reduce_keys=args.reduce_keys,
    )
    return BatchConfig(
        tracks=[Path(t) for t in args.tracks],
        rigs=rigs,
        out=args.out,
        formats=tuple(f.strip().lower() for f in args.format.split(",") if f.strip()),
        backend=args.backend,
        checkpoint=args.checkpoint,
        device=args.device,
        flip=args.flip,
        options=options,
        fps=args.fps,
        image_size=args.image_size,
        layout=args.layout,
        person=args.person,
        threshold=args.threshold,
        force=args.force,
        lookahead=args.lookahead,
        timeout=args.timeout,
        curve_dir=args.curve_dir,
        rig_object=args.rig_object,
        shard=None if args.shard is None else parse_shard(args.shard),
        bvh_up=args.bvh_up.upper(),
        progress=False if args.no_progress else None,
        verbose=args.verbose,
    )
