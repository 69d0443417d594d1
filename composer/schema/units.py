"""Compose durations (``1m30s``, ``500ms``) and byte sizes (``64k``, ``1g``)."""

from __future__ import annotations

import re

from composer.errors import ConfigError
from composer.schema.coerce import unparsed
from composer.schema.location import Loc

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_duration(value: object, loc: Loc) -> float:
    """Seconds from a Go-style duration; a bare number is taken as seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{loc}: invalid duration {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{loc}: invalid duration {value!r}")
    text = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    total, pos = 0.0, 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise unparsed(value, loc, f'{loc}: invalid duration "{value}"')
    return total


def parse_size(value: object, loc: Loc) -> int:
    """Bytes from ``1024``, ``64k``, ``512m``, ``1g`` (binary multiples)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise unparsed(value, loc, f"{loc}: invalid size {value!r}")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def parse_mode(value: object, loc: Loc) -> int:
    """A file mode: a YAML integer as is (``0755`` reads as octal), a string in octal digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    try:
        return int(text, 8)
    except ValueError:
        raise unparsed(value, loc, f"{loc}: invalid file mode {value!r}") from None
