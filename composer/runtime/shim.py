"""The per-container supervisor (``python -m composer.runtime.shim``), like conmon.

``api.start_container`` starts it in a new session, so that no signal from
the caller's terminal reaches it and it outlives the caller: by default as a
fork of the caller (``forkshim``), which reaps it once it has exited; as
``python -m composer.runtime.shim``, it forks once more and the first process
exits, so the shim belongs to nobody. The shim then:

1. becomes a child subreaper, loads ``config.json``, makes the cgroup,
   forks the container (``init.fork_container``) with two pipes for its
   stdout and stderr, and moves it into the cgroup;
2. reports to the caller on the ``--sync-fd`` pipe, as one JSON line, once the
   user's program is exec'd (or, with ``--exec-fifo``, once it waits for
   ``start``), or the error the init sent back;
3. copies the container's output into the json-file log, line by line;
4. on the init's exit records the exit code (128+signal if killed) in
   state.json, detaches ``--cleanup-mount`` paths, and exits.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from composer.errors import ComposerError
from composer.runtime import backends, cgroups, console, init, syscalls
from composer.runtime.jsonlog import JsonLog, LineSplitter, rotation_options
from composer.runtime.shimargs import ShimArgs, parse_args
from composer.runtime.spec import Spec, load_spec
from composer.runtime.state import Record, now_rfc3339, proc_start_time, read_record, write_record
from composer.values import replace

if TYPE_CHECKING:
    pass

DRAIN_SECONDS = 2.0
#: a terminal container's attach socket, in its runtime directory
ATTACH_SOCKET = "attach.sock"
#: compiled seccomp programs, under the runtime's root (``<root>/.seccomp``)
SECCOMP_CACHE = ".seccomp"


class Shim:
    def __init__(self, args: ShimArgs) -> None:
        self.directory = Path(args.root) / args.id
        self.cgroup: cgroups.Cgroup | None = None
        self.bundle = Path(args.bundle)
        self.log_path = Path(args.log)
        self.sync_fd: int | None = args.sync_fd
        self.exec_fifo: str | None = args.exec_fifo
        self.cleanup_mounts: list[str] = args.cleanup_mount or []
        self.backend: str = args.backend
        self.external_cmd: list[str] | None = None
        self.terminal: int | None = None
        self.clients: dict[int, socket.socket] = {}
        self.listener: socket.socket | None = None
        self.stdio = console.Stdio.from_arg(args.stdio)
        self.io: console.ShimIO | None = None
        self.preloaded: Spec | None = args.spec
        self.prepared: tuple[cgroups.Cgroup | None, bytes | None] = (args.cgroup, args.program)
        record = args.record or read_record(self.directory) or Record(id=args.id, status="created", bundle=str(self.bundle))
        self.record = replace(record, shim_pid=os.getpid(), shim_start=proc_start_time(os.getpid()) or 0)
        if args.record is None or self.backend != "builtin":
            write_record(self.directory, self.record)  # else with the init's pid, while the init sets up

    def update(self, **changes: object) -> None:
        self.record = replace(self.record, **changes)  # type: ignore[arg-type]
        write_record(self.directory, self.record)

    def report(self, message: dict[str, object]) -> None:
        """Tell the waiting caller how the start went (once)."""
        if self.sync_fd is None:
            return
        with contextlib.suppress(OSError):
            os.write(self.sync_fd, (json.dumps(message) + "\n").encode())
            os.close(self.sync_fd)
        self.sync_fd = None

    def fail(self, message: str, exit_code: int) -> None:
        self.update(status="stopped", error=message, exit_code=exit_code, finished_at=now_rfc3339())
        self.report({"ok": False, "error": message})

    def run(self) -> None:
        syscalls.set_child_subreaper()
        try:
            bundle = self.bundle  # read again only if the caller's copy may need a derived bundle
            if self.preloaded is None or self.preloaded.annotations.get(init.INIT_ANNOTATION) == "true":
                bundle = backends.run_bundle(self.bundle, self.directory, self.backend)  # init: true
            spec = self.preloaded if self.preloaded is not None and bundle == self.bundle else load_spec(bundle)
            if spec is not self.preloaded:
                self.prepared = (None, None)
            self.bundle = bundle
        except ComposerError as exc:
            self.fail(str(exc), 128)
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = JsonLog(self.log_path, **rotation_options(spec.annotations))
        try:
            if self.backend == "builtin":
                self.supervise(spec, log)
            else:
                self.supervise_external(spec, log)
        except ComposerError as exc:
            self.fail(str(exc), 128)
        finally:
            log.close()

    def supervise(self, spec: Spec, log: JsonLog) -> None:
        sync_r, sync_w = os.pipe()
        # a terminal: one pty, opened by the init in its devpts, as stdin, stdout and stderr (logged as "stdout")
        stdin_open = spec.annotations.get(console.STDIN_OPEN_ANNOTATION) == "true"
        io = self.io = console.ShimIO(self.stdio, spec.process.terminal, stdin_open)
        pipes = init.InitPipes(io.out_w, io.err_w, sync_w, self.exec_fifo, stdin=io.stdin,
                               console=io.console, console_size=io.size)
        listener = self.attach_socket() if io.attachable else None
        self.cgroup, program = self.prepared
        if self.cgroup is None:
            self.cgroup = cgroups.Cgroup.for_path(spec.cgroups_path or cgroups.default_path(self.record.id))
            self.update(cgroup=self.cgroup.to_record())
            self.cgroup.create()
            self.cgroup.apply(spec.resources)
        if spec.seccomp is not None and program is None:
            from composer.runtime import seccomp

            program = seccomp.compiled(spec.seccomp, self.directory.parent / SECCOMP_CACHE)
        # after the fork each page either process writes is copied: the least possible until the init execs
        child = init.fork_container(spec, self.bundle, pipes, self.cgroup, program)
        child.release()  # moved into its cgroup while it sets up its rootfs
        pid = child.pid
        io.forked()
        os.close(sync_w)
        # while the init sets up, on the other core: also readies for the write that "running" waits for
        self.update(pid=pid, pid_start=proc_start_time(pid) or 0)
        out_r, err_r = io.streams()
        self.terminal = io.input
        client = io.first_client()
        if client is not None:
            self.clients[client.fileno()] = client
        status = self.watch(pid, log, out_r, err_r, sync_r, listener)
        self.finish(status)

    def attach_socket(self) -> socket.socket:
        """``<dir>/attach.sock``: each client gets the terminal's output, and what it sends is typed in."""
        path = self.directory / ATTACH_SOCKET
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        os.chdir(self.directory)  # bound by its relative name: the full path may pass the 108 bytes of sun_path
        try:
            listener.bind(ATTACH_SOCKET)
        finally:
            os.chdir("/")
        listener.listen(8)
        listener.setblocking(False)
        self.update(terminal_socket=str(path))
        return listener

    def supervise_external(self, spec: Spec, log: JsonLog) -> None:
        """The same supervision with crun or runc making the container (see ``backends``)."""
        if spec.process.terminal:
            self.fail(f"process.terminal: true is not supported with the {self.backend} backend yet", 128)
            return
        container_id = self.record.id
        state_root = self.directory / self.backend
        log_file = self.directory / f"{self.backend}.log"
        pid_file = self.directory / "init.pid"
        cmd = backends.base_command(self.backend, state_root, log_file)
        self.external_cmd = cmd
        group = None
        if not backends.manages_cgroups(self.backend):
            group = cgroups.Cgroup.for_path(spec.cgroups_path or cgroups.default_path(container_id))
            self.cgroup = group
            self.update(cgroup=group.to_record())
            group.create()
            group.apply(spec.resources)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        create = [*cmd, "create", "--bundle", str(self.bundle), "--pid-file", str(pid_file), container_id]
        child = os.fork()
        if child == 0:
            backends.exec_create(create, out_w, err_w, group, self.backend)
        os.close(out_w)
        os.close(err_w)
        _, status = os.waitpid(child, 0)
        code = _exit_code(status)
        pid = _read_pid_file(pid_file) if code == 0 else None
        if pid is None:
            for fd in (out_r, err_r):
                os.close(fd)
            message = backends.last_error(log_file) or f"{self.backend} create exited with code {code}"
            self.fail(message, backends.exit_code_for(message))
            return
        self.update(pid=pid, pid_start=proc_start_time(pid) or 0)
        if self.cgroup is None:
            self.cgroup = cgroups.Cgroup.of_process(pid)
            self.update(cgroup=self.cgroup.to_record())
        error = backends.start(cmd, container_id)
        sync_r, sync_w = os.pipe()
        if error is not None:
            os.write(sync_w, f"E {backends.exit_code_for(error)} {' '.join(error.split())}\n".encode())
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        os.close(sync_w)  # EOF without an error: the program runs
        status_code = self.watch(pid, log, out_r, err_r, sync_r)
        self.finish(status_code)

    def watch(
        self, pid: int, log: JsonLog, out_r: int, err_r: int | None, sync_r: int, listener: socket.socket | None = None
    ) -> int:
        """Copy output and follow the sync pipe until the init exits; returns its exit code.

        With a terminal, ``out_r`` is the pty master and ``listener`` the attach socket.
        """
        sel = selectors.DefaultSelector()
        streams = {out_r: LineSplitter(log, "stdout")}
        if err_r is not None:
            streams[err_r] = LineSplitter(log, "stderr")
        for fd in (*streams, sync_r):
            sel.register(fd, selectors.EVENT_READ)
        self.listener = listener
        for fd in self.clients:  # the caller's own connection (``console.Stdio.attach``)
            sel.register(fd, selectors.EVENT_READ)
        if listener is not None:
            sel.register(listener.fileno(), selectors.EVENT_READ)
        pidfd = os.pidfd_open(pid)
        sel.register(pidfd, selectors.EVENT_READ)
        self.sync_data = b""
        exit_code: int | None = None
        while exit_code is None:
            for key, _ in sel.select(timeout=1.0):
                if key.fd == pidfd:
                    continue
                self._readable(sel, key.fd, sync_r, streams)
            if _pidfd_ready(pidfd):
                _, status = os.waitpid(pid, 0)
                exit_code = _exit_code(status)
            _reap_others(pid)
        sel.unregister(pidfd)
        os.close(pidfd)
        self._close_attach(sel)
        deadline = time.monotonic() + DRAIN_SECONDS
        while sel.get_map() and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
                self._readable(sel, key.fd, sync_r, streams)
        for key in list(sel.get_map().values()):
            sel.unregister(key.fd)
            os.close(key.fd)
        for splitter in streams.values():
            splitter.flush()
        for client in self.clients.values():
            client.close()
        self.clients = {}
        sel.close()
        return exit_code

    def _close_attach(self, sel: selectors.BaseSelector) -> None:
        """Take no more clients nor input; the clients get the rest of the output, then are closed."""
        for fd in self.clients:
            sel.unregister(fd)
        listener = self.listener
        if listener is not None:
            sel.unregister(listener.fileno())
            listener.close()
            self.listener = None

    def _attach_event(self, sel: selectors.BaseSelector, fd: int) -> bool:
        """Accept a client or type what it sent; False if ``fd`` is not the attach socket's."""
        if self.listener is not None and fd == self.listener.fileno():
            with contextlib.suppress(BlockingIOError):
                accepted, _ = self.listener.accept()
                self.clients[accepted.fileno()] = accepted
                sel.register(accepted.fileno(), selectors.EVENT_READ)
            return True
        client = self.clients.get(fd)
        if client is None:
            return False
        try:
            data = client.recv(65536)
        except OSError:
            data = b""
        if data and self.terminal is not None:
            with contextlib.suppress(OSError):
                os.write(self.terminal, data)
        elif not data:
            sel.unregister(fd)
            client.close()
            del self.clients[fd]
        return True

    def _readable(self, sel: selectors.BaseSelector, fd: int, sync_r: int, streams: dict[int, LineSplitter]) -> None:
        if self._attach_event(sel, fd):
            return
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO from a pty master once every holder of the slave is gone
            data = b""
        if fd in streams and data:
            if self.io is not None:
                self.io.tee(fd, data)
            for client in list(self.clients.values()):
                with contextlib.suppress(OSError):
                    client.sendall(data)
        if fd == sync_r:
            self.sync_data += data
            ready, error = init.parse_sync(self.sync_data)
            if data and ready and error is None and self.exec_fifo:
                self.report({"ok": True, "status": "created", "pid": self.record.pid})
            if not data and error is None:
                self.update(status="running", started_at=now_rfc3339())
                self.report({"ok": True, "status": "running", "pid": self.record.pid, "state": vars(self.record.public())})
        elif data:
            streams[fd].feed(data)
        else:
            streams[fd].flush()
        if not data:
            sel.unregister(fd)
            os.close(fd)

    def finish(self, exit_code: int) -> None:
        _, error = init.parse_sync(self.sync_data)
        oom = self.release_cgroup()
        if error is not None:
            self.fail(error[1], exit_code)
        else:
            self.update(status="stopped", exit_code=exit_code, finished_at=now_rfc3339(), oom_killed=oom)
            self.report({"ok": False, "error": f"container exited with code {exit_code} before it started"})

    def release_cgroup(self) -> bool:
        """Kill what is left in the container's cgroup, remove it; True if the OOM killer struck."""
        group = self.cgroup
        if group is None:
            return False
        self.cgroup = None
        group.kill_all()
        oom = group.oom_kills() > 0
        if self.external_cmd is not None:
            backends.delete(self.external_cmd, self.record.id)
            self.external_cmd = None
        group.remove()
        return oom

    def cleanup(self) -> None:
        with contextlib.suppress(BaseException):
            self.release_cgroup()
        for path in self.cleanup_mounts:
            try:
                syscalls.umount2(path, syscalls.MNT_DETACH)
            except syscalls.SyscallError as exc:
                if exc.errno not in (errno.EINVAL, errno.ENOENT):
                    raise


def _read_pid_file(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _pidfd_ready(pidfd: int) -> bool:
    sel = selectors.PollSelector()
    sel.register(pidfd, selectors.EVENT_READ)
    ready = bool(sel.select(timeout=0))
    sel.close()
    return ready


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _reap_others(container_pid: int) -> None:
    """Reap orphans re-parented to us (we are a subreaper), never the container's init."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid == container_pid:
            return
        os.waitpid(info.si_pid, 0)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.sync_fd is not None:
        os.set_inheritable(args.sync_fd, False)
    if os.fork():
        os._exit(0)  # the caller reaps this one; the grandchild is re-parented
    return serve(args)


def detach(*keep_fds: int) -> None:
    """A new session, /dev/null on stdio, every other descriptor but ``keep_fds`` closed (in a fresh fork)."""
    os.setsid()
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    keep = sorted(set(keep_fds))
    for low, high in zip([2, *keep], [*keep, 1 << 16], strict=True):
        os.closerange(low + 1, high)


def forked(args: ShimArgs, keep_fd: int, *more: int) -> NoReturn:
    """The shim in a fork of the caller (``api`` in-process start): detach, then ``serve``.

    Runs in the child of a fork of a warm interpreter that may have threads,
    sockets and lock files: it starts a new session (the caller reaps it when
    it exits: ``forkshim.reap``), puts /dev/null on stdio, closes every
    descriptor but ``keep_fd`` and ``more`` (the caller's ``--stdio``; a shim
    must not hold the caller's listening sockets or flocks), resets signal handling, and never returns.
    """
    code = 0
    try:
        detach(keep_fd, *more)
        with contextlib.suppress(ValueError, OSError):
            signal.set_wakeup_fd(-1)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE, signal.SIGCHLD):
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, signal.SIG_DFL)
        os.chdir("/")
        serve(args)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def serve(args: ShimArgs) -> int:
    shim: Shim | None = None
    try:
        shim = Shim(args)
        shim.run()
    except BaseException as exc:
        if shim is not None:
            with contextlib.suppress(BaseException):
                shim.fail(f"shim: {type(exc).__name__}: {exc}", 128)
    finally:
        if shim is not None:
            with contextlib.suppress(BaseException):
                shim.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
