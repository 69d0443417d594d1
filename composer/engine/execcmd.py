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
import errno
import os
import stat
from collections.abc import Mapping, Sequence
from typing import Any

from composer.engine import containers, state
from composer.engine.state import Paths
from composer.errors import ComposerError, ConfigError, ContainerNotFoundError, ServiceNotFoundError
from composer.values import field, valueclass


@valueclass
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


def container_user(paths: Paths, rec: dict[str, Any], user: str | None) -> tuple[int, int]:
    """(uid, gid) of ``user`` in the container: its own user when None, else resolved as ``docker exec -u``.

    Shared by ``exec -u`` and the hooks' ``user``.
    """
    from composer.engine import process

    if not user:
        spec = state.read_json(paths.container_dir(rec["id"]) / "config.json") or {}
        u = spec.get("process", {}).get("user", {})
        return int(u.get("uid", 0)), int(u.get("gid", 0))
    root = str(paths.container_dir(rec["id"]) / "rootfs")
    spec_user = process.resolve_user(user, read_rootfs_table(root, "etc/passwd"),
                                      read_rootfs_table(root, "etc/group"))
    return spec_user.uid, spec_user.gid


#: /etc/passwd and /etc/group larger than this are refused rather than read
MAX_TABLE = 1 << 20


def read_rootfs_table(root: str, rel: str) -> str:
    """The text of ``rel`` in a running container's rootfs ("" when it has none).

    The container owns these files: one that made /etc/passwd a symlink to a
    host FIFO, /dev/zero or a huge host file would hang or bloat the engine.
    So the path is resolved inside the rootfs (``secure_join``) and read with
    ``read_table_file``.
    """
    from composer.runtime.securejoin import secure_join

    shown = f"/{rel}"
    try:
        path = secure_join(root, rel)
    except (OSError, ComposerError) as exc:
        raise ConfigError(f"cannot read {shown} in the container: {_why(exc)}") from None
    return read_table_file(path, shown, "the container")


def read_table_file(path: str, shown: str, where: str) -> str:
    """The text of the file at ``path``, already resolved inside its root ("" when absent).

    Shared by the containers' tables (``read_rootfs_table``) and the images'
    (``create`` resolving ``user:``): the last component is opened without
    following a symlink and without blocking, and only a regular file of at
    most ``MAX_TABLE`` bytes is read. Errors name the file as ``shown`` in ``where``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return ""
    except OSError as exc:
        raise ConfigError(f"cannot read {shown} in {where}: {_why(exc)}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"cannot read {shown} in {where}: not a regular file")
        if st.st_size > MAX_TABLE:
            raise ConfigError(f"cannot read {shown} in {where}: larger than {MAX_TABLE} bytes")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_TABLE and (chunk := os.read(fd, MAX_TABLE + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise ConfigError(f"cannot read {shown} in {where}: {_why(exc)}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_TABLE:  # (it grew after the fstat)
        raise ConfigError(f"cannot read {shown} in {where}: larger than {MAX_TABLE} bytes")
    return data.decode(errors="replace")


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
        return "it is a symbolic link"
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def exec_in(paths: Paths, project: str, opts: ExecOptions) -> int:
    """Run the command; returns its exit code (0 at once when detached).

    Raises ``ExecError`` (exit code 126/127) when the program cannot start.
    """
    from composer.runtime import api

    if not opts.argv:
        raise ConfigError("exec requires at least 1 argument: SERVICE COMMAND [ARGS...]")
    rec = service_container(paths, project, opts.service, opts.index)
    env = _env(paths, rec, opts)
    uid, gid = container_user(paths, rec, opts.user)
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
