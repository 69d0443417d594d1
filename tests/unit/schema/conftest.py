from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from composer.schema import ProjectOptions, load_project
from composer.schema.model import Project

Loader = Callable[..., Project]


@pytest.fixture
def load(tmp_path: Path) -> Loader:
    """Write ``compose.yaml`` (dedented) in a fresh project dir and load it."""

    def _load(
        text: str,
        environ: Mapping[str, str] | None = None,
        **options: object,
    ) -> Project:
        project_dir = tmp_path / "proj"
        project_dir.mkdir(exist_ok=True)
        (project_dir / "compose.yaml").write_text(textwrap.dedent(text))
        return load_project(
            ProjectOptions(working_dir=project_dir, environ=dict(environ or {}), **options)  # type: ignore[arg-type]
        )

    return _load
