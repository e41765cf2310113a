"""The layers' arrows (issue 20): a test, so a new import that crosses them fails CI.

`mpm_backend` (the runtime) is at the bottom; `training` and `blender_addon` sit beside each other
on it and never import each other; `devtools` (benchmarks, the demo) sits on top of all three.
The part of `blender_addon` the extension ships runs inside Blender, which has no torch: it may
only reach the torch-free backend modules `blender_addon.build` vendors (the headless modules it
leaves out, `batch.py` among them, may use the whole runtime). Every import counts,
including those inside functions, since a lazy import crosses a layer just the same.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from blender_addon import build

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mpm_backend", "training", "blender_addon", "devtools")
# package → the project packages it may import (besides itself and third-party code)
ALLOWED = {
    "mpm_backend": set(),
    "training": {"mpm_backend"},
    "blender_addon": {"mpm_backend"},
    "devtools": {"mpm_backend", "training", "blender_addon"},
}


def module_name(path: Path) -> str:
    """blender_addon/core/coords.py → blender_addon.core.coords; a package's __init__ → its name."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "__pycache__" not in path.parts
    }


MODULES = _modules()


def parse_imports(source: str, package: str) -> set[str]:
    """Every module `source` (a module of `package`) names in an import, relative ones resolved."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from pkg import sub` may import the submodule pkg.sub
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


@cache
def imports(module: str) -> frozenset[str]:
    """The modules a project module imports; `from pkg import name` adds pkg.name if a module."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = parse_imports(path.read_text(), package)
    return frozenset(
        name for name in found if name in MODULES or name.rpartition(".")[0] not in MODULES
    )


def project_imports(module: str) -> set[str]:
    """The project modules `module` imports (a package's `__init__` for a package name)."""
    return {name for name in imports(module) if name in MODULES}


def reach(start: str) -> set[str]:
    """`start` and every project module it imports, directly or through others."""
    seen, todo = {start}, [start]
    while todo:
        for name in project_imports(todo.pop()) - seen:
            seen.add(name)
            todo.append(name)
    return seen


def imports_torch(module: str) -> bool:
    """Whether `module` itself imports torch (anywhere in it, lazily or not)."""
    return any(name.split(".")[0] == "torch" for name in imports(module))


def shipped_modules() -> list[str]:
    """The add-on modules the extension zip holds: all but build.LEFT_OUT (by file name)."""
    return [
        name
        for name, path in MODULES.items()
        if name.split(".")[0] == "blender_addon" and path.name not in build.LEFT_OUT
    ]


def test_every_package_is_scanned():
    for package in PACKAGES:
        assert package in MODULES, package
    assert len(MODULES) > 40


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_crosses_a_layer(package):
    crossings = [
        f"{module} imports {name}"
        for module in MODULES
        if module.split(".")[0] == package
        for name in imports(module)
        if name.split(".")[0] in PACKAGES
        and name.split(".")[0] != package
        and name.split(".")[0] not in ALLOWED[package]
    ]
    assert not crossings, "\n".join(crossings)


def vendored_modules() -> set[str]:
    """The backend modules the zip holds: VENDORED's modules and every module of its packages."""
    named = {f"mpm_backend.{name}" for name in build.VENDORED if name != "__init__"}
    return {m for m in MODULES if m in named or m.rpartition(".")[0] in named}


def test_the_shipped_add_on_reaches_only_vendored_backend_modules():
    vendored = vendored_modules() | {"mpm_backend"}
    assert "mpm_backend.tracks.own" in vendored  # a package is vendored whole
    shipped = set(shipped_modules())
    assert {"blender_addon", "blender_addon.core.coords", "blender_addon.operators"} <= shipped
    outside = {
        f"{module} reaches {name}"
        for module in shipped
        for name in reach(module) - shipped - vendored
    }
    assert not outside, "\n".join(sorted(outside))


def test_neither_the_shipped_add_on_nor_the_vendored_modules_import_torch():
    vendored = sorted(vendored_modules())
    torch_users = {
        f"{start} reaches {name}"
        for start in [*shipped_modules(), *vendored]
        for name in reach(start)
        if imports_torch(name)
    }
    assert not torch_users, "\n".join(sorted(torch_users))


def test_the_lazily_loaded_wire_modules_are_vendored():
    from blender_addon import deps

    assert set(deps._LAZY) <= set(build.VENDORED)


def test_the_scanner_sees_lazy_and_relative_imports():
    source = "def f():\n    from ..training import data\n    import torch.nn\n"
    assert parse_imports(source, "blender_addon.core") == {
        "blender_addon.training",
        "blender_addon.training.data",
        "torch.nn",
    }
    assert parse_imports("from . import batch\n", "blender_addon") >= {"blender_addon.batch"}
    assert "training.data.mocap" in imports("devtools.backend_bench")  # inside a function


def test_the_core_imports_without_zmq():
    """The numeric core loads where pyzmq and msgpack are missing (the wire loads on first use)."""
    code = (
        "import sys\n"
        "sys.modules['zmq'] = None\n"
        "sys.modules['msgpack'] = None\n"
        "import blender_addon.core.coords, blender_addon.core.retarget\n"
        "import blender_addon.core.auto_rigmap, blender_addon.core.cleanup\n"
        "import blender_addon.core.rigmaps\n"
        "assert sys.modules['zmq'] is None\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
