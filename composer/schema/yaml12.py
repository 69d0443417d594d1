"""Plain YAML scalars as go-yaml v3 (Docker Compose's reader) resolves them.

YAML 1.2 core schema with go-yaml's extensions: booleans are only
``true``/``false`` in three spellings (``yes``, ``on`` stay strings), numbers
follow Go's ``strconv`` (``0x1F``, ``0o17``, ``0755``, ``1_000``, ``0b101``;
no sexagesimal ``1:20``), ``.inf``/``.nan`` are floats, a float out of range
(``1e400``) stays a string, and a few date/time spellings are timestamps.
Docker refuses a timestamp wherever a string or number is expected; in an
extension (``x-*``) it keeps it and prints it as Go does (RFC 3339).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

NULL = "tag:yaml.org,2002:null"
BOOL = "tag:yaml.org,2002:bool"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
STR = "tag:yaml.org,2002:str"
MERGE = "tag:yaml.org,2002:merge"
TIMESTAMP = "tag:yaml.org,2002:timestamp"

_SPECIAL = {
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), NULL),
    **dict.fromkeys(("true", "True", "TRUE", "false", "False", "FALSE"), BOOL),
    **dict.fromkeys(
        (".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), FLOAT
    ),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), FLOAT),
    "<<": MERGE,
}
_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_DOT_FLOAT = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")
_BASES = {"0x": 16, "0X": 16, "0b": 2, "0B": 2, "0o": 8, "0O": 8}
_DIGITS = {16: "0123456789abcdefABCDEF", 10: "0123456789", 8: "01234567", 2: "01"}
# go-yaml's layouts: 2006-1-2T15:4:5.999999999Z07:00 (t or T), 2006-1-2 15:4:5.999999999, 2006-1-2
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:(?P<t>[Tt])| +)(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?$"
)
INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class YamlTime:
    """An unquoted timestamp: ``text`` as written, ``go`` as Go prints the time."""

    text: str
    go: str
    where: str = ""  # line:column in the file


class GoTime(str):
    """A timestamp kept in an extension: printed plain (not quoted) in YAML."""


def go_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)``, else ``ParseUint``; None when neither parses."""
    sign, body = (text[0], text[1:]) if text[:1] in ("+", "-") else ("", text)
    base = _BASES.get(body[:2], 0)
    if base:
        body = body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, body = 8, body[1:]
    else:
        base = 10
    if not body or any(c not in _DIGITS[base] for c in body):
        return None
    value = int(body, base) * (-1 if sign == "-" else 1)
    if INT64[0] <= value <= INT64[1] or (not sign and value < 2**64):
        return value
    return None


def _go_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None  # Go: out of range is an error


def resolve(text: str) -> tuple[str, object]:
    """The tag and value go-yaml gives a plain scalar."""
    tag = _SPECIAL.get(text)
    if tag is not None:
        return tag, _special(text, tag)
    first = text[:1]
    if first == ".":
        value = _go_float(text) if _DOT_FLOAT.match(text) else None
        return (FLOAT, value) if value is not None else (STR, text)
    if not first or first not in "+-0123456789":
        return STR, text
    stamp = timestamp(text)
    if stamp is not None:
        return TIMESTAMP, stamp
    plain = text.replace("_", "")
    number = go_int(plain)
    if number is not None:
        return INT, number
    if _STYLE_FLOAT.match(plain):
        real = _go_float(plain)
        if real is not None:
            return FLOAT, real
    return STR, text


def _special(text: str, tag: str) -> object:
    if tag == NULL:
        return None
    if tag == BOOL:
        return text.lower() == "true"
    if tag == FLOAT:
        if text.lower() == ".nan":
            return math.nan
        return -math.inf if text.startswith("-") else math.inf
    return text


def timestamp(text: str) -> YamlTime | None:
    """go-yaml's ``parseTimestamp``: one of its layouts and a valid date and time."""
    match = _TIMESTAMP.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, frac = match.group(1, 2, 3, 5, 6, 7, 8)
    zone = match.group("tz")
    if zone is not None and match.group("t") is None:
        return None  # the space-separated layout has no time zone
    if hour is not None and zone is None and match.group("t") is not None:
        return None  # the T layout needs one
    try:
        when = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    return YamlTime(text, _rfc3339(when, (frac or "")[:9].rstrip("0"), zone))


def _rfc3339(when: datetime, frac: str, zone: str | None) -> str:
    """Go's ``time.RFC3339Nano`` text."""
    text = when.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "")
    if zone is None or zone == "Z":
        return text + "Z"
    offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    if not offset:
        return text + "Z"
    return text + str(timezone(offset if zone[0] == "+" else -offset))[3:]
