"""Short → long syntax: one interpolated file becomes canonical dicts.

The output of ``canonical_file`` has the shape of the model (field names of
``Service``, ``Network``, ``Volume``...) but keeps only keys present in the
file, so that merging several files (``merge.py``) can tell "absent" from
"default". Typos are ConfigErrors worded as Docker's validator words them;
``x-*`` extensions are kept under ``extensions``. Relative paths are resolved
against ``Context.base_dir`` (the directory of the file, or of the project).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from composer.errors import ConfigError
from composer.schema import keys
from composer.schema.coerce import (
    as_bool,
    as_int,
    as_labels,
    as_list,
    as_mapping,
    as_options,
    as_str,
    as_str_list,
    as_strict,
    check_keys,
    extensions,
    keep_extensions,
    no_extension_keys,
)
from composer.schema.location import Loc
from composer.schema.mounts import canonical_volumes
from composer.schema.service import SERVICE_FIELDS
from composer.schema.structs import _resolve
from composer.schema.tags import Override, Reset

_SERVICE_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")
_RESOURCE_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")


@dataclass(frozen=True)
class Context:
    """What canonicalisation needs from outside the file."""

    base_dir: Path
    environ: Mapping[str, str]
    resolve_paths: bool = True
    root: Path | None = None  # the project directory: ``--no-path-resolution`` rebases onto it

    @property
    def project_dir(self) -> Path:  # the name the first cut used
        return self.base_dir


def canonical_file(doc: dict[str, Any], loc: Loc, ctx: Context) -> dict[str, Any]:
    check_keys(doc, loc, keys.TOP_LEVEL)
    out: dict[str, Any] = {}
    if doc.get("name") is not None:
        out["name"] = as_str(doc["name"], loc.child("name"))
    if "version" in doc:
        out["version"] = True
    if doc.get("include") is not None:
        out["include"] = canonical_include(doc["include"], loc.child("include"), ctx)
    if doc.get("services") is not None:
        services = as_mapping(doc["services"], loc.child("services"))
        out["services"] = {
            name: _tagged(spec, loc.child("services").child(name), ctx, _service_converter(name))
            for name, spec in services.items()
            if not name.startswith("x-")
        }
    for section, convert in _SECTIONS.items():
        if doc.get(section) is not None:
            entries = as_mapping(doc[section], loc.child(section))
            out[section] = {}
            for key, value in entries.items():
                if key.startswith("x-"):
                    continue
                here = loc.child(section).child(key)
                if not _RESOURCE_NAME.match(key):
                    raise ConfigError(f"{loc.source}: {section} Additional property {key} is not allowed")
                out[section][key] = _tagged(value, here, ctx, convert)
    ext = extensions(doc)
    if ext:
        out["extensions"] = ext
    return out


def _tagged(value: Any, loc: Loc, ctx: Context, convert: Any) -> Any:
    if isinstance(value, Reset):
        return value
    if isinstance(value, Override):
        return Override(convert(value.value, loc, ctx))
    return convert(value, loc, ctx)


def _service_converter(name: str) -> Any:
    return lambda spec, loc, ctx: canonical_service(name, spec, loc, ctx)


def canonical_service(name: str, spec: Any, loc: Loc, ctx: Context) -> dict[str, Any]:
    if not _SERVICE_NAME.match(name):
        raise ConfigError(f"{loc.source}: services Additional property {name} is not allowed")
    spec = as_mapping(spec if spec is not None else {}, loc)
    check_keys(spec, loc, keys.SERVICE)
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key.startswith("x-"):
            out.setdefault("extensions", {})[key] = value
            continue
        here = loc.child(key)
        if isinstance(value, Reset):
            out[key] = value
        elif isinstance(value, Override):
            out[key] = Override(_attribute(key, value.value, here, ctx))
        else:
            converted = _attribute(key, value, here, ctx)
            if converted is not None:
                out[key] = converted
    return out


def _attribute(key: str, value: Any, loc: Loc, ctx: Context) -> Any:
    if value is None:
        return None
    if key == "volumes":
        return canonical_volumes(value, loc, ctx.base_dir, ctx.environ, ctx.resolve_paths, ctx.root)
    if key == "env_file":
        return _env_files(value, loc, ctx)
    if key == "label_file":
        files = [value] if isinstance(value, str) else as_str_list(value, loc)
        return [_resolve(f, ctx) for f in files]
    if key == "extends":
        return _extends(value, loc, ctx)
    return SERVICE_FIELDS[key](value, loc, ctx)


def _env_files(value: Any, loc: Loc, ctx: Context) -> list[dict[str, Any]]:
    items = [value] if isinstance(value, str) else as_list(value, loc)
    result: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        here = loc if isinstance(value, str) else loc.item(i)
        if isinstance(item, str):
            result.append({"path": _resolve(item, ctx), "required": True})
            continue
        spec = as_mapping(item, here)
        check_keys(spec, here, ("path", "required", "format"), extensible=False)
        if "path" not in spec:
            raise ConfigError(f"{here}: path is required")
        entry: dict[str, Any] = {
            "path": _resolve(as_str(spec["path"], here.child("path")), ctx),
            "required": as_bool(spec.get("required", True), here.child("required")),
        }
        if spec.get("format") is not None:
            entry["format"] = as_str(spec["format"], here.child("format"))
        result.append(entry)
    return result


def _extends(value: Any, loc: Loc, ctx: Context) -> dict[str, Any]:
    if isinstance(value, str):
        return {"service": value}
    spec = as_mapping(value, loc)
    check_keys(spec, loc, ("service", "file"))
    if "service" not in spec:
        raise ConfigError(f"{loc}: service is required")
    out = {"service": as_str(spec["service"], loc.child("service"))}
    if spec.get("file") is not None:
        out["file"] = str(ctx.base_dir / as_str(spec["file"], loc.child("file")))
    return out


def canonical_include(value: Any, loc: Loc, ctx: Context) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for i, item in enumerate(as_list(value, loc)):
        here = loc.item(i)
        if isinstance(item, str):
            result.append({"path": [str(ctx.base_dir / item)]})
            continue
        spec = as_mapping(item, here)
        check_keys(spec, here, ("path", "project_directory", "env_file"))
        if "path" not in spec:
            raise ConfigError(f"{here}: path is required")
        paths = [spec["path"]] if isinstance(spec["path"], str) else as_str_list(spec["path"], here.child("path"))
        entry: dict[str, Any] = {"path": [str(ctx.base_dir / p) for p in paths]}
        if spec.get("project_directory") is not None:
            entry["project_directory"] = str(
                ctx.base_dir / as_str(spec["project_directory"], here.child("project_directory"))
            )
        if spec.get("env_file") is not None:
            env = spec["env_file"]
            files = [env] if isinstance(env, str) else as_str_list(env, here.child("env_file"))
            entry["env_file"] = [str(ctx.base_dir / f) for f in files]
        result.append(entry)
    return result


# ---- top-level resources ------------------------------------------------------


def _network(value: Any, loc: Loc, ctx: Context) -> dict[str, Any]:
    spec = as_mapping(value if value is not None else {}, loc)
    check_keys(spec, loc, keys.NETWORK)
    out = _common_resource(spec, loc)
    for flag in ("internal", "attachable", "enable_ipv4", "enable_ipv6"):
        if spec.get(flag) is not None:
            out[flag] = as_bool(spec[flag], loc.child(flag))
    if spec.get("ipam") is not None:
        out["ipam"] = _ipam(spec["ipam"], loc.child("ipam"))
    return out


def _ipam(value: Any, loc: Loc) -> dict[str, Any]:
    ipam = as_mapping(value, loc)
    check_keys(ipam, loc, keys.IPAM)
    out: dict[str, Any] = {}
    if ipam.get("driver") is not None:
        out["driver"] = as_str(ipam["driver"], loc.child("driver"))
    if ipam.get("config") is not None:
        pools = []
        for i, config in enumerate(as_list(ipam["config"], loc.child("config"))):
            here = loc.child("config").item(i)
            config = as_mapping(config, here)
            check_keys(config, here, keys.IPAM_CONFIG)
            pool: dict[str, Any] = {}
            for key in ("subnet", "gateway", "ip_range"):
                if config.get(key) is not None:
                    pool[key] = as_str(config[key], here.child(key))
            if config.get("aux_addresses") is not None:
                pool["aux_addresses"] = as_options(config["aux_addresses"], here.child("aux_addresses"), "string")
            pools.append(pool)
        out["config"] = pools
    if ipam.get("options") is not None:
        out["options"] = as_options(ipam["options"], loc.child("options"), "string")
    return keep_extensions(ipam, out)


def _volume(value: Any, loc: Loc, ctx: Context) -> dict[str, Any]:
    spec = as_mapping(value if value is not None else {}, loc)
    check_keys(spec, loc, keys.VOLUME)
    return _common_resource(spec, loc)


def _file_object(kind: str) -> Any:
    def convert(value: Any, loc: Loc, ctx: Context) -> dict[str, Any]:
        spec = as_mapping(value if value is not None else {}, loc)
        check_keys(spec, loc, keys.SECRET if kind == "secret" else keys.CONFIG)
        if isinstance(spec.get("driver_opts"), dict):  # Docker fails to decode their x-* keys
            no_extension_keys(spec["driver_opts"], loc.child("driver_opts"))
        out = _common_resource(spec, loc)
        if spec.get("file") is not None:
            out["file"] = _resolve(as_str(spec["file"], loc.child("file")), ctx)
        for key in ("environment", "content", "template_driver"):
            if spec.get(key) is not None:
                out[key] = as_str(spec[key], loc.child(key))
        sources = [k for k in ("file", "environment", "content") if k in out]
        if not out.get("external") and len(sources) != 1:
            raise ConfigError(
                f"{loc}: a {kind} needs exactly one of file, environment"
                + (", content" if kind == "config" else "")
                + " (or external: true)"
            )
        return out

    return convert


def _model(value: Any, loc: Loc, ctx: Context) -> dict[str, Any]:
    spec = as_mapping(value if value is not None else {}, loc)
    check_keys(spec, loc, keys.MODEL)
    if "model" not in spec:
        raise ConfigError(f"{loc}: model is required")
    out: dict[str, Any] = {"model": as_str(spec["model"], loc.child("model"))}
    if spec.get("name") is not None:
        out["name"] = as_str(spec["name"], loc.child("name"))
    if spec.get("context_size") is not None:
        out["context_size"] = as_strict(as_int, "integer")(spec["context_size"], loc.child("context_size"))
    if spec.get("runtime_flags") is not None:
        out["runtime_flags"] = as_str_list(spec["runtime_flags"], loc.child("runtime_flags"))
    ext = extensions(spec)
    if ext:
        out["extensions"] = ext
    return out


def _common_resource(spec: dict[str, Any], loc: Loc) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("name", "driver"):
        if spec.get(key) is not None:
            out[key] = as_str(spec[key], loc.child(key))
    if spec.get("driver_opts") is not None:
        out["driver_opts"] = as_options(spec["driver_opts"], loc.child("driver_opts"), "number or string")
    if spec.get("external") is not None:
        external = spec["external"]
        if isinstance(external, dict):  # legacy `external: {name: x}`
            external = as_mapping(external, loc.child("external"))
            if "name" in external:
                out["name"] = as_str(external["name"], loc.child("external").child("name"))
            external = True
        out["external"] = as_bool(external, loc.child("external"))
    if spec.get("labels") is not None:
        out["labels"] = as_labels(spec["labels"], loc.child("labels"))
    ext = extensions(spec)
    if ext:
        out["extensions"] = ext
    return out


_SECTIONS = {
    "networks": _network,
    "volumes": _volume,
    "secrets": _file_object("secret"),
    "configs": _file_object("config"),
    "models": _model,
}
