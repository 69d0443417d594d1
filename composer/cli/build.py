"""Commands: composer build, pull, push, images, login, logout (the image issue)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app (none yet)."""
