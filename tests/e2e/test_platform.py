"""``platform:``: ``up`` refuses an image built for another platform, with the Docker daemon's message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import SLEEP_COMMAND, write_compose

pytestmark = pytest.mark.root

_HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
_OTHER_ARCH = "s390x" if _HOST_ARCH != "s390x" else "amd64"


def _compose(tmp_path: Path, platform: str) -> Path:
    return write_compose(tmp_path, f"""
services:
  app:
    image: busybox
    platform: {platform}
    {SLEEP_COMMAND}
""")


def test_a_matching_platform_starts(run, tmp_path: Path, project_name: str) -> None:
    base = ["-f", str(_compose(tmp_path, f"linux/{_HOST_ARCH}")), "-p", project_name]
    try:
        proc = run(*base, "up", "-d")
        assert "platform" not in proc.stderr  # no "not supported" warning either
        assert run(*base, "ps", "-q").stdout.strip()
    finally:
        run(*base, "down", "-t", "0", check=False)


def test_another_platform_fails_up_with_dockers_message(run, tmp_path: Path, project_name: str) -> None:
    base = ["-f", str(_compose(tmp_path, f"linux/{_OTHER_ARCH}")), "-p", project_name]
    try:
        proc = run(*base, "up", "-d", check=False)
        assert proc.returncode != 0
        assert ("image with reference busybox was found but does not match the specified platform: "
                f"wanted linux/{_OTHER_ARCH}, actual: linux/{_HOST_ARCH}") in proc.stderr
        assert "Traceback" not in proc.stderr
        assert not run(*base, "ps", "-aq").stdout.strip()  # nothing was created
    finally:
        run(*base, "down", "-t", "0", check=False)


def test_a_malformed_platform_is_a_clear_error(run, tmp_path: Path, project_name: str) -> None:
    base = ["-f", str(_compose(tmp_path, "linux/amd64/v1/extra")), "-p", project_name]
    try:
        proc = run(*base, "up", "-d", check=False)
        assert proc.returncode != 0
        assert "unknown operating system or architecture" in proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        run(*base, "down", "-t", "0", check=False)


def test_x86_64_is_read_as_amd64() -> None:
    from composer.engine.create import parse_platform

    assert parse_platform("linux/x86_64") == ("linux", "amd64", "")
    assert parse_platform("linux/aarch64") == ("linux", "arm64", "")
    assert parse_platform("linux/arm") == ("linux", "arm", "v7")
