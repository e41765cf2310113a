"""`python -m training.data inspect FILE.bvh` and `python -m training.data build --mocap DIR --out DIR`.

inspect prints one JSON object describing a BVH file as the pipeline sees it; build makes the
clip cache that training reads. Errors go to stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from mpm_backend.skeleton import H36M17
from mpm_backend.timebase import MODEL_FPS
from training.data.bvh import BvhError, read_bvh
from training.data.cache import build_cache
from training.data.mocap import bone_length_deviation_mm, bvh_to_clip, standing_height
from training.data.skeleton_maps import UnknownSkeletonError, detect_skeleton, load_skeleton_maps


def inspect_bvh(path: Path, fps: float | None = None, map_dirs: tuple[Path, ...] = ()) -> dict:
    """What the pipeline makes of one BVH file, as a JSON-ready dict."""
    bvh = read_bvh(path)
    skeleton_map = detect_skeleton(bvh.names, bvh.source, load_skeleton_maps(map_dirs))
    clip = bvh_to_clip(bvh, skeleton_map, fps)
    deviations = bone_length_deviation_mm(clip.joints)
    first = clip.joints[0] if clip.num_frames else np.full((17, 3), np.nan)
    return {
        "file": str(path),
        "frames": clip.num_frames,
        "fps": round(clip.fps, 6),
        "seconds": round(clip.seconds, 4),
        "joints": int((~bvh.is_end_site).sum()),
        "end_sites": int(bvh.is_end_site.sum()),
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
    p_inspect = sub.add_parser("inspect", help="describe one BVH file as JSON")
    p_inspect.add_argument("file", type=Path)
    p_inspect.add_argument("--fps", type=float, help="true frame rate, if the header is wrong")
    p_inspect.add_argument(
        "--skeleton-maps",
        type=Path,
        action="append",
        default=[],
        help="extra folder of skeleton map YAML files (tried first)",
    )
    p_build = sub.add_parser(
        "build", help="build the clip cache from a mocap folder with manifest.csv"
    )
    p_build.add_argument("--mocap", type=Path, required=True)
    p_build.add_argument("--out", type=Path, required=True)
    p_build.add_argument("--fps", type=float, default=MODEL_FPS, help="frame rate of the cache")
    args = parser.parse_args(argv)

    try:
        if args.command == "inspect":
            print(json.dumps(inspect_bvh(args.file, args.fps, tuple(args.skeleton_maps))))
        else:
            index = build_cache(args.mocap, args.out, fps=args.fps)
            frames = {
                s: sum(c["frames"] for c in index["clips"] if c["split"] == s)
                for s in ("train", "val")
            }
            print(
                f"built {len(index['clips'])} clips in {index['build_seconds']} s → {args.out} "
                f"(train {frames['train']} frames, val {frames['val']} frames at {args.fps:g} fps)"
            )
    except (BvhError, UnknownSkeletonError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
