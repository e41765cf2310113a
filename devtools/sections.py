"""The one writer of docs/benchmarks.md's sections, shared by every benchmark here.

Each benchmark owns the text between its own pair of HTML-comment markers, so reruns replace
their section and leave the others alone.
"""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, section: str, start: str, end: str) -> None:
    """Replace the text between two markers of a markdown file (or append it with them)."""
    text = path.read_text() if path.is_file() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def publish(table: str, section: str, path: Path | None, start: str, end: str) -> None:
    """Print a benchmark's table and record its section in ``path`` (None: print only), the
    same way for every benchmark."""
    print(table)
    if path is not None:
        write_section(path, section, start, end)
        print(f"wrote {path}")
