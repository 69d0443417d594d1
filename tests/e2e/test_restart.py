"""Restart policies kept by the project monitor, with the CLI gone."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.helpers import wait_for, write_compose

pytestmark = pytest.mark.root


def _rows(run, base):  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in run(*base, "ps", "-a", "--format", "json").stdout.splitlines()]


def test_on_failure_restarts_three_times_then_stays_stopped(run, tmp_path: Path, project_name: str) -> None:
    f = write_compose(tmp_path, """
services:
  crashy:
    image: busybox
    command: ["sh", "-c", "echo crash; exit 2"]
    restart: on-failure:3
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")
    wait_for(lambda: run(*base, "logs", "--no-log-prefix").stdout.count("crash") >= 4, timeout=60, interval=0.2,
             what="the first run and three restarts")
    wait_for(lambda: _rows(run, base)[0]["State"] == "exited", timeout=30, interval=0.2, what="the last run's exit")
    time.sleep(2)  # a window for a wrongful fifth run: absence can only be shown by waiting
    logs = run(*base, "logs", "--no-log-prefix").stdout
    assert logs.count("crash") == 4  # the first run and three restarts
    (row,) = _rows(run, base)
    assert row["State"] == "exited"
    assert row["ExitCode"] == 2
    run(*base, "down")


def test_always_survives_monitor_kill_and_stop_is_respected(run, composer_root: Path, tmp_path: Path,
                                                           project_name: str) -> None:
    f = write_compose(tmp_path, """
services:
  svc:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; echo up; sleep 1000 & wait"]
    restart: always
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")
    pid_file = composer_root / "run" / "monitor" / f"{project_name}.pid"
    monitor_pid = int(pid_file.read_text())
    os.kill(monitor_pid, signal.SIGKILL)
    time.sleep(0.3)  # a window for a wrongful kill: absence can only be shown by waiting
    (row,) = _rows(run, base)
    assert row["State"] == "running"  # killing the monitor kills no container
    # "up" is printed once the trap is set: before it, pid 1 ignores SIGTERM and stop waits out the grace
    wait_for(lambda: "up" in run(*base, "logs", "--no-log-prefix").stdout.split(), timeout=30, interval=0.1,
             what="svc's trap set")
    run(*base, "stop")
    time.sleep(1.5)  # a restart policy must not bring a user-stopped container back
    (row,) = _rows(run, base)
    assert row["State"] == "exited"
    run(*base, "down")
