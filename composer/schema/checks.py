"""Consistency checks after the merge: references and conflicting options.

Messages use Docker Compose's wording where it has one, so users searching
for an error find the same answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from composer.errors import ConfigError

_INVALID = "invalid compose project"


class _Refusal(ConfigError):
    def __init__(self, attr: str, message: str) -> None:
        super().__init__(message)
        self.attr = attr


def _fail(attr: str, message: str) -> NoReturn:
    raise _Refusal(attr, message)


def check_project(
    services: dict[str, Any],
    disabled: dict[str, Any],
    merged: dict[str, Any],
    locate: Callable[[str, str], str] = lambda service, attr: "",
) -> list[str]:
    """Refuse what Docker refuses; return warnings for what it only warns about.

    ``locate(service, attr)`` gives ``compose.yaml:4:5`` for the message, or "".
    """
    warnings: list[str] = []
    for name, spec in services.items():
        try:
            warnings.extend(_depends_on(name, spec, services, disabled))
            _references(name, spec, services, merged)
            _conflicts(name, spec)
        except _Refusal as exc:
            where = locate(name, exc.attr)
            raise ConfigError(f"{where}: {exc}" if where else str(exc)) from None
    return warnings


def _depends_on(
    name: str, spec: dict[str, Any], services: dict[str, Any], disabled: dict[str, Any]
) -> list[str]:
    """An optional dependency (``required: false``) on a missing service is dropped."""
    warnings: list[str] = []
    for dep, cond in list((spec.get("depends_on") or {}).items()):
        if dep in services:
            continue
        if cond.get("required", True):
            if dep in disabled:
                _fail("depends_on", f'service "{name}" depends on "{dep}", which is disabled by its profiles: {_INVALID}')
            _fail("depends_on", f'service "{name}" depends on undefined service "{dep}": {_INVALID}')
        spec["depends_on"] = {k: v for k, v in spec["depends_on"].items() if k != dep}
        warnings.append(f'service "{name}" depends on undefined service "{dep}", ignored')
    return warnings


def _service_ref(name: str, value: str | None, attr: str, services: dict[str, Any]) -> None:
    if value and value.startswith("service:"):
        target = value[len("service:") :]
        if target not in services:
            _fail(attr, f'service "{name}" refers to undefined service "{target}" in {attr}: {_INVALID}')


def _references(
    name: str, spec: dict[str, Any], services: dict[str, Any], merged: dict[str, Any]
) -> None:
    volumes = merged.get("volumes") or {}
    networks = merged.get("networks") or {}
    for mount in spec.get("volumes") or []:
        if mount["type"] == "volume" and mount["source"] and mount["source"] not in volumes:
            _fail("volumes", f'service "{name}" refers to undefined volume {mount["source"]}: {_INVALID}')
    for net in spec.get("networks") or {}:
        if net != "default" and net not in networks:
            _fail("networks", f'service "{name}" refers to undefined network {net}: {_INVALID}')
    for kind in ("secrets", "configs"):
        declared = merged.get(kind) or {}
        for ref in spec.get(kind) or []:
            if ref["source"] not in declared:
                _fail(kind, f'service "{name}" refers to undefined {kind[:-1]} {ref["source"]}: {_INVALID}')
    for link in spec.get("links") or []:
        target = link.split(":", 1)[0]
        if target not in services:
            _fail("links", f'service "{name}" refers to undefined service "{target}" in links: {_INVALID}')
    for source in spec.get("volumes_from") or []:
        target = source.split(":", 1)[0]
        if not target.startswith("container") and target not in services:
            _fail("volumes_from", f'service "{name}" refers to undefined service "{target}" in volumes_from: {_INVALID}')
    _service_ref(name, spec.get("network_mode"), "network_mode", services)
    _service_ref(name, spec.get("ipc"), "ipc", services)
    _service_ref(name, spec.get("pid"), "pid", services)
    declared_models = merged.get("models") or {}
    for model in spec.get("models") or {}:
        if model not in declared_models:
            _fail("models", f'service "{name}" refers to undefined model {model}: {_INVALID}')


def _conflicts(name: str, spec: dict[str, Any]) -> None:
    where = f"services.{name}"
    if not spec.get("image") and not spec.get("build") and not spec.get("provider"):
        _fail("", f'service "{name}" has neither an image nor a build context specified: {_INVALID}')
    mode = spec.get("network_mode")
    if mode and spec.get("networks"):
        _fail("network_mode", f"{where}: network_mode and networks cannot be combined: {_INVALID}")
    deploy = spec.get("deploy") or {}
    limits = (deploy.get("resources") or {}).get("limits")
    if limits is not None:
        for attr, key in (("cpus", "cpus"), ("mem_limit", "memory"), ("pids_limit", "pids")):
            if spec.get(attr) is not None and spec[attr] != limits.get(key):
                _fail(attr, f"{where}: can't set distinct values on '{attr}' and 'deploy.resources.limits.{key}': {_INVALID}")
    reservations = (deploy.get("resources") or {}).get("reservations")
    reserved = spec.get("mem_reservation")
    if reservations is not None and reserved is not None and reserved != reservations.get("memory"):
        _fail("mem_reservation", f"{where}: can't set distinct values on 'mem_reservation' and 'deploy.resources.reservations.memory': {_INVALID}")


def legacy_external(raw: Any) -> list[str]:
    """Docker's warnings for ``external: {name: x}`` in one file."""
    warnings: list[str] = []
    for section in ("volumes", "networks", "secrets", "configs"):
        entries = raw.get(section) if isinstance(raw, dict) else None
        for key, spec in (entries or {}).items() if isinstance(entries, dict) else ():
            external = spec.get("external") if isinstance(spec, dict) else None
            if isinstance(external, dict) and "name" in external:
                warnings.append(f"{section}.{key}: external.name is deprecated. Please set name and external: true")
    return warnings
