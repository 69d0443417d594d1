"""From a service and its image to a created container (record + OCI bundle).

Compose semantics live here: the container name ``<project>-<service>-<n>``,
the ``com.docker.compose.*`` labels, the mounts a service asks for (binds
resolved on the host, named volumes under the state root, tmpfs), the files
Docker bind-mounts into every container (/etc/hosts, /etc/hostname,
/etc/resolv.conf), and one address per network.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.engine import attach, bundle, filemounts, hooks, images, networks, process, state
from composer.engine.containers import COMPOSE_VERSION, now_rfc3339
from composer.engine.state import Paths
from composer.errors import ConfigError

if TYPE_CHECKING:
    from composer.image.store import Image
    from composer.schema.model import Project, Service


def container_name(project: Project, service: Service, number: int) -> str:
    return service.container_name or f"{project.name}-{service.name}-{number}"


#: (image id, path) -> text: an image's files never change, and ``up`` reads the same two
#: (/etc/passwd, /etc/group) for every container of it
_IMAGE_FILES: dict[tuple[str, str], str] = {}


def _image_file(image: Image, rel: str) -> str:
    """A file's text from the image, looking from the top layer down."""
    key = (image.id, rel)
    if key not in _IMAGE_FILES:
        _IMAGE_FILES[key] = _read_image_file(image, rel)
    return _IMAGE_FILES[key]


def _read_image_file(image: Image, rel: str) -> str:
    """``rel``'s text as the container will see it ("" when the image has none).

    The image's layers are untrusted: the path is resolved inside the image
    (symlinks followed as if its root were ``/``, whiteouts and opaque
    directories honoured) and the file read with ``execcmd.read_table_file``
    (no symlink, FIFO or device followed, at most ``MAX_TABLE`` bytes).
    """
    import os
    import stat

    from composer.engine.execcmd import read_table_file
    from composer.image.layers import lookup, resolve_path

    shown = f"/{rel}"
    where = f"image {image.refs[0] if image.refs else image.short_id}"
    path = rel
    for _ in range(40):
        found = lookup(image.layers, resolve_path(image.layers, path))
        if found is None:
            return ""
        if not stat.S_ISLNK(found[1].st_mode):
            return read_table_file(str(found[0]), shown, where)
        try:
            target = os.readlink(found[0])
        except OSError as exc:
            raise ConfigError(f"cannot read {shown} in {where}: {exc.strerror or exc}") from None
        path = target if target.startswith("/") else os.path.join(os.path.dirname(path), target)
    raise ConfigError(f"cannot read {shown} in {where}: too many levels of symbolic links")


def labels_for(project: Project, service: Service, number: int, image: Image, config_hash: str) -> dict[str, str]:
    deps = ",".join(
        f"{name}:{dep.condition}:{str(dep.restart).lower()}" for name, dep in service.depends_on.items()
    )
    return {
        **dict(service.labels),
        "com.docker.compose.config-hash": config_hash,
        "com.docker.compose.container-number": str(number),
        "com.docker.compose.depends_on": deps,
        "com.docker.compose.image": image.id,
        "com.docker.compose.oneoff": "False",
        "com.docker.compose.project": project.name,
        "com.docker.compose.project.config_files": ",".join(str(f) for f in project.config_files),
        "com.docker.compose.project.working_dir": str(project.working_dir),
        "com.docker.compose.service": service.name,
        "com.docker.compose.version": COMPOSE_VERSION,
    }


def _mounts(paths: Paths, project: Project, service: Service, cid: str,
            reuse: dict[str, str]) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """OCI mounts for the service's volumes; also the named and anonymous volumes used."""
    mounts: list[dict[str, Any]] = []
    named: list[str] = []
    anonymous: list[str] = []
    for vol in service.volumes:
        if not vol.target.startswith("/"):  # accepted by ``config``, as Docker's (a Windows-style short syntax)
            raise ConfigError(f'service "{service.name}": mount target "{vol.target}" must be an absolute path')
        if vol.type == "bind":
            src = Path(vol.source or "")
            if not src.exists():
                if not vol.bind_create_host_path:
                    raise ConfigError(f"invalid mount config for type \"bind\": bind source path does not exist: {src}")
                src.mkdir(parents=True, exist_ok=True)
            mounts.append(bundle.bind_mount(src, vol.target, vol.read_only))
        elif vol.type == "volume":
            if vol.source:
                decl = project.volumes.get(vol.source)
                full = decl.name if decl is not None else vol.source
                named.append(full)
            else:
                full = reuse.get(vol.target) or os.urandom(32).hex()
                anonymous.append(full)
            data = paths.volumes / full / "_data"
            mounts.append(bundle.bind_mount(data, vol.target, vol.read_only))
        elif vol.type == "tmpfs":
            mounts.append(bundle.tmpfs_mount(vol.target, vol.tmpfs_size, vol.tmpfs_mode))
        else:
            raise ConfigError(f"services.{service.name}.volumes: type {vol.type} is not supported yet")
    return mounts, named, anonymous


def create(
    paths: Paths, project: Project, service: Service, number: int, image: Image, config_hash: str,
    runtime: str | None = None, *, config: dict[str, Any] | None = None,
    reuse_anonymous: dict[str, str] | None = None,
    extra_labels: dict[str, str] | None = None, oneoff: bool = False, name: str | None = None,
    sync: bool = True,
) -> dict[str, Any]:
    """Create the container's directory, bundle and record; nothing runs yet.

    ``sync=False``: no fsync per file; the caller flushes the state root once (``state.flush``).
    """
    from composer.engine import volumes

    check_platform(service, image, images.image_name(project, service))
    mode = attach.network_mode(service) or ""
    if mode.startswith(("service:", "container:")) and service.ports:
        # as the Docker daemon refuses it: the ports belong to the other container's namespace
        raise ConfigError(f"service {service.name!r}: conflicting options: port publishing and the "
                          f"container type network mode ({mode})")
    cid = os.urandom(32).hex()
    name = name or container_name(project, service, number)
    cdir = paths.container_dir(cid)  # made once the checks below pass: a refusal leaves nothing
    cfg = image.config
    hostname = service.hostname or cid[:12]
    user = process.resolve_user(
        service.user or cfg.user or None, _image_file(image, "etc/passwd"), _image_file(image, "etc/group")
    )
    args = process.command_line(service.entrypoint, service.command, cfg.entrypoint, cfg.cmd)
    if not args:
        raise ConfigError(f"service {service.name!r} has no command: the image sets no CMD and the service none")
    env = process.environment(cfg.env, service.environment, {"HOSTNAME": hostname, "HOME": user.home})
    mounts, named, anonymous = _mounts(paths, project, service, cid, reuse_anonymous or {})
    taken = {m["destination"] for m in mounts}
    files = filemounts.plan_files(project, service, taken)  # checked before anything is made
    if service.volumes_from:
        mounts += filemounts.volumes_from(paths, project, service, taken)
    for vol in named + anonymous:
        volumes.ensure_volume(paths, vol, project.name, anonymous=vol in anonymous)

    # everything but the addresses is worked out before taking the host-wide IPAM lock:
    # ``up`` creates its containers side by side, and they queue on it
    record: dict[str, Any] = {
        "id": cid,
        "name": name,
        "project": project.name,
        "service": service.name,
        "number": number,
        "created": now_rfc3339(),
        "image": images.image_name(project, service),
        "image_id": image.id,
        "layers": [str(p) for p in image.layers],
        "command": args,
        "hostname": hostname,
        "labels": {**labels_for(project, service, number, image, config_hash),
                   **({"com.docker.compose.oneoff": "True"} if oneoff else {}), **(extra_labels or {})},
        "oneoff": oneoff,
        "networks": {},  # (below, under the lock)
        "ports": [p.model_dump() for p in service.ports],
        "healthcheck": _healthcheck(service, image),
        "stop_signal": service.stop_signal or cfg.stop_signal,
        "stop_grace_period": service.stop_grace_period if service.stop_grace_period is not None else 10.0,
        "restart": service.restart or "no",
        "restart_policy": _restart_policy(service),
        "volumes": named,
        "anonymous_volumes": anonymous,
        "anonymous_volume_targets": _anon_targets(service, anonymous),
        "config": config or {},
        "depends_on": {k: v.condition for k, v in service.depends_on.items()},
        "runtime": getattr(service, "runtime", None) or runtime or "builtin",
        "network_mode": attach.network_mode(service),
        **({"hooks": hooks.record_hooks(service)} if service.post_start or service.pre_stop else {}),
    }
    with networks.ipam_lock(paths):
        nets = record["networks"] = attach.plan_attachments(paths, project, service)
        _add_external_links(nets, service)
        cdir.mkdir(parents=True)
        state.save_container(paths, record, sync=sync)

    try:
        mounts += attach.network_files(cdir, hostname, nets, service)
        if files:
            mounts += filemounts.write_files(cdir, files)
        spec = bundle.container_spec(
            service=service, image=image, container_id=cid,
            args=args, env=env, cwd=service.working_dir or cfg.working_dir or "/", user=user,
            hostname=hostname, netns_path=attach.netns_path(paths, project, service, cid), mounts=mounts,
            annotations={"com.docker.compose.project": project.name, "com.docker.compose.service": service.name,
                         **_log_annotations(service)},
        )
        state.write_json(cdir / "config.json", spec, sync=sync)
    except BaseException:  # no half-made container left behind (its record would show as Created)
        shutil.rmtree(cdir, ignore_errors=True)
        raise
    return record


def _add_external_links(nets: dict[str, dict[str, Any]], service: Service) -> None:
    """``external_links: [container[:alias]]`` join ``links`` on every attachment, as Docker Compose's.

    On a user-defined network a link is a DNS alias the embedded server resolves among the
    network's members; a target that is missing or on no common network is not an error
    there (the Docker daemon checks links only on the default bridge): the alias does not resolve.
    """
    extra = []
    for link in getattr(service, "external_links", None) or []:
        target, _, alias = str(link).partition(":")
        extra.append([target, alias or target])
    if extra:
        for att in nets.values():
            att["links"] = [*att.get("links", []), *extra]


_ARCHES = {"x86_64": "amd64", "x86-64": "amd64", "i386": "386", "aarch64": "arm64", "armhf": "arm", "armel": "arm"}
_OSES = ("linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix", "plan9")


def _normalize(os_name: str, arch: str, variant: str) -> tuple[str, str, str]:
    """As containerd's ``platforms.Normalize``: ``x86_64`` is amd64, ``aarch64`` arm64 (v8 implied)."""
    os_name, arch, variant = os_name.lower(), arch.lower(), variant.lower()
    if arch in ("armhf", "armel") and not variant:
        variant = "v7" if arch == "armhf" else "v6"
    arch = _ARCHES.get(arch, arch)
    if arch == "arm64" and variant in ("8", "v8"):
        variant = ""
    elif arch == "arm" and variant in ("", "7"):
        variant = "v7"
    elif arch == "arm" and variant in ("5", "6", "8"):
        variant = "v" + variant
    return os_name, arch, variant


def parse_platform(text: str) -> tuple[str, str, str]:
    """``os[/arch[/variant]]`` (or a bare arch, the OS then linux), normalized; a ConfigError if malformed."""
    parts = text.split("/")
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise ConfigError(f"{text!r}: unknown operating system or architecture: invalid argument")
    if len(parts) == 1:
        word = parts[0].lower()
        host = _normalize("linux", os.uname().machine, "")[1]
        return _normalize(word, host, "") if word in _OSES else _normalize("linux", word, "")
    return _normalize(parts[0], parts[1], parts[2] if len(parts) == 3 else "")


def _format_platform(p: tuple[str, str, str]) -> str:
    return "/".join(part for part in p if part)


def check_platform(service: Service, image: Image, ref: str) -> None:
    """``platform:`` must match the image's os/architecture, as the Docker daemon requires at create."""
    wanted_text = getattr(service, "platform", None)
    if not wanted_text:
        return
    wanted = parse_platform(wanted_text)
    variant = str(image.raw_config.get("variant") or "")
    actual = _normalize(image.os or "linux", image.architecture or "", variant)
    same = wanted[:2] == actual[:2] and (not wanted[2] or not actual[2] or wanted[2] == actual[2])
    if not same:
        raise ConfigError(f"image with reference {ref} was found but does not match the specified platform: "
                          f"wanted {_format_platform(wanted)}, actual: {_format_platform(actual)}")


def _healthcheck(service: Service, image: Image) -> dict[str, Any] | None:
    hc = service.healthcheck
    if hc is not None:
        if hc.disable or not hc.test or hc.test[0] == "NONE":
            return None
        return {
            "test": list(hc.test),
            "interval": hc.interval if hc.interval is not None else 30.0,
            "timeout": hc.timeout if hc.timeout is not None else 30.0,
            "retries": hc.retries if hc.retries is not None else 3,
            "start_period": hc.start_period or 0.0,
            "start_interval": getattr(hc, "start_interval", None) or 5.0,
        }
    ihc = image.config.healthcheck
    if ihc and ihc.get("Test") and ihc["Test"][0] != "NONE":
        ns = 1e9
        return {
            "test": list(ihc["Test"]),
            "interval": (ihc.get("Interval") or 30 * ns) / ns,
            "timeout": (ihc.get("Timeout") or 30 * ns) / ns,
            "retries": ihc.get("Retries") or 3,
            "start_period": (ihc.get("StartPeriod") or 0) / ns,
            "start_interval": (ihc.get("StartInterval") or 5 * ns) / ns,
        }
    return None


def _anon_targets(service: Service, anonymous: list[str]) -> dict[str, str]:
    targets = [v.target for v in service.volumes if v.type == "volume" and not v.source]
    return dict(zip(targets, anonymous, strict=False))


def _restart_policy(service: Service) -> dict[str, Any] | None:
    """``deploy.restart_policy`` as plain data (condition, max_attempts, delay in seconds)."""
    deploy = getattr(service, "deploy", None)
    policy = getattr(deploy, "restart_policy", None) if deploy is not None else None
    if policy is None:
        return None
    data = policy.model_dump(mode="json") if hasattr(policy, "model_dump") else dict(policy)
    return {"condition": data.get("condition"), "max_attempts": data.get("max_attempts"),
            "delay": data.get("delay")}


def _log_annotations(service: Service) -> dict[str, str]:
    """``logging.options`` max-size / max-file, for the shim's json-file rotation."""
    logging = getattr(service, "logging", None)
    options = dict(getattr(logging, "options", None) or {}) if logging is not None else {}
    out = {}
    if options.get("max-size"):
        out["org.composer.log.max-size"] = str(options["max-size"])
    if options.get("max-file"):
        out["org.composer.log.max-file"] = str(options["max-file"])
    return out
