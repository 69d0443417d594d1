"""Healthchecks: run the probe in the container, judge, record.

Docker's rules: probes run every ``interval`` (every ``start_interval``
during ``start_period``); a probe that exits 0 makes the container healthy;
``retries`` consecutive failures make it unhealthy, except that failures
inside the start period do not count; a probe longer than ``timeout`` fails.
The last five results are kept, as ``docker inspect`` shows them.
"""

from __future__ import annotations

import time
from typing import Any

import anyio

from composer.engine import containers, state
from composer.engine.state import Paths

KEEP = 5


def probe_argv(test: list[str]) -> list[str]:
    kind, rest = test[0], test[1:]
    if kind == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(rest)]
    if kind == "CMD":
        return rest
    return test


def probe(paths: Paths, rec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """One probe, blocking; returns a Docker-style log entry."""
    from composer.runtime import api

    start = containers.now_rfc3339()
    try:
        res = api.exec_container(rec["id"], paths.runtime, probe_argv(rec["healthcheck"]["test"]),
                                 timeout=timeout)
        code = res.exit_code
        output = (res.stdout + res.stderr).decode(errors="replace")[-4096:]
        if getattr(res, "timed_out", False):
            code, output = -1, f"Health check exceeded timeout ({timeout:g}s)"
    except Exception as exc:  # a probe that cannot run is a failed probe
        code, output = -1, str(exc)
    return {"start": start, "end": containers.now_rfc3339(), "exit_code": code, "output": output}


async def run_checks(paths: Paths, rec: dict[str, Any]) -> None:
    """Probe until cancelled, recording status in ``health.json``."""
    hc = rec["healthcheck"]
    path = paths.container_dir(rec["id"]) / "health.json"
    status: dict[str, Any] = {"status": "starting", "failing_streak": 0, "log": []}
    state.write_json(path, status)
    begin = time.monotonic()
    while True:
        in_start = time.monotonic() - begin < hc["start_period"]
        await anyio.sleep(hc["start_interval"] if in_start else hc["interval"])
        entry = await anyio.to_thread.run_sync(probe, paths, rec, hc["timeout"])
        status["log"] = (status["log"] + [entry])[-KEEP:]
        if entry["exit_code"] == 0:
            status["status"], status["failing_streak"] = "healthy", 0
        elif not (time.monotonic() - begin < hc["start_period"]):
            status["failing_streak"] += 1
            if status["failing_streak"] >= hc["retries"]:
                status["status"] = "unhealthy"
        state.write_json(path, status)
