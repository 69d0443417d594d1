"""Docker's raw model: what ``config --no-interpolate`` prints.

Docker renders its merged map there (compose-go's ``ToModel``), not its typed
project: values stay as written (``mem_limit: 1.5g``, ``command`` a string,
``environment`` a list or a map, ``$$`` kept), only the attributes compose-go
transforms take their long form (``ports``, ``volumes``, ``depends_on``,
``env_file``, ``build``...), files and ``include``/``extends`` are merged with
the same rules (maps of several files become ``KEY=VALUE`` lists), nothing is
dropped for profiles or disuse, and the project is normalised (default
network, resource names, implicit dependencies, absolute paths) unless
``normalize`` is false (``--no-normalize``: the merged files as written,
also what ``unnormalized.py`` filters the rendered project with).

Each file is still checked by ``canonical_file``; its canonical values are
the source of the transformed attributes.
"""

from __future__ import annotations

from typing import Any

from composer.errors import ConfigError
from composer.schema.canonical import Context, canonical_file, canonical_service
from composer.schema.coerce import Unparsed
from composer.schema.location import Loc
from composer.schema.options import ProjectOptions
from composer.schema.tags import Override, Reset

_RESOURCES = ("networks", "volumes", "secrets", "configs", "models")


def load_model(
    options: ProjectOptions, normalize: bool = True, warnings: list[str] | None = None
) -> dict[str, Any]:
    """The merged, normalised raw model of the project's files (``normalize`` False: as written).

    The loader's warnings (obsolete ``version``, ``external.name``) are added to ``warnings``.
    """
    from composer.schema.finish import _implicit_dependencies
    from composer.schema.loader import _FileLoader, _project_dir, config_files, project_environment
    from composer.schema.merge import merge_files
    from composer.schema.names import resolve_project_name
    from composer.schema.structs import _resolve, build_defaults

    files = config_files(options)
    project_dir = _project_dir(options, files)
    environ = project_environment(options, project_dir)
    loader = _FileLoader(options, environ, raw=True) if normalize else _written_loader(options, environ)
    merged = merge_files(
        [loader.load(path, project_dir, ()) for path in files], strip=loader.tagged, raw=True
    )
    if warnings is not None:
        warnings.extend(loader.warnings)
    merged.pop("version", None)
    ctx = Context(project_dir, environ, options.resolve_paths)
    for spec in (merged.get("services") or {}).values():
        if isinstance(spec.get("env_file"), list):  # one entry per path, the later in place
            by_path = {e["path"]: e for e in spec["env_file"]}
            spec["env_file"] = [
                by_path.pop(e["path"]) for e in spec["env_file"] if e["path"] in by_path
            ]
        if not normalize and isinstance(spec.get("build"), dict):
            spec["build"].setdefault("context", _resolve(".", ctx))
    if not normalize:
        return merged
    build_defaults(merged.get("services"), ctx)
    name = resolve_project_name(options.project_name, environ, merged.get("name"), project_dir)
    merged["name"] = name
    uses_default = False
    for spec in (merged.get("services") or {}).values():
        _implicit_dependencies(spec)
        if "networks" not in spec and not spec.get("network_mode") and not spec.get("provider"):
            spec["networks"] = {"default": None}
        uses_default = uses_default or "default" in (spec.get("networks") or {})
    if uses_default:
        merged.setdefault("networks", {}).setdefault("default", {})
    for section in ("networks", "volumes", "secrets", "configs"):
        for key, spec in (merged.get(section) or {}).items():
            if isinstance(spec, dict) and "name" not in spec:
                spec["name"] = key if spec.get("external") else f"{name}_{key}"
    return merged


def _written_loader(options: ProjectOptions, environ: Any) -> Any:
    """A raw loader keeping the spellings compose-go's normalisation changes (``--no-normalize``)."""
    from composer.schema.loader import _FileLoader

    class WrittenLoader(_FileLoader):
        def canonical(self, raw: dict[str, Any], loc: Loc, ctx: Context) -> dict[str, Any]:
            doc = super().canonical(raw, loc, ctx)
            for name, spec in (raw.get("services") or {}).items():
                out = (doc.get("services") or {}).get(name)
                if isinstance(spec, dict) and isinstance(out, dict):
                    _keep_written(spec, out)
            for section in _RESOURCES:  # ``data:`` stays null
                entries = raw.get(section)
                for key, spec in entries.items() if isinstance(entries, dict) else ():
                    if spec is None and key in (doc.get(section) or {}):
                        doc[section][key] = None
            return doc

    return WrittenLoader(options, environ, raw=True)


def _keep_written(spec: dict[str, Any], out: dict[str, Any]) -> None:
    if "pull_policy" in spec:
        out["pull_policy"] = spec["pull_policy"]
    build = spec.get("build")
    if isinstance(build, dict) and "args" in build and isinstance(out.get("build"), dict):
        out["build"]["args"] = build["args"]


def docker_file(raw: dict[str, Any], loc: Loc, ctx: Context) -> dict[str, Any]:
    """One file as compose-go's transform leaves it (checked by ``canonical_file``)."""
    canon = canonical_file({k: v for k, v in raw.items() if k != "services"}, loc, ctx)
    if isinstance(raw.get("services"), dict):
        here = loc.child("services")
        canon["services"] = {
            name: spec if isinstance(spec, Reset) else _checked(str(name), spec or {}, here.child(str(name)), ctx)
            for name, spec in raw["services"].items()
            if not str(name).startswith("x-")
        }
    out: dict[str, Any] = {
        k: v for k, v in raw.items() if k not in ("services", "include", "version", *_RESOURCES)
    }
    for key in ("include", "version"):
        if key in canon:
            out[key] = canon[key]
    if isinstance(raw.get("services"), dict):
        services = canon.get("services") or {}
        out["services"] = {
            name: spec if isinstance(spec, Reset) else _service(spec or {}, services.get(name) or {}, ctx)
            for name, spec in raw["services"].items()
            if not str(name).startswith("x-")
        }
    for section in _RESOURCES:
        if isinstance(raw.get(section), dict):
            canon_section = canon.get(section) or {}
            out[section] = {
                key: _resource(spec, canon_section.get(key)) for key, spec in raw[section].items()
                if not str(key).startswith("x-")
            }  # fmt: skip
    return out


def _checked(name: str, spec: Any, loc: Loc, ctx: Context) -> dict[str, Any]:
    """The canonical attributes; one holding a ``$`` Docker does not check is kept as written.

    So is a value the schema allows that does not parse (``Unparsed``: Docker
    checks it only when decoding the interpolated project): the attribute is
    converted without it, to give the transformed attributes their long form.
    """
    if not isinstance(spec, dict):
        return canonical_service(name, spec, loc, ctx)
    out: dict[str, Any] = {}
    for key, value in spec.items():
        for _ in range(50):
            try:
                out.update(canonical_service(name, {key: value}, loc, ctx))
            except Unparsed as exc:
                value = _without(value, exc.path, loc.child(str(key)).path)
                if value is None:
                    out.update(_half_filled(name, str(key), spec[key], loc, ctx))
                    break
                continue
            except ConfigError:
                if "$" not in repr(value):
                    raise
            break
    return out


_BROKEN_DEVICE = {"permissions": "rwm", "source": "", "target": ""}  # compose-go's zero mapping


def _half_filled(name: str, key: str, value: Any, loc: Loc, ctx: Context) -> dict[str, Any]:
    """Docker's long form of an attribute it could not decode whole: broken items half filled.

    A device string that does not parse is an empty mapping; a watch rule
    without ``target`` keeps its other fields. Else the attribute stays as written.
    """
    if key == "devices" and isinstance(value, list):
        broken = {key: [_BROKEN_DEVICE]}
        return {key: [(_canonical_or(name, {key: [item]}, loc, ctx) or broken)[key][0] for item in value]}
    watch = value.get("watch") if key == "develop" and isinstance(value, dict) else None
    if isinstance(watch, list):
        rules = [{"target": "/", **r} if isinstance(r, dict) else r for r in watch]  # ``_develop`` keeps the rest
        return _canonical_or(name, {key: {**value, "watch": rules}}, loc, ctx) or {}
    return {}


def _canonical_or(name: str, spec: dict[str, Any], loc: Loc, ctx: Context) -> dict[str, Any] | None:
    try:
        return canonical_service(name, spec, loc, ctx)
    except ConfigError:
        return None


def _without(value: Any, path: str, prefix: str) -> Any:
    """``value`` (at ``prefix``) without the mapping entry at ``path``; None when that is not possible."""
    import copy
    import re

    if not path.startswith((prefix + ".", prefix + "[")):
        return None
    tokens = re.findall(r"\[(\d+)\]|([^.\[\]]+)", path[len(prefix) :])
    result = copy.deepcopy(value)
    node = result
    for index, key in tokens[:-1]:
        node = node[int(index)] if index else node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict | list):
            return None
    last_index, last_key = tokens[-1]
    if last_index or not isinstance(node, dict):
        return None
    node.pop(last_key, None)
    return result


def _service(raw: dict[str, Any], canon: dict[str, Any], ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        done = canon.get(key)
        if isinstance(value, Reset) or key not in canon or key not in _RULES:
            out[key] = value
        elif isinstance(value, Override):
            out[key] = Override(
                _RULES[key](value.value, done.value if isinstance(done, Override) else done)
            )
        else:
            out[key] = _RULES[key](value, done)
    return out


def _canon(raw: Any, canon: Any) -> Any:
    return _inline_extensions(canon)


def _inline_extensions(value: Any) -> Any:
    """Canonical ``extensions`` put back inline, as written."""
    if isinstance(value, dict):
        ext = value.get("extensions")
        out = {k: _inline_extensions(v) for k, v in value.items() if k != "extensions" or not isinstance(ext, dict)}
        return {**out, **ext} if isinstance(ext, dict) else out
    if isinstance(value, list):
        return [_inline_extensions(v) for v in value]
    return value


def _ports(raw: Any, canon: Any) -> list[Any]:
    from composer.schema.mounts import canonical_ports

    out: list[Any] = []
    for item in raw:
        if isinstance(item, dict):
            out.append({"mode": "ingress", "protocol": "tcp", **item})
        else:
            out += [
                {k: v for k, v in p.items() if v is not None}
                for p in canonical_ports([item], Loc(""))
            ]
    return out


def _volumes(raw: Any, canon: Any) -> list[Any]:
    out: list[Any] = []
    for item, done in zip(raw, canon, strict=True):
        if isinstance(item, dict):
            out.append({**item, "source": done["source"]} if done.get("source") else dict(item))
        else:
            out.append(_mount(done))
    return out


def _long_or_raw(raw: Any, canon: Any) -> list[Any]:
    """Short items take their long form, long ones stay as written (devices, secrets)."""
    return [done if isinstance(item, str) else item for item, done in zip(raw, canon, strict=True)]


def _secrets(raw: Any, canon: Any) -> list[Any]:
    """Long items as written with the default ``target`` Docker fills in."""
    return [
        done if isinstance(item, str) else {"target": done["target"], **item}
        for item, done in zip(raw, canon, strict=True)
    ]


def _configs(raw: Any, canon: Any) -> list[Any]:
    return [{"source": item} if isinstance(item, str) else item for item in raw]


def _names(raw: Any, canon: Any) -> Any:
    """A list of names becomes a map of names to null (service networks, models)."""
    return dict.fromkeys(raw) if isinstance(raw, list) else raw


def _gpus(raw: Any, canon: Any) -> Any:
    return [{"count": raw}] if isinstance(raw, str) else _all_devices(raw)


def _all_devices(requests: Any) -> Any:
    """Device requests without ``count`` or ``device_ids`` get ``count: all``, as compose-go fills it."""
    if not isinstance(requests, list):
        return requests
    return [
        {**item, "count": "all"} if isinstance(item, dict) and "count" not in item and "device_ids" not in item else item
        for item in requests
    ]


def _deploy(raw: Any, canon: Any) -> Any:
    reservations = ((raw.get("resources") or {}) if isinstance(raw, dict) else {}).get("reservations")
    if not isinstance(reservations, dict) or "devices" not in reservations:
        return raw
    resources = {**raw["resources"], "reservations": {**reservations, "devices": _all_devices(reservations["devices"])}}
    return {**raw, "resources": resources}


def _develop(raw: Any, canon: Any) -> Any:
    out = dict(raw)
    if isinstance(raw.get("watch"), list):
        out["watch"] = [
            {**item, **{k: done[k] for k in ("path", "ignore", "include") if k in done}}
            for item, done in zip(raw["watch"], canon["watch"], strict=True)
        ]
    return out


def _build(raw: Any, canon: Any) -> dict[str, Any]:
    out: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    if "context" in canon:  # else set once merged (``build_defaults``)
        out["context"] = canon["context"]
    if "additional_contexts" in canon:
        out["additional_contexts"] = canon["additional_contexts"]
    for key in ("provenance", "sbom"):  # strings in compose-go: a YAML boolean is cast
        if isinstance(out.get(key), bool):
            out[key] = "true" if out[key] else "false"
    if isinstance(out.get("args"), list):  # an arg without a value is left out
        out["args"] = [a for a in out["args"] if not isinstance(a, str) or "=" in a]
    elif isinstance(out.get("args"), dict):
        out["args"] = {k: v for k, v in out["args"].items() if v is not None}
    if isinstance(out.get("ssh"), list):
        out["ssh"] = {k: v or None for k, _, v in (str(e).partition("=") for e in out["ssh"])}
    if isinstance(out.get("secrets"), list):
        out["secrets"] = [{"source": v} if isinstance(v, str) else v for v in out["secrets"]]
    return out


_RULES = {
    "build": _build, "depends_on": _canon, "env_file": _canon, "label_file": _canon, "extends": _canon,
    "dns": _canon, "ports": _ports, "volumes": _volumes, "devices": _long_or_raw, "secrets": _secrets,
    "configs": _configs, "networks": _names, "models": _names, "gpus": _gpus, "develop": _develop,
    "deploy": _deploy, "pull_policy": _canon,
}  # fmt: skip


_BLOCKS = {
    "bind": {"selinux": "bind_selinux", "propagation": "bind_propagation",
             "create_host_path": "bind_create_host_path", "recursive": "bind_recursive"},
    "volume": {"labels": "volume_labels", "nocopy": "volume_nocopy", "subpath": "volume_subpath"},
    "tmpfs": {"size": "tmpfs_size", "mode": "tmpfs_mode"},
    "image": {"subpath": "image_subpath"},
}  # fmt: skip


def _mount(m: dict[str, Any]) -> dict[str, Any]:
    out = {k: m[k] for k in ("type", "source", "target", "consistency") if m.get(k)}
    if m.get("read_only"):
        out["read_only"] = True
    for block in m.get("blocks", ()):
        out[block] = {k: m[flat] for k, flat in _BLOCKS[block].items() if m.get(flat)}
    return out


def _resource(spec: Any, canon: Any) -> Any:
    if not isinstance(spec, dict):
        return {} if spec is None else spec
    out = dict(spec)
    if isinstance(canon, dict) and "file" in canon:
        out["file"] = canon["file"]  # resolved
    if isinstance(out.get("external"), dict):  # legacy external: {name: x}
        out["external"], out["name"] = True, canon["name"]
    return out


def render_model(model: dict[str, Any], fmt: str) -> str:
    """The raw model as Docker prints a Go map: keys sorted (go-yaml's order in YAML)."""
    from composer.schema.gojson import GoKey, go_json

    def ordered(value: Any, key: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: ordered(v, key) for k, v in sorted(value.items(), key=lambda kv: key(str(kv[0])))
            }
        if isinstance(value, list):
            return [ordered(v, key) for v in value]
        return value

    if fmt == "json":
        return go_json(_json_nulls(ordered(model, str), False), indent=2)
    from composer.schema.yamlout import dump_yaml

    return dump_yaml(ordered(model, GoKey))


def _json_nulls(value: Any, nil: bool) -> Any:
    """Docker's JSON prints empty lists of extensions and of command/entrypoint as null."""
    if isinstance(value, dict):
        return {
            k: _json_nulls(v, nil or str(k).startswith("x-") or k in ("command", "entrypoint"))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return None if nil and not value else [_json_nulls(v, nil) for v in value]
    return value
