#!/usr/bin/env bash
# The add-on's tests again on Blender 4.2 LTS (the oldest supported; legacy Action API):
# a second venv .venv-blender42 with bpy 4.2 that sees the main .venv's packages after its own.
# Extra arguments go to pytest. MPM_HARD_EXIT: that wheel segfaults at exit once Rigify ran (tests/conftest.py).
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
OLD="$REPO/.venv-blender42"
if [ ! -x "$OLD/bin/python" ] || ! "$OLD/bin/python" -c "import bpy" 2>/dev/null; then
    echo "[setup] creating $OLD with bpy 4.2 LTS (~0.8 GB, first time only)" >&2
    python3.11 -m venv "$OLD"
    "$OLD/bin/python" -m pip install --quiet --disable-pip-version-check "bpy==4.2.*" "numpy<2"
    site="$("$OLD/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    main="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    printf '%s\n%s\n' "$main" "$REPO" > "$site/zz_mpm_lift.pth"
fi
MPM_HARD_EXIT=1 exec "$OLD/bin/python" -m pytest -p no:cacheprovider tests/test_blender_addon.py \
    tests/test_blender_roundtrip.py tests/test_extension.py tests/test_bone_map.py \
    tests/test_panel_options.py "$@"
