"""The container's process: working directory, rlimits, user, and exec.

Runs last in the container's init (and in an exec'd process), after the
rootfs is in place. ``lookpath`` follows Go's ``exec.LookPath`` as runc uses
it, so start errors read as Docker's do:
``exec: "nosuchcmd": executable file not found in $PATH``.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import stat
from collections.abc import Sequence

from composer.errors import ContainerStartError
from composer.runtime import capabilities, seccomp, syscalls
from composer.runtime.capabilities import Capabilities
from composer.runtime.defaults import DEFAULT_PATH
from composer.runtime.seccomp import Seccomp
from composer.runtime.spec import Rlimit, User


class ExecError(ContainerStartError):
    """The program could not be found or executed; ``exit_code`` is the shell's (127/126)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def env_path(env: Sequence[str]) -> str:
    for item in env:
        if item.startswith("PATH="):
            return item[5:]
    return DEFAULT_PATH


def lookpath(program: str, env: Sequence[str]) -> str:
    """The file execve(2) should run for ``program``, searching $PATH of ``env``."""
    if "/" in program:
        try:
            st = os.stat(program)
        except OSError as exc:
            raise ExecError(f'exec: "{program}": stat {program}: {_reason(exc)}', 127) from exc
        if stat.S_ISDIR(st.st_mode) or not os.access(program, os.X_OK):
            raise ExecError(f'exec: "{program}": permission denied', 126)
        return program
    for directory in env_path(env).split(":"):
        candidate = os.path.join(directory or ".", program)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and os.access(candidate, os.X_OK):
            return candidate
    raise ExecError(f'exec: "{program}": executable file not found in $PATH', 127)


def enter_cwd(cwd: str) -> None:
    """chdir to ``cwd``, creating it first as Docker does for a missing WORKDIR."""
    try:
        os.makedirs(cwd, exist_ok=True)
        os.chdir(cwd)
    except OSError as exc:
        raise ContainerStartError(f"chdir to cwd ({cwd!r}) set in config.json failed: {_reason(exc)}") from exc


def set_rlimits(rlimits: Sequence[Rlimit]) -> None:
    for limit in rlimits:
        number = getattr(resource, limit.type, None)
        if not isinstance(number, int):
            raise ContainerStartError(f"process.rlimits: unknown resource {limit.type}")
        try:
            resource.setrlimit(number, (limit.soft, limit.hard))
        except (OSError, ValueError) as exc:
            raise ContainerStartError(f"setrlimit {limit.type}: {exc}") from exc


def set_user(user: User) -> None:
    """setgroups, setgid, setuid, in that order (after setuid we could do none of them)."""
    try:
        os.setgroups(list(user.additional_gids))
        os.setgid(user.gid)
        os.setuid(user.uid)
    except OSError as exc:
        raise ContainerStartError(f"set user {user.uid}:{user.gid}: {_reason(exc)}") from exc
    if user.umask is not None:
        os.umask(user.umask)


def drop_privileges(
    user: User, caps: Capabilities | None, profile: Seccomp | bytes | None, *, no_new_privileges: bool
) -> None:
    """Seccomp (unless it must wait for no_new_privs), bounding set, user, capability sets.

    runc's order: without no_new_privs, loading a filter needs CAP_SYS_ADMIN,
    so it is loaded first, while we still hold it; the Docker profile allows
    every call that follows (prctl, setgroups, setuid, capset, execve).
    """
    if profile is not None and not no_new_privileges:
        seccomp.load(profile)
    try:
        if caps is not None:
            capabilities.drop_bounding(caps)
            capabilities.keep_caps(True)
        set_user(user)
        if caps is not None:
            capabilities.keep_caps(False)
            capabilities.apply(caps)
    except syscalls.SyscallError as exc:
        raise ContainerStartError(f"apply capabilities: {exc}") from exc


def set_oom_score_adj(value: int | None) -> None:
    if value is None:
        return
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(value))
    except OSError as exc:
        raise ContainerStartError(
            f"oom_score_adj {value}: {_reason(exc)} (lowering it needs CAP_SYS_RESOURCE)"
        ) from exc


def reset_signals() -> None:
    """Undo what Python did to signal dispositions: SIG_IGN survives execve(2).

    The interpreter ignores SIGPIPE and SIGXFSZ and handles SIGINT; a shell
    started with SIGPIPE ignored would behave unlike one run by Docker.
    """
    for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
                signal.SIGQUIT, signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2):
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def exec_program(
    args: Sequence[str], env: Sequence[str], *, no_new_privileges: bool = False, profile: Seccomp | bytes | None = None
) -> None:
    """Find and execve ``args``; returns only by raising ``ExecError``.

    With no_new_privileges the seccomp filter is loaded here, last, so it
    needs no capability (see ``drop_privileges``).
    """
    path = lookpath(args[0], env)
    if no_new_privileges:
        syscalls.prctl(syscalls.PR_SET_NO_NEW_PRIVS, 1)
        if profile is not None:
            seccomp.load(profile)
    reset_signals()
    try:
        os.execve(path, list(args), _env_dict(env))
    except OSError as exc:
        code = 127 if exc.errno == 2 else 126
        raise ExecError(f'exec: "{args[0]}": {_reason(exc)}', code) from exc


def _env_dict(env: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in env:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()
