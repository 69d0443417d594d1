"""``run``'s typer-free parser: what it takes, and what it leaves to the full CLI."""

from __future__ import annotations

from typing import Any

import pytest

from composer.cli.runcmd import env_pairs, parse
from composer.errors import ConfigError


@pytest.mark.parametrize(("args", "expected"), [
    (["svc"], {"service": "svc", "command": None}),
    (["--rm", "-T", "svc", "true"], {"rm": True, "no_tty": True, "service": "svc", "command": ["true"]}),
    (["-e", "A=1", "--env=B", "-v", "/a:/b", "-u", "nobody", "svc", "sh", "-c", "exit 3"],
     {"env": ["A=1", "B"], "volume": ["/a:/b"], "user": "nobody", "service": "svc",
      "command": ["sh", "-c", "exit 3"]}),
    (["--name", "x", "--entrypoint", "echo hi", "-d", "svc"],
     {"name": "x", "entrypoint": "echo hi", "detach": True, "service": "svc", "command": None}),
    (["svc", "ls", "-l", "--rm"], {"service": "svc", "command": ["ls", "-l", "--rm"]}),  # the command's own
])
def test_parse(args: list[str], expected: dict[str, Any]) -> None:
    assert parse(args) == expected


@pytest.mark.parametrize("args", [
    [], ["--rm"], ["--help", "svc"], ["-dT", "svc"], ["--rm=yes", "svc"], ["-e"], ["--unknown", "svc"],
])
def test_the_full_cli_parses_the_rest(args: list[str]) -> None:
    assert parse(args) is None


def test_env_pairs() -> None:
    assert env_pairs(["A=1", "B", "C="]) == {"A": "1", "B": None, "C": ""}
    with pytest.raises(ConfigError, match="invalid environment variable '=x'"):
        env_pairs(["=x"])
