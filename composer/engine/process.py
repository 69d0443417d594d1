"""What a container runs: a service merged over its image, as Docker does it.

Pure functions, no kernel: the command line (entrypoint + command), the
environment (image ENV, then the service's, with the default PATH when the
image sets none), the working directory, and the user resolved against the
image's own /etc/passwd and /etc/group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from composer.errors import ConfigError
from composer.runtime.defaults import DEFAULT_PATH
from composer.values import valueclass


@valueclass
class UserSpec:
    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()
    home: str = "/"


def command_line(
    service_entrypoint: Sequence[str] | None,
    service_command: Sequence[str] | None,
    image_entrypoint: Sequence[str] | None,
    image_cmd: Sequence[str] | None,
) -> list[str]:
    """Docker's rule: a service ``entrypoint`` resets the image's CMD too."""
    if service_entrypoint is not None:
        entry = list(service_entrypoint)
        cmd = list(service_command) if service_command is not None else []
    else:
        entry = list(image_entrypoint or [])
        cmd = list(service_command) if service_command is not None else list(image_cmd or [])
    return entry + cmd


def environment(
    image_env: Sequence[str], service_env: Mapping[str, str | None], extra: Mapping[str, str]
) -> list[str]:
    """Image ENV, then ``extra`` (HOSTNAME, HOME), then the service's environment.

    A service variable without a value (``- FOO``) that is unset in the
    project environment is left out, as Docker Compose does.
    """
    env: dict[str, str] = {}
    for item in image_env:
        key, _, value = item.partition("=")
        env[key] = value
    env.setdefault("PATH", DEFAULT_PATH)
    for key, value in extra.items():
        env.setdefault(key, value)
    for key, val in service_env.items():
        if val is not None:
            env[key] = val
    return [f"{k}={v}" for k, v in env.items()]


def _parse_table(text: str, fields: int) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) >= fields:
            rows.append(parts)
    return rows


def resolve_user(user: str | None, passwd: str, group: str) -> UserSpec:
    """``user`` as ``name|uid[:group|gid]`` against the image's passwd and group files."""
    if not user:
        user = "0"
    name, _, grp = user.partition(":")
    users = _parse_table(passwd, 7)
    groups = _parse_table(group, 4)
    home = "/"
    if name.isdigit():
        uid = int(name)
        match = next((u for u in users if u[2] == name), None)
        gid = int(match[3]) if match else 0
        username = match[0] if match else None
        if match:
            home = match[5]
    else:
        match = next((u for u in users if u[0] == name), None)
        if match is None:
            raise ConfigError(f"unable to find user {name}: no matching entries in passwd file")
        uid, gid, username, home = int(match[2]), int(match[3]), name, match[5]
    if grp:
        if grp.isdigit():
            gid = int(grp)
        else:
            gmatch = next((g for g in groups if g[0] == grp), None)
            if gmatch is None:
                raise ConfigError(f"unable to find group {grp}: no matching entries in group file")
            gid = int(gmatch[2])
    extra: list[int] = []
    if username is not None:
        for g in groups:
            members = g[3].split(",") if g[3] else []
            if username in members and int(g[2]) != gid:
                extra.append(int(g[2]))
    return UserSpec(uid=uid, gid=gid, additional_gids=tuple(extra), home=home or "/")
