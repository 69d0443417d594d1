"""Small typed readers of YAML values, each naming the key path when it refuses."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from composer.errors import ConfigError
from composer.schema.location import Loc


class Unparsed(ConfigError):
    """A value of a type the schema allows that does not parse (``10x`` as a duration, ``abc`` as a number).

    Docker finds these when decoding the interpolated project, after the schema
    check: ``config --no-interpolate`` prints them as written (``rawmodel.py``).
    ``path`` names the scalar when the error is about one value.
    """

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


def unparsed(value: Any, loc: Loc, message: str) -> ConfigError:
    """The error for a scalar that does not parse: ``Unparsed`` for a string, else a type error."""
    return Unparsed(message, loc.path) if isinstance(value, str) else ConfigError(message)


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
        raise unparsed(value, loc, f"{loc} must be a boolean")
    raise ConfigError(f"{loc} must be a boolean")


def as_int(value: Any, loc: Loc) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT.match(value.strip()):
        return int(value)
    raise unparsed(value, loc, f"{loc} must be an integer")


def as_float(value: Any, loc: Loc) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and _FLOAT.match(value.strip()):
        return float(value)
    raise unparsed(value, loc, f"{loc} must be a number")


def as_strict(convert: Callable[[Any, Loc], Any], kind: str) -> Callable[[Any, Loc], Any]:
    """``convert`` for a schema type without a string form (``priority``, ``use_api_socket``...)."""

    def strict(value: Any, loc: Loc) -> Any:
        if isinstance(value, str):
            raise ConfigError(f"{loc} must be a {kind}")
        return convert(value, loc)

    return strict


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


def as_list_or_dict(value: Any, loc: Loc, sep: str = "=", collect: bool = True) -> dict[str, str | None]:
    """``["A=b", "C"]`` or ``{A: b, C: null}``; ``C`` alone has no value (None).

    ``x-*`` keys of the mapping form become one ``#extensions`` entry (``go_extensions``)
    unless ``collect`` is false.
    """
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
    return go_extensions(result) if collect else result


def go_extensions(mapping: dict[str, Any], listed: bool = False) -> dict[str, Any]:
    """Docker's decoding of a string map: its ``x-*`` keys become one ``#extensions`` entry.

    The entry's value is Go's ``%v`` of those keys (``map[x-a:1 x-b:two]``), a
    one-item list where the map's values are lists (provider ``options``).
    """
    ext = {k: v for k, v in mapping.items() if k.startswith("x-")}
    if not ext:
        return mapping
    text = GoExtensions.of(ext)
    out = {k: v for k, v in mapping.items() if not k.startswith("x-")}
    out["#extensions"] = [text] if listed else text
    return out


class GoExtensions(str):
    """An ``#extensions`` text that remembers its keys, so two files' entries merge (``merge.py``)."""

    entries: dict[str, Any]

    @classmethod
    def of(cls, entries: dict[str, Any]) -> GoExtensions:
        text = cls("map[" + " ".join(f"{k}:{_go_text(v)}" for k, v in sorted(entries.items())) + "]")
        text.entries = entries
        return text

    def __reduce__(self) -> tuple[Any, ...]:  # pickled (the project cache) as a plain string
        return (str, (str(self),))


def _go_text(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, list):
        return "[" + " ".join(_go_text(v) for v in value) + "]"
    return value if isinstance(value, str) else as_scalar_str(value, Loc(""))


def no_extension_keys(mapping: dict[str, Any], loc: Loc) -> dict[str, Any]:
    """Maps Docker fails to decode with ``x-*`` keys (``storage_opt``, ``extra_hosts``...)."""
    for key in mapping:
        if key.startswith("x-"):
            raise ConfigError(f"{loc.child(key)}: an x-* key is not allowed in this mapping")
    return mapping


def _dict_value(value: Any, loc: Loc) -> Any:
    from composer.schema.tags import Reset

    if isinstance(value, Reset):
        return value
    return as_scalar_str(value, loc)


def as_labels(value: Any, loc: Loc, collect: bool = True) -> dict[str, str]:
    """Like ``as_list_or_dict`` but a key without value is the empty string."""
    return {key: "" if val is None else val for key, val in as_list_or_dict(value, loc, "=", collect).items()}


_OPTION_TYPES = {
    "any": (str, int, float, bool, type(None)),
    "number or string": (str, int, float),
    "null, number or string": (str, int, float, type(None)),
    "string": (str,),
}


def as_options(value: Any, loc: Loc, schema: str = "any") -> dict[str, str]:
    """``driver_opts``-style mappings: values as strings (null is ``""``).

    ``schema`` names the value types the spec allows there (``_OPTION_TYPES``).
    """
    allowed = _OPTION_TYPES[schema]
    result: dict[str, str] = {}
    for key, val in as_mapping(value, loc).items():
        if not isinstance(val, allowed) or (isinstance(val, bool) and bool not in allowed):
            raise ConfigError(f"{loc.child(key)} must be a {schema}")
        result[key] = as_scalar_str(val, loc.child(key)) if val is not None else ""
    return go_extensions(result)


def check_keys(
    mapping: dict[str, Any],
    loc: Loc,
    known: Iterable[str],
    supported: Iterable[str] | None = None,
    *,
    extensible: bool = True,
) -> None:
    """Keys outside the spec are typos: a ConfigError worded as Docker's validator says.

    ``x-*`` keys are allowed unless the spec's object has no ``^x-`` pattern
    (``extensible=False``: ``blkio_config``, ``env_file`` entries...).
    """
    for key in mapping:
        if key.startswith("x-") and extensible:
            continue
        if key not in known:
            raise ConfigError(
                f"{loc.child(key).file}: {loc.where} Additional property {key} is not allowed"
            )


def without_extensions(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if not k.startswith("x-")}


def extensions(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k.startswith("x-")}


def keep_extensions(spec: Any, out: dict[str, Any]) -> dict[str, Any]:
    """``out`` with the ``x-*`` keys of ``spec`` under ``extensions``.

    Docker keeps them where compose-go's struct has an ``Extensions`` map
    (printed last, in YAML only); converters of the structs that drop them
    (ulimits, device requests, ipam pools) do not call this.
    """
    if isinstance(spec, dict):
        ext = extensions(spec)
        if ext:
            out["extensions"] = ext
    return out


_Convert = TypeVar("_Convert", bound=Callable[..., Any])


def keeps_extensions(convert: _Convert) -> _Convert:
    """Decorator of a converter ``(mapping, loc, ...) -> dict``: ``keep_extensions`` on its result."""

    @functools.wraps(convert)
    def wrapper(value: Any, *args: Any) -> Any:
        out = convert(value, *args)
        return keep_extensions(value, out) if isinstance(out, dict) else out

    return wrapper  # type: ignore[return-value]
