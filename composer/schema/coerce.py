"""Small typed readers of YAML values, each naming the key path when it refuses."""

from __future__ import annotations

from typing import Any

from composer.errors import ConfigError, UnsupportedError
from composer.schema.location import Loc


def as_mapping(value: Any, loc: Loc) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{loc} must be a mapping")
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(f"{loc}: key {key!r} must be a string")
    return value


def as_str(value: Any, loc: Loc) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{loc} must be a string")
    return value


def as_scalar_str(value: Any, loc: Loc) -> str:
    """A string, or a number/boolean rendered as Compose renders it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ConfigError(f"{loc} must be a string, number or boolean")


def as_bool(value: Any, loc: Loc) -> bool:
    """A boolean; the schema also allows the strings ``true``/``false``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ConfigError(f"{loc} must be a boolean")


def as_int(value: Any, loc: Loc) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ConfigError(f"{loc} must be an integer")


def as_str_list(value: Any, loc: Loc) -> list[str]:
    if not isinstance(value, list):
        raise ConfigError(f"{loc} must be a list")
    return [as_str(item, loc.item(i)) for i, item in enumerate(value)]


def as_list(value: Any, loc: Loc) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{loc} must be a list")
    return value


def check_keys(
    mapping: dict[str, Any], loc: Loc, known: frozenset[str], supported: frozenset[str]
) -> None:
    """Typos are ConfigErrors (Docker's wording), known-but-unhandled keys Unsupported."""
    for key in mapping:
        if key.startswith("x-"):
            continue
        if key not in known:
            raise ConfigError(f"{loc.source}: {loc.where} Additional property {key} is not allowed")
        if key not in supported:
            raise UnsupportedError(f"{loc.child(key)}: not supported yet by composer")


def without_extensions(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if not k.startswith("x-")}
