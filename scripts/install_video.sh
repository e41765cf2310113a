#!/usr/bin/env bash
# The optional video extra (offline 2D detection with MediaPipe's BlazePose) into .venv.
# mediapipe 0.10.21 is the last release with the legacy `solutions.pose` models inside the wheel;
# its declared dependencies pull jax (~1 GB), so it goes in with --no-deps plus what it really uses.
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
if ! python -c "import mediapipe, cv2" 2>/dev/null; then
    echo "[setup] installing the video extra (mediapipe 0.10.21, opencv; ~0.4 GB)" >&2
    python -m pip install --quiet --disable-pip-version-check --no-deps "mediapipe==0.10.21"
    python -m pip install --quiet --disable-pip-version-check -e "$REPO[video]"
fi
