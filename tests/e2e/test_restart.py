"""Restart policies kept by the project monitor, with the CLI gone."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.root


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    return path


def _rows(run, base):  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in run(*base, "ps", "-a", "--format", "json").stdout.splitlines()]


def test_on_failure_restarts_three_times_then_stays_stopped(run, tmp_path: Path, project_name: str) -> None:
    f = _write(tmp_path, """
services:
  crashy:
    image: busybox
    command: ["sh", "-c", "echo crash; exit 2"]
    restart: on-failure:3
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        logs = run(*base, "logs", "--no-log-prefix").stdout
        if logs.count("crash") >= 4:
            break
        time.sleep(0.2)
    time.sleep(2)  # a fifth run would have happened by now
    logs = run(*base, "logs", "--no-log-prefix").stdout
    assert logs.count("crash") == 4  # the first run and three restarts
    (row,) = _rows(run, base)
    assert row["State"] == "exited"
    assert row["ExitCode"] == 2
    run(*base, "down")


def test_always_survives_monitor_kill_and_stop_is_respected(run, composer_root: Path, tmp_path: Path,
                                                           project_name: str) -> None:
    f = _write(tmp_path, """
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
    time.sleep(0.3)
    (row,) = _rows(run, base)
    assert row["State"] == "running"  # killing the monitor kills no container
    assert "up" in run(*base, "logs").stdout
    run(*base, "stop")
    time.sleep(1.5)  # a restart policy must not bring a user-stopped container back
    (row,) = _rows(run, base)
    assert row["State"] == "exited"
    run(*base, "down")
