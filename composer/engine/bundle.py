"""The OCI bundle of a container: ``config.json`` and the files it bind-mounts.

The engine speaks to every runtime backend through this bundle only
(docs/internals.md). Here a service, its image and its network attachments
become an OCI runtime spec: process, mounts (binds, named volumes, tmpfs,
/etc/hosts, /etc/hostname, /etc/resolv.conf), namespaces (the network one
joined by path, since the engine wires it before the container starts), and
the service's security and resource settings as ``docker run`` turns them
into a spec: capabilities (``cap_add``, ``cap_drop``, ``privileged``),
``security_opt`` (seccomp, no-new-privileges, systempaths), ``read_only``,
``ulimits``, ``sysctls`` (namespaced ones only), ``devices`` and
``device_cgroup_rules``, ``group_add``, ``oom_score_adj``, ``shm_size``,
``domainname``, ``pid``/``ipc``/``uts``: host, and the cgroup limits
(``mem_limit``, ``memswap_limit``, ``mem_reservation``, ``cpus``,
``cpu_shares``, ``cpu_quota``, ``cpu_period``, ``cpuset``, ``pids_limit``
and their ``deploy.resources.limits`` forms), ``annotations`` and
``cgroup_parent``.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.engine.process import UserSpec
from composer.errors import ConfigError

if TYPE_CHECKING:
    from composer.image.store import Image
    from composer.schema.model import Service

_BIND_RO = ("rbind", "rprivate", "ro")
_BIND_RW = ("rbind", "rprivate")


def bind_mount(source: Path | str, target: str, read_only: bool = False) -> dict[str, Any]:
    return {
        "destination": target,
        "type": "bind",
        "source": str(source),
        "options": list(_BIND_RO if read_only else _BIND_RW),
    }


def tmpfs_mount(target: str, size: int | None = None, mode: int | None = None) -> dict[str, Any]:
    options = ["nosuid", "nodev"]
    if size:
        options.append(f"size={size}")
    options.append(f"mode={mode:o}" if mode is not None else "mode=1777")
    return {"destination": target, "type": "tmpfs", "source": "tmpfs", "options": options}


def container_spec(
    *,
    service: Service,
    container_id: str | None = None,
    image: Image,
    args: Sequence[str],
    env: Sequence[str],
    cwd: str,
    user: UserSpec,
    hostname: str,
    netns_path: Path | None,
    mounts: Sequence[dict[str, Any]],
    annotations: dict[str, str],
) -> dict[str, Any]:
    """A complete OCI runtime spec: runc's defaults plus this container's settings.

    ``service`` and ``image`` carry the settings not yet acted on here
    (capabilities, cgroup limits, ulimits, ...): the runtime issue adds them.
    """
    from composer.runtime.config import default_spec

    spec = default_spec(list(args), list(env), cwd, hostname, str(netns_path) if netns_path else None)
    gids = list(user.additional_gids)
    for extra in _group_add(service, image):
        if extra not in gids:
            gids.append(extra)
    spec["process"]["user"] = {"uid": user.uid, "gid": user.gid, **({"additionalGids": gids} if gids else {})}
    spec["root"] = {"path": "rootfs", "readonly": bool(service.read_only)}
    spec["mounts"] = list(spec.get("mounts", [])) + list(mounts)
    spec["annotations"] = {**service.annotations, **annotations}  # the service's ``annotations``; ours win
    if netns_path is None:  # network_mode: host
        spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"] if ns.get("type") != "network"]
    if service.cgroup_parent and container_id:
        # as dockerd with the cgroupfs driver: <parent>/<id>, absolute from the hierarchy's root,
        # or relative, below the shim's own group as the default composer/<id> is
        spec["linux"]["cgroupsPath"] = f"{service.cgroup_parent.rstrip('/')}/{container_id}"
    _security(spec, service)
    _shm_size(spec, service)
    _namespaces(spec, service)
    if service.domainname:
        spec["domainname"] = service.domainname
    if service.init:
        from composer.runtime.init import INIT_ANNOTATION

        spec["annotations"][INIT_ANNOTATION] = "true"
    if service.tty:
        # a pty as stdio; the shim logs it and serves <run>/runtime/<id>/attach.sock (runtime.api docstring)
        spec["process"]["terminal"] = True
    elif service.stdin_open:
        from composer.runtime.console import STDIN_OPEN_ANNOTATION

        spec["annotations"][STDIN_OPEN_ANNOTATION] = "true"  # a stdin pipe its shim keeps open
    if service.oom_score_adj is not None:
        spec["process"]["oomScoreAdj"] = service.oom_score_adj
    rlimits = _rlimits(service)
    if rlimits:
        spec["process"]["rlimits"] = rlimits
    sysctls = _sysctls(service)
    if sysctls:
        spec["linux"]["sysctl"] = sysctls
    _devices(spec, service)
    resources = _resources(service)
    if resources:
        spec["linux"].setdefault("resources", {}).update(resources)
    return spec


#: sysctls Docker lets a container set: namespaced by the kernel (moby's ValidateSysctl)
_NAMESPACED_SYSCTLS = frozenset({
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
    "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
})  # fmt: skip
_NAMESPACED_PREFIXES = ("fs.mqueue.", "net.")


def _security(spec: dict[str, Any], service: Service) -> None:
    from composer.runtime.config import apply_security

    seccomp: str | dict[str, Any] | None = None
    no_new_privileges = False
    system_paths = True
    for opt in service.security_opt:
        key, sep, value = opt.replace("=", ":", 1).partition(":") if "=" in opt else opt.partition(":")
        key = key.strip()
        if key == "no-new-privileges":
            no_new_privileges = not sep or value.strip().lower() in ("true", "1", "yes", "")
        elif key == "seccomp" and value in ("unconfined", ""):
            seccomp = "unconfined"
        elif key == "seccomp":
            seccomp = _seccomp_profile(service, value)
        elif key == "systempaths" and value == "unconfined":
            system_paths = False
        elif key in ("apparmor", "label", "mask", "unmask"):
            continue  # no AppArmor nor SELinux here: accepted and ignored, as Docker does without them
        else:
            raise ConfigError(f"service {service.name!r}: security_opt: unknown option {opt!r}")
    try:
        apply_security(
            spec, cap_add=service.cap_add, cap_drop=service.cap_drop, privileged=bool(service.privileged),
            seccomp=seccomp, no_new_privileges=no_new_privileges,
        )  # fmt: skip
    except ValueError as exc:
        raise ConfigError(f"service {service.name!r}: cap_add/cap_drop: {exc}") from exc
    if not system_paths:
        spec["linux"]["maskedPaths"] = []
        spec["linux"]["readonlyPaths"] = []


def _seccomp_profile(service: Service, path: str) -> dict[str, Any]:
    """A Docker-format seccomp profile file as an OCI ``linux.seccomp`` section."""
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"service {service.name!r}: security_opt: cannot read seccomp profile {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"service {service.name!r}: security_opt: seccomp profile {path} is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or "defaultAction" not in doc:
        raise ConfigError(f"service {service.name!r}: security_opt: seccomp profile {path} has no defaultAction")
    arches = list(doc.get("architectures") or [])
    for entry in doc.get("archMap") or []:
        arches += [entry.get("architecture"), *(entry.get("subArchitectures") or [])]
    rules = []
    for rule in doc.get("syscalls") or []:
        names = rule.get("names") or ([rule["name"]] if rule.get("name") else [])
        out = {"names": names, "action": rule.get("action")}
        for key in ("args", "errnoRet"):
            if rule.get(key) is not None:
                out[key] = rule[key]
        rules.append(out)
    section: dict[str, Any] = {"defaultAction": doc["defaultAction"], "architectures": [a for a in arches if a],
                               "syscalls": rules}  # fmt: skip
    if doc.get("defaultErrnoRet") is not None:
        section["defaultErrnoRet"] = doc["defaultErrnoRet"]
    return section


def _shm_size(spec: dict[str, Any], service: Service) -> None:
    if not service.shm_size:
        return
    for mount in spec["mounts"]:
        if mount.get("destination") == "/dev/shm":
            mount["options"] = [o for o in mount.get("options", []) if not o.startswith("size=")]
            mount["options"].append(f"size={service.shm_size}")


def _namespaces(spec: dict[str, Any], service: Service) -> None:
    """``pid``/``ipc``/``uts: host`` share the host's; ``cgroup: private`` gets its own."""
    host = {kind for kind, value in (("pid", service.pid), ("ipc", service.ipc), ("uts", service.uts)) if value == "host"}
    if (service.network_mode or "") == "host":
        host.add("network")  # share the host's network namespace
    namespaces = [ns for ns in spec["linux"]["namespaces"] if ns.get("type") not in host]
    if service.cgroup == "private" and not any(ns.get("type") == "cgroup" for ns in namespaces):
        namespaces.append({"type": "cgroup"})
    spec["linux"]["namespaces"] = namespaces
    if "uts" in host:
        spec.pop("hostname", None)


def _rlimits(service: Service) -> list[dict[str, Any]]:
    out = []
    for name, limit in sorted(service.ulimits.items()):
        soft = limit.single if limit.single is not None else limit.soft
        hard = limit.single if limit.single is not None else limit.hard
        if soft is None or hard is None:
            raise ConfigError(f"service {service.name!r}: ulimits.{name}: needs a value or both soft and hard")
        if soft > hard:
            raise ConfigError(f"service {service.name!r}: ulimits.{name}: soft limit {soft} is above hard limit {hard}")
        out.append({"type": f"RLIMIT_{name.upper()}", "soft": soft, "hard": hard})
    return out


def _sysctls(service: Service) -> dict[str, str]:
    host_net = (service.network_mode or "") == "host"
    for key in service.sysctls:
        namespaced = key in _NAMESPACED_SYSCTLS or key.startswith(_NAMESPACED_PREFIXES)
        if not namespaced:
            raise ConfigError(f"service {service.name!r}: sysctls: {key} is not namespaced and cannot be set in a container")
        if host_net and key.startswith("net."):
            raise ConfigError(f"service {service.name!r}: sysctls: {key} cannot be set with network_mode: host")
    return {k: str(v) for k, v in sorted(service.sysctls.items())}


def _devices(spec: dict[str, Any], service: Service) -> None:
    linux = spec["linux"]
    rules = linux.setdefault("resources", {}).setdefault("devices", [])
    for device in service.devices:
        try:
            st = os.stat(device.source)
        except OSError as exc:
            raise ConfigError(
                f"service {service.name!r}: devices: error gathering device information while adding custom "
                f"device {device.source!r}: {(exc.strerror or str(exc)).lower()}"
            ) from exc
        if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
            raise ConfigError(f"service {service.name!r}: devices: {device.source} is not a device node")
        kind = "c" if stat.S_ISCHR(st.st_mode) else "b"
        major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
        linux.setdefault("devices", []).append({
            "path": device.target, "type": kind, "major": major, "minor": minor,
            "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid,
        })  # fmt: skip
        rules.append({"allow": True, "type": kind, "major": major, "minor": minor, "access": device.permissions or "rwm"})
    for text in service.device_cgroup_rules:
        rules.append(_device_rule(service, text))


def _device_rule(service: Service, text: str) -> dict[str, Any]:
    """``c 1:3 rwm`` / ``b *:* m`` -> an OCI device rule."""
    parts = text.split()
    where = f"service {service.name!r}: device_cgroup_rules: {text!r}"
    if len(parts) != 3 or parts[0] not in ("a", "b", "c") or ":" not in parts[1]:
        raise ConfigError(f"{where}: expected 'TYPE MAJOR:MINOR ACCESS', e.g. 'c 1:3 rwm'")
    major, minor = parts[1].split(":", 1)
    try:
        numbers = [None if n == "*" else int(n) for n in (major, minor)]
    except ValueError:
        raise ConfigError(f"{where}: MAJOR and MINOR must be numbers or *") from None
    if not set(parts[2]) <= set("rwm"):
        raise ConfigError(f"{where}: ACCESS must be made of r, w and m")
    rule: dict[str, Any] = {"allow": True, "type": parts[0], "access": parts[2]}
    if numbers[0] is not None:
        rule["major"] = numbers[0]
    if numbers[1] is not None:
        rule["minor"] = numbers[1]
    return rule


def _resources(service: Service) -> dict[str, Any]:
    """cgroup limits; ``deploy.resources.limits`` fills what the service keys leave unset."""
    limits = service.deploy.resources.limits if service.deploy and service.deploy.resources else None
    reservations = service.deploy.resources.reservations if service.deploy and service.deploy.resources else None
    memory: dict[str, Any] = {}
    mem_limit = service.mem_limit or (limits.memory if limits else None)
    if mem_limit:
        memory["limit"] = mem_limit
    if service.memswap_limit:
        if not mem_limit and service.memswap_limit > 0:
            raise ConfigError(f"service {service.name!r}: memswap_limit needs mem_limit as well")
        memory["swap"] = service.memswap_limit
    reservation = service.mem_reservation or (reservations.memory if reservations else None)
    if reservation:
        memory["reservation"] = reservation
    # OCI's fields, for the runtime to write to cgroup v1 (memory.swappiness, memory.oom_control)
    if service.mem_swappiness is not None and service.mem_swappiness != -1:
        if not 0 <= service.mem_swappiness <= 100:
            raise ConfigError(f"service {service.name!r}: invalid value: {service.mem_swappiness}, "
                              "valid memory swappiness range is 0-100")
        memory["swappiness"] = service.mem_swappiness
    if service.oom_kill_disable:
        memory["disableOOMKiller"] = True
    cpu: dict[str, Any] = {}
    cpus = service.cpus or (limits.cpus if limits else None)
    if service.cpu_period:
        cpu["period"] = service.cpu_period
    if service.cpu_quota:
        cpu["quota"] = service.cpu_quota
    if cpus:
        period = cpu.setdefault("period", 100000)
        cpu["quota"] = int(cpus * period)
    if service.cpu_shares:
        cpu["shares"] = service.cpu_shares
    if service.cpuset:
        cpu["cpus"] = service.cpuset
    out: dict[str, Any] = {}
    if memory:
        out["memory"] = memory
    if cpu:
        out["cpu"] = cpu
    pids = service.pids_limit or (limits.pids if limits else None)
    if pids:
        out["pids"] = {"limit": pids}
    return out


def _group_add(service: Service, image: Image) -> list[int]:
    """``group_add`` names or gids, resolved against the image's /etc/group (as Docker does)."""
    if not service.group_add:
        return []
    text = ""
    for layer in reversed(image.layers):
        path = Path(layer) / "etc/group"
        if path.is_file():
            text = path.read_text(errors="replace")
            break
    table = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            table[fields[0]] = int(fields[2])
    out = []
    for group in service.group_add:
        if group.isdigit():
            out.append(int(group))
        elif group in table:
            out.append(table[group])
        else:
            raise ConfigError(f"service {service.name!r}: group_add: unable to find group {group}: no matching entries in group file")
    return out


def hosts_file(hostname: str, addresses: Sequence[str]) -> str:
    """/etc/hosts as Docker writes it: loopback lines, then the container's own names."""
    lines = [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "ff00::0\tip6-mcastprefix",
        "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters",
    ]
    lines += [f"{addr}\t{hostname}" for addr in addresses]
    return "\n".join(lines) + "\n"


def resolv_conf(nameservers: Sequence[str]) -> str:
    body = "".join(f"nameserver {ns}\n" for ns in nameservers)
    return "# Generated by composer: the project's embedded DNS server\n" + body + "options ndots:0\n"
