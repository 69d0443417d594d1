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
import subprocess
import sys
import time
from typing import Any

from composer.engine import state
from composer.engine.state import Paths


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
    paths.monitors.mkdir(parents=True, exist_ok=True)
    with open(paths.monitors / f"{project}.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "composer.engine.monitor", str(paths.state_root),
             str(paths.run_root), project],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True,
        )
    (paths.monitors / f"{project}.starting").write_text(str(proc.pid))
    return proc


def _starting(paths: Paths, project: str) -> bool:
    """A monitor some command spawned is alive but has not taken its lock yet (still importing)."""
    try:
        pid = int((paths.monitors / f"{project}.starting").read_text())
        with open(f"/proc/{pid}/cmdline", "rb") as fh:  # empty for a zombie
            argv = fh.read().split(b"\0")
    except (OSError, ValueError):
        return False
    return b"composer.engine.monitor" in argv and project.encode() in argv


def spawn(paths: Paths, project: str) -> subprocess.Popen[bytes] | None:
    """Start the project's monitor unless one is running or starting, without waiting for it.

    ``up`` starts it first thing (the CLI before it loads the project) so that
    its start-up (a Python interpreter, 0.15-0.5 s) overlaps the engine's own
    work; :func:`wait_started` then finds it ready.
    """
    if monitor_pid(paths, project) or _starting(paths, project):
        return None
    return _spawn(paths, project)


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
