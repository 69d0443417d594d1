"""Files a service gets from elsewhere: ``secrets``, ``configs`` and ``volumes_from``.

Secrets and configs follow Docker Compose without Swarm: one backed by a
``file`` is bind-mounted read-only (``uid``/``gid``/``mode`` do not apply to
it, as Compose warns); one from ``environment`` or ``content`` is written into
the container with its ``mode`` (0444 by default), ``uid`` and ``gid`` (0 by
default). Here that file lives under the container's own state directory and
is bind-mounted read-only, so it goes with the container. A secret lands at
/run/secrets/<target or source> (an absolute ``target`` as is), a config at
/<source> or its ``target``. ``external`` ones live in Swarm: refused.

``volumes_from`` gives a container the volume and bind mounts of another:
the first container of a service, or ``container:<name>``; ``:ro`` makes them
read-only, ``:rw`` writable, no suffix keeps each mount's own mode. The
engine's own files of that container (/etc/hosts, its secrets, ...) are not
its mounts in Docker's sense and are left out, as are tmpfs mounts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.engine import bundle, state
from composer.engine.state import Paths
from composer.errors import ConfigError

if TYPE_CHECKING:
    from composer.schema.model import FileObject, FileReference, Project, Service

#: the mode Docker Compose gives a secret or config it writes (``createTar``)
DEFAULT_MODE = 0o444


@dataclass(frozen=True)
class FileMount:
    """One secret or config as the container will see it."""

    kind: str  # "secret" or "config"
    name: str  # the key under the top-level secrets:/configs:
    target: str  # absolute path in the container
    source: Path | None  # a host file to bind-mount (``file:``) ...
    content: bytes | None  # ... or the bytes to write (``environment:``/``content:``)
    mode: int = DEFAULT_MODE
    uid: int = 0
    gid: int = 0


def plan_files(project: Project, service: Service) -> list[FileMount]:
    """The service's secrets and configs, checked; nothing is written yet."""
    out = [_plan(project, service, "secret", ref, project.secrets) for ref in service.secrets]
    out += [_plan(project, service, "config", ref, project.configs) for ref in service.configs]
    return out


def _target(kind: str, ref: FileReference) -> str:
    if kind == "secret":
        if not ref.target:
            return f"/run/secrets/{ref.source}"
        return ref.target if ref.target.startswith("/") else f"/run/secrets/{ref.target}"
    target = ref.target or ref.source
    return target if target.startswith("/") else f"/{target}"


def _plan(project: Project, service: Service, kind: str, ref: FileReference,
          declared: dict[str, FileObject]) -> FileMount:
    where = f"service {service.name!r}: {kind}s"
    obj = declared.get(ref.source)
    if obj is None:
        raise ConfigError(f"{where}: {kind} {ref.source!r} is not defined in the top-level {kind}s")
    if obj.external:
        raise ConfigError(f"unsupported external {kind} {obj.name}")
    if obj.driver or obj.template_driver:
        raise ConfigError(f"{where}: {kind} {ref.source!r}: drivers need Swarm, which composer does not provide")
    target = _target(kind, ref)
    if obj.file is not None and obj.content is None and obj.environment is None:
        path = Path(obj.file)
        if not path.exists():
            raise ConfigError(f'invalid mount config for type "bind": bind source path does not exist: {path}')
        return FileMount(kind, ref.source, target, path, None)
    if obj.content is not None:
        data = obj.content.encode()
    elif obj.environment is not None:
        if obj.environment not in project.environment:
            raise ConfigError(f'environment variable "{obj.environment}" required by {kind} '
                              f'"{obj.name}" is not set')  # Docker Compose's message
        data = project.environment[obj.environment].encode()
    else:
        raise ConfigError(f"{where}: {kind} {ref.source!r} has no file, environment or content")
    return FileMount(kind, ref.source, target, None, data, mode=DEFAULT_MODE if ref.mode is None else ref.mode,
                     uid=_number(where, "uid", ref.uid), gid=_number(where, "gid", ref.gid))


def _number(where: str, key: str, value: str | None) -> int:
    if value is None or value == "":
        return 0
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{where}: {key} {value!r} must be a number") from None


def write_files(cdir: Path, files: list[FileMount]) -> list[dict[str, Any]]:
    """Write the written-in files under ``cdir/files``; the read-only OCI mounts of all of them."""
    mounts = []
    for index, item in enumerate(files):
        source = item.source
        if source is None:
            source = cdir / "files" / f"{index}-{item.kind}-{item.name}"
            source.parent.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(source, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            try:
                os.write(fd, item.content or b"")
                os.fchown(fd, item.uid, item.gid)
                os.fchmod(fd, item.mode)  # after chown, which clears set-id bits
            finally:
                os.close(fd)
        mounts.append(bundle.bind_mount(source, item.target, read_only=True))
    return mounts


def volumes_from(paths: Paths, project: Project, service: Service,
                 taken: set[str]) -> list[dict[str, Any]]:
    """OCI mounts taken from other containers; ``taken``: targets the service mounts itself."""
    out: list[dict[str, Any]] = []
    for entry in service.volumes_from:
        rec, mode = _source_container(paths, project, service, entry)
        spec = state.read_json(paths.container_dir(rec["id"]) / "config.json") or {}
        own = str(paths.container_dir(rec["id"]))
        for mount in spec.get("mounts", []):
            target = mount.get("destination", "")
            source = str(mount.get("source", ""))
            if mount.get("type") != "bind" or source.startswith(own + "/") or target in taken:
                continue
            read_only = "ro" in mount.get("options", []) if mode is None else mode == "ro"
            out.append(bundle.bind_mount(source, target, read_only))
            taken.add(target)
    return out


def _source_container(paths: Paths, project: Project, service: Service,
                      entry: str) -> tuple[dict[str, Any], str | None]:
    """The record ``entry`` names and its ``ro``/``rw`` suffix (None: keep each mount's own)."""
    where = f"service {service.name!r}: volumes_from"
    container = entry.startswith("container:")
    body = entry[len("container:"):] if container else entry
    name, sep, mode = body.rpartition(":")
    if not sep or mode not in ("ro", "rw"):
        name, mode = body, ""
    if not name:
        raise ConfigError(f"{where}: {entry!r} names no service or container")
    if container:
        match = [r for r in state.container_records(paths) if r.get("name") == name]
        if not match:
            raise ConfigError(f"{where}: no such container: {name}")
        return match[0], mode or None
    recs = sorted((r for r in state.container_records(paths, project.name)
                   if r.get("service") == name and not r.get("oneoff")), key=lambda r: int(r.get("number", 0)))
    if not recs:
        raise ConfigError(f"{where}: service {name!r} has no container to take volumes from")
    return recs[0], mode or None
