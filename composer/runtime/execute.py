"""Running another process inside a running container (``docker exec``).

The caller may have threads (the engine runs anyio worker threads), and
setns(2) into a mount namespace refuses a process whose filesystem context
is shared by threads. So the caller forks a *joiner*, which is
single-threaded: it joins each namespace of the container's init that
differs from its own (pid, uts, ipc, net, cgroup, then mount, which also
moves it to the container's root, so no chroot is needed), then forks again,
because the pid namespace applies to children only. The grandchild is the
exec'd process; the joiner waits for it and exits with its code (128+signal
if it was killed). Forking a warm interpreter is much cheaper than starting
a helper interpreter, which matters for healthchecks; the children run only
system calls and ``os._exit``, nothing that takes a lock another thread of
the caller might hold.

Errors before exec come back as in ``init``: one ``E <code> <message>`` line on a
CLOEXEC pipe.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket  # imported here, as ``console``: the joiner runs after setns, where the host's modules are out of reach
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from composer.errors import ComposerError, ContainerNotFoundError, RuntimeFailure
from composer.runtime import console, init, namespaces, process, seccomp, syscalls
from composer.runtime.capabilities import Capabilities
from composer.runtime.cgroups import Cgroup
from composer.runtime.seccomp import Seccomp
from composer.runtime.spec import User, load_spec
from composer.runtime.state import container_dir, is_alive, read_record
from composer.values import replace, valueclass

TIMEOUT_EXIT_CODE = 124


@valueclass
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False


@valueclass
class _Target:
    pid: int
    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    user: User
    no_new_privileges: bool
    namespaces: tuple[tuple[str, str], ...]
    capabilities: Capabilities | None = None
    seccomp: Seccomp | None = None
    cgroup: Cgroup | None = None
    seccomp_cache: Path | None = None
    seccomp_program: bytes | None = None
    tty: bool = False  # stdio is a socket to send a new pty's master on; the slave becomes the program's
    size: tuple[int, int] = (0, 0)  # the pty's rows and columns


def exec_container(
    container_id: str,
    run_root: Path,
    argv: Sequence[str],
    *,
    env: Sequence[str] | None = None,
    cwd: str | None = None,
    uid: int = 0,
    gid: int = 0,
    timeout: float | None = None,
    stdin: bytes | None = None,
) -> ExecResult:
    """Run ``argv`` in the container, collect its output; exit code 124 on timeout.

    ``env`` defaults to the container's process env and ``cwd`` to its
    working directory (from config.json). A program that cannot be found
    gives exit code 127 and the reason on stderr, as a shell would.
    """
    target = _target(container_id, run_root, argv, env, cwd, User(uid=uid, gid=gid))
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    joiner, pid_r, sync_r = _spawn(target, (in_r, out_w, err_w), ours=(in_w, out_r, err_r))
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    outputs, timed_out = _communicate(stdin or b"", in_w, out_r, err_r, joiner, pid_r, timeout)
    sync = _read_available(sync_r)
    _, status = os.waitpid(joiner, 0)
    code = _exit_code(status)
    stderr = outputs[err_r]
    _, error = init.parse_sync(sync)
    if error is not None:
        stderr += (error[1] + "\n").encode()
    if timed_out:
        code = TIMEOUT_EXIT_CODE
        stderr += f"exec timed out after {timeout:g}s and was killed\n".encode()
    return ExecResult(code, outputs[out_r], stderr, timed_out)


def exec_interactive(
    container_id: str,
    run_root: Path,
    argv: Sequence[str],
    *,
    env: Sequence[str] | None = None,
    cwd: str | None = None,
    uid: int = 0,
    gid: int = 0,
    tty: bool = False,
) -> int:
    """Run ``argv`` in the container on the caller's stdin/stdout/stderr; returns its exit code.

    With ``tty`` (``exec -t``) the program gets a new pseudo-terminal as its
    controlling terminal and stdio (its own session, as Docker's); this
    process relays between the pty and its own fds 0 and 1, with fd 0 in raw
    mode and the window size copied when it is a terminal.

    Raises ``process.ExecError`` (a ``ContainerStartError``, with ``exit_code``
    126 or 127) if the program could not be started.
    """
    target = _target(container_id, run_root, argv, env, cwd, User(uid=uid, gid=gid))
    if tty:
        return _exec_tty(target)
    joiner, pid_r, sync_r = _spawn(target, (0, 1, 2))
    return _finish(joiner, pid_r, sync_r)


def _exec_tty(target: _Target) -> int:
    """The joiner opens the pty in the container's devpts and sends the master here; we relay it."""
    ours, theirs = socket.socketpair()
    target = replace(target, tty=True, size=console.get_size(0) or (0, 0))
    try:
        joiner, pid_r, sync_r = _spawn(target, (theirs.fileno(),) * 3, ours=(ours.fileno(),))
    finally:
        theirs.close()
    master = console.recv_fd(ours)
    ours.close()
    if master is not None:
        try:
            console.relay(master, master, master)
        finally:
            os.close(master)
    return _finish(joiner, pid_r, sync_r)



def _finish(joiner: int, pid_r: int, sync_r: int) -> int:
    """Wait for the joiner; its exit code, or the start error the program's side reported."""
    _, status = os.waitpid(joiner, 0)
    os.close(pid_r)
    _, error = init.parse_sync(_read_available(sync_r))
    if error is not None:
        raise process.ExecError(error[1], error[0])
    return _exit_code(status)


def _target(
    container_id: str,
    run_root: Path,
    argv: Sequence[str],
    env: Sequence[str] | None,
    cwd: str | None,
    user: User,
) -> _Target:
    record = read_record(container_dir(run_root, container_id))
    if record is None:
        raise ContainerNotFoundError(f"container {container_id} does not exist")
    if record.status != "running" or not is_alive(record.pid, record.pid_start):
        raise RuntimeFailure(f"container {container_id} is not running")
    if not argv:
        raise RuntimeFailure("exec: no command given")
    if record.cgroup and Cgroup(record.cgroup).is_frozen():
        raise RuntimeFailure(f"container {container_id} is paused, unpause the container before exec")
    spec = load_spec(Path(record.bundle))
    kinds = [ns.type for ns in spec.namespaces]
    return _Target(
        pid=record.pid,
        args=tuple(argv),
        env=tuple(spec.process.env if env is None else env),
        cwd=cwd or spec.process.cwd,
        user=user,
        no_new_privileges=spec.process.no_new_privileges,
        namespaces=tuple(namespaces.namespace_files(record.pid, kinds)),
        capabilities=spec.process.capabilities,
        seccomp=spec.seccomp,
        cgroup=Cgroup(record.cgroup) if record.cgroup else None,
        seccomp_cache=Path(run_root) / ".seccomp",
    )


def _spawn(
    target: _Target, stdio: tuple[int, int, int], ours: tuple[int, ...] = ()
) -> tuple[int, int, int]:
    """Fork the joiner; returns (its pid, read end of the exec'd pid, read end of errors).

    ``ours`` are the caller's ends of the stdio pipes: the joiner closes them,
    or the exec'd program would never see EOF on its stdin.
    """
    ns_fds: list[tuple[str, int]] = []
    try:
        for kind, path in target.namespaces:
            ns_fds.append((kind, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
    except OSError as exc:
        for _, fd in ns_fds:
            os.close(fd)
        raise RuntimeFailure.from_oserror("open", path, exc) from exc
    if target.seccomp is not None:
        seccomp.preload()  # dlopen here: a forked child of a threaded caller must not take the loader's lock
        target = replace(target, seccomp_program=seccomp.compiled(target.seccomp, target.seccomp_cache))
    pid_r, pid_w = os.pipe()
    sync_r, sync_w = os.pipe()
    joiner = os.fork()
    if joiner == 0:
        for fd in (*ours, pid_r, sync_r):
            os.close(fd)
        _joiner(target, ns_fds, stdio, pid_w, sync_w)
    for _, fd in ns_fds:
        os.close(fd)
    os.close(pid_w)
    os.close(sync_w)
    return joiner, pid_r, sync_r


def _joiner(
    target: _Target, ns_fds: list[tuple[str, int]], stdio: tuple[int, int, int], pid_w: int, sync_w: int
) -> NoReturn:
    code = 126
    try:
        if target.cgroup is not None:  # while the host's /sys/fs/cgroup is still in view
            target.cgroup.join(os.getpid())
        for kind, fd in ns_fds:
            syscalls.setns(fd, syscalls.NAMESPACE_FLAGS[kind], f"{kind} namespace of pid {target.pid}")
        if target.tty:  # in the container's mount namespace now: its /dev/pts
            stdio = _console(stdio[0], target)
        child = os.fork()
        if child == 0:
            _exec_child(target, stdio, sync_w)
        if target.tty:
            os.close(stdio[0])  # the pty hangs up when the program and its children are gone
        with contextlib.suppress(OSError):
            os.write(pid_w, f"{child}\n".encode())
        _, status = os.waitpid(child, 0)
        code = _exit_code(status)
    except ComposerError as exc:
        init.report_error(sync_w, code, str(exc))
    except BaseException as exc:
        init.report_error(sync_w, code, f"exec: internal error: {type(exc).__name__}: {exc}")
    finally:
        os._exit(code)


def _console(channel: int, target: _Target) -> tuple[int, int, int]:
    """A pty in the devpts now at /dev/pts; its master goes to the caller on ``channel``."""
    master, slave = console.open_pty(target.user.uid, *target.size)
    with socket.socket(fileno=channel) as sock:
        console.send_fd(sock, master)
    os.close(master)
    return slave, slave, slave


def _exec_child(target: _Target, stdio: tuple[int, int, int], sync_w: int) -> NoReturn:
    code = 126
    try:
        if target.tty:
            console.make_controlling(stdio[0])  # a session of its own, whose controlling terminal is the pty
        else:
            for number, fd in enumerate(stdio):
                if fd != number:
                    os.dup2(fd, number)
        os.closerange(3, sync_w)
        os.closerange(sync_w + 1, 1 << 16)
        process.enter_cwd(target.cwd)
        nnp = target.no_new_privileges
        program = target.seccomp_program if target.seccomp_program is not None else target.seccomp
        process.drop_privileges(target.user, target.capabilities, program, no_new_privileges=nnp)
        process.exec_program(target.args, target.env, no_new_privileges=nnp, profile=program)
    except process.ExecError as exc:
        code = exc.exit_code
        init.report_error(sync_w, code, str(exc))
    except ComposerError as exc:
        init.report_error(sync_w, code, str(exc))
    except BaseException as exc:
        init.report_error(sync_w, code, f"exec: internal error: {type(exc).__name__}: {exc}")
    os._exit(code)


def _communicate(
    data: bytes, in_w: int, out_r: int, err_r: int, joiner: int, pid_r: int, timeout: float | None
) -> tuple[dict[int, bytes], bool]:
    """Feed stdin, gather stdout/stderr until both close; kill the process on timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    outputs = {out_r: b"", err_r: b""}
    sel = selectors.DefaultSelector()
    os.set_blocking(in_w, False)
    if data:
        sel.register(in_w, selectors.EVENT_WRITE)
    else:
        os.close(in_w)
    for fd in (out_r, err_r):
        sel.register(fd, selectors.EVENT_READ)
    view = memoryview(data)
    timed_out = False
    while any(fd in sel.get_map() for fd in (out_r, err_r)):
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            timed_out = True
            _kill_exec(joiner, pid_r)
            break
        for key, _ in sel.select(left):
            if key.fd == in_w:
                try:
                    view = view[os.write(in_w, view[:65536]) :]
                except BrokenPipeError:
                    view = view[:0]
                if not view:
                    sel.unregister(in_w)
                    os.close(in_w)
                continue
            chunk = os.read(key.fd, 65536)
            if chunk:
                outputs[key.fd] += chunk
            else:
                sel.unregister(key.fd)
                os.close(key.fd)
    for key in list(sel.get_map().values()):
        sel.unregister(key.fd)
        os.close(key.fd)
    sel.close()
    os.close(pid_r)
    return outputs, timed_out


def _kill_exec(joiner: int, pid_r: int) -> None:
    text = _read_available(pid_r, close=False).decode().strip()
    targets = [joiner]
    # the exec'd pid is ours to kill only while the joiner lives (it reaps it)
    if text.isdigit() and os.waitid(os.P_PID, joiner, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        targets.insert(0, int(text))
    for pid in targets:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _read_available(fd: int, *, close: bool = True) -> bytes:
    """What is in the pipe now (its writers have exited, or we do not wait for them)."""
    os.set_blocking(fd, False)
    data = b""
    try:
        while chunk := os.read(fd, 65536):
            data += chunk
    except BlockingIOError:
        pass
    if close:
        os.close(fd)
    return data


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code
