"""The per-container supervisor (``python -m composer.runtime.shim``), like conmon.

``api.start_container`` starts it in a new session; it forks once more and
the first process exits, so the shim belongs to nobody (no zombie in the
caller, no signal from the caller's terminal) and outlives the caller. The
shim then:

1. becomes a child subreaper, loads ``config.json``, forks the container
   (``init.fork_container``) with two pipes for its stdout and stderr;
2. reports to the caller on the ``--sync-fd`` pipe, as one JSON line, once the
   user's program is exec'd (or, with ``--exec-fifo``, once it waits for
   ``start``), or the error the init sent back;
3. copies the container's output into the json-file log, line by line;
4. on the init's exit records the exit code (128+signal if killed) in
   state.json, detaches ``--cleanup-mount`` paths, and exits.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import selectors
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from composer.errors import ComposerError
from composer.runtime import backends, cgroups, init, syscalls
from composer.runtime.jsonlog import JsonLog, LineSplitter
from composer.runtime.spec import Spec, load_spec
from composer.runtime.state import Record, now_rfc3339, proc_start_time, read_record, write_record

DRAIN_SECONDS = 2.0


class Shim:
    def __init__(self, args: argparse.Namespace) -> None:
        self.directory = Path(args.root) / args.id
        self.cgroup: cgroups.Cgroup | None = None
        self.bundle = Path(args.bundle)
        self.log_path = Path(args.log)
        self.sync_fd: int | None = args.sync_fd
        self.exec_fifo: str | None = args.exec_fifo
        self.cleanup_mounts: list[str] = args.cleanup_mount or []
        self.backend: str = args.backend
        self.external_cmd: list[str] | None = None
        record = read_record(self.directory) or Record(id=args.id, status="created", bundle=str(self.bundle))
        self.record = replace(record, shim_pid=os.getpid(), shim_start=proc_start_time(os.getpid()) or 0)
        write_record(self.directory, self.record)

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
            spec = load_spec(self.bundle)
        except ComposerError as exc:
            self.fail(str(exc), 128)
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = JsonLog(self.log_path)
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
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        sync_r, sync_w = os.pipe()
        pid_r, pid_w = os.pipe()
        pipes = init.InitPipes(out_w, err_w, sync_w, pid_w, self.exec_fifo)
        self.cgroup = cgroups.Cgroup.for_path(spec.cgroups_path or cgroups.default_path(self.record.id))
        self.update(cgroup=self.cgroup.to_record())
        self.cgroup.create()
        self.cgroup.apply(spec.resources)
        middle = init.fork_container(spec, self.bundle, pipes, self.cgroup)
        for fd in (out_w, err_w, sync_w, pid_w):
            os.close(fd)
        pid = _read_pid(pid_r)
        os.close(pid_r)
        os.waitpid(middle, 0)
        if pid is None:
            _, error = init.parse_sync(_read_all(sync_r))
            self.fail(error[1] if error else "container init failed to start", error[0] if error else 1)
            return
        self.update(pid=pid, pid_start=proc_start_time(pid) or 0)
        status = self.watch(pid, log, out_r, err_r, sync_r)
        self.finish(status)

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

    def watch(self, pid: int, log: JsonLog, out_r: int, err_r: int, sync_r: int) -> int:
        """Copy output and follow the sync pipe until the init exits; returns its exit code."""
        sel = selectors.DefaultSelector()
        streams = {out_r: LineSplitter(log, "stdout"), err_r: LineSplitter(log, "stderr")}
        for fd in (out_r, err_r, sync_r):
            sel.register(fd, selectors.EVENT_READ)
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
        deadline = time.monotonic() + DRAIN_SECONDS
        while sel.get_map() and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
                self._readable(sel, key.fd, sync_r, streams)
        for key in list(sel.get_map().values()):
            sel.unregister(key.fd)
            os.close(key.fd)
        for splitter in streams.values():
            splitter.flush()
        sel.close()
        return exit_code

    def _readable(self, sel: selectors.BaseSelector, fd: int, sync_r: int, streams: dict[int, LineSplitter]) -> None:
        data = os.read(fd, 65536)
        if fd == sync_r:
            self.sync_data += data
            ready, error = init.parse_sync(self.sync_data)
            if data and ready and error is None and self.exec_fifo:
                self.report({"ok": True, "status": "created", "pid": self.record.pid})
            if not data and error is None:
                self.update(status="running", started_at=now_rfc3339())
                self.report({"ok": True, "status": "running", "pid": self.record.pid})
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


def _read_pid(fd: int) -> int | None:
    data = b""
    while b"\n" not in data:
        chunk = os.read(fd, 64)
        if not chunk:
            break
        data += chunk
    text = data.decode().strip()
    return int(text) if text.isdigit() else None


def _read_pid_file(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _read_all(fd: int) -> bytes:
    data = b""
    while chunk := os.read(fd, 4096):
        data += chunk
    os.close(fd)
    return data


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


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="composer.runtime.shim")
    parser.add_argument("--id", required=True)
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--root", required=True, help="the runtime's state directory")
    parser.add_argument("--log", required=True, help="json-file log to append to")
    parser.add_argument("--sync-fd", type=int, help="pipe to report the start on")
    parser.add_argument("--exec-fifo", help="wait for `start` on this fifo before exec")
    parser.add_argument("--cleanup-mount", action="append", help="detach after exit")
    parser.add_argument("--backend", default="builtin", choices=backends.KNOWN, help="OCI runtime to use")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.sync_fd is not None:
        os.set_inheritable(args.sync_fd, False)
    if os.fork():
        os._exit(0)  # the caller reaps this one; the grandchild is re-parented
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
