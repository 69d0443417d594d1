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
all read-only, ``:rw`` (or no suffix) keeps each mount's own mode: a read-only
mount of the source never becomes writable, as in Docker. The
engine's own files of that container (/etc/hosts, its secrets, ...) are not
its mounts in Docker's sense and are left out, as are tmpfs mounts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.engine import bundle, state
from composer.engine.state import Paths
from composer.errors import ConfigError
from composer.values import valueclass

if TYPE_CHECKING:
    from composer.schema.model import FileObject, FileReference, Project, Service

#: the mode Docker Compose gives a secret or config it writes (``createTar``)
DEFAULT_MODE = 0o444


@valueclass
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


def plan_files(project: Project, service: Service, taken: set[str] | None = None) -> list[FileMount]:
    """The service's secrets and configs, checked; nothing is written yet.

    ``taken``: the targets the service mounts itself. As Docker Compose
    (``fillBindMounts``), a secret or config whose target is one of them, or
    one an earlier secret took, is left out; so is a config whose content is
    empty (``injectConfigs``). The targets planned are added to ``taken``.
    """
    taken = set() if taken is None else taken
    out = []
    for kind, refs, declared in (("secret", service.secrets, project.secrets),
                                 ("config", service.configs, project.configs)):
        for ref in refs:
            item = _plan(project, service, kind, ref, declared)
            if item is not None and item.target not in taken:
                taken.add(item.target)
                out.append(item)
    return out


def warnings(project: Project, service: Service) -> list[str]:
    """Docker Compose's warnings for the service's secrets and configs, each once.

    ``uid``, ``gid`` and ``mode`` do not apply to a file-backed one, which is
    bind-mounted as it is. (Docker Compose warns whenever they are set, even
    on the ones it copies with them; here only where they are ignored.)
    """
    out: list[str] = []
    for refs, declared, word in ((service.secrets, project.secrets, "secrets"),
                                 (service.configs, project.configs, "config")):
        for ref in refs:
            obj = declared.get(ref.source)
            if (obj is not None and _file_backed(obj)
                    and (ref.uid or ref.gid or ref.mode is not None)):
                message = f"{word} `uid`, `gid` and `mode` are not supported, they will be ignored"
                if message not in out:
                    out.append(message)
    return out


def _file_backed(obj: FileObject) -> bool:
    return obj.file is not None and obj.content is None and obj.environment is None


def _target(kind: str, ref: FileReference) -> str:
    if kind == "secret":
        if not ref.target:
            return f"/run/secrets/{ref.source}"
        return ref.target if ref.target.startswith("/") else f"/run/secrets/{ref.target}"
    target = ref.target or ref.source
    return target if target.startswith("/") else f"/{target}"


def _plan(project: Project, service: Service, kind: str, ref: FileReference,
          declared: dict[str, FileObject]) -> FileMount | None:
    where = f"service {service.name!r}: {kind}s"
    obj = declared.get(ref.source)
    if obj is None:
        raise ConfigError(f"{where}: {kind} {ref.source!r} is not defined in the top-level {kind}s")
    if obj.external:
        raise ConfigError(f"unsupported external {kind} {obj.name}")
    if obj.driver or obj.template_driver:
        raise ConfigError(f"{where}: {kind} {ref.source!r}: drivers need Swarm, which composer does not provide")
    target = _target(kind, ref)
    if _file_backed(obj):
        path = Path(str(obj.file))
        if not path.exists():
            raise ConfigError(f'invalid mount config for type "bind": bind source path does not exist: {path}')
        return FileMount(kind, ref.source, target, path, None)
    if obj.content is not None:
        text = obj.content
    elif obj.environment is not None:
        if obj.environment not in project.environment:
            # Docker Compose's message (pkg/compose/secrets.go), "file" for both kinds
            raise ConfigError(f'environment variable "{obj.environment}" required by file "{obj.name}" is not set')
        text = project.environment[obj.environment]
    else:
        raise ConfigError(f"{where}: {kind} {ref.source!r} has no file, environment or content")
    if kind == "config" and text == "":
        return None  # Docker Compose copies no empty config (``injectConfigs``)
    where = f"{where}: {kind} {ref.source!r}"
    mode = DEFAULT_MODE if ref.mode is None else ref.mode
    if not 0 <= mode <= 0o7777:
        raise ConfigError(f"{where}: mode {mode:#o} is not a file mode (0 to 0o7777)")
    return FileMount(kind, ref.source, target, None, text.encode(), mode=mode,
                     uid=_id(where, "uid", ref.uid), gid=_id(where, "gid", ref.gid))


#: (uid_t)-1 means "unchanged" to chown(2), so the last valid id is one below it
_MAX_ID = 2**32 - 2


def _id(where: str, key: str, value: str | None) -> int:
    if value is None or value == "":
        return 0
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{where}: {key} {value!r} must be a number") from None
    if not 0 <= number <= _MAX_ID:
        raise ConfigError(f"{where}: {key} {value!r} is out of range (0 to {_MAX_ID})")
    return number


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
            # ``:rw`` only narrows nothing: a read-only mount of the source stays read-only
            # (moby daemon/volumes.go: ``RW: m.RW && parser.ReadWrite(mode)``)
            read_only = "ro" in mount.get("options", []) or mode == "ro"
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
