# Sourced by the set-up commands: create or update .venv in the repo root, idempotently.
# Reinstalls only when pyproject.toml changed since the last successful install.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
STAMP="$VENV/.mpm-installed"
want="$(sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating $VENV" >&2
    python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    echo "[setup] installing the project and its development dependencies (first time: ~1-2 min)" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$REPO[dev]"
    echo "$want" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
cd "$REPO"
