"""What the caller hands to the loader: its cwd, its environment, its flags.

Kept free of heavy imports so the CLI can build options without paying for
pydantic or yaml.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from composer.values import valueclass


@valueclass
class ProjectOptions:
    """The inputs of ``load_project``; nothing is read from the process itself.

    ``env_files``: ``--env-file`` (repeatable); empty means the project's ``.env``.
    ``services``: services named on the command line; naming a service enables
    its profiles, as Docker Compose does.
    """

    working_dir: Path
    environ: Mapping[str, str]
    files: Sequence[Path] = ()
    project_name: str | None = None
    project_directory: Path | None = None
    profiles: Sequence[str] = ()
    env_files: Sequence[Path] = ()
    interpolate: bool = True
    resolve_paths: bool = True
    services: Sequence[str] = ()
