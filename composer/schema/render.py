"""The project as ``docker compose config`` prints it (``--format json|yaml``).

``to_document`` walks the model in field order (the Go struct order of
compose-go, see ``model.py``) and applies Go's encoding rules: ``omitempty``
fields are left out when zero, maps are printed with sorted keys, durations
as Go durations (``1m30s``), byte sizes as strings of bytes. The quirks of
Docker's output are kept where they differ between JSON and YAML (``command:
null`` in JSON only, empty ``deploy.resources`` and ``ipam`` structs in JSON
only). Resources no enabled service uses are left out, as Docker does.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from composer.schema.gojson import GoKey, go_json
from composer.schema.model import (
    BlkioConfig,
    Deploy,
    Fmt,
    Healthcheck,
    Network,
    Project,
    Service,
    ServiceVolume,
    Ulimit,
    WatchRule,
)

# Non-pointer Go structs: present (possibly empty) in JSON, omitted in YAML when empty.
_JSON_STRUCTS = {(Deploy, "resources"), (Deploy, "placement"), (Network, "ipam"), (WatchRule, "exec")}
# ShellCommand fields: never omitted in JSON.
_JSON_NULLABLE = {"command", "entrypoint"}


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()``: ``1h0m0s``, ``1m30s``, ``500ms``, ``0s``."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _trim(ns / size) + unit
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    secs = _trim(rest / 1e9)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


def _trim(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"


@functools.cache
def _fmt_of(cls: type[BaseModel], name: str) -> str | None:
    """The ``Fmt`` hint of a field, looking inside ``X | None``."""
    info = cls.model_fields[name]
    for meta in info.metadata:
        if isinstance(meta, Fmt):
            return meta.kind
    stack = [info.annotation]
    while stack:
        tp = stack.pop()
        for meta in getattr(tp, "__metadata__", ()):
            if isinstance(meta, Fmt):
                return meta.kind
        stack.extend(typing.get_args(tp))
    return None


_POINTER_INTS = frozenset({"retries", "scale", "replicas", "parallelism", "max_attempts"})


def _pointer(cls: type[BaseModel], name: str) -> bool:
    """Go ``*bool``/``*int`` fields: printed when set, even to false or 0."""
    info = cls.model_fields[name]
    if info.default is not None:
        return False
    return name in _POINTER_INTS or bool in typing.get_args(info.annotation)


def _is_empty(value: Any) -> bool:
    return value is None or value is False or value == 0 or value == "" or value == [] or value == {}


class _Renderer:
    def __init__(self, json_mode: bool) -> None:
        self.json = json_mode

    def items(self, mapping: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """A map's entries in the order Go prints them: bytes (JSON), go-yaml's natural order (YAML)."""
        if self.json:
            return sorted(mapping.items())
        return sorted(mapping.items(), key=lambda kv: GoKey(str(kv[0])))

    def model(self, obj: BaseModel) -> dict[str, Any]:
        cls = type(obj)
        special = getattr(self, f"_{cls.__name__.lower()}", None)
        if special is not None:
            result: dict[str, Any] = special(obj)
            return result
        return self.fields(obj)

    def fields(self, obj: BaseModel, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
        cls = type(obj)
        out: dict[str, Any] = {}
        for name in cls.model_fields:
            if name in cls.RENDER_SKIP or name in skip or name == "extensions":  # type: ignore[attr-defined]
                continue
            value = getattr(obj, name)
            if (cls, name) in _JSON_STRUCTS:
                rendered = self.value(value) if value is not None else {}
                if self.json or not _is_empty(rendered):
                    out[name] = rendered
                continue
            if name in _JSON_NULLABLE and value is None:
                if self.json:
                    out[name] = None
                continue
            if name in _JSON_NULLABLE:
                out[name] = list(value)
                continue
            if _is_empty(value) and not (value is not None and _pointer(cls, name)):
                continue
            out[name] = self.formatted(value, _fmt_of(cls, name))
        return self.extended(out, obj.extensions)  # type: ignore[attr-defined]

    def extended(self, out: dict[str, Any], ext: dict[str, Any]) -> dict[str, Any]:
        """``x-*`` keys printed last; Docker's JSON drops them below the top level."""
        if ext and not self.json:
            out.update(self.value(ext))
        return out

    def formatted(self, value: Any, fmt: str | None) -> Any:
        if fmt == "duration":
            return go_duration(value)
        if fmt == "bytes":
            return str(value)
        if fmt == "octal":
            return f"0{value:o}"
        return self.value(value)

    def value(self, value: Any) -> Any:
        if isinstance(value, BaseModel):
            return self.model(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in self.items(value)}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    # ---- types with their own rules ------------------------------------------

    def _service(self, svc: Service) -> dict[str, Any]:
        out = self.fields(svc, frozenset({"volumes", "healthcheck", "extra_hosts", "networks", "depends_on"}))
        mounts = list(svc.volumes)
        if svc.tmpfs:
            mounts = mounts[: len(mounts) - len(svc.tmpfs)]
        if svc.depends_on:
            out["depends_on"] = {
                name: self._depends(dep) for name, dep in self.items(svc.depends_on)
            }
        if svc.extra_hosts:
            out["extra_hosts"] = sorted(svc.extra_hosts)
        if svc.healthcheck is not None:
            out["healthcheck"] = self._healthcheck(svc.healthcheck)
        if svc.networks:
            out["networks"] = {
                name: None if net is None else self.model(net)
                for name, net in self.items(svc.networks)
            }
        if mounts:
            out["volumes"] = [self._mount(m) for m in mounts]
        return ordered(out, Service)

    def _depends(self, dep: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"condition": dep.condition}
        if dep.restart:
            out["restart"] = True
        out["required"] = dep.required
        return self.extended(out, dep.extensions)

    def _healthcheck(self, hc: Healthcheck) -> dict[str, Any]:
        return self.fields(hc)

    def _mount(self, m: ServiceVolume) -> dict[str, Any]:
        out: dict[str, Any] = {"type": m.type}
        for key in ("source", "target", "read_only", "consistency"):
            value = getattr(m, key)
            if not _is_empty(value):
                out[key] = value
        blocks: dict[str, dict[str, Any]] = {
            "bind": {
                "selinux": m.bind_selinux,
                "propagation": m.bind_propagation,
                "create_host_path": m.bind_create_host_path,
                "recursive": m.bind_recursive,
            },
            "volume": {
                "labels": dict(self.items(m.volume_labels)),
                "nocopy": m.volume_nocopy,
                "subpath": m.volume_subpath,
            },
            "tmpfs": {"size": str(m.tmpfs_size) if m.tmpfs_size else None, "mode": m.tmpfs_mode},
            "image": {"subpath": m.image_subpath},
        }
        for name, options in blocks.items():
            if name in m.blocks:
                block = {k: v for k, v in options.items() if not _is_empty(v)}
                out[name] = self.extended(block, m.block_extensions.get(name, {}))
        return self.extended(out, m.extensions)

    def _ulimit(self, u: Ulimit) -> Any:
        if u.single is not None:
            return u.single
        return {"soft": u.soft, "hard": u.hard}

    def _blkioconfig(self, b: BlkioConfig) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if b.weight:
            out["weight"] = b.weight
        for key in ("weight_device", "device_read_bps", "device_read_iops", "device_write_bps",
                    "device_write_iops"):  # fmt: skip
            entries = getattr(b, key)
            if not entries:
                continue
            rendered = []
            for dev in entries:
                # Go's struct has no json tags: capitalised in JSON, lowercased in YAML
                path, weight, rate = ("Path", "Weight", "Rate") if self.json else ("path", "weight", "rate")
                if key == "weight_device":
                    rendered.append({path: dev.path, weight: dev.weight or 0})
                else:
                    rendered.append({path: dev.path, rate: str(dev.rate or 0)})
            out[key] = rendered
        return out


def ordered(out: dict[str, Any], cls: type[BaseModel]) -> dict[str, Any]:
    order = {name: i for i, name in enumerate(cls.model_fields)}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))


# ---- the project ---------------------------------------------------------------


def used_resources(project: Project) -> dict[str, set[str]]:
    """The networks, volumes, secrets, configs and models enabled services use."""
    used: dict[str, set[str]] = {k: set() for k in ("networks", "volumes", "secrets", "configs", "models")}
    for svc in project.services.values():
        used["networks"].update(svc.networks or {})
        used["volumes"].update(m.source for m in svc.volumes if m.type == "volume" and m.source)
        used["secrets"].update(s.source for s in svc.secrets)
        if svc.build is not None:
            used["secrets"].update(s.source for s in svc.build.secrets)
        used["configs"].update(c.source for c in svc.configs)
        used["models"].update(svc.models)
    return used


def service_document(service: Service) -> dict[str, Any]:
    """One service as ``config --format json`` prints it, ``$`` not doubled."""
    rendered: dict[str, Any] = _Renderer(True).model(service)
    return rendered


def to_document(
    project: Project, json_mode: bool, prune: bool = True, escape: bool = True
) -> dict[str, Any]:
    """The project as a plain tree in Docker's key order for the given format."""
    r = _Renderer(json_mode)
    used = used_resources(project)
    sections: dict[str, Any] = {"name": project.name}
    sections["services"] = {n: r.model(s) for n, s in r.items(project.services)}
    for key in ("networks", "volumes", "secrets", "configs", "models"):
        if json_mode and key == "models":
            continue  # Docker's JSON leaves top-level models out
        entries: dict[str, BaseModel] = getattr(project, key)
        keep = {k: v for k, v in r.items(entries) if not prune or k in used[key]}
        if keep:
            sections[key] = {k: _resource(r, key, v) for k, v in keep.items()}
    sections.update(r.value(project.extensions))
    if json_mode:
        sections = dict(sorted(sections.items()))
    if not escape:
        return sections
    escaped: dict[str, Any] = _escape(sections)
    return escaped


def _escape(value: Any) -> Any:
    """Literal ``$`` are printed as ``$$`` so the output reads back the same."""
    if isinstance(value, str):
        return value.replace("$", "$$") if "$" in value else value  # keeps GoTime
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def _resource(r: _Renderer, kind: str, obj: BaseModel) -> dict[str, Any]:
    skip = frozenset({"content"}) if kind == "secrets" else frozenset()
    if kind == "configs" and getattr(obj, "environment", None):
        skip = frozenset({"content"})
    return r.fields(obj, skip)


def render(
    project: Project, fmt: str = "yaml", prune: bool = True, written: dict[str, Any] | None = None
) -> str:
    """``config --format json|yaml`` text (JSON without a trailing newline, as Docker).

    ``written`` (the merged files before normalisation) makes it ``--no-normalize``'s
    text: ``unnormalized.py``. ``--no-interpolate`` prints Docker's raw model instead:
    ``rawmodel.py``.
    """
    document = to_document(project, fmt == "json", prune)
    if written is not None:
        from composer.schema.unnormalized import as_written

        document = as_written(document, written)
    if fmt == "json":
        return go_json(document, indent=2)
    from composer.schema.yamlout import dump_yaml

    return dump_yaml(document)
