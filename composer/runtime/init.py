"""Process creation of the built-in runtime: the intermediate child and the init.

The shim forks an *intermediate* child, which joins or creates the
namespaces (``namespaces.enter``) and forks again, because a new pid
namespace only applies to children: the second child is the container's init
(pid 1). The intermediate writes the init's host pid on a pipe and exits; the
shim, a child subreaper, inherits the init and waits for it.

The init sets the hostname, builds the rootfs, drops to the user and execs.
Anything that fails before exec is written on the CLOEXEC *sync pipe* as one
line ``E <exit code> <message>``; a successful execve closes the pipe, so EOF
without a message means the user's program is running. For the two-step OCI
``create``/``start``, the init first writes ``R`` and blocks opening the
exec fifo for writing until ``start`` opens it for reading.

Both children are forks of a single-threaded Python process (the shim); they
leave only through ``os._exit`` so no interpreter cleanup runs twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import termios
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from composer.errors import ComposerError
from composer.runtime import namespaces, process, rootfs, seccomp, syscalls
from composer.runtime.cgroups import Cgroup
from composer.runtime.spec import Spec

READY = b"R\n"
#: ``"true"``: a minimal init stays pid 1, forwards signals to the program and reaps
#: orphans (``init: true``, Docker's tini); honoured by the builtin backend only
INIT_ANNOTATION = "org.composer.init"
#: what the init passes on to the program (SIGKILL and SIGSTOP cannot be caught)
FORWARDED_SIGNALS = (
    signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
    signal.SIGWINCH, signal.SIGCONT, signal.SIGALRM,
)


@dataclass(frozen=True)
class InitPipes:
    """Write ends the children use; all CLOEXEC except as dup2'd onto 1 and 2."""

    stdout: int
    stderr: int
    sync: int  # errors (E ...) and readiness (R), EOF on exec
    pid: int  # the intermediate child reports the init's host pid here
    exec_fifo: str | None = None  # create/start: block here before exec
    stdin: int | None = None  # None: /dev/null
    terminal: bool = False  # stdin is a pty slave: make it the controlling terminal


def fork_container(
    spec: Spec, bundle: Path, pipes: InitPipes, cgroup: Cgroup | None = None, seccomp_program: bytes | None = None
) -> int:
    """Fork the intermediate child; returns its pid (the init's pid comes on ``pipes.pid``).

    The child joins ``cgroup`` before it unshares the cgroup namespace, so
    the container sees its own group as the root.
    """
    if spec.seccomp is not None and seccomp_program is None:
        seccomp.preload()  # dlopen while the host's /usr/lib is visible
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        if cgroup is not None:
            cgroup.join(os.getpid())
        namespaces.enter(spec.namespaces)
        init_pid = os.fork()
        if init_pid == 0:
            container_init(spec, bundle, pipes, seccomp_program)
        os.write(pipes.pid, f"{init_pid}\n".encode())
        code = 0
    except ComposerError as exc:
        report_error(pipes.sync, 1, str(exc))
    except BaseException as exc:
        report_error(pipes.sync, 1, f"runtime internal error: {type(exc).__name__}: {exc}")
    finally:
        os._exit(code)


def container_init(spec: Spec, bundle: Path, pipes: InitPipes, seccomp_program: bytes | None = None) -> NoReturn:
    """pid 1 of the container: set everything up, then exec (never returns)."""
    code = 1
    try:
        _setup_stdio(pipes)
        if spec.hostname and spec.namespace("uts"):
            syscalls.sethostname(spec.hostname)
        if spec.domainname and spec.namespace("uts"):
            syscalls.setdomainname(spec.domainname)
        fifo = _open_fifo(pipes.exec_fifo)
        root = os.path.join(bundle, spec.root_path)
        if not os.path.isdir(root):
            raise ComposerError(f"rootfs {root} does not exist or is not a directory")
        rootfs.prepare(spec, os.path.realpath(root))
        rootfs.write_sysctls(spec.sysctl)
        rootfs.finalize(spec)
        proc = spec.process
        process.set_oom_score_adj(proc.oom_score_adj)
        process.enter_cwd(proc.cwd)
        process.set_rlimits(proc.rlimits)
        if fifo is not None:
            _wait_for_start(pipes.sync, fifo)
        program = seccomp_program if seccomp_program is not None and spec.seccomp is not None else spec.seccomp
        nnp = proc.no_new_privileges
        process.drop_privileges(proc.user, proc.capabilities, program, no_new_privileges=nnp)
        if spec.annotations.get(INIT_ANNOTATION) == "true":
            child = os.fork()
            if child != 0:
                os.close(pipes.sync)  # the program holds it: EOF comes with its exec
                reaper(child)
        process.exec_program(proc.args, proc.env, no_new_privileges=nnp, profile=program)
    except process.ExecError as exc:
        code = exc.exit_code
        report_error(pipes.sync, code, str(exc))
    except ComposerError as exc:
        report_error(pipes.sync, code, str(exc))
    except BaseException as exc:
        report_error(pipes.sync, code, f"runtime internal error: {type(exc).__name__}: {exc}")
    os._exit(code)


def reaper(child: int) -> NoReturn:
    """pid 1 for ``init: true``: forward signals to the program ``child``, reap every child.

    Exits with the program's status (128+signal if it was killed), as tini
    does, once the program itself has exited; orphans re-parented to pid 1
    are reaped as they die. The kernel kills what is left when pid 1 exits.
    """
    code = 1
    try:

        def forward(sig: int, _frame: object) -> None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, sig)

        for sig in FORWARDED_SIGNALS:
            signal.signal(sig, forward)
        while True:
            pid, status = os.wait()
            if pid == child:
                code = os.waitstatus_to_exitcode(status)
                code = 128 - code if code < 0 else code
                break
    except BaseException:
        code = 1
    os._exit(code)


def report_error(fd: int, code: int, message: str) -> None:
    line = " ".join(message.split())
    with contextlib.suppress(OSError):
        os.write(fd, f"E {code} {line}\n".encode(errors="replace"))


def parse_sync(data: bytes) -> tuple[bool, tuple[int, str] | None]:
    """(ready seen, (exit code, error message) or None) from what the init wrote."""
    ready = False
    error = None
    for line in data.decode(errors="replace").splitlines():
        if line == "R":
            ready = True
        elif line.startswith("E "):
            code, _, message = line[2:].partition(" ")
            error = (int(code) if code.isdigit() else 1, message)
    return ready, error


def _setup_stdio(pipes: InitPipes) -> None:
    if pipes.stdin is not None:
        os.dup2(pipes.stdin, 0)
    else:
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    if pipes.terminal:
        os.setsid()  # a new session whose controlling terminal is the pty, as runc's console
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    os.dup2(pipes.stdout, 1)
    os.dup2(pipes.stderr, 2)
    # every other descriptor is CLOEXEC except any the shim inherited by mistake
    os.closerange(3, pipes.sync)
    os.closerange(pipes.sync + 1, 1 << 16)


def _open_fifo(path: str | None) -> int | None:
    if path is None:
        return None
    # an O_PATH descriptor survives pivot_root; it is reopened through /proc later
    return os.open(path, os.O_PATH | os.O_CLOEXEC)


def _wait_for_start(sync: int, fifo: int) -> None:
    os.write(sync, READY)
    try:
        fd = os.open(f"/proc/self/fd/{fifo}", os.O_WRONLY | os.O_CLOEXEC)  # blocks until start
    except OSError as exc:
        raise ComposerError(f"open exec fifo: {exc.strerror or exc} (is /proc mounted?)") from exc
    os.write(fd, b"0")
    os.close(fd)
    os.close(fifo)
