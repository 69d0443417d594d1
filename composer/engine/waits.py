"""Waiting for conditions: depends_on conditions and published ports.

Health is judged by the project monitor and written to each container's
``health.json``; the engine only reads it, so a foreground ``up`` and a
detached one see the same truth.
"""

from __future__ import annotations

from typing import Any

import anyio

from composer.engine import containers, monitor_client, state
from composer.engine.state import Paths
from composer.errors import DependencyFailedError, NetworkError

POLL = 0.05


async def wait_condition(paths: Paths, project: str, service: str, condition: str,
                         report: Any = None) -> None:
    recs = [r for r in state.container_records(paths, project) if r["service"] == service
            and r.get("labels", {}).get("com.docker.compose.oneoff") != "True"]
    for rec in recs:
        if condition == "service_healthy":
            await _wait_healthy(paths, rec, report)
        elif condition == "service_completed_successfully":
            await _wait_exit0(paths, rec, report)


async def _wait_healthy(paths: Paths, rec: dict[str, Any], report: Any) -> None:
    name = rec["name"]
    if not rec.get("healthcheck"):
        raise DependencyFailedError(f"container {name} has no healthcheck configured")
    if report:
        report("Container", name, "Waiting")
    while True:
        health = state.health_record(paths, rec["id"]) or {}
        status = health.get("status")
        if status == "healthy":
            if report:
                report("Container", name, "Healthy")
            return
        if status == "unhealthy":
            last = (health.get("log") or [{}])[-1].get("output", "").strip()
            detail = f" (last check: {last})" if last else ""
            raise DependencyFailedError(f"dependency failed to start: container {name} is unhealthy{detail}")
        st = containers.runtime_state(paths, rec["id"])
        if st is None or st.status == "stopped":
            code = st.exit_code if st else None
            raise DependencyFailedError(f"dependency failed to start: container {name} exited ({code})")
        await anyio.sleep(POLL)


async def _wait_exit0(paths: Paths, rec: dict[str, Any], report: Any) -> None:
    name = rec["name"]
    while True:
        st = containers.runtime_state(paths, rec["id"])
        if st is None or st.status == "stopped":
            code = st.exit_code if st else None
            if code == 0:
                if report:
                    report("Container", name, "Exited")
                return
            raise DependencyFailedError(f"service {rec['service']!r} didn't complete successfully: exit {code}")
        await anyio.sleep(POLL)


async def wait_ports(paths: Paths, project: str, recs: list[dict[str, Any]], timeout: float) -> None:
    """Return once the monitor has bound every published port of ``recs``."""
    wanted = {r["id"] for r in recs if r.get("ports") and containers.is_running(paths, r["id"])}
    if not wanted:
        return
    with anyio.move_on_after(timeout):
        while True:
            status = monitor_client.read_status(paths, project)
            errors = {cid: msg for cid, msg in status.get("port_errors", {}).items() if cid in wanted}
            if errors:
                raise NetworkError(next(iter(errors.values())))
            bound = set(status.get("ports", {}))
            if wanted <= bound:
                return
            await anyio.sleep(POLL)
    raise NetworkError("published ports were not set up in time; see the monitor log under the run root")


async def wait_ready(paths: Paths, recs: list[dict[str, Any]], timeout: float | None) -> None:
    """``up --wait``: every container running (healthy if it has a healthcheck).

    A one-shot container that exited 0 counts as done, as Docker Compose does;
    one that exited otherwise, or became unhealthy, fails the wait.
    """
    with anyio.fail_after(timeout) if timeout else _no_limit():
        pending = list(recs)
        while pending:
            still = []
            for rec in pending:
                st = containers.runtime_state(paths, rec["id"])
                if st is not None and st.status == "stopped":
                    if st.exit_code != 0:
                        raise DependencyFailedError(f"container {rec['name']} exited ({st.exit_code})")
                    continue
                if rec.get("healthcheck"):
                    status = (state.health_record(paths, rec["id"]) or {}).get("status")
                    if status == "unhealthy":
                        raise DependencyFailedError(f"container {rec['name']} is unhealthy")
                    if status != "healthy":
                        still.append(rec)
                        continue
                if st is None:
                    still.append(rec)
            pending = still
            if pending:
                await anyio.sleep(POLL)


def _no_limit() -> Any:
    import contextlib

    return contextlib.nullcontext()
