"""Fixtures of the schema differential tests: the reference binary, case directories."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.schema.cases import Case

DEFAULT_REFERENCE = Path("/var/tmp/composer-ref/docker-compose")
FETCH = Path(__file__).with_name("get-reference-compose.sh")
_fetched: list[str] = []


def reference_path() -> Path | str:
    """The reference binary, fetched once if missing; else the reason it is absent."""
    configured = os.environ.get("COMPOSER_REF_COMPOSE")
    path = Path(configured) if configured else DEFAULT_REFERENCE
    if path.is_file() and os.access(path, os.X_OK):
        return path
    if configured:
        return f"COMPOSER_REF_COMPOSE={configured} is not an executable file"
    if not _fetched:
        result = subprocess.run(
            ["sh", str(FETCH), str(path)], capture_output=True, text=True, timeout=300, check=False
        )
        _fetched.append(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "")
    if path.is_file():
        return path
    return f"reference docker-compose not available at {path} ({_fetched[0]})"


@pytest.fixture(scope="session")
def reference() -> Path:
    found = reference_path()
    if isinstance(found, str):
        pytest.skip(found)
    return found


def materialize(root: Path, name: str, case: Case | dict[str, str]) -> Path:
    files = case.files if isinstance(case, Case) else case
    directory = root / name
    for rel, text in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory
