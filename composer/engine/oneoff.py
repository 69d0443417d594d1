"""One-off containers: ``run``.

``run SERVICE [CMD]`` makes a fresh container from the service with the
command line's overrides (command, entrypoint, environment, user, working
directory, ports, volumes), named ``<project>-<service>-run-<12 hex>`` and
labelled ``com.docker.compose.oneoff=True`` plus ``com.docker.compose.slug``
(the 64-hex id the name's suffix comes from), as Docker Compose does. It
never takes a place among the service's replicas, and never restarts.
Dependencies are brought up first (``up`` of them), and their ``depends_on``
conditions waited for, unless ``no_deps``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from composer.engine import containers, create, state, waits
from composer.engine.state import Paths
from composer.errors import ConfigError, ContainerStartError

if TYPE_CHECKING:
    from composer.image.store import ImageStore
    from composer.schema.model import Project, Service

ONEOFF_LABEL = "com.docker.compose.oneoff"
SLUG_LABEL = "com.docker.compose.slug"


def _quiet(kind: str, name: str, status: str) -> None:
    pass


def is_oneoff(rec: Mapping[str, Any]) -> bool:
    return bool(rec.get("oneoff")) or rec.get("labels", {}).get(ONEOFF_LABEL) == "True"


@dataclass(frozen=True)
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


def oneoff_service(project: Project, opts: RunOptions, slug: str) -> Service:
    """The service as the one-off container runs it."""
    from composer.schema.location import Loc
    from composer.schema.model import ServicePort, ServiceVolume
    from composer.schema.mounts import canonical_ports, canonical_volumes

    svc = project.services[opts.service]
    ports: list[ServicePort] = list(svc.ports) if opts.service_ports else []
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


async def run(paths: Paths, project: Project, store: ImageStore, opts: RunOptions,
              report: Any = _quiet) -> dict[str, Any]:
    """Bring the dependencies up, create and start the one-off container; returns its record."""
    import anyio

    from composer.engine import up as engine

    if opts.service not in project.services:
        from composer.errors import ServiceNotFoundError

        raise ServiceNotFoundError(f"no such service: {opts.service}")
    svc = project.services[opts.service]
    deps = [d for d in svc.depends_on if d in project.services]
    if deps and not opts.no_deps:
        await engine.up(paths, project, store,
                        engine.UpOptions(services=deps, runtime=opts.runtime), report)
        for dep, cond in svc.depends_on.items():
            if dep in deps:
                await waits.wait_condition(paths, project.name, dep, cond.condition, report)
    return await anyio.to_thread.run_sync(_create_and_start, paths, project, store, opts)


def _create_and_start(paths: Paths, project: Project, store: ImageStore, opts: RunOptions) -> dict[str, Any]:
    from composer.engine import images as engine_images
    from composer.engine import up as engine

    slug = secrets.token_hex(32)
    svc = oneoff_service(project, opts, slug)
    if opts.name and any(r["name"] == opts.name for r in state.container_records(paths)):
        raise ConfigError(f'container name "{opts.name}" is already in use')
    image = engine_images.ensure_images(project, [opts.service], store, run_root=paths.run_root,
                                        **dict(opts.image_options))[opts.service]
    with state.project_lock(paths, project.name):
        engine._prepare(paths, project, [opts.service], _quiet)
        rec = create.create(paths, project, svc, 1, image, "", opts.runtime, oneoff=True,
                            extra_labels={SLUG_LABEL: slug})
        if not opts.use_aliases:
            for att in rec.get("networks", {}).values():
                if isinstance(att, dict):
                    att["aliases"] = []  # reachable by container name only, as in Docker
        state.save_container(paths, rec)
        try:
            engine._check_ports(rec)
            return containers.start(paths, rec)
        except BaseException:
            containers.remove(paths, rec)
            raise


def exit_code_for(err: ContainerStartError) -> int:
    """Docker's codes for a program that could not be started: 127 not found, 126 otherwise."""
    text = str(err)
    return 127 if ("not found" in text or "no such file" in text.lower()) else 126


def wait_exit(paths: Paths, rec: dict[str, Any]) -> int:
    """The exit code of a container that has stopped (-1 if unknown)."""
    st = containers.runtime_state(paths, rec["id"])
    if st is None or st.exit_code is None:
        return -1
    return int(st.exit_code)
