"""One-off containers: ``run``.

``run SERVICE [CMD]`` makes a fresh container from the service with the
command line's overrides (command, entrypoint, environment, user, working
directory, ports, volumes), named ``<project>-<service>-run-<12 hex>`` and
labelled ``com.docker.compose.oneoff=True`` plus ``com.docker.compose.slug``
(the 64-hex id the name's suffix comes from), as Docker Compose does. It
never takes a place among the service's replicas, and never restarts.
Dependencies are brought up first (``up`` of them), and their ``depends_on``
conditions waited for, unless ``no_deps`` or they run already (``start``).

An attached ``run`` talks to the caller through an ``Attachment`` made before
the start (``runtime.console``): without a terminal the container reads the
caller's stdin itself (``interactive``) and its shim copies its output to the
caller's stdout and stderr as well as to the log; with one (``tty``), its pty
is in its own devpts, the shim hands the caller the master and its output,
and the caller relays its terminal in raw mode, window size included.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from composer.engine import containers, create, state
from composer.engine.state import Paths
from composer.errors import ConfigError, ContainerStartError
from composer.values import field, valueclass

if TYPE_CHECKING:
    from composer.image.store import ImageStore
    from composer.schema.model import Project, Service

ONEOFF_LABEL = "com.docker.compose.oneoff"
SLUG_LABEL = "com.docker.compose.slug"


def _quiet(kind: str, name: str, status: str) -> None:
    pass


def is_oneoff(rec: Mapping[str, Any]) -> bool:
    return bool(rec.get("oneoff")) or rec.get("labels", {}).get(ONEOFF_LABEL) == "True"


@valueclass
class RunOptions:
    """What ``run`` changes in the service for its one-off container."""

    service: str
    command: Sequence[str] | None = None
    entrypoint: Sequence[str] | None = None
    environment: Mapping[str, str | None] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None
    user: str | None = None
    workdir: str | None = None
    publish: Sequence[str] = ()          # -p specs, short syntax
    service_ports: bool = False          # keep the service's own ports
    volumes: Sequence[str] = ()          # -v specs, short syntax
    no_deps: bool = False
    use_aliases: bool = False
    runtime: str | None = None
    image_options: Mapping[str, Any] = field(default_factory=dict)  # allow_pull, log, ... for engine.images
    environ: Mapping[str, str] = field(default_factory=dict)  # the caller's, for -e KEY and ~
    tty: bool = False  # a pseudo-terminal as the container's stdio (not -T, on a terminal)
    interactive: bool = True  # keep stdin open (-i, on by default as in Docker Compose)
    stdio: Any = None  # the caller's descriptors (``Attachment.stdio``); None: detached
    remove: bool = False  # --rm: its records go once it exits, so they are written without fsync


def oneoff_service(project: Project, opts: RunOptions, slug: str) -> Service:
    """The service as the one-off container runs it."""
    svc = project.services[opts.service]
    ports: list[Any] = list(svc.ports) if opts.service_ports else []
    if opts.publish or opts.volumes:  # the models only then: a project-cache hit has no pydantic loaded
        from composer.schema.location import Loc
        from composer.schema.model import ServicePort, ServiceVolume
        from composer.schema.mounts import canonical_ports, canonical_volumes
    if opts.publish:
        ports += [ServicePort(**p) for p in canonical_ports(list(opts.publish), Loc("command line", "--publish"))]
    vols = list(svc.volumes)
    if opts.volumes:
        extra = canonical_volumes(list(opts.volumes), Loc("command line", "--volume"),
                                  project.working_dir, opts.environ)
        targets = {v["target"] for v in extra}
        vols = [v for v in vols if v.target not in targets] + [ServiceVolume(**v) for v in extra]
    env = dict(svc.environment)
    for key, value in opts.environment.items():
        env[key] = value if value is not None else project.environment.get(key, opts.environ.get(key))
    update: dict[str, Any] = {
        "container_name": opts.name or f"{project.name}-{svc.name}-run-{slug[:12]}",
        "environment": env,
        "ports": ports,
        "volumes": vols,
        "restart": "no",
        "labels": {**svc.labels, **opts.labels},
        "tty": opts.tty,
        # detached (-d): a stdin pipe its shim keeps open, as Docker's; attached: the caller's, or /dev/null
        "stdin_open": opts.interactive and opts.stdio is None,
    }
    deploy = getattr(svc, "deploy", None)
    if deploy is not None and getattr(deploy, "restart_policy", None) is not None:
        update["deploy"] = deploy.model_copy(update={"restart_policy": None})
    if opts.command is not None:
        update["command"] = list(opts.command)
    if opts.entrypoint is not None:
        update["entrypoint"] = list(opts.entrypoint)
        if opts.command is None:
            update["command"] = []  # Docker: --entrypoint resets the image's CMD
    if opts.user is not None:
        update["user"] = opts.user
    if opts.workdir is not None:
        update["working_dir"] = opts.workdir
    return svc.model_copy(update=update)


def start(paths: Paths, project: Project, store: ImageStore, opts: RunOptions,
          report: Any = _quiet) -> dict[str, Any]:
    """``run`` from synchronous code: no event loop, no ``up``, when the dependencies are up already.

    That is: each has containers, all running, healthy if the condition says
    so (a ``service_completed_successfully`` one is always run again).
    Otherwise ``run`` brings them up as ``up`` would (recreating any whose
    configuration changed) and waits for their conditions.
    """
    if not all(_satisfied(paths, project, dep, opts.service) for dep in _dependencies(project, opts)):
        import anyio

        return anyio.run(run, paths, project, store, opts, report)  # type: ignore[no-any-return]
    return _create_and_start(paths, project, store, opts)


def _dependencies(project: Project, opts: RunOptions) -> list[str]:
    if opts.service not in project.services:
        from composer.errors import ServiceNotFoundError

        raise ServiceNotFoundError(f"no such service: {opts.service}")
    if opts.no_deps:
        return []
    return [d for d in project.services[opts.service].depends_on if d in project.services]


def _satisfied(paths: Paths, project: Project, dep: str, service: str) -> bool:
    condition = project.services[service].depends_on[dep].condition
    recs = [r for r in state.container_records(paths, project.name) if r["service"] == dep and not is_oneoff(r)]
    if condition == "service_completed_successfully":
        return False  # ``up`` would run it again
    for rec in recs:
        st = containers.runtime_state(paths, rec["id"])
        ok = st is not None and st.status == "running"
        if condition == "service_healthy":
            ok = ok and (state.health_record(paths, rec["id"]) or {}).get("status") == "healthy"
        if not ok:
            return False
    return bool(recs)


async def run(paths: Paths, project: Project, store: ImageStore, opts: RunOptions,
              report: Any = _quiet) -> dict[str, Any]:
    """Bring the dependencies up, create and start the one-off container; returns its record."""
    import anyio

    from composer.engine import up as engine
    from composer.engine import waits

    deps = _dependencies(project, opts)
    svc = project.services[opts.service]
    if deps:
        await engine.up(paths, project, store,
                        engine.UpOptions(services=deps, runtime=opts.runtime), report)
        for dep, cond in svc.depends_on.items():
            if dep in deps:
                await waits.wait_condition(paths, project.name, dep, cond.condition, report)
    return await anyio.to_thread.run_sync(_create_and_start, paths, project, store, opts)


def _create_and_start(paths: Paths, project: Project, store: ImageStore, opts: RunOptions) -> dict[str, Any]:
    slug = os.urandom(32).hex()  # as ``secrets.token_hex(32)``, without its imports (hmac, random, base64)
    warm = opts.runtime in (None, "builtin")
    if warm:
        from composer.runtime import migration

        migration.keep_migration_warm()  # the first cgroup move's wait, while the container is made
    try:
        return _make_and_start(paths, project, store, opts, slug)
    finally:
        if warm:
            migration.stop_warming()


def _make_and_start(paths: Paths, project: Project, store: ImageStore, opts: RunOptions,
                    slug: str) -> dict[str, Any]:
    from composer.engine import images as engine_images

    svc = oneoff_service(project, opts, slug)
    if opts.name and any(r["name"] == opts.name for r in state.container_records(paths)):
        raise ConfigError(f'container name "{opts.name}" is already in use')
    image = engine_images.ensure_images(project, [opts.service], store, run_root=paths.run_root,
                                        **dict(opts.image_options))[opts.service]
    with state.project_lock(paths, project.name):
        ready = _networks_ready(paths, project, svc)
        if not ready or _named_volumes(project.services[opts.service]):
            # ``up`` (and anyio, the monitor's client): imported only when there is such work
            from composer.engine import up as engine

            if ready:
                engine._ensure_volumes(paths, project, [opts.service], _quiet)
            else:
                engine._prepare(paths, project, [opts.service], _quiet)
        sync = not opts.remove  # (each write is still atomic: a reader sees a whole record)
        rec = create.create(paths, project, svc, 1, image, "", opts.runtime, oneoff=True,
                            extra_labels={SLUG_LABEL: slug}, sync=sync)
        if not opts.use_aliases:
            for att in rec.get("networks", {}).values():
                if isinstance(att, dict):
                    att["aliases"] = []  # reachable by container name only, as in Docker
        state.save_container(paths, rec, sync=False)  # ``create`` wrote it a moment ago (synced unless --rm)
        try:
            if rec.get("ports"):
                from composer.engine import publish  # (and anyio): only for ports

                publish.check_ports(rec)
            return containers.start(paths, rec, fresh=True, stdio=opts.stdio, sync=sync)
        except BaseException:
            containers.remove(paths, rec)
            raise


def _named_volumes(svc: Service) -> bool:
    """The service mounts a named volume (``up._ensure_volumes`` has one to make)."""
    return any(v.type == "volume" and v.source for v in svc.volumes)


def _networks_ready(paths: Paths, project: Project, svc: Service) -> bool:
    """Every network of the service exists with its bridge up (``up`` made them): nothing to ensure."""
    from composer.engine import networks

    if getattr(svc, "network_mode", None):
        return False
    for key in svc.networks:
        decl = project.networks.get(key)
        rec = networks.get_network(paths, decl.name) if decl is not None else None
        if rec is None or not os.path.exists(f"/sys/class/net/{rec.get('bridge')}"):
            return False
    return True


def exit_code_for(err: ContainerStartError) -> int:
    """Docker's codes for a program that could not be started: 127 not found, 126 otherwise."""
    text = str(err)
    return 127 if ("not found" in text or "no such file" in text.lower()) else 126


def wait_exit(paths: Paths, rec: dict[str, Any]) -> int:
    """Wait for the container's shim to be done (output copied, exit recorded); its exit code (-1 if unknown)."""
    from composer.runtime import pidfd
    from composer.runtime.state import container_dir, read_record

    record = read_record(container_dir(paths.runtime, rec["id"]))
    fd = pidfd.open_pidfd(record.shim_pid, record.shim_start) if record is not None else None
    if fd is not None:
        try:
            while not pidfd.wait_fd(fd, 60.0):  # as long as the container runs; signals still come through
                pass
        finally:
            os.close(fd)
    st = containers.runtime_state(paths, rec["id"])
    if st is None or st.exit_code is None:
        return -1
    return int(st.exit_code)


class Attachment:
    """The caller's side of an attached one-off container, made before it starts.

    ``stdio`` goes to the start (``RunOptions.stdio``); ``started`` closes
    the container's ends here once its shim has them; ``wait`` relays the
    terminal, if any, and returns the exit code once the shim is done.
    """

    def __init__(self, tty: bool, interactive: bool, stdin: int = 0, stdout: int = 1, stderr: int = 2) -> None:
        from composer.runtime import console

        self.fds = (stdin, stdout, stderr)
        self.ours: socket.socket | None = None
        self.theirs: socket.socket | None = None
        if tty:
            self.ours, self.theirs = socket.socketpair()
            rows, cols = console.get_size(stdin) or (0, 0)
            self.stdio = console.Stdio(attach=self.theirs.fileno(), rows=rows, cols=cols)
        else:
            self.stdio = console.Stdio(stdin=stdin if interactive and _is_open(stdin) else None,
                                       stdout=stdout if _is_open(stdout) else None,
                                       stderr=stderr if _is_open(stderr) else None)

    def started(self) -> None:
        if self.theirs is not None:
            self.theirs.close()
            self.theirs = None

    def close(self) -> None:
        self.started()
        if self.ours is not None:
            self.ours.close()
            self.ours = None

    def wait(self, paths: Paths, rec: dict[str, Any]) -> int:
        from composer.runtime import console

        self.started()
        if self.ours is not None:
            master = console.recv_fd(self.ours)
            if master is not None:
                try:
                    console.relay(self.ours.fileno(), master, master, self.fds[0], self.fds[1])
                finally:
                    os.close(master)
        self.close()
        return wait_exit(paths, rec)


def _is_open(fd: int) -> bool:
    with contextlib.suppress(OSError):
        os.fstat(fd)
        return True
    return False
