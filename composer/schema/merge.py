"""Merging canonical files (``-f a.yaml -f b.yaml``, ``extends``): later wins.

Mappings merge key by key, recursively; scalars are replaced. Sequences follow
``SEQUENCES``: replaced whole, or appended with duplicates dropped by a key
(``ports`` by their whole value, ``volumes`` by target, ``secrets`` by
source...), as compose-go's ``override/merge.go``. Paths are matched with
``*`` standing for one key. ``!reset`` removes a value, ``!override``
replaces it without merging.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

from composer.schema.coerce import GoExtensions
from composer.schema.tags import Override, Reset, strip_tags

Key = Callable[[Any], Any]


def _whole(item: Any) -> Any:
    return repr(item)


def _port(item: Any) -> Any:
    """A port without its ``x-*`` keys: the later of two such entries wins."""
    if isinstance(item, dict):
        item = {k: v for k, v in item.items() if k != "extensions" and not str(k).startswith("x-")}
    return repr(item)


def _field(name: str) -> Key:
    return lambda item: item.get(name) if isinstance(item, dict) else item


REPLACE = "replace"

SEQUENCES: dict[str, Key | str] = {
    "services.*.command": REPLACE,
    "services.*.entrypoint": REPLACE,
    "services.*.healthcheck.test": REPLACE,
    "services.*.post_start.*.command": REPLACE,
    "services.*.pre_stop.*.command": REPLACE,
    "services.*.ports": _port,
    "services.*.volumes": _field("target"),
    "services.*.secrets": _field("target"),
    "services.*.configs": _field("target"),
    "services.*.devices": _field("target"),
    "services.*.env_file": _field("path"),
    "services.*.tmpfs": _whole,
    "services.*.extra_hosts": _whole,
    "services.*.build.extra_hosts": _whole,
    "services.*.dns": _whole,
    "services.*.dns_search": _whole,
    "services.*.dns_opt": _whole,
    "services.*.cap_add": _whole,
    "services.*.cap_drop": _whole,
    "services.*.expose": _whole,
    "services.*.external_links": _whole,
    "services.*.links": _whole,
    "services.*.volumes_from": _whole,
    "services.*.security_opt": _whole,
    "services.*.group_add": _whole,
    "services.*.profiles": _whole,
    "services.*.label_file": _whole,
    "services.*.device_cgroup_rules": _whole,
}
# Mappings replaced whole rather than merged.
MAPPINGS_REPLACED = ("services.*.ulimits.*",)


def merge_files(
    docs: list[dict[str, Any]], strip: bool = True, raw: bool = False
) -> dict[str, Any]:
    """Merge in order; ``strip=False`` skips the tag clean-up when no file had tags.

    ``raw``: the files are Docker's raw model (``config --no-interpolate``), where
    ``environment``, ``labels``... may be lists or maps: merged as lists (below).
    """
    merged: dict[str, Any] = {}
    for doc in docs:
        merged = merge(merged, doc, "", raw)
    if not strip:
        return merged
    result: dict[str, Any] = strip_tags(merged)
    return result


def merge(base: Any, override: Any, path: str, raw: bool = False) -> Any:
    if isinstance(override, Override):
        return override.value
    if isinstance(override, Reset):
        return override
    if raw and _matches(path, TO_SEQUENCE) and not isinstance(base, Reset):
        return _to_sequence(base, override, unique=not _matches(path, APPENDED))
    if isinstance(base, dict) and isinstance(override, dict):
        if _matches(path, MAPPINGS_REPLACED) or _logging_replaced(base, override, path):
            return override
        if _matches(path, TO_SEQUENCE):  # merged as KEY=VALUE lists: ``x-*`` keys are plain keys
            base, override = _expanded(base), _expanded(override)
        result = dict(base)
        for key, value in override.items():
            sub = f"{path}.{key}" if path else key
            if isinstance(value, Reset):
                result.pop(key, None)
            elif key == "#extensions" and isinstance(value, GoExtensions) and isinstance(base.get(key), GoExtensions):
                result[key] = GoExtensions.of({**base[key].entries, **value.entries})  # Docker merges the keys
            elif key in base:
                result[key] = merge(base[key], value, sub, raw)
            else:
                result[key] = value
        return result
    if isinstance(base, list) and isinstance(override, list):
        rule = _rule(path)
        if rule == REPLACE or rule is None:
            return override if rule == REPLACE else base + override
        assert callable(rule)
        return _append_unique(base, override, rule)
    return override


def _expanded(mapping: dict[str, Any]) -> dict[str, Any]:
    """A string map with its ``#extensions`` entry back as its ``x-*`` keys."""
    ext = mapping.get("#extensions")
    if not isinstance(ext, GoExtensions):
        return mapping
    out = {k: v for k, v in mapping.items() if k != "#extensions"}
    out.update({k: None if v is None else str(v) for k, v in ext.entries.items()})
    return out


# compose-go's mergeToSequence: both sides as KEY=VALUE lists, the later value of a key wins
TO_SEQUENCE = (
    "services.*.environment",
    "services.*.labels",
    "services.*.annotations",
    "services.*.sysctls",
    "services.*.build.args",
    "services.*.build.labels",
    "services.*.build.additional_contexts",
    "services.*.deploy.labels",
    "networks.*.labels",
    "volumes.*.labels",
)


# Docker's raw model appends these lists: a key of both files is listed twice (``KEY=a``, ``KEY=b``)
APPENDED = ("volumes.*.labels",)


def _sequence(value: Any) -> list[Any]:
    if isinstance(value, dict):
        items = [(k, v) for k, v in value.items() if not isinstance(v, Reset)]
        return sorted(k if v is None else f"{k}={_go_text(v)}" for k, v in items)
    if isinstance(value, list):
        return list(value)
    return [value]


def _go_text(value: Any) -> str:
    """``fmt.Sprintf("%v")`` of a YAML scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        from composer.schema.gojson import go_format_g

        return go_format_g(value)
    return str(value)


def _to_sequence(base: Any, override: Any, unique: bool = True) -> list[Any]:
    result: list[Any] = []
    index: dict[str, int] = {}
    reset = (
        {k for k, v in override.items() if isinstance(v, Reset)}
        if isinstance(override, dict)
        else set()
    )
    for entry in [*_sequence(base), *_sequence(override)]:
        key = str(entry).split("=", 1)[0]
        if key in reset:
            continue
        if key in index and unique:
            result[index[key]] = entry
        else:
            index[key] = len(result)
            result.append(entry)
    return result


def _append_unique(base: list[Any], override: list[Any], key: Key) -> list[Any]:
    """Later entries replace earlier ones with the same key, in place."""
    result = list(base)
    index = {key(item): i for i, item in enumerate(result)}
    for item in override:
        k = key(item)
        if k in index:
            result[index[k]] = item
        else:
            index[k] = len(result)
            result.append(item)
    return result


def _rule(path: str) -> Key | str | None:
    for pattern, rule in SEQUENCES.items():
        if fnmatchcase(path, pattern):
            return rule
    return None


def _matches(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(path, p) for p in patterns)


def _logging_replaced(base: dict[str, Any], override: dict[str, Any], path: str) -> bool:
    """Logging options merge only when both sides use the same driver (or one has none)."""
    if not fnmatchcase(path, "services.*.logging"):
        return False
    return "driver" in base and "driver" in override and base["driver"] != override["driver"]
