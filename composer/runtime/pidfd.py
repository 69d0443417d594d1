"""Waiting on processes without races: pidfds pinned to a pid *and* its start time.

A pid recorded in state.json may have been reused by the time we look; a
pidfd opened and then checked against the recorded start time is the process
we mean, and polling it tells when that process exits.
"""

from __future__ import annotations

import os
import select

from composer.errors import RuntimeFailure
from composer.runtime.state import Record, is_alive


def open_pidfd(pid: int, start_time: int) -> int | None:
    """A pidfd for ``pid`` if it is still the process started at ``start_time``."""
    if pid <= 0:
        return None
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return None
    except OSError as exc:
        raise RuntimeFailure.from_oserror("pidfd_open", str(pid), exc) from exc
    if not is_alive(pid, start_time):  # checked after opening: the pidfd pins the pid
        os.close(pidfd)
        return None
    return pidfd


def wait_fd(fd: int, timeout: float) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(max(0.0, timeout) * 1000))


def wait_shim(record: Record, timeout: float) -> None:
    pidfd = open_pidfd(record.shim_pid, record.shim_start)
    if pidfd is not None:
        try:
            wait_fd(pidfd, timeout)
        finally:
            os.close(pidfd)
