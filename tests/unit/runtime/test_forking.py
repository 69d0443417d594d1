"""The runtime's forks: ``syscalls.bare_fork`` and an init's release into its cgroup (``init.Forked``)."""

from __future__ import annotations

import os
import signal
import socket
import time

from composer.runtime import init, syscalls


def _child(code: int | None) -> int:
    """A child that exits with ``code`` at once, or sleeps (bounded) until killed if None."""
    pid = syscalls.bare_fork()
    if pid == 0:
        if code is None:
            time.sleep(30)
        os._exit(code or 0)
    return pid


def test_bare_fork_runs_the_child_and_returns_its_pid() -> None:
    pid = _child(7)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7


def _release(pid: int, procs: list[str]) -> bytes:
    sync_r, sync_w = os.pipe()
    ours, theirs = socket.socketpair()
    theirs.close()
    init.Forked(pid, ours, sync_w, procs).release()
    os.close(sync_w)
    data = os.read(sync_r, 4096)
    os.close(sync_r)
    return data


def test_a_failed_cgroup_move_kills_the_init_and_says_why() -> None:
    pid = _child(None)
    data = _release(pid, ["/nonexistent-composer-test/cgroup.procs"])
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert data.startswith(b"E 1 ") and b"join cgroup /nonexistent-composer-test" in data


def test_an_init_that_failed_first_keeps_its_own_error() -> None:
    pid = _child(3)
    deadline = time.monotonic() + 10
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _release(pid, ["/nonexistent-composer-test/cgroup.procs"]) == b""
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 3
