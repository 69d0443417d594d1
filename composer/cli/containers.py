"""Commands: exec, run, cp, top, port, kill, pause, unpause, restart, wait, create, ls, events, stats."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app (none yet)."""
