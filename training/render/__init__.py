"""Synthetic videos of people whose 3D is known exactly (optional `render` extra; docs/render.md).

assets: MakeHuman's CC0 files · shape: seeded body parameters and macro targets · body: the
skinned body in Blender · motion: mocap rotations onto its rig, and the truth read back ·
scene: camera, lights, floor · clip: one clip, resumable · __main__: the CLI.
"""

import argparse


def size_argument(text: str) -> tuple[int, int]:
    """`--size WIDTHxHEIGHT` for the render, footage and detected-data commands."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"a size must be positive, got {text!r}")
    return width, height
