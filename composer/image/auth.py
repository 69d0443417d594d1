"""Registry credentials in Docker's ``config.json`` (``~/.docker/config.json``).

Only the ``auths`` map is read and written: ``{"auths": {"HOST": {"auth":
base64("user:password")}}}``, Docker Hub under ``https://index.docker.io/v1/``.
Credential helpers (``credsStore``, ``credHelpers``) are external programs
and are not run; an entry that only a helper holds is reported as such.
The caller passes the file's path (the CLI reads ``$DOCKER_CONFIG``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

from composer.errors import ConfigError

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")


def config_key(host: str) -> str:
    """The key of ``auths`` for a registry host, as Docker writes it."""
    return DOCKER_HUB_KEY if host in DOCKER_HUB_HOSTS else host


def _normalise(key: str) -> str:
    key = key.removeprefix("https://").removeprefix("http://")
    host = key.split("/", 1)[0]
    return "docker.io" if host in DOCKER_HUB_HOSTS else host


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the Docker config file: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the Docker config file is not a JSON object")
    return data


def credentials(path: Path | None, host: str) -> tuple[str, str] | None:
    """(username, password) for ``host``, or None when the file has none for it."""
    if path is None:
        return None
    wanted = _normalise(host)
    for key, entry in (_read(path).get("auths") or {}).items():
        if _normalise(key) != wanted or not isinstance(entry, dict):
            continue
        if entry.get("username") and entry.get("password"):
            return str(entry["username"]), str(entry["password"])
        encoded = entry.get("auth")
        if not encoded:
            continue
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: auths.{key}.auth is not valid base64 of user:password") from exc
        return user, password
    return None


def store_credentials(path: Path, host: str, username: str, password: str) -> None:
    data = _read(path)
    auths = data.setdefault("auths", {})
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    auths[config_key(host)] = {"auth": token}
    _write(path, data)


def remove_credentials(path: Path, host: str) -> bool:
    """Forget ``host``; False when there was nothing to forget."""
    data = _read(path)
    auths = data.get("auths") or {}
    wanted = _normalise(host)
    keys = [k for k in auths if _normalise(k) == wanted]
    for key in keys:
        del auths[key]
    if keys:
        _write(path, data)
    return bool(keys)


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent="\t")
        fh.write("\n")
    os.replace(tmp, path)
