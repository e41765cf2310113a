"""Make CURVE keys for a backend reachable from other machines: `python -m mpm_backend.keys DIR`.

    DIR/server.key, DIR/server.key_secret    the server's pair (serve --curve-dir DIR)
    DIR/client.key_secret                    a client's pair (Client(curve_dir=...) with server.key)
    DIR/clients/client.key                   the public keys the server admits (add more here)

Copy server.key and client.key_secret to the client machine; keep server.key_secret on the server.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from zmq.auth import create_certificates


def make_keys(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "clients").mkdir(exist_ok=True)
    create_certificates(directory, "server")
    public, _ = create_certificates(directory, "client")
    shutil.move(public, directory / "clients" / "client.key")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mpm_backend.keys",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    if (args.directory / "server.key_secret").exists():
        print(f"{args.directory} already holds keys; not overwriting them", file=sys.stderr)
        return 2
    make_keys(args.directory)
    print(f"keys written to {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
