"""Rendering helpers shared by the commands."""

from __future__ import annotations

from collections.abc import Sequence


def table(rows: Sequence[Sequence[str]]) -> str:
    """Docker's tabwriter (minwidth 10, padding 3); the last column is not padded."""
    widths = [max(10, max(len(r[i]) for r in rows) + 3) for i in range(len(rows[0]) - 1)]
    lines = ["".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + r[-1] for r in rows]
    return "\n".join(lines) + "\n"
