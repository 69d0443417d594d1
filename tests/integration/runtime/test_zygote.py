"""Shims forked by the zygote (``runtime.zygote``) instead of the caller.

The container must run as it does when the caller forks the shim, on every
backend: the shim is the zygote's child (and reaped by the kernel: no zombie
looks alive), the caller's descriptors reach the container (``run``), a
start error is reported the same way, and closing the caller's end (its
exit, or ``kill -9``) ends the zygote but never the containers.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from composer.errors import ContainerStartError
from composer.runtime import api, console, zygote
from composer.runtime.state import is_alive, proc_start_time, read_record
from tests.integration.runtime.harness import Runtime


@pytest.fixture
def zygote_pid() -> Iterator[int]:
    assert not zygote.running()
    pid = zygote.start()
    try:
        yield pid
    finally:
        zygote.stop()


def _ppid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no PPid for {pid}")


def test_the_zygote_forks_the_shim_on_every_backend(runtime: Runtime, zygote_pid: int) -> None:
    state = runtime.start("zy", ["sh", "-c", "echo hello; sleep 60"])
    record = read_record(runtime.run_root / "zy")
    assert record is not None and is_alive(state.pid, record.pid_start)
    assert _ppid(record.shim_pid) == zygote_pid
    assert api.stop_container("zy", runtime.run_root, signal.SIGKILL, timeout=5) == 137
    assert not is_alive(record.shim_pid, record.shim_start)  # no zombie: the zygote ignores SIGCHLD
    assert runtime.stdout("zy") == "hello\n"


def test_a_start_error_is_reported_as_without_the_zygote(builtin_runtime: Runtime, zygote_pid: int) -> None:
    with pytest.raises(ContainerStartError, match='exec: "no-such-program": executable file not found in \\$PATH'):
        builtin_runtime.start("missing", ["no-such-program"])
    assert api.container_state("missing", builtin_runtime.run_root).status == "stopped"  # type: ignore[union-attr]


def test_the_callers_descriptors_reach_the_container(builtin_runtime: Runtime, zygote_pid: int) -> None:
    out_r, out_w = os.pipe()
    in_r, in_w = os.pipe()
    os.write(in_w, b"from the caller\n")
    os.close(in_w)
    try:
        stdio = console.Stdio(stdin=in_r, stdout=out_w, stderr=out_w)
        bundle = builtin_runtime.bundle("io", ["sh", "-c", "cat; echo done"])
        builtin_runtime.track("io")
        api.start_container("io", bundle, builtin_runtime.run_root, builtin_runtime.log("io"), stdio=stdio)
        os.close(out_w)
        out_w = -1
        data = b""
        while chunk := os.read(out_r, 4096):
            data += chunk
        assert data == b"from the caller\ndone\n"
        assert builtin_runtime.wait_stopped("io").exit_code == 0
    finally:
        for fd in (out_r, in_r, out_w):
            if fd >= 0:
                os.close(fd)


def test_the_zygote_ends_with_its_caller_and_the_container_lives_on(builtin_runtime: Runtime) -> None:
    pid = zygote.start()
    try:
        builtin_runtime.start("survivor", ["sleep", "60"])
    finally:
        zygote.stop()  # as the caller's exit or kill -9 closes its end
    assert proc_start_time(pid) is None
    time.sleep(0.1)
    record = read_record(builtin_runtime.run_root / "survivor")
    assert record is not None and is_alive(record.pid, record.pid_start) and is_alive(record.shim_pid, record.shim_start)
    # without a zygote, the caller forks the next shim itself
    other = builtin_runtime.start("after", ["sleep", "60"])
    record = read_record(builtin_runtime.run_root / "after")
    assert record is not None and _ppid(record.shim_pid) == os.getpid() and other.status == "running"


def test_the_socket_stays_off_a_closed_stdio_descriptor() -> None:
    """``composer run ... <&-``: the caller's socket must not land on fd 0, where the container's stdin is looked for."""
    import subprocess
    import sys

    code = ("import os; os.close(0); from composer.runtime import zygote; zygote.start(); "
            "assert zygote._CONN is not None and zygote._CONN.fileno() > 2; zygote.stop()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                          cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 0, done.stderr
