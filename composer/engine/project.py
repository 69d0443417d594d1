"""Project-level operations: up, start, stop, rm, down.

``up`` converges the host to the project: networks and volumes first, then
one task per service that starts as soon as its own dependencies meet their
``depends_on`` conditions (no level-by-level barrier). Blocking kernel work
(mounts, netlink, spawning the shim) runs in worker threads bounded by a
capacity limiter. Progress goes to a reporter the CLI supplies.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from composer.engine import containers, monitor_client, networks, state, volumes
from composer.engine.state import Paths
from composer.errors import ComposerError

if TYPE_CHECKING:
    pass

#: report(kind, name, status): e.g. ("Container", "proj-web-1", "Started")
Reporter = Callable[[str, str, str], None]


def _quiet(kind: str, name: str, status: str) -> None:
    pass


def _project_records(paths: Paths, project: str, services: Sequence[str] = ()) -> list[dict[str, Any]]:
    recs = state.container_records(paths, project)
    return [r for r in recs if not services or r["service"] in services]


def start(paths: Paths, project_name: str, services: Sequence[str], report: Reporter = _quiet) -> None:
    with state.project_lock(paths, project_name):
        recs = [r for r in _project_records(paths, project_name, services) if not r.get("oneoff")]
        if not recs:
            return
        monitor_client.ensure_monitor(paths, project_name)
        for rec in _by_dependency(recs):
            if not containers.is_running(paths, rec["id"]):
                report("Container", rec["name"], "Starting")
                containers.start(paths, rec)
                report("Container", rec["name"], "Started")
        monitor_client.notify(paths, project_name)


def _by_dependency(recs: list[dict[str, Any]], reverse: bool = False) -> list[dict[str, Any]]:
    """Order records so dependencies come first, using the recorded depends_on."""
    import graphlib

    by_service: dict[str, list[dict[str, Any]]] = {}
    for r in recs:
        by_service.setdefault(r["service"], []).append(r)
    ts: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for svc in sorted(by_service):
        deps = [d for r in by_service[svc] for d in r.get("depends_on", {}) if d in by_service]
        ts.add(svc, *sorted(deps))
    order = list(ts.static_order())
    if reverse:
        order.reverse()
    return [r for s in order for r in by_service[s]]


def stop(paths: Paths, project_name: str, services: Sequence[str], timeout: float | None = None,
         report: Reporter = _quiet) -> None:
    with state.project_lock(paths, project_name):
        _stop_records(paths, _project_records(paths, project_name, services), timeout, report)


def _stop_records(paths: Paths, recs: list[dict[str, Any]], timeout: float | None, report: Reporter) -> None:
    """Stop in reverse dependency order; independent containers stop in parallel."""
    import concurrent.futures

    ordered = _by_dependency(recs, reverse=True)
    levels: list[list[dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for rec in ordered:
        # a container's level is one past the deepest dependent already placed
        dependents = [seen[r["service"]] for r in ordered
                      if rec["service"] in r.get("depends_on", {}) and r["service"] in seen]
        lvl = max(dependents, default=-1) + 1
        seen[rec["service"]] = lvl
        while len(levels) <= lvl:
            levels.append([])
        levels[lvl].append(rec)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for level in levels:
            running = [r for r in level if containers.is_running(paths, r["id"])]
            for r in running:
                report("Container", r["name"], "Stopping")
            list(pool.map(lambda r: containers.stop(paths, r, timeout), level))
            for r in running:
                report("Container", r["name"], "Stopped")


def kill(paths: Paths, project_name: str, services: Sequence[str], sig: int = signal.SIGKILL) -> None:
    for rec in _project_records(paths, project_name, services):
        containers.kill(paths, rec, sig)


def rm(paths: Paths, project_name: str, services: Sequence[str], *, stop_first: bool = False,
       remove_volumes: bool = False, report: Reporter = _quiet) -> list[str]:
    """Remove stopped containers (``stop_first``: stop running ones first)."""
    with state.project_lock(paths, project_name):
        recs = _project_records(paths, project_name, services)
        if stop_first:
            _stop_records(paths, recs, None, report)
        removed = []
        for rec in recs:
            if containers.is_running(paths, rec["id"]):
                continue
            containers.remove(paths, rec)
            if remove_volumes:
                for vol in rec.get("anonymous_volumes", []):
                    volumes.remove_volume(paths, vol)
            report("Container", rec["name"], "Removed")
            removed.append(rec["name"])
        return removed


def down(paths: Paths, project_name: str, *, remove_volumes: bool = False, timeout: float | None = None,
         network_names: Sequence[str] = (), report: Reporter = _quiet) -> None:
    """Stop and remove the project's containers, its networks and (``-v``) its volumes."""
    with state.project_lock(paths, project_name):
        recs = _project_records(paths, project_name)
        _stop_records(paths, recs, timeout, report)
        for rec in recs:
            containers.remove(paths, rec)
            report("Container", rec["name"], "Removed")
            if remove_volumes:
                for vol in rec.get("anonymous_volumes", []):
                    volumes.remove_volume(paths, vol)
        for net in state.network_records(paths):
            ours = net.get("labels", {}).get("com.docker.compose.project") == project_name
            if (ours or net["name"] in network_names) and networks.remove_network(paths, net["name"]):
                report("Network", net["name"], "Removed")
        if remove_volumes:
            for vol in volumes.volume_records(paths, project_name):
                volumes.remove_volume(paths, vol["name"])
                report("Volume", vol["name"], "Removed")
        monitor_client.stop_monitor(paths, project_name)




def first_error(group: BaseExceptionGroup) -> BaseException:
    """The error to show from a task group: the first user-facing one, else the first."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    return next((e for e in leaves if isinstance(e, ComposerError)), leaves[0])
