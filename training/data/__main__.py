"""`python -m training.data inspect FILE.bvh|FILE.amc [--skeleton FILE.asf]` and
`python -m training.data build --mocap DIR --out DIR [--source NAME]`.

inspect prints one JSON object describing a motion file as the pipeline sees it (an AMC's ASF is
found through a manifest above it, or beside it, when not given); build makes the clip cache that
training reads from every manifest folder under --mocap. Errors go to stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from mpm_backend.skeleton import H36M17
from mpm_backend.timebase import MODEL_FPS
from training.data.asf import AsfError
from training.data.bvh import BvhError
from training.data.cache import build_cache
from training.data.mocap import (
    bone_length_deviation_mm,
    motion_to_clip,
    read_motion,
    rest_pose,
    standing_height,
)
from training.data.skeleton_maps import UnknownSkeletonError, detect_skeleton, load_skeleton_maps
from training.data.sources import skeleton_for


def inspect_file(
    path: Path,
    fps: float | None = None,
    map_dirs: tuple[Path, ...] = (),
    skeleton: Path | None = None,
) -> dict:
    """What the pipeline makes of one BVH or AMC file, as a JSON-ready dict."""
    if skeleton is None and Path(path).suffix.lower() == ".amc":
        skeleton = skeleton_for(path)
    motion = read_motion(path, skeleton, fps)
    skeleton_map = detect_skeleton(
        motion.names, motion.source, load_skeleton_maps(map_dirs), motion.parents, rest_pose(motion)
    )
    clip = motion_to_clip(motion, skeleton_map, fps)
    deviations = bone_length_deviation_mm(clip.joints)
    first = clip.joints[0] if clip.num_frames else np.full((17, 3), np.nan)
    return {
        "file": str(path),
        **({"skeleton": str(skeleton)} if skeleton is not None else {}),
        "frames": clip.num_frames,
        "fps": round(clip.fps, 6),
        "seconds": round(clip.seconds, 4),
        "joints": int((~motion.is_end_site).sum()),
        "end_sites": int(motion.is_end_site.sum()),
        "skeleton_family": clip.family,
        "metres_per_unit": clip.metres_per_unit,
        "standing_height_m": round(standing_height(clip), 4),
        "max_bone_length_deviation_mm": round(max(deviations.values()), 3),
        "bone_length_deviation_mm": {k: round(v, 3) for k, v in deviations.items()},
        "layout": H36M17.name,
        "first_frame_joints_m": {
            name: [round(float(v), 5) for v in first[i]] for i, name in enumerate(H36M17.joints)
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_inspect = sub.add_parser("inspect", help="describe one BVH or AMC file as JSON")
    p_inspect.add_argument("file", type=Path)
    p_inspect.add_argument("--skeleton", type=Path, help="an AMC's .asf (found if not given)")
    p_inspect.add_argument("--fps", type=float, help="true frame rate, if the header is wrong")
    p_inspect.add_argument(
        "--skeleton-maps",
        type=Path,
        action="append",
        default=[],
        help="extra folder of skeleton map YAML files (tried first)",
    )
    p_build = sub.add_parser(
        "build", help="build the clip cache from every manifest.csv under a mocap folder"
    )
    p_build.add_argument("--mocap", type=Path, required=True)
    p_build.add_argument("--out", type=Path, required=True)
    p_build.add_argument("--fps", type=float, default=MODEL_FPS, help="frame rate of the cache")
    p_build.add_argument(
        "--source", action="append", default=[], help="only these manifest sources (repeatable)"
    )
    args = parser.parse_args(argv)

    try:
        if args.command == "inspect":
            report = inspect_file(args.file, args.fps, tuple(args.skeleton_maps), args.skeleton)
            print(json.dumps(report))
        else:
            sources = {s.strip() for arg in args.source for s in arg.split(",") if s.strip()}
            index = build_cache(args.mocap, args.out, fps=args.fps, sources=sources or None)
            frames = {
                s: sum(c["frames"] for c in index["clips"] if c["split"] == s)
                for s in ("train", "val")
            }
            print(
                f"built {len(index['clips'])} clips in {index['build_seconds']} s → {args.out} "
                f"(train {frames['train']} frames, val {frames['val']} frames at {args.fps:g} fps)"
            )
            for source in sorted({c["source"] for c in index["clips"]}):
                mine = [c for c in index["clips"] if c["source"] == source]
                print(
                    f"  {source}: {len(mine)} clips, {sum(c['frames'] for c in mine)} frames "
                    f"(val {sum(c['frames'] for c in mine if c['split'] == 'val')})"
                )
    except (AsfError, BvhError, UnknownSkeletonError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
