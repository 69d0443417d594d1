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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from composer.engine import containers, create, monitor_client, networks, state, volumes, waits
from composer.engine.state import Paths
from composer.errors import ComposerError, ConfigError

if TYPE_CHECKING:
    from composer.image.store import Image, ImageStore
    from composer.schema.model import Project

#: report(kind, name, status): e.g. ("Container", "proj-web-1", "Started")
Reporter = Callable[[str, str, str], None]


def _quiet(kind: str, name: str, status: str) -> None:
    pass


@dataclass(frozen=True)
class UpOptions:
    services: Sequence[str] = ()
    no_deps: bool = False
    force_recreate: bool = False
    timeout: float | None = None
    parallel: int = 8
    wait_ports: float = 10.0
    runtime: str | None = None  # the OCI runtime backend (--runtime); a service's runtime: wins
    extra: dict[str, Any] = field(default_factory=dict)


def _project_records(paths: Paths, project: str, services: Sequence[str] = ()) -> list[dict[str, Any]]:
    recs = state.container_records(paths, project)
    return [r for r in recs if not services or r["service"] in services]


def _ensure_networks(paths: Paths, project: Project, names: Sequence[str], report: Reporter) -> None:
    keys = sorted({k for n in names for k in project.services[n].networks})
    for key in keys:
        decl = project.networks[key]
        if decl.external:
            if networks.get_network(paths, decl.name) is None:
                raise ConfigError(f"network {decl.name} declared as external, but could not be found")
            continue
        labels = {
            "com.docker.compose.network": key,
            "com.docker.compose.project": project.name,
            "com.docker.compose.version": containers.COMPOSE_VERSION,
        }
        _, created = networks.ensure_network(paths, decl.name, labels, internal=decl.internal)
        if created:
            report("Network", decl.name, "Created")


def _ensure_volumes(paths: Paths, project: Project, names: Sequence[str], report: Reporter) -> None:
    used = sorted({v.source for n in names for v in project.services[n].volumes
                   if v.type == "volume" and v.source})
    for key in used:
        decl = project.volumes[key]
        if decl.external:
            if not (paths.volumes / decl.name).exists():
                raise ConfigError(f"external volume \"{decl.name}\" not found")
            continue
        if volumes.ensure_volume(paths, decl.name, project.name, key=key):
            report("Volume", f'"{decl.name}"', "Created")


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


def _prepare(paths: Paths, project: Project, names: Sequence[str], report: Reporter) -> None:
    _ensure_networks(paths, project, names, report)
    _ensure_volumes(paths, project, names, report)
    monitor_client.ensure_monitor(paths, project.name)


async def up(paths: Paths, project: Project, store: ImageStore, opts: UpOptions,
             report: Reporter = _quiet) -> list[dict[str, Any]]:
    """Bring the project (or the named services and their dependencies) up."""
    from composer.planner import graph
    from composer.schema.hash import service_config_hash

    names = graph.start_order(project, list(opts.services) or None)
    if opts.no_deps and opts.services:
        names = [n for n in names if n in opts.services]
    from composer.engine import images as engine_images

    images = engine_images.ensure_images(project, names, store, report)
    with state.project_lock(paths, project.name):
        await anyio.to_thread.run_sync(_prepare, paths, project, names, report)
        limiter = anyio.CapacityLimiter(max(1, opts.parallel))
        started: dict[str, anyio.Event] = {n: anyio.Event() for n in names}
        results: dict[str, list[dict[str, Any]]] = {}

        async def converge(name: str) -> None:
            svc = project.services[name]
            for dep, cond in svc.depends_on.items():
                if dep not in started:
                    continue
                await started[dep].wait()
                await waits.wait_condition(paths, project.name, dep, cond.condition, report)
            config_hash = service_config_hash(svc)
            recs = await anyio.to_thread.run_sync(
                _converge_service, paths, project, name, images[name], config_hash, opts, report,
                limiter=limiter,
            )
            results[name] = recs
            started[name].set()

        try:
            async with anyio.create_task_group() as tg:
                for name in names:
                    tg.start_soon(converge, name)
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        monitor_client.notify(paths, project.name)
        all_recs = [r for n in names for r in results.get(n, [])]
        await waits.wait_ports(paths, project.name, all_recs, opts.wait_ports)
    return all_recs


def _converge_service(paths: Paths, project: Project, name: str, image: Image, config_hash: str,
                      opts: UpOptions, report: Reporter) -> list[dict[str, Any]]:
    from composer.runtime.net import ports as netports

    svc = project.services[name]
    existing = _project_records(paths, project.name, [name])
    out = []
    if existing:
        for rec in existing:
            drift = rec["labels"].get("com.docker.compose.config-hash") != config_hash
            if drift or opts.force_recreate or rec.get("image_id") != image.id:
                report("Container", rec["name"], "Recreate")
                containers.remove(paths, rec)
                rec = create.create(paths, project, svc, rec["number"], image, config_hash, opts.runtime)
                report("Container", rec["name"], "Recreated")
            elif containers.is_running(paths, rec["id"]):
                report("Container", rec["name"], "Running")
                out.append(rec)
                continue
            _check_ports(netports, rec)
            report("Container", rec["name"], "Starting")
            out.append(containers.start(paths, rec))
            report("Container", rec["name"], "Started")
        return out
    rec = create.create(paths, project, svc, 1, image, config_hash, opts.runtime)
    report("Container", rec["name"], "Created")
    try:
        _check_ports(netports, rec)
        report("Container", rec["name"], "Starting")
        rec = containers.start(paths, rec)
    except Exception:
        report("Container", rec["name"], "Error")
        raise
    report("Container", rec["name"], "Started")
    return [rec]


def _check_ports(netports: Any, rec: dict[str, Any]) -> None:
    for port in rec.get("ports", []):
        if port.get("published"):
            netports.check_port_free(port.get("host_ip") or "0.0.0.0", int(port["published"]),
                                     port.get("protocol", "tcp"))


def start(paths: Paths, project_name: str, services: Sequence[str], report: Reporter = _quiet) -> None:
    with state.project_lock(paths, project_name):
        recs = _project_records(paths, project_name, services)
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


