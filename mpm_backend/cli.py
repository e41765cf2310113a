"""What the commands share: the name a user typed, `--version` and the exit-code epilog.

Each command runs as a console script (`mpm-lift-serve`, ...) and as `python -m <module>`; help
and errors name whichever the user typed, so a copied command line works.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mpm_backend import __version__


def prog(module: str, script: str) -> str:
    """`mpm-lift-serve` when started by that console script, else `python -m mpm_backend.serve`."""
    started = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return script if started == script else f"python -m {module}"


def add_version(parser: argparse.ArgumentParser) -> None:
    """`--version`: the one project version (package, extension, protocol `info`, checkpoints)."""
    parser.add_argument("--version", action="version", version=f"%(prog)s (MPM Lift) {__version__}")


def exit_codes(*lines: str) -> str:
    """An epilog listing the exit codes, one per line."""
    return "exit codes:\n" + "\n".join(f"  {line}" for line in lines)
