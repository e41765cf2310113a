"""The backend benchmark's ways of lifting take turns, so a machine slowing down mid-run slows
them alike instead of whichever ran last."""

from __future__ import annotations

import numpy as np
import pytest

from devtools import backend_bench


def test_ways_take_turns_and_a_slowdown_hits_both(monkeypatch):
    calls: list[tuple[str, int]] = []
    clock = [0.0]
    drift = lambda: 1.0 + 0.5 * (len(calls) > 6)  # noqa: E731  # the machine halves its speed

    def way(name: str, cost: float):
        def lift(uv, layout, fps, size):
            calls.append((name, len(uv)))
            clock[0] += cost * len(uv) * drift()

        return lift

    ways = {"local": way("local", 1.0), "wire": way("wire", 1.1)}
    long_uv, short_uv = np.zeros((100, 17, 2)), np.zeros((10, 17, 2))
    monkeypatch.setattr(backend_bench.time, "perf_counter", lambda: clock[0])
    long_s, short_s = backend_bench._taking_turns(ways, long_uv, short_uv, (640, 480), 3, 2)
    assert [n for n, frames in calls if frames == 100] == ["local", "wire"] * 3
    # the best of each comes from before the slowdown; the last round trips from after it
    assert long_s["wire"] / long_s["local"] == pytest.approx(1.1)
    assert len(short_s["local"]) == len(short_s["wire"]) == 2
    assert short_s["wire"][-1] / short_s["local"][-1] == pytest.approx(1.1)
