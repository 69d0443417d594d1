"""Pure rules of what a container runs: command line, environment, user."""

from __future__ import annotations

import pytest

from composer.engine.process import DEFAULT_PATH, UserSpec, command_line, environment, resolve_user
from composer.errors import ConfigError

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n"
GROUP = "root:x:0:\nnogroup:x:65534:\napp:x:1000:\nwheel:x:10:app\n"


def test_service_command_replaces_image_cmd() -> None:
    assert command_line(None, ["echo", "hi"], ["/entry"], ["default"]) == ["/entry", "echo", "hi"]


def test_image_cmd_used_when_service_has_none() -> None:
    assert command_line(None, None, None, ["sh"]) == ["sh"]


def test_service_entrypoint_resets_image_cmd() -> None:
    assert command_line(["/bin/echo"], None, ["/entry"], ["default"]) == ["/bin/echo"]


def test_default_path_when_image_sets_none() -> None:
    env = environment([], {"A": "1", "UNSET": None}, {"HOSTNAME": "h"})
    assert env == [f"PATH={DEFAULT_PATH}", "HOSTNAME=h", "A=1"]


def test_image_path_and_service_override() -> None:
    env = environment(["PATH=/x", "B=image"], {"B": "svc"}, {})
    assert env == ["PATH=/x", "B=svc"]


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (None, UserSpec(0, 0, (), "/root")),
        ("nobody", UserSpec(65534, 65534, (), "/nonexistent")),
        ("1000", UserSpec(1000, 1000, (10,), "/home/app")),
        ("app:nogroup", UserSpec(1000, 65534, (10,), "/home/app")),
        ("4242:4343", UserSpec(4242, 4343, (), "/")),
    ],
)
def test_resolve_user(user: str | None, expected: UserSpec) -> None:
    assert resolve_user(user, PASSWD, GROUP) == expected


def test_unknown_user_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unable to find user ghost: no matching entries in passwd file"):
        resolve_user("ghost", PASSWD, GROUP)
