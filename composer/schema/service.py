"""Short → long syntax of every service attribute: a table of converters.

``SERVICE_FIELDS`` maps each attribute of the Compose Specification to a
converter ``(value, loc, ctx) -> canonical value`` whose result has the shape
of the matching ``model.Service`` field. Attributes that need more than their
own value (``volumes`` + ``tmpfs``, ``env_file`` into ``environment``) are
finished in ``canonical.canonical_service``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from composer.errors import ConfigError
from composer.schema import structs
from composer.schema.coerce import (
    Unparsed,
    as_bool,
    as_float,
    as_int,
    as_labels,
    as_list,
    as_list_or_dict,
    as_mapping,
    as_options,
    as_scalar_list,
    as_scalar_str,
    as_str,
    as_str_list,
    as_strict,
    as_string_or_list,
    check_keys,
    go_extensions,
    keep_extensions,
    keeps_extensions,
    no_extension_keys,
)
from composer.schema.location import Loc
from composer.schema.mounts import canonical_ports, tmpfs_strings
from composer.schema.units import parse_duration, parse_size

if TYPE_CHECKING:
    from composer.schema.canonical import Context

Converter = Callable[[Any, Loc, "Context"], Any]

_RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(:\d+)?)$")
_PULL_POLICY = re.compile(
    r"^(always|never|missing|if_not_present|build|refresh|daily|weekly|every_([0-9]+[wdhms])+)$"
)
_CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")

DEPENDS_ON = frozenset({"condition", "required", "restart"})
HEALTHCHECK = frozenset(
    {"disable", "interval", "retries", "start_interval", "start_period", "test", "timeout"}
)
SERVICE_NETWORK = frozenset(
    {
        "aliases", "driver_opts", "gw_priority", "interface_name", "ipv4_address",
        "ipv6_address", "link_local_ips", "mac_address", "priority",
    }
)  # fmt: skip


def plain(convert: Callable[[Any, Loc], Any]) -> Converter:
    """A converter that needs no context; ``null`` stays ``None``."""
    return lambda value, loc, ctx: None if value is None else convert(value, loc)


def command(value: Any, loc: Loc) -> list[str]:
    """``echo hi`` (split as a shell would, without expansion) or a list."""
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise Unparsed(f"{loc}: cannot split command {value!r}: {exc}") from exc
    return [as_str(v, loc.item(i)) for i, v in enumerate(as_list(value, loc))]


def environment(value: Any, loc: Loc) -> dict[str, str | None]:
    return as_list_or_dict(value, loc)


def restart(value: Any, loc: Loc) -> str:
    text = as_str(value, loc)
    if not _RESTART.match(text):
        raise ConfigError(
            f'{loc}: invalid restart policy "{text}" — expected no, always, on-failure[:N] or unless-stopped'
        )
    return text


def pull_policy(value: Any, loc: Loc) -> str:
    text = as_str(value, loc)
    if not _PULL_POLICY.match(text):
        raise ConfigError(
            f'{loc}: invalid pull_policy "{text}" — expected always, never, missing, build, '
            "refresh, daily, weekly or every_<duration>"
        )
    return "missing" if text == "if_not_present" else text


def depends_on(value: Any, loc: Loc) -> dict[str, dict[str, Any]]:
    if isinstance(value, list):
        return {
            as_str(name, loc.item(i)): {"condition": "service_started", "required": True}
            for i, name in enumerate(value)
        }
    result: dict[str, dict[str, Any]] = {}
    for name, spec in as_mapping(value, loc).items():
        here = loc.child(name)
        spec = as_mapping(spec if spec is not None else {}, here)
        check_keys(spec, here, DEPENDS_ON)
        entry: dict[str, Any] = {"condition": "service_started", "required": True}
        if "condition" not in spec:
            raise ConfigError(f"{here} missing property 'condition'")
        if spec.get("condition") is not None:
            condition = as_str(spec["condition"], here.child("condition"))
            if condition not in _CONDITIONS:
                raise ConfigError(
                    f'{here.child("condition")}: invalid condition "{condition}" — expected {", ".join(_CONDITIONS)}'
                )
            entry["condition"] = condition
        for flag, convert in (("required", as_strict(as_bool, "boolean")), ("restart", as_bool)):
            if spec.get(flag) is not None:
                entry[flag] = convert(spec[flag], here.child(flag))
        result[name] = keep_extensions(spec, entry)
    return result


def service_networks(value: Any, loc: Loc) -> dict[str, dict[str, Any] | None]:
    if isinstance(value, list):
        return {as_str(name, loc.item(i)): None for i, name in enumerate(value)}
    result: dict[str, dict[str, Any] | None] = {}
    for name, spec in as_mapping(value, loc).items():
        here = loc.child(name)
        if spec is None:
            result[name] = None
            continue
        spec = as_mapping(spec, here)
        check_keys(spec, here, SERVICE_NETWORK)
        entry: dict[str, Any] = {}
        for key, raw in spec.items():
            if raw is None or key.startswith("x-"):
                continue
            sub = here.child(key)
            if key in ("aliases", "link_local_ips"):
                entry[key] = as_str_list(raw, sub)
            elif key == "driver_opts":
                entry[key] = as_options(raw, sub, "number or string")
            elif key in ("priority", "gw_priority"):
                entry[key] = as_strict(as_int, "number")(raw, sub)
            else:
                entry[key] = as_str(raw, sub)
        result[name] = keep_extensions(spec, entry)
    return result


@keeps_extensions
def healthcheck(value: Any, loc: Loc) -> dict[str, Any]:
    spec = as_mapping(value, loc)
    check_keys(spec, loc, HEALTHCHECK)
    out: dict[str, Any] = {}
    if spec.get("test") is not None:
        test = spec["test"]
        out["test"] = (
            ["CMD-SHELL", test] if isinstance(test, str) else as_str_list(test, loc.child("test"))
        )
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if spec.get(key) is not None:
            out[key] = parse_duration(spec[key], loc.child(key))
    if spec.get("retries") is not None:
        out["retries"] = as_int(spec["retries"], loc.child("retries"))
    if spec.get("disable") is not None:
        out["disable"] = as_bool(spec["disable"], loc.child("disable"))
    return out


def extra_hosts(value: Any, loc: Loc) -> list[str]:
    """``host:ip``, ``host=ip`` or a mapping (values may be lists) → ``host=ip`` entries."""
    result: list[str] = []
    if isinstance(value, dict):
        for host, addresses in no_extension_keys(as_mapping(value, loc), loc).items():
            items = addresses if isinstance(addresses, list) else [addresses]
            for i, address in enumerate(items):
                result.append(f"{host}={as_scalar_str(address, loc.child(host).item(i))}")
        return result
    for i, item in enumerate(as_list(value, loc)):
        text = as_str(item, loc.item(i))
        if "=" in text:
            host, _, address = text.partition("=")
        else:
            host, sep, address = text.partition(":")
            if not sep:
                raise Unparsed(f"{loc.item(i)}: invalid extra host '{text}' — expected HOST:IP or HOST=IP")
        result.append(f"{host}={address}")
    return result


def devices(value: Any, loc: Loc) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for i, item in enumerate(as_list(value, loc)):
        here = loc.item(i)
        if isinstance(item, str):
            parts = item.split(":")
            if len(parts) > 3:
                raise Unparsed(f"{here}: invalid device '{item}' — expected HOST[:CONTAINER[:PERMISSIONS]]")
            source = parts[0]
            target = parts[1] if len(parts) > 1 else source
            perms = parts[2] if len(parts) > 2 else "rwm"
            result.append({"source": source, "target": target, "permissions": perms})
            continue
        spec = as_mapping(item, here)
        check_keys(spec, here, ("source", "target", "permissions"))
        for key in ("source", "target"):
            if key not in spec:
                raise ConfigError(f"{here}: {key} is required")
        entry: dict[str, Any] = {"source": as_str(spec["source"], here.child("source"))}
        for key in ("target", "permissions"):
            if spec.get(key) is not None:
                entry[key] = as_str(spec[key], here.child(key))
        result.append(keep_extensions(spec, entry))
    return result


def cpu_time(value: Any, loc: Loc) -> int:
    """``cpu_period``, ``cpu_rt_*``: microseconds, an integer (or a string of one)."""
    return as_int(value, loc)  # Docker refuses durations here (``400ms``)


def byte_size(value: Any, loc: Loc) -> int:
    if isinstance(value, str) and value.strip() in ("-1",):
        return -1
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return parse_size(value, loc)


def scale(value: Any, loc: Loc) -> int:
    n = as_int(value, loc)
    if n < 0:
        raise Unparsed(f"{loc}: scale must not be negative")
    return n


def oom_score_adj(value: Any, loc: Loc) -> int:
    n = as_int(value, loc)
    if not -1000 <= n <= 1000:
        raise ConfigError(f"{loc}: {n} out of range -1000..1000")
    return n


def models(value: Any, loc: Loc) -> dict[str, dict[str, Any] | None]:
    if isinstance(value, list):
        return {as_str(name, loc.item(i)): None for i, name in enumerate(value)}
    result: dict[str, dict[str, Any] | None] = {}
    for name, spec in as_mapping(value, loc).items():
        here = loc.child(name)
        if spec is None:
            result[name] = None
            continue
        spec = as_mapping(spec, here)
        check_keys(spec, here, ("endpoint_var", "model_var"))
        entry = {k: as_str(v, here.child(k)) for k, v in spec.items() if not k.startswith("x-")}
        result[name] = keep_extensions(spec, entry)
    return result


@keeps_extensions
def provider(value: Any, loc: Loc) -> dict[str, Any]:
    spec = as_mapping(value, loc)
    check_keys(spec, loc, ("type", "options"))
    if "type" not in spec:
        raise ConfigError(f"{loc}: type is required")
    options: dict[str, Any] = {}
    for key, val in as_mapping(spec.get("options") or {}, loc.child("options")).items():
        here = loc.child("options").child(key)
        if key.startswith("x-"):
            options[key] = as_scalar_str(val, here)  # one value in Docker's ``#extensions`` text
        else:
            options[key] = as_scalar_list(val, here) if isinstance(val, list) else [as_scalar_str(val, here)]
    return {"type": as_str(spec["type"], loc.child("type")), "options": go_extensions(options, listed=True)}


def sysctls(value: Any, loc: Loc) -> dict[str, str]:
    return as_labels(value, loc)


def attach(value: Any, loc: Loc) -> bool:
    return as_bool(value, loc)


def _ctx_paths(convert: Callable[[Any, Loc, Context], Any]) -> Converter:
    return lambda value, loc, ctx: None if value is None else convert(value, loc, ctx)


SERVICE_FIELDS: dict[str, Converter] = {
    "annotations": plain(as_labels),
    "attach": plain(attach),
    "build": _ctx_paths(structs.build),
    "blkio_config": plain(structs.blkio_config),
    "cap_add": plain(as_str_list),
    "cap_drop": plain(as_str_list),
    "cgroup": plain(as_str),
    "cgroup_parent": plain(as_str),
    "command": plain(command),
    "configs": plain(structs.file_references),
    "container_name": plain(as_str),
    "cpu_count": plain(as_int),
    "cpu_percent": plain(as_float),
    "cpu_period": plain(as_int),
    "cpu_quota": plain(as_int),
    "cpu_rt_period": plain(cpu_time),
    "cpu_rt_runtime": plain(cpu_time),
    "cpu_shares": plain(as_int),
    "cpus": plain(as_float),
    "cpuset": plain(as_str),
    "credential_spec": plain(structs.credential_spec),
    "depends_on": plain(depends_on),
    "deploy": plain(structs.deploy),
    "develop": _ctx_paths(structs.develop),
    "device_cgroup_rules": plain(as_str_list),
    "devices": plain(devices),
    "dns": plain(as_string_or_list),
    "dns_opt": plain(as_str_list),
    "dns_search": plain(as_string_or_list),
    "domainname": plain(as_str),
    "entrypoint": plain(command),
    "environment": plain(environment),
    "expose": plain(as_scalar_list),
    "external_links": plain(as_str_list),
    "extra_hosts": plain(extra_hosts),
    "gpus": plain(structs.gpus),
    "group_add": plain(as_scalar_list),
    "healthcheck": plain(healthcheck),
    "hostname": plain(as_str),
    "image": plain(as_str),
    "init": plain(as_bool),
    "ipc": plain(as_str),
    "isolation": plain(as_str),
    "labels": plain(as_labels),
    "links": plain(as_str_list),
    "logging": plain(structs.logging),
    "mac_address": plain(as_str),
    "mem_limit": plain(byte_size),
    "mem_reservation": plain(byte_size),
    "mem_swappiness": plain(as_int),
    "memswap_limit": plain(byte_size),
    "models": plain(models),
    "network_mode": plain(as_str),
    "networks": plain(service_networks),
    "oom_kill_disable": plain(as_bool),
    "oom_score_adj": plain(oom_score_adj),
    "pid": plain(as_str),
    "pids_limit": plain(as_int),
    "platform": plain(as_str),
    "ports": plain(canonical_ports),
    "post_start": plain(structs.hooks),
    "pre_stop": plain(structs.hooks),
    "privileged": plain(as_bool),
    "profiles": plain(as_str_list),
    "provider": plain(provider),
    "pull_policy": plain(pull_policy),
    "pull_refresh_after": plain(as_str),
    "read_only": plain(as_bool),
    "restart": plain(restart),
    "runtime": plain(as_str),
    "scale": plain(scale),
    "secrets": plain(structs.secret_references),
    "security_opt": plain(as_str_list),
    "shm_size": plain(byte_size),
    "stdin_open": plain(as_bool),
    "stop_grace_period": plain(parse_duration),
    "stop_signal": plain(as_str),
    "storage_opt": plain(lambda value, loc: as_options(no_extension_keys(as_mapping(value, loc), loc), loc)),
    "sysctls": plain(sysctls),
    "tmpfs": plain(tmpfs_strings),
    "tty": plain(as_bool),
    "ulimits": plain(structs.ulimits),
    "use_api_socket": plain(as_strict(as_bool, "boolean")),
    "user": plain(as_str),
    "userns_mode": plain(as_str),
    "uts": plain(as_str),
    "volumes_from": plain(as_str_list),
    "working_dir": plain(as_str),
}
