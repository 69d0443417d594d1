"""``up``: converge the host to the project, following the planner's plan.

Networks and volumes first; then one thread per service that waits only for
its own dependencies' ``depends_on`` conditions (no level-by-level barrier)
and carries out the plan's actions for its containers: create, recreate
(reusing anonymous volumes unless ``--renew-anon-volumes``), restart,
start, keep, remove (scale down, orphans); at most ``--parallel`` of them
at once. Each action is reported with its
reason ("recreate web: environment.DEBUG changed").
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from composer.engine import (
    containers,
    create,
    filemounts,
    hooks,
    monitor_client,
    networks,
    state,
    volumes,
)
from composer.engine.project import Reporter, _quiet, first_error, stop_one
from composer.engine.state import Paths
from composer.errors import ConfigError

if TYPE_CHECKING:
    from composer.image.store import Image, ImageStore
    from composer.planner.plan import Action, Plan
    from composer.schema.model import Project, Service

#: service attributes that do not change the container (as in the config hash)
_NOT_IN_CONFIG = {"depends_on", "profiles", "pull_policy"}


@dataclass(frozen=True)
class UpOptions:
    services: Sequence[str] = ()
    no_deps: bool = False
    force_recreate: bool = False
    no_recreate: bool = False
    always_recreate_deps: bool = False
    remove_orphans: bool = False
    renew_anon_volumes: bool = False
    no_start: bool = False
    scale: Mapping[str, int] = field(default_factory=dict)
    timeout: float | None = None
    parallel: int = 8
    wait_ports: float = 10.0
    runtime: str | None = None  # the OCI runtime backend (--runtime); a service's runtime: wins
    image_options: Mapping[str, Any] = field(default_factory=dict)  # build/pull flags for engine.images
    explicit_name: bool = False  # the name came from -p / COMPOSE_PROJECT_NAME
    outbound: bool = False  # masquerade container traffic out through the host (COMPOSER_OUTBOUND=1)


def service_config(service: Service) -> dict[str, Any]:
    from composer.schema.cache import json_dump  # model_dump without building the serializer

    return json_dump(service, _NOT_IN_CONFIG)


def replicas_of(service: Service) -> int:
    scale = getattr(service, "scale", None)
    if scale is not None:
        return int(scale)
    deploy = getattr(service, "deploy", None)
    replicas = getattr(deploy, "replicas", None) if deploy is not None else None
    return int(replicas) if replicas is not None else 1


def _ensure_networks(paths: Paths, project: Project, names: Sequence[str], report: Reporter,
                     outbound: bool = False) -> set[str]:
    """The services' networks, created when missing; their gateways."""
    keys = sorted({k for n in names if not getattr(project.services[n], "network_mode", None)
                   for k in project.services[n].networks})
    gateways = set()
    for key in keys:
        rec, created = networks.ensure_project_network(paths, project, key, outbound=outbound, sync=False)
        gateways.add(rec["gateway"])
        if created:
            report("Network", rec["name"], "Created")
    return gateways


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


def _prepare(paths: Paths, project: Project, names: Sequence[str], report: Reporter,
             outbound: bool = False) -> set[str]:
    gateways = _ensure_networks(paths, project, names, report, outbound)
    _ensure_volumes(paths, project, names, report)
    return gateways


class _Monitor:
    """The project monitor, started early and waited for once, before the first process runs.

    Its start-up overlaps networks, container creation, mounts and veths; by the
    first process it holds its lock, so DNS, healthchecks and ports follow each
    container as before. Which starts need a rescan at once is decided here:
    those with a healthcheck or published ports, and the first on each network
    (the DNS server must listen on its gateway); the rest are seen at the end.
    """

    def __init__(self, paths: Paths, project: str) -> None:
        import threading

        self.paths, self.project = paths, project
        self.proc = monitor_client.spawn(paths, project)
        self.lock = threading.Lock()
        self.ready = False
        self.networks: set[str] = set()
        self.gateways: set[str] = set()  # the DNS server must listen there before a process runs

    def wait(self) -> None:
        with self.lock:
            if not self.ready:
                _warm_up()
                pid = monitor_client.wait_started(self.paths, self.project, self.proc)
                monitor_client.wait_dns(self.paths, self.project, pid, self.gateways)
                self.ready = True

    def started(self, rec: dict[str, Any]) -> None:
        with self.lock:
            new_nets = set(rec.get("networks", {})) - self.networks
            self.networks |= new_nets
        if new_nets or rec.get("healthcheck") or rec.get("ports"):
            monitor_client.notify(self.paths, self.project)


def claim_project(paths: Paths, project: Project, explicit_name: bool) -> None:
    """Refuse to mix two projects of one name from different directories, unless -p says so."""
    record_path = paths.projects / project.name / "project.json"
    old = state.read_json(record_path)
    here = str(project.working_dir)
    if (isinstance(old, dict) and old.get("working_dir") != here and not explicit_name
            and state.container_records(paths, project.name)):
        raise ConfigError(
            f"project name {project.name!r} is already used by {old.get('working_dir')}; "
            f"run from there, or give this one another name with -p (or take that project over with -p {project.name})"
        )
    state.write_json(record_path, {
        "name": project.name, "working_dir": here,
        "config_files": [str(f) for f in project.config_files],
    }, sync=False)  # flushed with the rest at the end of ``up``


def config_hashes(project: Project, names: Sequence[str]) -> dict[str, str]:
    from composer.schema.hash import service_config_hash

    return {name: service_config_hash(project.services[name]) for name in names}


def make_plan(paths: Paths, project: Project, names: Sequence[str], images: Mapping[str, Image],
              opts: UpOptions, hashes: Mapping[str, str] | None = None,
              configs: Mapping[str, dict[str, Any]] | None = None) -> Plan:
    from composer.planner.plan import Desired, Observed, PlanOptions, plan

    hashes = hashes or config_hashes(project, names)
    configs = configs or {name: service_config(project.services[name]) for name in names}
    desired = {}
    for name in names:
        svc = project.services[name]
        desired[name] = Desired(
            service=name, config_hash=hashes[name], config=configs[name],
            image_id=images[name].id, replicas=replicas_of(svc),
            depends_on={d: c.restart for d, c in svc.depends_on.items()},
        )
    observed = []
    for rec in state.container_records(paths, project.name):
        if rec.get("labels", {}).get("com.docker.compose.oneoff") == "True":
            continue
        # a record whose bundle was never written (a killed `up`) is recreated
        complete = (paths.container_dir(rec["id"]) / "config.json").exists()
        observed.append(Observed(
            id=rec["id"], name=rec["name"], service=rec["service"], number=rec["number"],
            config_hash=rec["labels"].get("com.docker.compose.config-hash", "") if complete else "",
            config=rec.get("config", {}), image_id=rec.get("image_id", ""),
            running=containers.is_running(paths, rec["id"]),
        ))
    options = PlanOptions(
        force_recreate=opts.force_recreate, no_recreate=opts.no_recreate,
        always_recreate_deps=opts.always_recreate_deps, remove_orphans=opts.remove_orphans,
        scale=opts.scale, selected=opts.services,
    )
    return plan(desired, observed, options, all_services=list(project.services))


async def up(paths: Paths, project: Project, store: ImageStore, opts: UpOptions,
             report: Reporter = _quiet) -> list[dict[str, Any]]:
    """``up_sync`` for async callers (``run`` bringing up its service's dependencies)."""
    import anyio

    return await anyio.to_thread.run_sync(functools.partial(up_sync, paths, project, store, opts, report))


def up_sync(paths: Paths, project: Project, store: ImageStore, opts: UpOptions,
            report: Reporter = _quiet, cancel: threading.Event | None = None) -> list[dict[str, Any]]:
    """Bring the project (or the named services and their dependencies) up.

    Plain threads, no event loop: the CLI's ``up`` then imports neither asyncio
    nor anyio (~0.1 s of its CPU) unless a ``depends_on`` condition or a
    published port has to be waited for. ``cancel`` (foreground ``up``'s first
    Ctrl-C) and a failed service stop the others before their next container;
    a KeyboardInterrupt here does the same, and is re-raised once every
    service thread has finished its step (the project lock is held until then).
    """
    from composer.engine import images as engine_images
    from composer.planner import graph

    names = graph.select_services(project, list(opts.services), with_deps=not opts.no_deps)
    images = engine_images.ensure_images(project, names, store, report, run_root=paths.run_root,
                                         **dict(opts.image_options))
    monitor = None if opts.no_start else _Monitor(paths, project.name)
    with state.project_lock(paths, project.name):
        claim_project(paths, project, opts.explicit_name)
        gateways = _prepare(paths, project, names, report, opts.outbound)
        if monitor is not None:
            monitor.gateways = gateways
        hashes = config_hashes(project, names)
        configs = {name: service_config(project.services[name]) for name in names}  # (plan and create)
        the_plan = make_plan(paths, project, names, images, opts, hashes, configs)
        _report_orphans(paths, project, the_plan, opts, report)
        limiter = threading.Semaphore(max(1, opts.parallel))
        done: dict[str, threading.Event] = {n: threading.Event() for n in names}
        failed = threading.Event()  # a service failed: the others stop at their next step, as a task group's

        def stopping() -> bool:
            return failed.is_set() or (cancel is not None and cancel.is_set())
        errors: list[BaseException] = []
        results: dict[str, list[dict[str, Any]]] = {}

        def converge(name: str) -> None:
            """One service: wait only for its own dependencies, then carry out its actions."""
            svc = project.services[name]
            try:
                for dep in graph.implied_dependencies(svc):
                    if dep not in done:
                        continue
                    # created in dependency order even with --no-start: volumes_from and
                    # network_mode: service: need the other container to exist
                    done[dep].wait()
                    if dep not in results:  # it failed: this one is abandoned
                        return
                    cond = svc.depends_on.get(dep)
                    if (cond is not None and not opts.no_start
                            and not _wait_condition(paths, project.name, dep, cond.condition, report, failed)):
                        return
                with limiter:
                    if stopping():
                        return
                    results[name] = _apply(paths, project, svc, images[name], the_plan.for_service(name), opts,
                                           report, monitor, hashes[name], configs[name], stopping)
            except BaseException as exc:  # (re-raised by the caller, after every service stopped)
                errors.append(exc)
                failed.set()
            finally:
                done[name].set()

        interrupted: BaseException | None = None
        try:
            for name in names:
                try:
                    threading.Thread(target=converge, args=(name,), name=f"up {name}").start()
                except BaseException as exc:  # Ctrl-C while starting them: these never run
                    interrupted = interrupted or exc
                    failed.set()
                    done[name].set()
            # Wait on the events, not with join(): a join interrupted by Ctrl-C marks its
            # thread as stopped while it runs on (bpo-45274), and the exit would then cut it off
            for name in names:
                while not done[name].is_set():
                    try:
                        done[name].wait()
                    except KeyboardInterrupt as exc:  # the services stop at their next step
                        failed.set()
                        if interrupted is not None:
                            raise  # a second one: leave now
                        interrupted = exc
        finally:  # (a failing hook too: the containers started before it are watched)
            state.flush(paths)
            if monitor is not None:  # (again: one that found nothing to watch may have exited meanwhile)
                monitor_client.ensure_monitor(paths, project.name)
            monitor_client.notify(paths, project.name)
        if interrupted is not None:
            raise interrupted
        if errors:
            raise first_error(BaseExceptionGroup("up", errors)) from None
        all_recs = [r for n in names for r in results.get(n, [])]
        if not opts.no_start and any(r.get("ports") for r in all_recs):
            import anyio

            from composer.engine import waits

            anyio.run(waits.wait_ports, paths, project.name, all_recs, opts.wait_ports)
    return all_recs


def _wait_condition(paths: Paths, project: str, service: str, condition: str, report: Reporter,
                    failed: threading.Event) -> bool:
    """``waits.wait_condition`` on an event loop of this thread's own; False when ``failed`` came first."""
    if condition not in ("service_healthy", "service_completed_successfully"):
        return True  # (service_started: its task having finished is the condition)
    import anyio

    from composer.engine import waits

    async def wait() -> bool:
        async with anyio.create_task_group() as tg:
            async def watch() -> None:
                while not failed.is_set():
                    await anyio.sleep(waits.POLL)
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            await waits.wait_condition(paths, project, service, condition, report)
            tg.cancel_scope.cancel()
        return not failed.is_set()

    return anyio.run(wait)


def _warm_up() -> None:
    """Import what the runtime's start needs (forkshim and the shim, ~50 ms) and read the cgroup layout.

    Called by the first start while it waits for the monitor (a process of its
    own, on the other core): otherwise the first starts pay it at once, all of
    them queued on the import lock.
    """
    import contextlib

    from composer.runtime import zygote

    if zygote.running():  # the zygote forks the shims: this process needs neither
        return
    with contextlib.suppress(Exception):  # the starts import and report it themselves
        from composer.runtime import cgroups, forkshim  # noqa: F401

        cgroups.hierarchies()


def _report_orphans(paths: Paths, project: Project, the_plan: Plan, opts: UpOptions,
                    report: Reporter) -> None:
    if opts.remove_orphans:
        for action in the_plan.orphans:
            rec = state.read_json(paths.container_dir(action.container or "") / "container.json")
            if rec:
                containers.remove(paths, rec)
                report("Container", rec["name"], "Removed")
        return
    known = set(project.services)
    orphans = sorted({r["name"] for r in state.container_records(paths, project.name)
                      if r["service"] not in known
                      and r.get("labels", {}).get("com.docker.compose.oneoff") != "True"})
    if orphans:
        report("Warning", "", f"Found orphan containers ({', '.join(orphans)}) for this project. If you "
               "removed or renamed this service in your compose file, you can run this command with "
               "the --remove-orphans flag to clean it up.")


def _apply(paths: Paths, project: Project, svc: Service, image: Image, actions: list[Action],
           opts: UpOptions, report: Reporter, monitor: _Monitor | None, config_hash: str,
           config: dict[str, Any], stopping: Callable[[], bool] = lambda: False) -> list[dict[str, Any]]:
    """Carry out one service's actions, until ``stopping()``; returns its containers' records.

    Records and bundles are written without an fsync each: ``up`` flushes the
    state root once at the end (``state.flush``).
    """
    out = []
    if any(a.kind in ("create", "recreate") for a in actions):
        for message in filemounts.warnings(project, svc):  # as Docker Compose, when it creates
            report("Warning", "", message)
    for action in actions:
        if stopping():  # another service failed, or Ctrl-C: no further container
            break
        rec = state.read_json(paths.container_dir(action.container) / "container.json") if action.container else None
        if action.kind == "remove" and rec:
            report("Container", rec["name"], "Stopping")
            containers.remove(paths, rec)
            report("Container", rec["name"], "Removed")
            continue
        if action.kind == "keep" and rec:
            report("Container", rec["name"], "Running")
            out.append(rec)
            continue
        if action.kind == "recreate" and rec:
            report("Container", rec["name"], "Recreate", )
            reuse = {} if opts.renew_anon_volumes else dict(rec.get("anonymous_volume_targets", {}))
            stop_one(paths, rec, opts.timeout, report)
            containers.remove(paths, rec)
            if opts.renew_anon_volumes:
                for vol in rec.get("anonymous_volumes", []):
                    volumes.remove_volume(paths, vol)
            rec = create.create(paths, project, svc, action.number, image, config_hash, opts.runtime,
                                config=config, reuse_anonymous=reuse, sync=False)
            report("Container", rec["name"], f"Recreated ({action.reason.split(': ', 1)[-1]})")
        elif action.kind == "create":
            rec = create.create(paths, project, svc, action.number, image, config_hash, opts.runtime,
                                config=config, sync=False)
            report("Container", rec["name"], "Created")
        elif action.kind == "restart" and rec:
            report("Container", rec["name"], f"Restarting ({action.reason.split(': ', 1)[-1]})")
            stop_one(paths, rec, opts.timeout, report)
        if rec is None:
            continue
        if opts.no_start:
            out.append(rec)
            continue
        _check_ports(rec)
        report("Container", rec["name"], "Starting")
        try:
            rec = containers.start(paths, rec, fresh=action.kind in ("create", "recreate"), notify=False,
                                   sync=False, before_run=monitor.wait if monitor is not None else None)
        except Exception:
            report("Container", rec["name"], "Error")
            raise
        if monitor is not None:
            monitor.started(rec)
        hooks.run(paths, rec, hooks.POST_START, report)  # a failing hook fails ``up``, as Docker Compose
        report("Container", rec["name"], "Started")
        out.append(rec)
    return out


def _check_ports(rec: dict[str, Any]) -> None:
    if not rec.get("ports"):  # (publish imports anyio)
        return
    from composer.engine import publish

    publish.check_ports(rec)
