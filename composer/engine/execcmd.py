"""``exec``: another process in a service's running container.

The container is the service's replica ``--index`` (1 by default; one-off
``run`` containers are not replicas). The process gets the container's own
environment with ``-e`` on top, its working directory unless ``-w``, and the
user named by ``-u`` resolved against the container's /etc/passwd and
/etc/group, as ``docker exec`` does. The program runs on the caller's stdio
(``interactive``), on a pty of its own in the container's devpts relayed to
the caller's terminal (``tty``), or in the background (``detach``), where
nothing waits for it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from composer.engine import containers, state
from composer.engine.state import Paths
from composer.errors import ConfigError, ContainerNotFoundError, ServiceNotFoundError


@dataclass(frozen=True)
class ExecOptions:
    service: str
    argv: Sequence[str]
    index: int = 1
    environment: Mapping[str, str | None] = field(default_factory=dict)
    user: str | None = None
    workdir: str | None = None
    detach: bool = False
    tty: bool = False
    privileged: bool = False  # exec processes keep the container's full root capabilities already
    environ: Mapping[str, str] = field(default_factory=dict)  # the caller's, for -e KEY


def service_container(paths: Paths, project: str, service: str, index: int = 1, *,
                      running: bool = True) -> dict[str, Any]:
    """The record of the service's replica ``index``; errors say what is missing."""
    from composer.engine.oneoff import is_oneoff

    recs = [r for r in state.container_records(paths, project) if r["service"] == service and not is_oneoff(r)]
    if not recs:
        raise ServiceNotFoundError(f'service "{service}" has no container')
    match = next((r for r in recs if int(r.get("number", 0)) == index), None)
    if match is None:
        raise ContainerNotFoundError(f'service "{service}" has no container number {index}')
    if running and not containers.is_running(paths, match["id"]):
        raise ContainerNotFoundError(f'service "{service}" is not running')
    return match


def _env(paths: Paths, rec: dict[str, Any], opts: ExecOptions) -> list[str]:
    spec = state.read_json(paths.container_dir(rec["id"]) / "config.json") or {}
    env: dict[str, str] = {}
    for item in spec.get("process", {}).get("env", []):
        key, _, value = item.partition("=")
        env[key] = value
    for key, value in opts.environment.items():
        if value is None:
            if key in opts.environ:
                env[key] = opts.environ[key]
        else:
            env[key] = value
    return [f"{k}={v}" for k, v in env.items()]


def _user(paths: Paths, rec: dict[str, Any], user: str | None) -> tuple[int, int]:
    from composer.engine import process

    if user is None:
        spec = state.read_json(paths.container_dir(rec["id"]) / "config.json") or {}
        u = spec.get("process", {}).get("user", {})
        return int(u.get("uid", 0)), int(u.get("gid", 0))
    root = paths.container_dir(rec["id"]) / "rootfs"

    def read(rel: str) -> str:
        try:
            return (root / rel).read_text(errors="replace")
        except OSError:
            return ""

    spec_user = process.resolve_user(user, read("etc/passwd"), read("etc/group"))
    return spec_user.uid, spec_user.gid


def exec_in(paths: Paths, project: str, opts: ExecOptions) -> int:
    """Run the command; returns its exit code (0 at once when detached).

    Raises ``ExecError`` (exit code 126/127) when the program cannot start.
    """
    from composer.runtime import api

    if not opts.argv:
        raise ConfigError("exec requires at least 1 argument: SERVICE COMMAND [ARGS...]")
    rec = service_container(paths, project, opts.service, opts.index)
    env = _env(paths, rec, opts)
    uid, gid = _user(paths, rec, opts.user)
    kwargs: dict[str, Any] = {"env": env, "cwd": opts.workdir, "uid": uid, "gid": gid}
    if opts.tty:
        kwargs["tty"] = True  # a pty in the container's own devpts, window size following ours
    if opts.detach:
        _detached(rec["id"], paths, list(opts.argv), kwargs)
        return 0
    return api.exec_interactive(rec["id"], paths.runtime, list(opts.argv), **kwargs)


def _detached(cid: str, paths: Paths, argv: list[str], kwargs: dict[str, Any]) -> None:
    """Start the exec in a process of its own that nobody waits for (``exec -d``)."""
    from composer.runtime import api

    kwargs = {k: v for k, v in kwargs.items() if k != "tty"}
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            with contextlib.suppress(BaseException):
                code = api.exec_interactive(cid, paths.runtime, argv, **kwargs)
        finally:
            os._exit(code & 0xFF)
    os.waitpid(pid, 0)
