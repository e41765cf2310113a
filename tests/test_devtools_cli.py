"""Every devtools benchmark's command line parses its own defaults: a benchmark whose defaults
name something the project moved (the batch's lookahead once) fails here, not in a session."""

from __future__ import annotations

import importlib

import pytest

MODULES = (
    "backend_bench",
    "batch_bench",
    "demo",
    "people_benchmark",
    "quality_benchmark",
    "upload_bench",
)


@pytest.mark.parametrize("name", MODULES)
def test_the_defaults_parse(name):
    if name == "batch_bench":
        pytest.importorskip("bpy")
    module = importlib.import_module(f"devtools.{name}")
    args = module._parse_args([])
    assert vars(args)  # every option has a value
    if name == "batch_bench":
        assert (args.lookahead, args.tracks, args.frames) == (2, 20, 1800)
