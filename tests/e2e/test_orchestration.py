"""Convergence, scale, waits and exit codes of `up`, on real containers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.helpers import wait_for

pytestmark = pytest.mark.root

TRAP = "trap 'exit 0' TERM; "
LONG = ["sh", "-c", TRAP + "sleep 1000 & wait"]


def _write(tmp_path: Path, text: str, name: str = "compose.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _rows(run, base, *extra):  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in run(*base, "ps", "--format", "json", *extra).stdout.splitlines()]


STACK = """
services:
  db:
    image: busybox
    command: {long}
    environment:
      DEBUG: "{debug}"
  app:
    image: busybox
    command: {long}
    depends_on:
      db:
        condition: service_started
        restart: true
  other:
    image: busybox
    command: {long}
    depends_on: [db]
"""


def test_changed_env_recreates_only_that_service_and_restart_dependents(run, tmp_path: Path, project_name: str) -> None:
    long = json.dumps(LONG)
    f = _write(tmp_path, STACK.format(long=long, debug="0"))
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")
    ids = {r["Service"]: r["ID"] for r in _rows(run, base)}

    res = run(*base, "up", "-d")  # nothing changed: nothing touched
    assert {r["Service"]: r["ID"] for r in _rows(run, base)} == ids
    assert "Recreate" not in res.stderr and "Started" not in res.stderr

    _write(tmp_path, STACK.format(long=long, debug="1"))
    res = run(*base, "up", "-d")
    assert f"Container {project_name}-db-1  Recreated (environment.DEBUG changed)" in res.stderr
    assert f"Container {project_name}-app-1  Restarting (dependency db was recreated)" in res.stderr
    after = {r["Service"]: r["ID"] for r in _rows(run, base)}
    assert after["db"] != ids["db"]
    assert after["app"] == ids["app"] and after["other"] == ids["other"]
    assert f"Container {project_name}-other-1  Running" in res.stderr  # untouched
    run(*base, "down")


def test_scale_up_and_down(run, tmp_path: Path, project_name: str) -> None:
    f = _write(tmp_path, f"services:\n  w:\n    image: busybox\n    command: {json.dumps(LONG)}\n")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d", "--scale", "w=3")
    assert sorted(r["Name"] for r in _rows(run, base)) == [f"{project_name}-w-{n}" for n in (1, 2, 3)]
    run(*base, "up", "-d", "--scale", "w=1")
    assert [r["Name"] for r in _rows(run, base, "-a")] == [f"{project_name}-w-1"]
    run(*base, "down")


def test_wait_and_exit_code_from(run, tmp_path: Path, project_name: str) -> None:
    f = _write(tmp_path, f"""
services:
  svc:
    image: busybox
    command: {json.dumps(LONG)}
    healthcheck:
      test: ["CMD", "true"]
      interval: 200ms
  job:
    image: busybox
    command: ["sh", "-c", "echo job done; exit 0"]
""")
    base = ["-f", str(f), "-p", project_name]
    started = time.monotonic()
    run(*base, "up", "--wait", "--wait-timeout", "60")
    assert time.monotonic() - started < 60  # returned once healthy, not at the timeout
    (svc,) = [r for r in _rows(run, base) if r["Service"] == "svc"]
    assert svc["Health"] == "healthy"
    run(*base, "down")

    g = _write(tmp_path, f"""
services:
  svc:
    image: busybox
    command: {json.dumps(LONG)}
  tester:
    image: busybox
    command: ["sh", "-c", "echo testing; exit 4"]
""", "exit.yaml")
    base = ["-f", str(g), "-p", project_name]
    res = run(*base, "up", "--exit-code-from", "tester", check=False, timeout=60)
    assert res.returncode == 4, res.stderr
    assert f"{project_name}-tester-1 exited with code 4" in res.stdout
    assert "Aborting on container exit..." in res.stderr
    assert {r["State"] for r in _rows(run, base, "-a")} == {"exited"}
    run(*base, "down")


def test_same_name_from_another_directory_is_refused(run, tmp_path: Path, project_name: str) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    body = f"name: {project_name}\nservices:\n  s:\n    image: busybox\n    command: {json.dumps(LONG)}\n"
    f1 = _write(tmp_path / "one", body)
    f2 = _write(tmp_path / "two", body)
    run("-f", str(f1), "up", "-d")
    res = run("-f", str(f2), "up", "-d", check=False)
    assert res.returncode != 0
    assert res.stderr.strip().splitlines()[-1].startswith(f"project name '{project_name}' is already used by {tmp_path / 'one'}")
    run("-f", str(f2), "-p", project_name, "up", "-d")  # -p takes it over
    run("-f", str(f1), "down")


def test_orphans_ps_status_and_logs_filters(run, tmp_path: Path, project_name: str) -> None:
    f = _write(tmp_path, f"""
services:
  keep:
    image: busybox
    command: ["sh", "-c", "echo one; echo two; echo three; {TRAP}sleep 1000 & wait"]
  gone:
    image: busybox
    command: ["true"]
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")
    wait_for(lambda: [r["Service"] for r in _rows(run, base, "--status", "exited")] == ["gone"], timeout=30,
             interval=0.1, what="gone exited")
    wait_for(lambda: run(*base, "logs", "--no-log-prefix", "keep").stdout.count("\n") == 3, timeout=30,
             interval=0.1, what="keep's three lines")
    assert [r["Service"] for r in _rows(run, base, "--filter", "status=running")] == ["keep"]
    assert run(*base, "logs", "--no-log-prefix", "--tail", "1", "keep").stdout == "three\n"
    assert run(*base, "logs", "--since", "1h", "keep").stdout.count("\n") == 3
    assert run(*base, "logs", "--until", "2000-01-01T00:00:00Z", "keep").stdout == ""

    _write(tmp_path, f"services:\n  keep:\n    image: busybox\n    command: {json.dumps(LONG)}\n")
    res = run(*base, "down")
    assert "Found orphan containers" in res.stderr
    assert [r["Service"] for r in _rows(run, base, "-a")] == ["gone"]
    run(*base, "down", "--remove-orphans")
    assert _rows(run, base, "-a") == []


def test_log_rotation_by_logging_options(run, composer_root: Path, tmp_path: Path, project_name: str) -> None:
    f = _write(tmp_path, f"""
services:
  chatty:
    image: busybox
    command: ["sh", "-c", "for i in $$(seq 1 200); do echo line-$$i; done; {TRAP}sleep 1000 & wait"]
    logging:
      driver: json-file
      options:
        max-size: 1k
        max-file: "3"
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")
    wait_for(lambda: "line-200" in run(*base, "logs", "--no-log-prefix").stdout, timeout=30, interval=0.2,
             what="chatty's last line")
    lines = run(*base, "logs", "--no-log-prefix").stdout.split()
    assert lines[-1] == "line-200"
    assert "line-1" not in lines  # rotated away: 3 files of 1 KiB keep only the newest lines
    assert lines == sorted(lines, key=lambda x: int(x.split("-")[1]))
    logs = list((composer_root / "containers").glob("*/*-json.log*"))
    assert sorted(p.name.split("-json.log")[1] for p in logs) == ["", ".1", ".2"]
    run(*base, "down")
