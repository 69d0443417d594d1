"""Consistency checks after the merge: references and conflicting options.

Messages use Docker Compose's wording where it has one, so users searching
for an error find the same answers.
"""

from __future__ import annotations

from typing import Any

from composer.errors import ConfigError

_INVALID = "invalid compose project"


def check_project(
    services: dict[str, Any], disabled: dict[str, Any], merged: dict[str, Any]
) -> list[str]:
    """Refuse what Docker refuses; return warnings for what it only warns about."""
    warnings: list[str] = []
    for name, spec in services.items():
        warnings.extend(_depends_on(name, spec, services, disabled))
        _references(name, spec, services, merged)
        _conflicts(name, spec)
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
                raise ConfigError(
                    f'service "{name}" depends on "{dep}", which is disabled by its profiles: {_INVALID}'
                )
            raise ConfigError(f'service "{name}" depends on undefined service "{dep}": {_INVALID}')
        spec["depends_on"] = {k: v for k, v in spec["depends_on"].items() if k != dep}
        warnings.append(f'service "{name}" depends on undefined service "{dep}", ignored')
    return warnings


def _service_ref(name: str, value: str | None, attr: str, services: dict[str, Any]) -> None:
    if value and value.startswith("service:"):
        target = value[len("service:") :]
        if target not in services:
            raise ConfigError(
                f'service "{name}" refers to undefined service "{target}" in {attr}: {_INVALID}'
            )


def _references(
    name: str, spec: dict[str, Any], services: dict[str, Any], merged: dict[str, Any]
) -> None:
    volumes = merged.get("volumes") or {}
    networks = merged.get("networks") or {}
    for mount in spec.get("volumes") or []:
        if mount["type"] == "volume" and mount["source"] and mount["source"] not in volumes:
            raise ConfigError(
                f'service "{name}" refers to undefined volume {mount["source"]}: {_INVALID}'
            )
    for net in spec.get("networks") or {}:
        if net != "default" and net not in networks:
            raise ConfigError(f'service "{name}" refers to undefined network {net}: {_INVALID}')
    for kind in ("secrets", "configs"):
        declared = merged.get(kind) or {}
        for ref in spec.get(kind) or []:
            if ref["source"] not in declared:
                raise ConfigError(
                    f'service "{name}" refers to undefined {kind[:-1]} {ref["source"]}: {_INVALID}'
                )
    for link in spec.get("links") or []:
        target = link.split(":", 1)[0]
        if target not in services:
            raise ConfigError(f'service "{name}" refers to undefined service "{target}" in links: {_INVALID}')
    for source in spec.get("volumes_from") or []:
        target = source.split(":", 1)[0]
        if not target.startswith("container") and target not in services:
            raise ConfigError(
                f'service "{name}" refers to undefined service "{target}" in volumes_from: {_INVALID}'
            )
    _service_ref(name, spec.get("network_mode"), "network_mode", services)
    _service_ref(name, spec.get("ipc"), "ipc", services)
    _service_ref(name, spec.get("pid"), "pid", services)
    declared_models = merged.get("models") or {}
    for model in spec.get("models") or {}:
        if model not in declared_models:
            raise ConfigError(f'service "{name}" refers to undefined model {model}: {_INVALID}')


def _conflicts(name: str, spec: dict[str, Any]) -> None:
    where = f"services.{name}"
    if not spec.get("image") and not spec.get("build") and not spec.get("provider"):
        raise ConfigError(f'service "{name}" has neither an image nor a build context specified: {_INVALID}')
    mode = spec.get("network_mode")
    if mode and spec.get("networks"):
        raise ConfigError(f"{where}: network_mode and networks cannot be combined: {_INVALID}")
    deploy = spec.get("deploy") or {}
    limits = (deploy.get("resources") or {}).get("limits")
    if limits is not None:
        for attr, key in (("cpus", "cpus"), ("mem_limit", "memory"), ("pids_limit", "pids")):
            if spec.get(attr) is not None and spec[attr] != limits.get(key):
                raise ConfigError(
                    f"{where}: can't set distinct values on '{attr}' and "
                    f"'deploy.resources.limits.{key}': {_INVALID}"
                )
    reservations = (deploy.get("resources") or {}).get("reservations")
    reserved = spec.get("mem_reservation")
    if reservations is not None and reserved is not None and reserved != reservations.get("memory"):
        raise ConfigError(
            f"{where}: can't set distinct values on 'mem_reservation' and "
            f"'deploy.resources.reservations.memory': {_INVALID}"
        )
    for mount in spec.get("volumes") or []:
        if mount["type"] != "bind" and mount.get("bind_propagation"):
            raise ConfigError(f"{where}.volumes: bind options are only for bind mounts: {_INVALID}")
