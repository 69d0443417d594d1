"""Canonical long form of the structured service attributes.

``build``, ``deploy``, ``develop``, ``logging``, ``ulimits``, ``blkio_config``,
``gpus``, hooks and secret/config references: each converter checks its keys
against the spec's table and returns dicts shaped like ``model.py``.
"""

from __future__ import annotations

import os.path
from typing import TYPE_CHECKING, Any

from composer.errors import ConfigError
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
    as_scalar_str,
    as_str,
    as_str_list,
    as_strict,
    check_keys,
    go_extensions,
    keep_extensions,
    keeps_extensions,
)
from composer.schema.location import Loc
from composer.schema.units import parse_duration, parse_mode, parse_size

if TYPE_CHECKING:
    from composer.schema.canonical import Context

BUILD = frozenset(
    {
        "context", "dockerfile", "dockerfile_inline", "entitlements", "args", "ssh", "labels",
        "cache_from", "cache_to", "no_cache", "no_cache_filter", "additional_contexts",
        "network", "provenance", "sbom", "pull", "target", "shm_size", "extra_hosts",
        "isolation", "privileged", "secrets", "tags", "ulimits", "platforms",
    }
)  # fmt: skip
DEPLOY = frozenset(
    {
        "mode", "endpoint_mode", "replicas", "labels", "rollback_config", "update_config",
        "resources", "restart_policy", "placement",
    }
)  # fmt: skip
UPDATE = frozenset(
    {"parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order"}
)
RESOURCE = frozenset({"cpus", "memory", "pids", "devices", "generic_resources"})
RESTART_POLICY = frozenset({"condition", "delay", "max_attempts", "window"})
PLACEMENT = frozenset({"constraints", "preferences", "max_replicas_per_node"})
DEVICE_REQUEST = frozenset({"capabilities", "count", "device_ids", "driver", "options"})
FILE_REFERENCE = frozenset({"source", "target", "uid", "gid", "mode"})
HOOK = frozenset({"command", "user", "privileged", "working_dir", "environment"})
WATCH = frozenset({"path", "action", "target", "ignore", "include", "initial_sync", "exec"})
WATCH_ACTIONS = ("rebuild", "sync", "restart", "sync+restart", "sync+exec")


def _resolve(path: str, ctx: Context) -> str:
    if "://" in path or path.startswith("git@"):
        return path
    if not ctx.resolve_paths:
        from composer.schema.mounts import rebase

        return rebase(path, ctx.base_dir, ctx.root) if ctx.root is not None else path
    if path == "~" or path.startswith("~/"):
        home = ctx.environ.get("HOME", "")
        return home + path[1:] if home else path
    return os.path.normpath(os.path.join(ctx.base_dir, path))


# ---- build -------------------------------------------------------------------


def build(value: Any, loc: Loc, ctx: Context) -> dict[str, Any]:
    if isinstance(value, str):
        return {"context": _resolve(value, ctx)}
    spec = as_mapping(value, loc)
    check_keys(spec, loc, BUILD)
    out: dict[str, Any] = {}
    for key, raw in spec.items():
        if key.startswith("x-"):
            out.setdefault("extensions", {})[key] = raw
            continue
        if raw is None:
            continue
        here = loc.child(key)
        if key == "context":
            out[key] = _resolve(as_str(raw, here), ctx)
        elif key in ("dockerfile", "dockerfile_inline", "network", "target", "isolation"):
            out[key] = as_str(raw, here)
        elif key in ("provenance", "sbom"):
            out[key] = as_scalar_str(raw, here)
        elif key == "args":
            out[key] = as_list_or_dict(raw, here)
        elif key == "labels":
            out[key] = as_labels(raw, here)
        elif key == "additional_contexts":
            contexts = as_labels(raw, here, collect=False)
            resolved = {k: _resolve(v, ctx) if not _is_context_ref(v) else v for k, v in contexts.items()}
            out[key] = go_extensions(resolved) if isinstance(raw, dict) else resolved
        elif key in ("no_cache", "pull", "privileged"):
            out[key] = as_bool(raw, here)
        elif key == "shm_size":
            out[key] = parse_size(raw, here)
        elif key == "extra_hosts":
            from composer.schema.service import extra_hosts

            out[key] = extra_hosts(raw, here)
        elif key == "secrets":
            out[key] = file_references(raw, here)
        elif key == "ulimits":
            out[key] = ulimits(raw, here)
        elif key == "no_cache_filter":
            out[key] = [raw] if isinstance(raw, str) else as_str_list(raw, here)
        elif key == "ssh":
            out[key] = _ssh(raw, here)
        else:  # entitlements, cache_from, cache_to, tags, platforms
            out[key] = as_str_list(raw, here)
    if out.get("dockerfile") and out.get("dockerfile_inline"):
        raise Unparsed(f"{loc}: dockerfile and dockerfile_inline are mutually exclusive")
    return out  # defaults once the files are merged: ``build_defaults``


def build_defaults(services: Any, ctx: Context) -> None:
    """``context: .`` and ``dockerfile: Dockerfile`` where the merged files leave them unset.

    After merging, as Docker: an override's ``build: {dockerfile: X}`` keeps the
    context of the file it overrides.
    """
    for spec in (services or {}).values() if isinstance(services, dict) else ():
        build = spec.get("build") if isinstance(spec, dict) else None
        if isinstance(build, dict):
            build.setdefault("context", _resolve(".", ctx))
            if "dockerfile_inline" not in build:
                build.setdefault("dockerfile", "Dockerfile")


def _is_context_ref(value: str) -> bool:
    return value.startswith(("docker-image://", "target:", "service:", "oci-layout://")) or "://" in value


def _ssh(value: Any, loc: Loc) -> list[str]:
    if isinstance(value, dict):
        return [f"{k}={as_scalar_str(v, loc.child(k))}" for k, v in as_mapping(value, loc).items()]
    return as_str_list(value, loc)


# ---- references to secrets and configs ----------------------------------------


def file_references(value: Any, loc: Loc) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for i, item in enumerate(as_list(value, loc)):
        here = loc.item(i)
        if isinstance(item, str):
            result.append({"source": item})
            continue
        spec = as_mapping(item, here)
        check_keys(spec, here, FILE_REFERENCE)
        if "source" not in spec:
            raise ConfigError(f"{here}: source is required")
        entry: dict[str, Any] = {}
        for key, raw in spec.items():
            if raw is None or key.startswith("x-"):
                continue
            if key == "mode":
                entry[key] = raw if isinstance(raw, int) and not isinstance(raw, bool) else parse_mode(raw, here.child(key))
            else:
                entry[key] = as_scalar_str(raw, here.child(key))
        result.append(keep_extensions(spec, entry))
    return result


def secret_references(value: Any, loc: Loc) -> list[dict[str, Any]]:
    """Like configs, but ``target`` defaults to ``/run/secrets/<source>``."""
    result = file_references(value, loc)
    for entry in result:
        entry.setdefault("target", f"/run/secrets/{entry['source']}")
    return result


# ---- deploy ------------------------------------------------------------------


@keeps_extensions
def deploy(value: Any, loc: Loc) -> dict[str, Any]:
    spec = as_mapping(value, loc)
    check_keys(spec, loc, DEPLOY)
    out: dict[str, Any] = {}
    for key, raw in spec.items():
        if raw is None or key.startswith("x-"):
            continue
        here = loc.child(key)
        if key in ("mode", "endpoint_mode"):
            out[key] = as_str(raw, here)
        elif key == "replicas":
            out[key] = as_int(raw, here)
        elif key == "labels":
            out[key] = as_labels(raw, here)
        elif key in ("update_config", "rollback_config"):
            out[key] = _update_config(raw, here)
        elif key == "resources":
            out[key] = _resources(raw, here)
        elif key == "restart_policy":
            out[key] = _restart_policy(raw, here)
        elif key == "placement":
            out[key] = _placement(raw, here)
    return out


@keeps_extensions
def _update_config(value: Any, loc: Loc) -> dict[str, Any]:
    spec = as_mapping(value, loc)
    check_keys(spec, loc, UPDATE)
    out: dict[str, Any] = {}
    for key, raw in spec.items():
        if raw is None or key.startswith("x-"):
            continue
        here = loc.child(key)
        if key == "parallelism":
            out[key] = as_int(raw, here)
        elif key in ("delay", "monitor"):
            out[key] = parse_duration(raw, here)
        elif key == "max_failure_ratio":
            out[key] = as_float(raw, here)
        else:
            out[key] = as_str(raw, here)
    return out


@keeps_extensions
def _resources(value: Any, loc: Loc) -> dict[str, Any]:
    spec = as_mapping(value, loc)
    check_keys(spec, loc, ("limits", "reservations"))
    out: dict[str, Any] = {}
    for key in ("limits", "reservations"):
        if spec.get(key) is not None:
            out[key] = _resource(spec[key], loc.child(key), key == "limits")
    return out


@keeps_extensions
def _resource(value: Any, loc: Loc, limits: bool) -> dict[str, Any]:
    spec = as_mapping(value, loc)
    check_keys(spec, loc, RESOURCE - ({"devices", "generic_resources"} if limits else {"pids"}))
    out: dict[str, Any] = {}
    for key, raw in spec.items():
        if raw is None or key.startswith("x-"):
            continue
        here = loc.child(key)
        if key == "cpus":
            out[key] = as_float(raw, here)
        elif key == "memory":
            out[key] = parse_size(raw, here)
        elif key == "pids":
            out[key] = as_int(raw, here)
        elif key == "devices":
            out[key] = device_requests(raw, here)
        elif key == "generic_resources":
            out[key] = _generic_resources(raw, here)
    return out


def _generic_resources(value: Any, loc: Loc) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for i, item in enumerate(as_list(value, loc)):
        here = loc.item(i)
        spec = as_mapping(item, here)
        check_keys(spec, here, ("discrete_resource_spec",))
        sub = here.child("discrete_resource_spec")
        disc = as_mapping(spec.get("discrete_resource_spec") or {}, sub)
        check_keys(disc, sub, ("kind", "value"))
        entry = {"kind": as_str(disc.get("kind", ""), sub.child("kind")),
                 "value": as_int(disc.get("value", 0), sub.child("value"))}  # fmt: skip
        result.append(keep_extensions(spec, {"discrete_resource_spec": keep_extensions(disc, entry)}))
    return result


@keeps_extensions
def _restart_policy(value: Any, loc: Loc) -> dict[str, Any]:
    spec = as_mapping(value, loc)
    check_keys(spec, loc, RESTART_POLICY)
    out: dict[str, Any] = {}
    for key, raw in spec.items():
        if raw is None or key.startswith("x-"):
            continue
        here = loc.child(key)
        if key == "condition":
            out[key] = as_str(raw, here)
        elif key == "max_attempts":
            out[key] = as_int(raw, here)
        else:
            out[key] = parse_duration(raw, here)
    return out


@keeps_extensions
def _placement(value: Any, loc: Loc) -> dict[str, Any]:
    spec = as_mapping(value, loc)
    check_keys(spec, loc, PLACEMENT)
    out: dict[str, Any] = {}
    if spec.get("constraints") is not None:
        out["constraints"] = as_str_list(spec["constraints"], loc.child("constraints"))
    if spec.get("preferences") is not None:
        prefs: list[dict[str, Any]] = []
        for i, item in enumerate(as_list(spec["preferences"], loc.child("preferences"))):
            here = loc.child("preferences").item(i)
            pref = as_mapping(item, here)
            check_keys(pref, here, ("spread",))
            prefs.append(keep_extensions(pref, {"spread": as_str(pref.get("spread", ""), here.child("spread"))}))
        out["preferences"] = prefs
    if spec.get("max_replicas_per_node") is not None:
        out["max_replicas_per_node"] = as_int(spec["max_replicas_per_node"], loc.child("max_replicas_per_node"))
    return out


def device_requests(value: Any, loc: Loc, strict: bool = True) -> list[dict[str, Any]]:
    """Docker drops their ``x-*`` keys (and, in ``gpus``, any unknown key: its schema has none)."""
    result: list[dict[str, Any]] = []
    for i, item in enumerate(as_list(value, loc)):
        here = loc.item(i)
        spec = as_mapping(item, here)
        if strict:
            check_keys(spec, here, DEVICE_REQUEST)
        out: dict[str, Any] = {}
        for key, raw in spec.items():
            if raw is None or key not in DEVICE_REQUEST:
                continue
            sub = here.child(key)
            if key == "count":
                out[key] = -1 if raw == "all" else as_int(raw, sub)
            elif key == "driver":
                out[key] = as_str(raw, sub)
            elif key == "options":
                out[key] = as_options(raw, sub)
            elif key == "capabilities":
                out[key] = as_str_list(raw, sub)
            else:
                out[key] = [as_scalar_str(v, sub.item(j)) for j, v in enumerate(as_list(raw, sub))]
        if "count" in out and out.get("device_ids"):
            raise ConfigError(f'{here}: "count" and "device_ids" attributes are exclusive')
        if spec.get("count") is None and spec.get("device_ids") is None:
            out["count"] = -1  # all, as compose-go fills it in
        result.append(out)
    return result


def gpus(value: Any, loc: Loc) -> list[dict[str, Any]]:
    if value == "all":
        return [{"count": -1}]
    return device_requests(value, loc, strict=False)


# ---- small structures ----------------------------------------------------------


@keeps_extensions
def logging(value: Any, loc: Loc) -> dict[str, Any]:
    spec = as_mapping(value, loc)
    check_keys(spec, loc, ("driver", "options"))
    out: dict[str, Any] = {}
    if spec.get("driver") is not None:
        out["driver"] = as_str(spec["driver"], loc.child("driver"))
    if spec.get("options") is not None:
        out["options"] = as_options(spec["options"], loc.child("options"), "null, number or string")
    return out


def ulimits(value: Any, loc: Loc) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for name, spec in as_mapping(value, loc).items():
        here = loc.child(name)
        if isinstance(spec, dict):
            check_keys(spec, here, ("soft", "hard"))
            for key in ("soft", "hard"):
                if key not in spec:
                    raise ConfigError(f"{here}: {key} is required")
            soft, hard = as_int(spec["soft"], here.child("soft")), as_int(spec["hard"], here.child("hard"))
            if soft > hard and hard != -1:
                raise ConfigError(f"{here}: soft limit {soft} is greater than hard limit {hard}")
            result[name] = {"soft": soft, "hard": hard}
        else:
            result[name] = {"single": as_int(spec, here)}
    return result


def blkio_config(value: Any, loc: Loc) -> dict[str, Any]:
    spec = as_mapping(value, loc)
    keys = ("weight", "weight_device", "device_read_bps", "device_read_iops",
            "device_write_bps", "device_write_iops")  # fmt: skip
    check_keys(spec, loc, keys, extensible=False)
    out: dict[str, Any] = {}
    for key, raw in spec.items():
        if raw is None:
            continue
        here = loc.child(key)
        if key == "weight":
            out[key] = as_int(raw, here)
            continue
        entries: list[dict[str, Any]] = []
        for i, item in enumerate(as_list(raw, here)):
            sub = here.item(i)
            dev = as_mapping(item, sub)
            field = "weight" if key == "weight_device" else "rate"
            check_keys(dev, sub, ("path", field), extensible=False)
            entry: dict[str, Any] = {"path": as_str(dev.get("path", ""), sub.child("path"))}
            if dev.get(field) is not None:
                entry[field] = (
                    as_int(dev[field], sub.child(field))
                    if field == "weight" or key.endswith("iops")
                    else parse_size(dev[field], sub.child(field))
                )
            entries.append(entry)
        out[key] = entries
    return out


@keeps_extensions
def credential_spec(value: Any, loc: Loc) -> dict[str, Any]:
    spec = as_mapping(value, loc)
    check_keys(spec, loc, ("config", "file", "registry"))
    return {k: as_str(v, loc.child(k)) for k, v in spec.items() if v is not None and not k.startswith("x-")}


@keeps_extensions
def hook(value: Any, loc: Loc) -> dict[str, Any]:
    from composer.schema.service import command

    spec = as_mapping(value, loc)
    check_keys(spec, loc, HOOK)
    out: dict[str, Any] = {}
    for key, raw in spec.items():
        if raw is None or key.startswith("x-"):
            continue
        here = loc.child(key)
        if key == "command":
            out[key] = command(raw, here)
        elif key == "privileged":
            out[key] = as_bool(raw, here)
        elif key == "environment":
            out[key] = as_list_or_dict(raw, here)
        else:
            out[key] = as_str(raw, here)
    return out


def hooks(value: Any, loc: Loc) -> list[dict[str, Any]]:
    return [hook(item, loc.item(i)) for i, item in enumerate(as_list(value, loc))]


@keeps_extensions
def develop(value: Any, loc: Loc, ctx: Context) -> dict[str, Any]:
    spec = as_mapping(value, loc)
    check_keys(spec, loc, ("watch",))
    watch: list[dict[str, Any]] = []
    for i, item in enumerate(as_list(spec.get("watch") or [], loc.child("watch"))):
        here = loc.child("watch").item(i)
        rule = as_mapping(item, here)
        check_keys(rule, here, WATCH)
        for key in ("path", "action"):
            if key not in rule:
                raise ConfigError(f"{here}: {key} is required")
        action = as_str(rule["action"], here.child("action"))
        if action not in WATCH_ACTIONS:
            raise ConfigError(f'{here.child("action")}: invalid action "{action}" — expected {", ".join(WATCH_ACTIONS)}')
        entry: dict[str, Any] = {"path": _resolve(as_str(rule["path"], here.child("path")), ctx), "action": action}
        if rule.get("target") is not None:
            entry["target"] = as_str(rule["target"], here.child("target"))
        elif action != "rebuild" and action != "restart":
            raise Unparsed(f"{loc.child('watch')}: target is required for non-rebuild actions")
        for key in ("ignore", "include"):
            if rule.get(key) is not None:
                raw = rule[key]
                entry[key] = [raw] if isinstance(raw, str) else as_str_list(raw, here.child(key))
        if rule.get("initial_sync") is not None:
            entry["initial_sync"] = as_strict(as_bool, "boolean")(rule["initial_sync"], here.child("initial_sync"))
        if rule.get("exec") is not None:
            entry["exec"] = hook(rule["exec"], here.child("exec"))
        watch.append(keep_extensions(rule, entry))
    return {"watch": watch}
