"""ls (every project), events --json and stats --no-stream on real containers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests import helpers

pytestmark = pytest.mark.root

LONG = '["sh", "-c", "trap \'exit 0\' TERM; sleep 1000 & wait"]'


def _project(tmp_path: Path, name: str) -> Path:
    d = tmp_path / name
    d.mkdir()
    (d / "compose.yaml").write_text(f"services:\n  web:\n    image: busybox\n    command: {LONG}\n")
    return d / "compose.yaml"


def test_ls_lists_every_project(run, tmp_path: Path, project_name: str) -> None:
    up_file, down_file = _project(tmp_path, "one"), _project(tmp_path, "two")
    running, stopped = project_name + "run", project_name + "stop"
    try:
        run("-f", str(up_file), "-p", running, "up", "-d")
        run("-f", str(down_file), "-p", stopped, "up", "-d")
        run("-f", str(down_file), "-p", stopped, "stop", "-t", "0")

        rows = json.loads(run("ls", "--format", "json", cwd=tmp_path).stdout)
        assert rows == [{"Name": running, "Status": "running(1)", "ConfigFiles": str(up_file)}]
        rows = json.loads(run("ls", "-a", "--format", "json").stdout)
        assert rows == [
            {"Name": running, "Status": "running(1)", "ConfigFiles": str(up_file)},
            {"Name": stopped, "Status": "exited(1)", "ConfigFiles": str(down_file)},
        ]
        assert run("ls", "-a", "-q").stdout == f"{running}\n{stopped}\n"
        assert run("ls", "-a", "-q", "--filter", f"name={project_name}s").stdout == f"{stopped}\n"
        table = run("ls").stdout.splitlines()
        assert table[0].split() == ["NAME", "STATUS", "CONFIG", "FILES"]
        assert table[1].split() == [running, "running(1)", str(up_file)]
        res = run("ls", "--format", "yaml", check=False)
        assert res.returncode == 1 and res.stderr.strip() == "invalid --format 'yaml': use table or json"
    finally:
        run("-p", running, "down", "-t", "0", check=False)
        run("-p", stopped, "down", "-t", "0", check=False)
    assert run("ls", "-a", "-q").stdout == ""


def test_events_json_and_stats(run, composer_root: Path, tmp_path: Path, project_name: str) -> None:
    f = _project(tmp_path, "ev")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")
    env = {**os.environ, "COMPOSER_ROOT": str(composer_root)}
    err_file = tmp_path / "events.err"
    with open(err_file, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "composer", *base, "events", "--json"],
                                stdout=subprocess.PIPE, stderr=err, text=True, env=env)
    events: list[dict] = []

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            events.append(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def wait_for(action: str, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e["action"] == action for e in events):
                return True
            time.sleep(0.05)
        return False

    try:
        # the watcher takes its first look once started: restart until it has seen one
        deadline = time.monotonic() + 60
        while not wait_for("start", 3.0):
            assert time.monotonic() < deadline, err_file.read_text() or "no events"
            run(*base, "restart", "-t", "0")
        start = next(e for e in events if e["action"] == "start")
        assert start["service"] == "web" and start["type"] == "container" and len(start["id"]) == 64
        assert start["attributes"]["name"] == f"{project_name}-web-1"
        assert start["time"].endswith("Z")

        def stats() -> list[dict]:  # type: ignore[type-arg]
            return [json.loads(line) for line in run(*base, "stats", "--no-stream", "--format", "json").stdout.splitlines()]

        # the shell and its sleep: the sleep is forked a moment after the start
        rows = helpers.wait_for(lambda: (r := stats()) and r[0]["PIDs"] == "2" and r, timeout=30, interval=0.1,
                                what="the shell and its sleep in stats")
        assert [r["Name"] for r in rows] == [f"{project_name}-web-1"]
        assert rows[0]["PIDs"] == "2" and rows[0]["CPUPerc"].endswith("%") and " / " in rows[0]["MemUsage"]
        table = run(*base, "stats", "--no-stream").stdout.splitlines()
        assert table[0].split()[:3] == ["CONTAINER", "ID", "NAME"] and len(table) == 2

        run(*base, "down", "-t", "0")
        assert wait_for("destroy")
        actions = [e["action"] for e in events]
        assert actions.index("die") < actions.index("destroy")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        proc.stdout.close()  # type: ignore[union-attr]
        run(*base, "down", "-t", "0", check=False)
