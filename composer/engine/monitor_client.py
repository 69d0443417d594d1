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
    return proc


def ensure_monitor(paths: Paths, project: str, timeout: float = 10.0) -> int:
    """Start the project's monitor unless one is running; returns its pid."""
    pid = monitor_pid(paths, project)
    if pid:
        return pid
    proc = _spawn(paths, project)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = monitor_pid(paths, project)
        if pid:
            return pid
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    from composer.errors import StateError

    raise StateError(f"the monitor of project {project} did not start; see {paths.monitors / (project + '.log')}")


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
