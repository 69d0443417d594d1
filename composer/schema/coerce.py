"""Small typed readers of YAML values, each naming the key path when it refuses."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from composer.errors import ConfigError
from composer.schema.location import Loc

_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


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
    if isinstance(value, float):
        from composer.schema.gojson import go_format_g

        return go_format_g(value)  # as Go prints it: 1e+06, 1.5, +Inf
    if isinstance(value, int | str):
        return str(value)
    raise ConfigError(f"{loc} must be a string, number or boolean")


def as_bool(value: Any, loc: Loc) -> bool:
    """A boolean; the schema also allows the strings ``true``/``false`` (and YAML 1.1 forms)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.lower()
        if text in ("true", "yes", "y", "on", "1"):
            return True
        if text in ("false", "no", "n", "off", "0"):
            return False
    raise ConfigError(f"{loc} must be a boolean")


def as_int(value: Any, loc: Loc) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT.match(value.strip()):
        return int(value)
    raise ConfigError(f"{loc} must be an integer")


def as_float(value: Any, loc: Loc) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and _FLOAT.match(value.strip()):
        return float(value)
    raise ConfigError(f"{loc} must be a number")


def as_str_list(value: Any, loc: Loc) -> list[str]:
    if not isinstance(value, list):
        raise ConfigError(f"{loc} must be a list")
    return [as_str(item, loc.item(i)) for i, item in enumerate(value)]


def as_scalar_list(value: Any, loc: Loc) -> list[str]:
    """A list of strings or numbers, as strings."""
    return [as_scalar_str(item, loc.item(i)) for i, item in enumerate(as_list(value, loc))]


def as_string_or_list(value: Any, loc: Loc) -> list[str]:
    """``dns: 8.8.8.8`` or ``dns: [8.8.8.8]``."""
    if isinstance(value, str):
        return [value]
    return as_str_list(value, loc)


def as_list(value: Any, loc: Loc) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{loc} must be a list")
    return value


def as_list_or_dict(value: Any, loc: Loc, sep: str = "=") -> dict[str, str | None]:
    """``["A=b", "C"]`` or ``{A: b, C: null}``; ``C`` alone has no value (None)."""
    result: dict[str, str | None] = {}
    if isinstance(value, list):
        for i, item in enumerate(value):
            key, found, val = as_str(item, loc.item(i)).partition(sep)
            if sep != "=":
                key, val = key.strip(), val.strip()
            result[key] = val if found else None
        return result
    for key, val in as_mapping(value, loc).items():
        result[key] = None if val is None else _dict_value(val, loc.child(key))
    return result


def _dict_value(value: Any, loc: Loc) -> Any:
    from composer.schema.tags import Reset

    if isinstance(value, Reset):
        return value
    return as_scalar_str(value, loc)


def as_labels(value: Any, loc: Loc) -> dict[str, str]:
    """Like ``as_list_or_dict`` but a key without value is the empty string."""
    return {key: "" if val is None else val for key, val in as_list_or_dict(value, loc).items()}


def as_options(value: Any, loc: Loc) -> dict[str, str]:
    """``driver_opts``-style mappings: values are strings or numbers."""
    return {
        key: as_scalar_str(val, loc.child(key)) if val is not None else ""
        for key, val in as_mapping(value, loc).items()
    }


def check_keys(
    mapping: dict[str, Any],
    loc: Loc,
    known: Iterable[str],
    supported: Iterable[str] | None = None,
) -> None:
    """Keys outside the spec are typos: a ConfigError worded as Docker's validator says."""
    for key in mapping:
        if key.startswith("x-"):
            continue
        if key not in known:
            raise ConfigError(
                f"{loc.child(key).file}: {loc.where} Additional property {key} is not allowed"
            )


def without_extensions(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if not k.startswith("x-")}


def extensions(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k.startswith("x-")}
