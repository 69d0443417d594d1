"""The Compose commands on small real stacks: foreground up, stop/start, rm, conditions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import helpers
from tests.helpers import write_compose

pytestmark = pytest.mark.root

TRAP = "trap 'exit 0' TERM; "


def _ps(run, base: list[str], *extra: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in run(*base, "ps", "--format", "json", *extra).stdout.splitlines()]


def test_stop_start_rm_and_exit_codes(run, tmp_path: Path, project_name: str) -> None:
    f = write_compose(tmp_path, f"""
services:
  svc:
    image: busybox
    command: ["sh", "-c", "{TRAP}echo started; sleep 1000 & wait"]
    stop_grace_period: 30s
  oneshot:
    image: busybox
    command: ["sh", "-c", "echo done; exit 3"]
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")

    def oneshot_exited() -> dict[str, dict] | None:  # type: ignore[type-arg]
        rows = {r["Service"]: r for r in _ps(run, base, "-a")}
        return rows if rows.get("oneshot", {}).get("State") == "exited" else None

    rows = helpers.wait_for(oneshot_exited, timeout=30, interval=0.1, what="oneshot exited")
    assert rows["oneshot"]["ExitCode"] == 3
    assert rows["oneshot"]["Status"].startswith("Exited (3)")
    assert rows["svc"]["State"] == "running"
    assert [r["Service"] for r in _ps(run, base)] == ["svc"]  # without -a: running only

    # "started" is printed once the trap is set: before it, pid 1 ignores SIGTERM and stop waits out the grace
    helpers.wait_for(lambda: "started" in run(*base, "logs", "--no-log-prefix", "svc").stdout, timeout=30,
                     interval=0.1, what="svc's trap set")
    started = time.monotonic()
    run(*base, "stop", "svc")
    assert time.monotonic() - started < 10  # the trap makes SIGTERM quick: far below the 30 s grace period
    rows = {r["Service"]: r for r in _ps(run, base, "-a")}
    assert rows["svc"]["State"] == "exited"
    assert rows["svc"]["ExitCode"] == 0

    run(*base, "start", "svc")
    assert [r["State"] for r in _ps(run, base, "svc")] == ["running"]
    # the log file survives a restart (start returns before the second "started" is out)
    helpers.wait_for(lambda: run(*base, "logs", "--no-log-prefix", "svc").stdout.count("started") == 2,
                     timeout=30, interval=0.1, what="a second 'started' after the first")

    res = run(*base, "rm", "oneshot")
    assert "Removed" in res.stderr
    assert [r["Service"] for r in _ps(run, base, "-a")] == ["svc"]
    run(*base, "down")
    assert _ps(run, base, "-a") == []


def test_stop_waits_grace_period_then_kills(run, tmp_path: Path, project_name: str) -> None:
    f = write_compose(tmp_path, """
services:
  stubborn:
    image: busybox
    command: ["sleep", "1000"]
    stop_grace_period: 1s
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")
    started = time.monotonic()
    run(*base, "stop")
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 30  # the 1 s grace period, then SIGKILL: far from sleep's 1000 s
    (row,) = _ps(run, base, "-a")
    assert row["ExitCode"] == 137
    run(*base, "down")


def test_service_healthy_failure_names_the_dependency(run, tmp_path: Path, project_name: str) -> None:
    f = write_compose(tmp_path, f"""
services:
  db:
    image: busybox
    command: ["sh", "-c", "{TRAP}sleep 1000 & wait"]
    healthcheck:
      test: ["CMD-SHELL", "echo not ready; exit 1"]
      interval: 200ms
      retries: 2
  app:
    image: busybox
    command: ["true"]
    depends_on:
      db:
        condition: service_healthy
""")
    base = ["-f", str(f), "-p", project_name]
    res = run(*base, "up", "-d", check=False)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1] == (
        f"dependency failed to start: container {project_name}-db-1 is unhealthy (last check: not ready)"
    )
    assert "Traceback" not in res.stderr
    run(*base, "down")


def test_completed_successfully_orders_one_shot_jobs(run, tmp_path: Path, project_name: str) -> None:
    f = write_compose(tmp_path, f"""
services:
  migrate:
    image: busybox
    command: ["sh", "-c", "echo migrated > /shared/flag"]
    volumes: [shared:/shared]
  app:
    image: busybox
    command: ["sh", "-c", "{TRAP}cat /shared/flag; sleep 1000 & wait"]
    volumes: [shared:/shared]
    depends_on:
      migrate:
        condition: service_completed_successfully
volumes:
  shared:
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")
    helpers.wait_for(lambda: "migrated" in run(*base, "logs", "app").stdout, timeout=30, interval=0.1,
                     what="app's log of the flag")
    assert f"{project_name}-app-1  | migrated" in run(*base, "logs", "app").stdout
    run(*base, "down", "-v")


def test_dependency_cycle_is_reported(run, tmp_path: Path) -> None:
    f = write_compose(tmp_path, """
services:
  a: {image: busybox, depends_on: [b]}
  b: {image: busybox, depends_on: [a]}
""")
    res = run("-f", str(f), "up", "-d", check=False)
    assert res.returncode != 0
    assert res.stderr.strip() == "dependency cycle detected: a -> b -> a"


def test_foreground_up_prints_logs_and_ctrl_c_stops(composer_root: Path, tmp_path: Path, project_name: str) -> None:
    f = write_compose(tmp_path, f"""
services:
  talker:
    image: busybox
    command: ["sh", "-c", "{TRAP}echo hello foreground; sleep 1000 & wait"]
""")
    env = {**os.environ, "COMPOSER_ROOT": str(composer_root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "composer", "-f", str(f), "-p", project_name, "up"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )
    try:
        line = ""
        deadline = time.monotonic() + 15
        while "hello foreground" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line == f"{project_name}-talker-1  | hello foreground\n"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Gracefully stopping..." in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rows = helpers.composer(composer_root, "-f", str(f), "-p", project_name, "ps", "-a",
                            "--format", "json").stdout.splitlines()
    assert [json.loads(r)["State"] for r in rows] == ["exited"]
    helpers.composer(composer_root, "-f", str(f), "-p", project_name, "down")
