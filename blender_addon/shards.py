"""`--shard i/n`: which tracks one machine of a farm takes, with no state shared between machines.

A track's shard is `sha256(name) mod n` (+1), where `name` is its output name (`<track>` in
`DIR/<track>.<rig>.<format>`, made from the file's stem or the folder's name). That key is the
same on every machine whatever the mount point, the OS, the locale's sort order or the order the
shell expanded a glob in, and it does not change when other files are added to the folder: each
track belongs to one shard for good, so n machines given the same inputs never do a track twice
nor miss one. The price: shards are even only on average (a hash, not a round-robin).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from .batch_config import UsageError

KEY = "sha256 of the track's output name, mod the shard count"


def parse_shard(text: str) -> tuple[int, int]:
    """ "i/n" → (i, n), 1-based (shards 1/n … n/n, as a shell loop `seq 1 n` counts them)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise UsageError(f"--shard {text!r}: give it as i/n, e.g. 1/4 (shards 1/4 to 4/4)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise UsageError(f"--shard {text}: n, the number of shards, must be 1 or more")
    if not 1 <= index <= count:
        raise UsageError(
            f"--shard {text}: i must be 1 to n (shards are counted from 1: --shard 1/{count} "
            f"to {count}/{count})"
        )
    return index, count


def shard_of(name: str, count: int) -> int:
    """The 1-based shard a track name falls in (see the module doc for why this key)."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def split(
    paths: Sequence[Path], names: Sequence[str], shard: tuple[int, int] | None
) -> tuple[set[Path], list[dict]]:
    """(the paths this shard keeps, the others as {input, name, shard}); no shard keeps all."""
    if shard is None:
        return set(paths), []
    index, count = shard
    kept: set[Path] = set()
    others = []
    for path, name in zip(paths, names, strict=True):
        where = shard_of(name, count)
        if where == index:
            kept.add(path)
        else:
            others.append({"input": str(path), "name": name, "shard": f"{where}/{count}"})
    return kept, others


def as_json(shard: tuple[int, int] | None) -> dict | None:
    """The summary's `shard`: which one this run was, and the key that chose its tracks."""
    return None if shard is None else {"index": shard[0], "count": shard[1], "key": KEY}


def said(shard: tuple[int, int] | None, others: int) -> str:
    """The end of the run's last line: what this shard left to the others."""
    if shard is None:
        return ""
    return f" (shard {shard[0]}/{shard[1]}; {others} track(s) left to the other shards)"
