"""Build the installable extension zip: `python -m blender_addon.build`.

    python -m blender_addon.build [--platforms linux-x64,windows-x64,macos-arm64,macos-x64]
                                  [--out dist] [--wheels-cache build/wheels]

Stages the add-on (without the headless modules in LEFT_OUT: build.py, the batch CLI and its
parts), vendors the torch-free backend modules it imports into `_vendor/mpm_backend` (their
imports made relative; a package such as `tracks/` whole) and the LICENSE (`rigs/` is part of
the add-on package), downloads the pyzmq,
msgpack and PyYAML wheels for Blender's Python 3.11 on each platform (Blender bundles numpy, not
these), lists them in `blender_manifest.toml`, and zips the lot. Install the zip in Blender with
Edit › Preferences › Get Extensions › Install from Disk; nothing is pip-installed at register
time.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from mpm_backend import cli

ADDON = Path(__file__).resolve().parent
ROOT = ADDON.parent  # a checkout's root, or site-packages when installed from the wheel
# Working folders: the checkout's, or the current folder for an installed package.
WORK = ROOT if (ROOT / "pyproject.toml").is_file() else Path.cwd()
# mpm_backend modules and packages (tracks/), no torch (joint_matcher: rigs no YAML map knows,
# core/auto_rigmap.py)
VENDORED = (
    "__init__",
    "protocol",
    "client",
    "lift_request",
    "skeleton",
    "tracks",
    "joint_matcher",
)
REQUIREMENTS = ("pyzmq", "msgpack", "pyyaml")
# headless modules (the batch CLI and its parts), not shipped in the extension
LEFT_OUT = (
    "build.py",
    "batch.py",
    "batch_cli.py",
    "batch_config.py",
    "discovery.py",
    "lifters.py",
    "farm.py",
    "shards.py",
    "export.py",
    "presets.py",
)
PYTHON = "3.11"  # Blender 4.2 to 5.0
PLATFORM_TAGS = {  # Blender platform → pip --platform tags, newest first
    "linux-x64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"],
    "windows-x64": ["win_amd64"],
    "macos-arm64": ["macosx_11_0_arm64", "macosx_10_9_universal2"],
    "macos-x64": ["macosx_10_15_x86_64", "macosx_10_9_x86_64", "macosx_10_9_universal2"],
}


def relative_imports(source: str, depth: int = 1) -> str:
    """`from mpm_backend.x import y` → `from .x import y`; `from mpm_backend import x` → `from . import x`.

    depth: how many packages deep the module sits in mpm_backend (2 inside `tracks/`), so the
    dots still reach mpm_backend.
    """
    dots = "." * depth
    source = re.sub(r"^(\s*)from mpm_backend\.", rf"\1from {dots}", source, flags=re.M)
    source = re.sub(r"^(\s*)from mpm_backend import", rf"\1from {dots} import", source, flags=re.M)
    if re.search(r"^\s*import mpm_backend", source, flags=re.M):
        raise ValueError("a vendored module uses `import mpm_backend`; use `from . import ...`")
    return source


def vendored_files() -> list[Path]:
    """The mpm_backend files VENDORED names: a module's .py, or every .py of a package."""
    files = []
    for name in VENDORED:
        package = ROOT / "mpm_backend" / name
        files += sorted(package.glob("*.py")) if package.is_dir() else [package.with_suffix(".py")]
    return files


def stage(target: Path) -> None:
    """Copy the add-on (rig maps included), the vendored backend modules and LICENSE into target."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", *LEFT_OUT, "cmu_skeleton.bvh")
    shutil.copytree(ADDON, target, ignore=ignore)
    vendor = target / "_vendor" / "mpm_backend"
    vendor.mkdir(parents=True)
    (target / "_vendor" / "__init__.py").write_text('"""Vendored by blender_addon.build."""\n')
    for path in vendored_files():
        relative = path.relative_to(ROOT / "mpm_backend")
        source = path.read_text()
        if re.search(r"^\s*(import|from) torch", source, flags=re.M):
            raise ValueError(f"mpm_backend/{relative} imports torch; Blender cannot vendor it")
        (vendor / relative).parent.mkdir(parents=True, exist_ok=True)
        (vendor / relative).write_text(relative_imports(source, depth=len(relative.parts)))
    (target / "LICENSE").write_text(license_text())  # rigs/ came with the add-on


def license_text() -> str:
    """The project's LICENSE: the checkout's, or the one the installed wheel carries."""
    if (ROOT / "LICENSE").is_file():
        return (ROOT / "LICENSE").read_text()
    from importlib import metadata

    dist = metadata.distribution("mpm-lift")
    for name in ("licenses/LICENSE", "LICENSE"):
        text = dist.read_text(name)
        if text:
            return text
    raise FileNotFoundError("no LICENSE in the checkout or the installed mpm-lift")


def download_wheels(platforms: list[str], cache: Path) -> dict[str, list[Path]]:
    """pip download the requirements' wheels for each platform (kept in `cache` between builds)."""
    found: dict[str, list[Path]] = {}
    for platform in platforms:
        folder = cache / platform
        folder.mkdir(parents=True, exist_ok=True)
        if not list(folder.glob("*.whl")):
            tags = [arg for tag in PLATFORM_TAGS[platform] for arg in ("--platform", tag)]
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
                 "--no-deps", "--python-version", PYTHON, "--implementation", "cp", *tags,
                 "--dest", str(folder), *REQUIREMENTS],
                check=True,
            )  # fmt: skip
        found[platform] = sorted(folder.glob("*.whl"))
    return found


def write_manifest(target: Path, wheels: list[str], platforms: list[str]) -> str:
    """Fill the manifest's wheels and platforms; returns the version."""
    path = target / "blender_manifest.toml"
    text = path.read_text()
    listed = ",\n".join(f'    "./wheels/{name}"' for name in wheels)
    text = re.sub(r"^wheels = \[\]$", f"wheels = [\n{listed},\n]", text, flags=re.M)
    text = text.replace(
        "[permissions]",
        "platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]\n\n[permissions]",
    )
    path.write_text(text)
    return tomllib.loads(text)["version"]


def build(platforms: list[str], out: Path, cache: Path) -> Path:
    staging = WORK / "build" / "extension"
    shutil.rmtree(staging, ignore_errors=True)
    stage(staging)
    wheels_dir = staging / "wheels"
    wheels_dir.mkdir()
    names: set[str] = set()
    for files in download_wheels(platforms, cache).values():
        for wheel in files:
            shutil.copy2(wheel, wheels_dir / wheel.name)
            names.add(wheel.name)
    version = write_manifest(staging, sorted(names), platforms)
    out.mkdir(parents=True, exist_ok=True)
    suffix = platforms[0] if len(platforms) == 1 else "all"
    archive = out / f"mpm_lift-{version}-{suffix}.zip"
    tmp = archive.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(staging.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(staging).as_posix())
    tmp.replace(archive)
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=cli.prog("blender_addon.build", "mpm-lift-build-extension"),
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=cli.exit_codes(
            "0  the zip was built (its path is printed)",
            "1  a step failed: downloading a wheel, a vendored module that imports torch",
            "2  bad arguments (an unknown platform)",
        ),
    )
    cli.add_version(parser)
    parser.add_argument("--platforms", default=",".join(PLATFORM_TAGS))
    parser.add_argument("--out", type=Path, default=WORK / "dist")
    parser.add_argument("--wheels-cache", type=Path, default=WORK / "build" / "wheels")
    args = parser.parse_args(argv)
    platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    unknown = [p for p in platforms if p not in PLATFORM_TAGS]
    if unknown:
        parser.error(f"unknown platform(s) {unknown}; known: {', '.join(PLATFORM_TAGS)}")
    archive = build(platforms, args.out, args.wheels_cache)
    print(f"built {archive} ({archive.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
