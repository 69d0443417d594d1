"""Process creation of the built-in runtime: the container's init.

The shim forks the init once (``fork_container``): a new pid namespace only
applies to children, so the shim enters it just for that fork and the child is
pid 1; the child joins or creates the other namespaces itself
(``namespaces.enter``), while the shim moves it into the container's cgroup.

The init sets the hostname, builds the rootfs, waits until it is in its
cgroup, drops to the user and execs.
Anything that fails before exec is written on the CLOEXEC *sync pipe* as one
line ``E <exit code> <message>``; a successful execve closes the pipe, so EOF
without a message means the user's program is running. For the two-step OCI
``create``/``start``, the init first writes ``R`` and blocks opening the
exec fifo for writing until ``start`` opens it for reading.

The init is a fork of a single-threaded Python process (the shim); it leaves
only through ``os._exit`` so no interpreter cleanup runs twice.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from pathlib import Path
from typing import NoReturn

from composer.errors import ComposerError
from composer.runtime import (
    capabilities,
    cgroups,
    console,
    namespaces,
    process,
    rootfs,
    seccomp,
    syscalls,
)
from composer.runtime.cgroups import Cgroup
from composer.runtime.spec import Namespace, Spec
from composer.values import replace, valueclass

READY = b"R\n"
#: ``"true"``: an init stays pid 1, forwards signals to the program and reaps orphans
#: (``init: true``): tini on every backend (``backends.run_bundle``), else ``reaper`` (builtin)
INIT_ANNOTATION = "org.composer.init"
#: what the init passes on to the program (SIGKILL and SIGSTOP cannot be caught)
FORWARDED_SIGNALS = (
    signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
    signal.SIGWINCH, signal.SIGCONT, signal.SIGALRM,
)


@valueclass
class InitPipes:
    """Write ends the children use; all CLOEXEC except as dup2'd onto 1 and 2."""

    stdout: int
    stderr: int
    sync: int  # errors (E ...) and readiness (R), EOF on exec
    exec_fifo: str | None = None  # create/start: block here before exec
    stdin: int | None = None  # None: /dev/null
    console: int | None = None  # a socket: open a pty in the container's devpts, send its master there
    console_size: tuple[int, int] = (0, 0)  # its rows and columns (0: the kernel's default)
    joined: int | None = None  # read end: one byte once the init is in its cgroup (``fork_container``)


@valueclass(frozen=False)
class Forked:
    """An init that waits for its cgroup: ``release`` moves it there and lets it go on."""

    pid: int
    go: socket.socket  # one byte here: "you are in your cgroup"
    sync: int  # the sync pipe's write end, for an error of ours
    procs: list[str]  # ``Cgroup.procs_files`` of the container's cgroup

    def release(self) -> None:
        """Move the init into its cgroup; if that fails, kill it with the error on the sync pipe."""
        with self.go:
            try:
                cgroups.join_files(self.procs, self.pid)
            except ComposerError as exc:
                if os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
                    report_error(self.sync, 1, str(exc))  # else the init failed first and said why
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                return
            with contextlib.suppress(OSError):
                self.go.send(b"1", socket.MSG_NOSIGNAL)


def fork_container(
    spec: Spec, bundle: Path, pipes: InitPipes, cgroup: Cgroup | None = None, seccomp_program: bytes | None = None
) -> Forked:
    """Fork the container's init, which sets up all it can, then waits for ``Forked.release``.

    One fork: the caller enters the pid namespace itself just for it (unshare
    or setns of a pid namespace changes only the namespace of the caller's
    *children*; ``_pid_namespace``), so the child is pid 1 there and enters
    the other namespaces on its own. The caller then moves the init into
    ``cgroup`` while it builds its rootfs, as runc's parent does (a move may
    wait for an RCU grace period: see ``migration.prime_migration``); the init
    waits for that (``InitPipes.joined``) before it unshares the cgroup
    namespace, so the container sees its own group as the root, and before it
    can exec. Until the init execs, every page either process writes gets
    copied: what can be looked up or built is, here, before the fork.
    """
    if spec.seccomp is not None and seccomp_program is None:
        seccomp.preload()  # dlopen while the host's /usr/lib is visible
    elif seccomp_program is not None:
        seccomp.prepare_load()
    capabilities.last_cap()
    procs = cgroup.procs_files if cgroup is not None else []
    ours, theirs = socket.socketpair()
    pipes = replace(pipes, joined=theirs.fileno())
    own = None
    try:
        own = _pid_namespace(spec.namespace("pid"))
        pid = syscalls.bare_fork()
        if pid == 0:
            container_init(spec, bundle, pipes, seccomp_program)
    except BaseException:
        ours.close()
        raise
    finally:
        if own is not None:
            syscalls.setns(own, syscalls.CLONE_NEWPID, "the runtime's own pid namespace")
            os.close(own)
        theirs.close()
    return Forked(pid, ours, pipes.sync, procs)


def _pid_namespace(ns: Namespace | None) -> int | None:
    """Make the caller's next child start in ``ns``; returns a descriptor of the caller's own, to go back."""
    if ns is None:
        return None
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if ns.path:
            namespaces.enter([ns])
        else:
            syscalls.unshare(syscalls.CLONE_NEWPID)
    except BaseException:
        os.close(own)
        raise
    return own


def container_init(spec: Spec, bundle: Path, pipes: InitPipes, seccomp_program: bytes | None = None) -> NoReturn:
    """pid 1 of the container: set everything up, then exec (never returns)."""
    code = 1
    try:
        cgroupns, joined = spec.namespace("cgroup"), pipes.joined
        namespaces.enter([ns for ns in spec.namespaces if ns.type != "pid" and (ns.type != "cgroup" or ns.path)])
        _setup_stdio(pipes)
        if spec.hostname and spec.namespace("uts"):
            syscalls.sethostname(spec.hostname)
        if spec.domainname and spec.namespace("uts"):
            syscalls.setdomainname(spec.domainname)
        fifo = _open_fifo(pipes.exec_fifo)
        root = os.path.join(bundle, spec.root_path)
        if not os.path.isdir(root):
            raise ComposerError(f"rootfs {root} does not exist or is not a directory")
        if cgroupns is not None and not cgroupns.path:
            joined = _await_cgroup(joined)  # the namespace's root is the group we are in when we unshare it
            syscalls.unshare(syscalls.CLONE_NEWCGROUP)
        rootfs.prepare(spec, os.path.realpath(root))
        rootfs.write_sysctls(spec.sysctl)
        rootfs.finalize(spec)
        proc = spec.process
        if pipes.console is not None:  # after pivot_root: the pty is on the container's own devpts
            console.init_console(pipes.console, proc.user.uid, *pipes.console_size)
        process.set_oom_score_adj(proc.oom_score_adj)
        process.enter_cwd(proc.cwd)
        process.set_rlimits(proc.rlimits)
        joined = _await_cgroup(joined)
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
    os.dup2(pipes.stdout, 1)
    os.dup2(pipes.stderr, 2)
    # every other descriptor is CLOEXEC except any the shim inherited by mistake
    keep = sorted(fd for fd in (pipes.sync, pipes.console, pipes.joined) if fd is not None)
    for low, high in zip([2, *keep], [*keep, 1 << 16], strict=True):
        os.closerange(low + 1, high)


def _await_cgroup(fd: int | None) -> int | None:
    """Block until the shim has put us in the container's cgroup (``fork_container``); None: spent."""
    if fd is None:
        return None
    if os.read(fd, 1) != b"1":
        raise ComposerError("the runtime shim went away before the container joined its cgroup")
    os.close(fd)
    return None


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
