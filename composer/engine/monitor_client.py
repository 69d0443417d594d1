"""Finding, starting and signalling a project's monitor process.

One monitor per detached project (DESIGN.md) keeps healthchecks, published
ports and DNS alive after the CLI exits. It holds ``monitor/<project>.lock``
for its whole life, so "is a monitor running?" is "is that lock held?", which
stays true even if a pid file is stale. Killing the monitor never touches a
container: the next command simply starts a new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, NoReturn

from composer.engine import state
from composer.engine.state import Paths

if TYPE_CHECKING:
    import subprocess


def lock_path(paths: Paths, project: str) -> Any:
    return paths.monitors / f"{project}.lock"


def pid_path(paths: Paths, project: str) -> Any:
    return paths.monitors / f"{project}.pid"


def status_path(paths: Paths, project: str) -> Any:
    return paths.monitors / f"{project}.status.json"


def monitor_pid(paths: Paths, project: str) -> int | None:
    """The live monitor's pid, or None when no monitor holds the lock."""
    lock = lock_path(paths, project)
    if not lock.exists():
        return None
    fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return int(pid_path(paths, project).read_text())
            except (OSError, ValueError):
                return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def adopt(paths: Paths, project: str) -> None:
    """Take a project over again after its monitor died: start one, don't wait for it."""
    if monitor_pid(paths, project) is None:
        _spawn(paths, project)


def _spawn(paths: Paths, project: str) -> subprocess.Popen[bytes]:
    import subprocess  # here: ``notify`` (each ``run``) does not need it

    paths.monitors.mkdir(parents=True, exist_ok=True)
    with open(paths.monitors / f"{project}.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "composer.engine.monitor", str(paths.state_root),
             str(paths.run_root), project],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True,
        )
    _mark_starting(paths, project, proc.pid)
    return proc


def _start_time(pid: int) -> str | None:
    """The process's start time (``/proc/PID/stat`` field 22), or None when it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in (b"Z", b"X") else fields[19].decode()


def _mark_starting(paths: Paths, project: str, pid: int) -> None:
    (paths.monitors / f"{project}.starting").write_text(f"{pid} {_start_time(pid)}")


def _starting(paths: Paths, project: str) -> bool:
    """A monitor some command spawned is alive but has not taken its lock yet (still importing)."""
    try:
        pid, started = (paths.monitors / f"{project}.starting").read_text().split()
        return _start_time(int(pid)) == started  # (not a zombie, nor another process that got the pid)
    except (OSError, ValueError):
        return False


def spawn(paths: Paths, project: str, *, fork: bool = False) -> subprocess.Popen[bytes] | None:
    """Start the project's monitor unless one is running or starting, without waiting for it.

    ``up`` starts it first thing (the CLI before it loads the project) so that
    its start-up (a Python interpreter, 0.15-0.5 s) overlaps the engine's own
    work; :func:`wait_started` then finds it ready. With ``fork`` (the CLI, while
    it has one thread) the monitor is a fork of the caller, not a new interpreter:
    see :func:`_fork`.
    """
    if monitor_pid(paths, project) or _starting(paths, project):
        return None
    if fork and _fork(paths, project):
        return None
    return _spawn(paths, project)


def _fork(paths: Paths, project: str) -> bool:
    """Start the monitor as a fork of this process; False when that is not safe here.

    A new interpreter would spend ~0.2 s of CPU importing what this one has
    imported or is about to (anyio and asyncio, the engine's modules), on a
    2-CPU machine where ``up`` is short of CPU. Only a single-threaded process
    forks (a thread's lock could be copied held). The child is set up as
    ``_spawn``'s would be (own session, stdin from /dev/null, output to the
    log, no other descriptors: a lock or a pipe it kept would outlive the CLI),
    runs ``monitor.main`` and leaves with ``os._exit``: it never returns into
    the caller's stack, runs no atexit handler and flushes none of its buffers.
    """
    import threading

    if threading.active_count() != 1:
        return False
    from composer.engine import containers, restarts  # noqa: F401
    from composer.runtime import state as run_state  # noqa: F401

    paths.monitors.mkdir(parents=True, exist_ok=True)
    log = os.open(paths.monitors / f"{project}.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        for stream in (sys.stdout, sys.stderr):  # else the child would hold, and might write, pending output
            if stream is not None:
                stream.flush()
        pid = os.fork()
        if pid == 0:
            _monitor_child(paths, project, log)  # never returns
    finally:
        os.close(log)
    _mark_starting(paths, project, pid)
    return True


def _monitor_child(paths: Paths, project: str, log: int) -> NoReturn:
    status = 1
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        zygote = sys.modules.get("composer.runtime.zygote")
        if zygote is not None and hasattr(zygote, "_CONN"):  # its socket was the caller's: closed above
            setattr(zygote, "_CONN", None)  # noqa: B010  (a private name of another layer's module)
            setattr(zygote, "_PID", 0)  # noqa: B010
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a new interpreter
        _set_title(f"composer-monitor {project}")
        from composer.engine import monitor

        status = monitor.main([str(paths.state_root), str(paths.run_root), project])
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(status)


def _set_title(title: str) -> None:
    """Show the forked monitor as ``title`` in ``ps`` rather than as the CLI it was forked from.

    The command line ``ps`` reads is the process's own argv memory (``arg_start``
    to ``arg_end`` in /proc/self/stat): it is overwritten in place through
    /proc/self/mem, truncated to the original length; ``comm`` is set with prctl.
    """
    with contextlib.suppress(Exception):
        with open("/proc/self/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()  # fields 3.. of proc(5)
        start, end = int(fields[48 - 3]), int(fields[49 - 3])  # arg_start, arg_end
        data = title.encode()[: max(0, end - start - 1)]
        with open("/proc/self/mem", "r+b", buffering=0) as mem:
            mem.seek(start)
            mem.write(data + b"\0" * (end - start - len(data)))
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(15, title.encode()[:15], 0, 0, 0)  # PR_SET_NAME


def ensure_monitor(paths: Paths, project: str, timeout: float = 10.0) -> int:
    """Start the project's monitor unless one is running; returns its pid."""
    return wait_started(paths, project, spawn(paths, project), timeout)


def wait_started(paths: Paths, project: str, proc: subprocess.Popen[bytes] | None,
                 timeout: float = 10.0) -> int:
    """The monitor's pid once it holds its lock (``proc``: the one :func:`spawn` started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = monitor_pid(paths, project)
        if pid:
            return pid
        if proc is None:
            if not _starting(paths, project):  # the one that was running or starting is gone
                proc = _spawn(paths, project)
        elif proc.poll() == 0:  # ours exited cleanly: told to stop, or found no project
            proc = _spawn(paths, project)
        elif proc.poll() is not None:
            break  # it failed: its log says why
        time.sleep(0.005)
    from composer.errors import StateError

    raise StateError(f"the monitor of project {project} did not start; see {paths.monitors / (project + '.log')}")


def wait_dns(paths: Paths, project: str, pid: int, gateways: set[str], timeout: float = 2.0) -> bool:
    """Ask the monitor ``pid`` to rescan, and wait until its DNS server listens on ``gateways``.

    False if it did not within ``timeout`` (its log says why); the caller goes on:
    names then resolve once it does.
    """
    if not gateways:
        return True
    deadline = time.monotonic() + timeout
    asked = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() - asked > 0.05:  # again: one sent before its handler was installed is lost
            notify(paths, project)
            asked = time.monotonic()
        status = read_status(paths, project)
        if status.get("pid") == pid and gateways <= set(status.get("dns", ())):
            return True
        time.sleep(0.005)
    return False


def notify(paths: Paths, project: str) -> None:
    """Ask the monitor to rescan the project now (SIGHUP)."""
    pid = monitor_pid(paths, project)
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGHUP)


def stop_monitor(paths: Paths, project: str, timeout: float = 5.0) -> None:
    pid = monitor_pid(paths, project)
    if not pid:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and monitor_pid(paths, project):
        time.sleep(0.02)
    if monitor_pid(paths, project):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def read_status(paths: Paths, project: str) -> dict[str, Any]:
    rec = state.read_json(status_path(paths, project))
    return rec if isinstance(rec, dict) else {}
