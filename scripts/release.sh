#!/usr/bin/env bash
# The release artifacts into dist/: the wheel and the sdist (`python -m build`) and the Blender
# extension zip for every platform (`python -m blender_addon.build`). CI runs it (.ci/run);
# tests/test_packaging.py installs such a wheel, tests/test_extension.py such a zip.
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
python -m build --outdir dist .
python -m blender_addon.build --out dist
ls -l dist
