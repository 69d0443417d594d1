"""Project names, as Docker Compose chooses and checks them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from composer.errors import ConfigError

_INVALID = re.compile(r"[^a-z0-9_-]")


def normalize_project_name(name: str) -> str:
    """Lowercase, drop characters outside ``[a-z0-9_-]``, strip leading ``_``/``-``."""
    return _INVALID.sub("", name.lower()).lstrip("_-")


def resolve_project_name(
    flag: str | None,
    environ: Mapping[str, str],
    declared: str | None,
    project_dir: Path,
) -> str:
    """``-p``, then ``COMPOSE_PROJECT_NAME``, then ``name:``, then the directory name.

    Names given with ``-p`` or COMPOSE_PROJECT_NAME must already be valid
    (Docker refuses them otherwise); ``name:`` and the directory name are
    normalised.
    """
    explicit = flag or environ.get("COMPOSE_PROJECT_NAME")
    if not explicit and declared:
        name = normalize_project_name(declared)  # Docker normalises `name:` of the file
        if name:
            return name
    if explicit:
        if normalize_project_name(explicit) != explicit:
            raise ConfigError(
                f'invalid project name "{explicit}": must consist only of lowercase '
                "alphanumeric characters, hyphens, and underscores as well as start "
                "with a letter or number"
            )
        return explicit
    name = normalize_project_name(project_dir.name)
    if not name:
        raise ConfigError(
            f'project name must not be empty: directory "{project_dir}" gives none, use -p'
        )
    return name
