#!/usr/bin/env bash
# The demo command: set up .venv if needed, then run the demo and print where its output is.
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
exec python -m devtools.demo "$@"
