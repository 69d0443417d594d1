"""Short → long syntax: one interpolated file becomes canonical dicts.

The output of ``canonical_file`` has the shape of the model (field names of
``Service``, ``Network``, ``Volume``) but keeps only keys present in the file,
so that merging several files (``merge.py``) can tell "absent" from "default".
Key checks happen here too: typos are ConfigErrors, known keys composer does
not act on are UnsupportedErrors, ``x-*`` extensions are dropped.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from composer.errors import ConfigError
from composer.schema import keys
from composer.schema.coerce import (
    as_bool,
    as_int,
    as_list,
    as_mapping,
    as_scalar_str,
    as_str,
    as_str_list,
    check_keys,
)
from composer.schema.location import Loc
from composer.schema.mounts import canonical_ports, canonical_tmpfs, canonical_volumes
from composer.schema.units import parse_duration

_SERVICE_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")
_RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(:\d+)?)$")
_PULL_POLICY = re.compile(r"^(always|never|missing|if_not_present|build|daily|weekly|every_.+)$")
_CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")


@dataclass(frozen=True)
class Context:
    """What canonicalisation needs from outside the file."""

    project_dir: Path
    environ: Mapping[str, str]


def canonical_file(doc: dict[str, Any], loc: Loc, ctx: Context) -> dict[str, Any]:
    check_keys(doc, loc, keys.TOP_LEVEL, keys.SUPPORTED_TOP_LEVEL)
    out: dict[str, Any] = {}
    if "name" in doc:
        out["name"] = as_str(doc["name"], loc.child("name"))
    if "version" in doc:
        out["version"] = True
    if "services" in doc:
        services = as_mapping(doc["services"], loc.child("services"))
        out["services"] = {
            name: canonical_service(name, spec, loc.child("services").child(name), ctx)
            for name, spec in services.items()
        }
    for section, convert in (("networks", _network), ("volumes", _volume)):
        if doc.get(section) is not None:
            entries = as_mapping(doc[section], loc.child(section))
            out[section] = {
                key: convert(value, loc.child(section).child(key))
                for key, value in entries.items()
                if not key.startswith("x-")
            }
    return out


def canonical_service(name: str, spec: Any, loc: Loc, ctx: Context) -> dict[str, Any]:
    if not _SERVICE_NAME.match(name):
        raise ConfigError(f"{loc.source}: services Additional property {name} is not allowed")
    spec = as_mapping(spec if spec is not None else {}, loc)
    check_keys(spec, loc, keys.SERVICE, keys.SUPPORTED_SERVICE)
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key.startswith("x-"):
            continue
        here = loc.child(key)
        if key == "volumes":
            out.setdefault("volumes", []).extend(
                canonical_volumes(value, here, ctx.project_dir, ctx.environ)
            )
        elif key == "tmpfs":
            out.setdefault("volumes", []).extend(canonical_tmpfs(value, here))
        elif key == "environment":
            out[key] = _environment(value, here, ctx.environ)
        else:
            out[key] = _SERVICE_FIELDS[key](value, here)
    return out


# ---- service fields ----------------------------------------------------------


def _optional(convert: Callable[[Any, Loc], Any]) -> Callable[[Any, Loc], Any]:
    return lambda value, loc: None if value is None else convert(value, loc)


def _command(value: Any, loc: Loc) -> list[str]:
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ConfigError(f"{loc}: {exc}") from exc
    return [as_scalar_str(v, loc.item(i)) for i, v in enumerate(as_list(value, loc))]


def _list_or_dict(value: Any, loc: Loc) -> dict[str, str | None]:
    """``["A=b", "C"]`` or ``{A: b, C: null}``; ``C`` alone has no value (None)."""
    result: dict[str, str | None] = {}
    if isinstance(value, list):
        for i, item in enumerate(value):
            key, sep, val = as_str(item, loc.item(i)).partition("=")
            result[key] = val if sep else None
        return result
    for key, val in as_mapping(value, loc).items():
        result[key] = None if val is None else as_scalar_str(val, loc.child(key))
    return result


def _environment(value: Any, loc: Loc, environ: Mapping[str, str]) -> dict[str, str | None]:
    """Entries without a value take it from the environment, or stay None if unset."""
    return {
        key: environ.get(key) if val is None else val
        for key, val in _list_or_dict(value, loc).items()
    }


def _labels(value: Any, loc: Loc) -> dict[str, str]:
    return {key: val or "" for key, val in _list_or_dict(value, loc).items()}


def _restart(value: Any, loc: Loc) -> str:
    text = as_str(value, loc)
    if not _RESTART.match(text):
        raise ConfigError(
            f'{loc}: invalid restart policy "{text}" (use no, always, on-failure[:N] or unless-stopped)'
        )
    return text


def _pull_policy(value: Any, loc: Loc) -> str:
    text = as_str(value, loc)
    if not _PULL_POLICY.match(text):
        raise ConfigError(f'{loc}: invalid pull_policy "{text}"')
    return "missing" if text == "if_not_present" else text


def _expose(value: Any, loc: Loc) -> list[str]:
    return [as_scalar_str(v, loc.item(i)) for i, v in enumerate(as_list(value, loc))]


def _depends_on(value: Any, loc: Loc) -> dict[str, dict[str, Any]]:
    if isinstance(value, list):
        return {
            as_str(name, loc.item(i)): {"condition": "service_started"}
            for i, name in enumerate(value)
        }
    result: dict[str, dict[str, Any]] = {}
    for name, spec in as_mapping(value, loc).items():
        here = loc.child(name)
        spec = as_mapping(spec, here)
        check_keys(spec, here, keys.DEPENDS_ON, keys.SUPPORTED_DEPENDS_ON)
        if "condition" not in spec:
            raise ConfigError(f"{here}: condition is required")
        condition = as_str(spec["condition"], here.child("condition"))
        if condition not in _CONDITIONS:
            raise ConfigError(
                f'{here.child("condition")}: invalid condition "{condition}" (use {", ".join(_CONDITIONS)})'
            )
        entry: dict[str, Any] = {"condition": condition}
        for flag in ("required", "restart"):
            if flag in spec:
                entry[flag] = as_bool(spec[flag], here.child(flag))
        result[name] = entry
    return result


def _service_networks(value: Any, loc: Loc) -> dict[str, dict[str, Any] | None]:
    if isinstance(value, list):
        return {as_str(name, loc.item(i)): None for i, name in enumerate(value)}
    result: dict[str, dict[str, Any] | None] = {}
    for name, spec in as_mapping(value, loc).items():
        here = loc.child(name)
        if spec is None:
            result[name] = None
            continue
        spec = as_mapping(spec, here)
        check_keys(spec, here, keys.SERVICE_NETWORK, keys.SUPPORTED_SERVICE_NETWORK)
        entry: dict[str, Any] = {}
        if "aliases" in spec:
            entry["aliases"] = as_str_list(spec["aliases"], here.child("aliases"))
        if "ipv4_address" in spec:
            entry["ipv4_address"] = as_str(spec["ipv4_address"], here.child("ipv4_address"))
        result[name] = entry
    return result


def _healthcheck(value: Any, loc: Loc) -> dict[str, Any]:
    spec = as_mapping(value, loc)
    check_keys(spec, loc, keys.HEALTHCHECK, keys.SUPPORTED_HEALTHCHECK)
    out: dict[str, Any] = {}
    if "test" in spec:
        test = spec["test"]
        out["test"] = (
            ["CMD-SHELL", test] if isinstance(test, str) else as_str_list(test, loc.child("test"))
        )
        if out["test"] and out["test"][0] == "NONE":
            out["disable"] = True
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if spec.get(key) is not None:
            out[key] = parse_duration(spec[key], loc.child(key))
    if spec.get("retries") is not None:
        out["retries"] = as_int(spec["retries"], loc.child("retries"))
    if "disable" in spec and as_bool(spec["disable"], loc.child("disable")):
        out["disable"] = True
    return out


def _profiles(value: Any, loc: Loc) -> list[str]:
    return as_str_list(value, loc)


_SERVICE_FIELDS: dict[str, Callable[[Any, Loc], Any]] = {
    "image": _optional(as_str),
    "command": _optional(_command),
    "entrypoint": _optional(_command),
    "working_dir": _optional(as_str),
    "user": _optional(as_scalar_str),
    "hostname": _optional(as_str),
    "ports": canonical_ports,
    "depends_on": _depends_on,
    "healthcheck": _optional(_healthcheck),
    "restart": _optional(_restart),
    "networks": _service_networks,
    "stop_signal": _optional(as_str),
    "stop_grace_period": _optional(parse_duration),
    "container_name": _optional(as_str),
    "labels": _labels,
    "expose": _expose,
    "tty": as_bool,
    "stdin_open": as_bool,
    "init": _optional(as_bool),
    "profiles": _profiles,
    "pull_policy": _optional(_pull_policy),
}


# ---- top-level networks and volumes -------------------------------------------


def _network(value: Any, loc: Loc) -> dict[str, Any]:
    spec = as_mapping(value if value is not None else {}, loc)
    check_keys(spec, loc, keys.NETWORK, keys.SUPPORTED_NETWORK)
    out = _common_resource(spec, loc)
    if "internal" in spec:
        out["internal"] = as_bool(spec["internal"], loc.child("internal"))
    if spec.get("ipam") is not None:
        ipam = as_mapping(spec["ipam"], loc.child("ipam"))
        check_keys(ipam, loc.child("ipam"), keys.IPAM, keys.SUPPORTED_IPAM)
        configs = as_list(ipam.get("config") or [], loc.child("ipam").child("config"))
        if len(configs) > 1:
            raise ConfigError(
                f"{loc.child('ipam').child('config')}: only one subnet per network is supported yet by composer"
            )
        for i, config in enumerate(configs):
            here = loc.child("ipam").child("config").item(i)
            config = as_mapping(config, here)
            check_keys(config, here, keys.IPAM_CONFIG, keys.SUPPORTED_IPAM_CONFIG)
            for key in ("subnet", "gateway"):
                if key in config:
                    out[key] = as_str(config[key], here.child(key))
    return out


def _volume(value: Any, loc: Loc) -> dict[str, Any]:
    spec = as_mapping(value if value is not None else {}, loc)
    check_keys(spec, loc, keys.VOLUME, keys.SUPPORTED_VOLUME)
    return _common_resource(spec, loc)


def _common_resource(spec: dict[str, Any], loc: Loc) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("name", "driver"):
        if spec.get(key) is not None:
            out[key] = as_str(spec[key], loc.child(key))
    if "external" in spec:
        external = spec["external"]
        if isinstance(external, dict):  # legacy `external: {name: x}`
            external = as_mapping(external, loc.child("external"))
            if "name" in external:
                out["name"] = as_str(external["name"], loc.child("external").child("name"))
            external = True
        out["external"] = as_bool(external, loc.child("external"))
    if "labels" in spec:
        out["labels"] = _labels(spec["labels"], loc.child("labels"))
    return out
