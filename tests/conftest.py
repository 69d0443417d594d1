"""Shared fixtures: root-only tests, a private composer root with the busybox image.

Every test that touches the kernel gets its own temporary composer root and a
unique project name, and ``cleanup_root`` removes whatever it left even when
the test failed: processes it started (by the pids recorded under its root),
mounts under the root, the bridges of its networks.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import helpers

REPO = Path(__file__).resolve().parent.parent

# Tests never contact a registry (network safety): a missing image is an error, not a pull.
os.environ["COMPOSER_OFFLINE"] = "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0 and sys.platform == "linux":
        return
    skip = pytest.mark.skip(reason="needs root on Linux: real namespaces, mounts and bridges")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def busybox_tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The busybox rootfs tarball, built once per test session."""
    out = tmp_path_factory.mktemp("busybox") / "busybox.tar"
    helpers.make_busybox_tarball(out)
    return out


@pytest.fixture
def composer_root(tmp_path_factory: pytest.TempPathFactory, busybox_tarball: Path) -> Iterator[Path]:
    """A fresh composer root holding busybox:latest; cleaned up whatever happens."""
    root = Path(tmp_path_factory.mktemp("root", numbered=True))
    helpers.composer(root, "image", "import", "-c", 'CMD ["sh"]', str(busybox_tarball), "busybox:latest")
    try:
        yield root
    finally:
        helpers.cleanup_root(root)


@pytest.fixture
def project_name() -> str:
    return "t" + secrets.token_hex(4)


@pytest.fixture
def run(composer_root: Path) -> object:
    """``run(*args, cwd=...)`` runs the composer CLI against the test's root."""

    def _run(*args: str, cwd: Path | None = None, check: bool = True, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return helpers.composer(composer_root, *args, cwd=cwd, check=check, env=env, timeout=timeout)

    return _run
