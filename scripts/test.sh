#!/usr/bin/env bash
# The test command: set up .venv if needed, then run the whole suite (slow tests included).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"` or `... tests/test_bvh.py -k fk`.
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
exec python -m pytest "$@"
