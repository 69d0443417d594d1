"""``config --no-normalize``: the rendered project without what normalisation added.

Docker's ``--no-normalize`` skips compose-go's ``normalize`` step: the
default network, the resources' ``name``, ``build.dockerfile: Dockerfile``,
the dependencies implied by ``links``/``network_mode``/``volumes_from`` and
the build ``args`` resolved from the environment are not there, and
``pull_policy`` keeps its spelling. composer renders its typed project and
then removes each of these unless the merged files (``written``, the raw
model before normalisation) have it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from composer.errors import ConfigError
from composer.schema.names import normalize_project_name

_RESOURCES = ("networks", "volumes", "secrets", "configs")


def _map(value: Any) -> dict[str, Any]:
    """A written map or list of names (``networks``, ``depends_on``, ``args``) as a map."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for entry in value:
            key, sep, rest = str(entry).partition("=")
            out[key] = rest if sep else None
        return out
    return {}


def _networks(out: dict[str, Any], written: dict[str, Any]) -> None:
    if "networks" in out and "networks" not in written:
        del out["networks"]


def _depends_on(out: dict[str, Any], written: dict[str, Any]) -> None:
    if "depends_on" not in out:
        return
    kept = {k: v for k, v in out["depends_on"].items() if k in _map(written.get("depends_on"))}
    if kept:
        out["depends_on"] = kept
    else:
        del out["depends_on"]


def _build(out: dict[str, Any], written: dict[str, Any]) -> None:
    build, spec = out.get("build"), written.get("build")
    if not isinstance(build, dict):
        return
    spec = spec if isinstance(spec, dict) else {}
    if "dockerfile" not in spec and "dockerfile_inline" not in spec:
        build.pop("dockerfile", None)
    args = _map(spec.get("args"))
    if args:
        rendered = dict(build.get("args") or {})
        rendered.update({k: None for k, v in args.items() if v is None})
        build["args"] = dict(sorted(rendered.items()))


def _pull_policy(out: dict[str, Any], written: dict[str, Any]) -> None:
    if isinstance(written.get("pull_policy"), str) and "pull_policy" in out:
        out["pull_policy"] = written["pull_policy"]


_SERVICE_RULES: tuple[Callable[[dict[str, Any], dict[str, Any]], None], ...] = (
    _networks, _depends_on, _build, _pull_policy,
)  # fmt: skip


def as_written(document: dict[str, Any], written: dict[str, Any]) -> dict[str, Any]:
    """``document`` (a rendered project) without what normalisation added to ``written``."""
    services = written.get("services") or {}
    declared = _map(written.get("networks"))
    used: set[str] = set()
    for name, out in (document.get("services") or {}).items():
        spec = services.get(name)
        for rule in _SERVICE_RULES:
            rule(out, spec if isinstance(spec, dict) else {})
        for net in out.get("networks") or {}:
            if net not in declared:  # no default network to fall back on
                raise ConfigError(f'service "{name}" refers to undefined network {net}: invalid compose project')
            used.add(net)
    if isinstance(document.get("networks"), dict):
        document["networks"] = {k: v for k, v in document["networks"].items() if k in used}
    if isinstance(written.get("name"), str) and normalize_project_name(written["name"]) == document.get("name"):
        document["name"] = written["name"]
    for section in _RESOURCES:
        entries = document.get(section)
        if not isinstance(entries, dict):
            continue
        specs = written.get(section) or {}
        for key in list(entries):
            spec = specs.get(key) if isinstance(specs, dict) else None
            if key not in specs:
                del entries[key]  # the default network
            elif not (isinstance(spec, dict) and "name" in spec) and isinstance(entries[key], dict):
                entries[key].pop("name", None)
        if not entries:
            del document[section]
    return document
