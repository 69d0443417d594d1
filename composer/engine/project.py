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

from composer.engine import containers, hooks, monitor_client, networks, state, volumes
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
        try:
            for rec in _by_dependency(recs):
                if not containers.is_running(paths, rec["id"]):
                    report("Container", rec["name"], "Starting")
                    containers.start(paths, rec)
                    hooks.run(paths, rec, hooks.POST_START, report)
                    report("Container", rec["name"], "Started")
        finally:  # a failing hook still leaves the started ones watched
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


def _stop_records(paths: Paths, recs: list[dict[str, Any]], timeout: float | None, report: Reporter,
                  leave_veths: frozenset[str] = frozenset()) -> None:
    """Stop in reverse dependency order; independent containers stop in parallel.

    ``leave_veths``: ids of containers whose veths the kernel may take down with
    their namespaces (``containers.release``), as their networks are removed next.
    """
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
    # every container of a level at once: stopping is mostly waiting (for the process to exit,
    # for the kernel to tear a veth down), and the grace periods must run side by side
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(64, max(map(len, levels), default=1))) as pool:
        for level in levels:
            running = [r for r in level if containers.is_running(paths, r["id"])]
            for r in running:
                report("Container", r["name"], "Stopping")
            list(pool.map(lambda r: stop_one(paths, r, timeout, report, veths=r["id"] not in leave_veths),
                          level))
            for r in running:
                report("Container", r["name"], "Stopped")


def stop_one(paths: Paths, rec: dict[str, Any], timeout: float | None, report: Reporter = _quiet, *,
             veths: bool = True) -> int | None:
    """Stop one container, its ``pre_stop`` hooks first; a failing hook leaves it running, as Docker Compose."""
    if rec.get("hooks", {}).get(hooks.PRE_STOP) and containers.is_running(paths, rec["id"]):
        hooks.run(paths, rec, hooks.PRE_STOP, report)
    return containers.stop(paths, rec, timeout, veths=veths)


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
         services_in_file: Sequence[str] | None = None, remove_orphans: bool = False,
         remove_images: str | None = None, report: Reporter = _quiet) -> list[str]:
    """Stop and remove the project's containers, networks, (``-v``) volumes, (``--rmi``) images.

    Containers of services no longer in the file (orphans) stay unless
    ``remove_orphans``, as Docker Compose does; one-off containers go.
    Returns the image references to remove for ``--rmi`` (the caller owns the store).
    """
    with state.project_lock(paths, project_name):
        recs = _project_records(paths, project_name)
        if services_in_file is not None and not remove_orphans:
            orphans = [r for r in recs if r["service"] not in services_in_file and not r.get("oneoff")]
            if orphans:
                report("Warning", "", f"Found orphan containers ({', '.join(r['name'] for r in orphans)}) "
                       "for this project. If you removed or renamed this service in your compose file, "
                       "you can run this command with the --remove-orphans flag to clean it up.")
            recs = [r for r in recs if r not in orphans]
        leave = _leaving_networks(paths, project_name, recs)
        _stop_records(paths, recs, timeout, report, leave)
        _remove_all(paths, recs, leave)
        for rec in recs:
            report("Container", rec["name"], "Removed")
            if remove_volumes:
                for vol in rec.get("anonymous_volumes", []):
                    volumes.remove_volume(paths, vol)
        left = _project_records(paths, project_name)
        for net in state.network_records(paths):
            ours = net.get("labels", {}).get("com.docker.compose.project") == project_name
            in_use = any(net["name"] in r.get("networks", {}) for r in left)
            if ours and not in_use and networks.remove_network(paths, net["name"]):
                report("Network", net["name"], "Removed")
        if remove_volumes:
            for vol in volumes.volume_records(paths, project_name):
                volumes.remove_volume(paths, vol["name"])
                report("Volume", vol["name"], "Removed")
        if not left:
            monitor_client.stop_monitor(paths, project_name)
            import shutil

            shutil.rmtree(paths.projects / project_name, ignore_errors=True)
    images = sorted({r.get("image") or "" for r in recs} - {""})
    if remove_images == "local":
        images = [i for i in images if any(r.get("image") == i and r.get("built") for r in recs)]
    return images if remove_images else []


def _remove_all(paths: Paths, recs: list[dict[str, Any]], leave_veths: frozenset[str]) -> None:
    """Remove stopped containers side by side (runtime state, bundle, writable layer)."""
    import concurrent.futures

    if not recs:
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(16, len(recs))) as pool:
        list(pool.map(lambda r: containers.remove(paths, r, veths=r["id"] not in leave_veths), recs))


def _leaving_networks(paths: Paths, project_name: str, recs: list[dict[str, Any]]) -> frozenset[str]:
    """Ids of the containers ``down`` removes whose every network it removes too."""
    going = {r["id"] for r in recs}
    kept = [r for r in state.container_records(paths) if r["id"] not in going]
    removed = {n["name"] for n in state.network_records(paths)
               if n.get("labels", {}).get("com.docker.compose.project") == project_name
               and not any(n["name"] in r.get("networks", {}) for r in kept)}
    return frozenset(r["id"] for r in recs if set(r.get("networks", {})) <= removed)


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
