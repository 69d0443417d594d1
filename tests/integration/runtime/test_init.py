"""``init: true`` on every backend: tini (bound at /sbin/docker-init) is pid 1, as with Docker.

The program runs as its child (pid 2), gets the signals sent to the
container, orphans re-parented to pid 1 are reaped, and the container exits
with the program's status (128+signal when a signal ended it).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from composer.runtime import api, backends
from composer.runtime.init import INIT_ANNOTATION

if TYPE_CHECKING:
    from tests.integration.runtime.harness import Runtime

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(backends.tini_binary() is None, reason="needs tini-static (apt-get install tini)"),
]


def with_init(spec: dict[str, Any]) -> None:
    spec.setdefault("annotations", {})[INIT_ANNOTATION] = "true"


def _children(parent: int) -> dict[int, str]:
    """Host pid -> state letter of every child of ``parent``, zombies included."""
    found: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == parent:
            found[int(stat.parent.name)] = fields[0]
    return found


def test_pid_1_is_the_init_and_the_program_its_child(runtime: Runtime) -> None:
    script = "echo $PPID; tr '\\0' ' ' </proc/1/cmdline; echo; cat /proc/1/comm; [ $$ != 1 ]"
    runtime.start("who", ["sh", "-c", script], edit=with_init)
    assert runtime.wait_stopped("who").exit_code == 0
    assert runtime.stdout("who").splitlines() == ["1", f"{backends.INIT_PATH} -- sh -c {script} ", "docker-init"]


def test_orphans_are_reaped(runtime: Runtime) -> None:
    # three orphans die at once while the program lives on: each would stay a zombie without an init
    script = "(sleep 0.1 &); (sleep 0.1 &); (sleep 0.1 &); echo started; exec sleep 60"
    state = runtime.start("reap", ["sh", "-c", script], edit=with_init)
    deadline = time.monotonic() + 5
    while runtime.stdout("reap") != "started\n" and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)  # the orphans have died by now
    children = _children(state.pid)
    assert list(children.values()) == ["S"], children  # the program only: no zombie under pid 1
    top = api.container_processes("reap", runtime.run_root)
    assert [p["cmd"] for p in top] == [f"{backends.INIT_PATH} -- sh -c {script}", "sleep 60"], top
    assert api.stop_container("reap", runtime.run_root, timeout=5) == 143


def _wait_program(runtime: Runtime, name: str, cmd: str) -> None:
    """Until the init runs ``cmd``: a signal sent before the init handles signals would be lost (as with Docker)."""
    deadline = time.monotonic() + 5
    while [p["cmd"] for p in api.container_processes(name, runtime.run_root)][1:] != [cmd]:
        assert time.monotonic() < deadline, api.container_processes(name, runtime.run_root)
        time.sleep(0.02)


def test_sigterm_reaches_the_program(runtime: Runtime) -> None:
    # the program is not pid 1: SIGTERM's default action ends it, and the init exits 128+15
    runtime.start("term", ["sleep", "60"], edit=with_init)
    _wait_program(runtime, "term", "sleep 60")
    start = time.monotonic()
    assert api.stop_container("term", runtime.run_root, signal.SIGTERM, timeout=5) == 143
    assert time.monotonic() - start < 2
    runtime.start("trap", ["sh", "-c", "trap 'echo got TERM; exit 5' TERM; echo ready; while :; do sleep 0.05; done"],
                  edit=with_init)
    deadline = time.monotonic() + 5
    while runtime.stdout("trap") != "ready\n" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert api.stop_container("trap", runtime.run_root, signal.SIGTERM, timeout=5) == 5
    assert runtime.stdout("trap") == "ready\ngot TERM\n"


def test_exit_code_passes_through(runtime: Runtime) -> None:
    runtime.start("seven", ["sh", "-c", "exit 7"], edit=with_init)
    runtime.start("usr1", ["sh", "-c", "kill -USR1 $$; sleep 5"], edit=with_init)
    runtime.start("missing", ["no-such-program"], edit=with_init)
    assert runtime.wait_stopped("seven").exit_code == 7
    assert runtime.wait_stopped("usr1").exit_code == 128 + signal.SIGUSR1  # not pid 1: USR1 kills it
    assert runtime.wait_stopped("missing").exit_code == 127  # tini's exec error, as docker run --init


def test_read_only_root_and_no_sbin(runtime: Runtime) -> None:
    # the test rootfs has no /sbin: the runtime makes the mount point before the root goes read-only
    def read_only(spec: dict[str, Any]) -> None:
        with_init(spec)
        spec["root"]["readonly"] = True

    runtime.start("ro", ["sh", "-c", "touch /x 2>/dev/null || echo read-only; cat /proc/1/comm"], edit=read_only)
    assert runtime.wait_stopped("ro").exit_code == 0
    assert runtime.stdout("ro") == "read-only\ndocker-init\n"
