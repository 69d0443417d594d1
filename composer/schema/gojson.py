"""JSON and number text as Go writes them (``encoding/json``, ``strconv``).

Docker Compose prints ``config --format json`` with ``json.MarshalIndent`` and
hashes services with ``json.Marshal``: ``<``, ``>``, ``&``, U+2028 and U+2029
are escaped, floats use the shortest form with Go's exponent rules (``1e-7``,
``1e+21``, ``0.00001``), and a non-finite float is an error. ``go_format_g``
is ``strconv.FormatFloat(f, 'g', -1, 64)``, how Go turns a float into text
(``1e+06``, ``+Inf``).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from composer.errors import ConfigError

_HTML = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def _escape_html(text: str) -> str:
    """Go's escapes of ``<``, ``>``, ``&``, U+2028 and U+2029 (only ever inside strings)."""
    for char, escaped in _HTML:
        if char in text:
            text = text.replace(char, escaped)
    return text


def _digits(value: float) -> tuple[str, int]:
    """Shortest round-trip digits of ``abs(value)`` (no trailing zeros) and the decimal point position."""
    _, digits, exponent = Decimal(repr(abs(value))).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    if text.strip("0") == "":
        return "0", 1
    return text.rstrip("0"), len(text) + exponent


def _fmt_e(neg: bool, digits: str, dp: int) -> str:
    exp = dp - 1 if digits != "0" else 0
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{'-' if neg else ''}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _fmt_f(neg: bool, digits: str, dp: int) -> str:
    if digits == "0":
        body = "0"
    elif dp <= 0:
        body = "0." + "0" * -dp + digits
    elif dp >= len(digits):
        body = digits + "0" * (dp - len(digits))
    else:
        body = digits[:dp] + "." + digits[dp:]
    return ("-" if neg else "") + body


def go_format_g(value: float) -> str:
    """``strconv.FormatFloat(value, 'g', -1, 64)``: ``1e+06``, ``0.0001``, ``+Inf``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    neg = math.copysign(1.0, value) < 0
    digits, dp = _digits(value)
    if digits != "0" and not -4 <= dp - 1 < 6:  # shortest: Go decides with precision 6
        return _fmt_e(neg, digits, dp)
    return _fmt_f(neg, digits, dp)


def go_json_float(value: float) -> str:
    """A float as ``encoding/json`` writes it: ``1e-7``, ``0.00001``, ``1e+21``."""
    if not math.isfinite(value):
        raise ConfigError(f"json: unsupported value: {go_format_g(value)}")
    neg = math.copysign(1.0, value) < 0
    digits, dp = _digits(value)
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = _fmt_e(neg, digits, dp)
        head, _, exp = text.partition("e")
        if exp.startswith("-0"):
            exp = "-" + exp[2:]
        return f"{head}e{exp}"
    return _fmt_f(neg, digits, dp)


def go_string(text: str) -> str:
    return _escape_html(json.dumps(text, ensure_ascii=False))


def go_json(value: Any, indent: int | None = None) -> str:
    """``json.Marshal`` (``indent=None``) or ``json.MarshalIndent(value, "", "  ")``."""
    if not _has_float(value):  # the common case: the C encoder, then Go's escapes
        text = json.dumps(
            value, indent=indent, ensure_ascii=False, separators=_SEPARATORS[indent is None]
        )
        return _escape_html(text)
    parts: list[str] = []
    _encode(value, parts, indent, 0)
    return "".join(parts)


_SEPARATORS = {True: (",", ":"), False: (",", ": ")}


def _has_float(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def _encode(value: Any, out: list[str], indent: int | None, level: int) -> None:
    if isinstance(value, str):
        out.append(go_string(value))
    elif value is None:
        out.append("null")
    elif value is True or value is False:
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(go_json_float(value))
    elif isinstance(value, dict):
        _container(list(value.items()), "{}", out, indent, level)
    elif isinstance(value, list | tuple):
        _container(list(value), "[]", out, indent, level)
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _container(
    items: list[Any], brackets: str, out: list[str], indent: int | None, level: int
) -> None:
    if not items:
        out.append(brackets)
        return
    out.append(brackets[0])
    inner = "" if indent is None else "\n" + " " * (indent * (level + 1))
    sep = ":" if indent is None else ": "
    for i, item in enumerate(items):
        out.append(("," if i else "") + inner)
        if brackets == "{}":
            key, item = item
            out.append(go_string(str(key)) + sep)
        _encode(item, out, indent, level + 1)
    out.append("" if indent is None else "\n" + " " * (indent * level))
    out.append(brackets[1])


class GoKey:
    """Sort key of go-yaml v3's map keys (``keyList.Less``): numbers by value, letters first."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __lt__(self, other: GoKey) -> bool:
        return _less(self.text, other.text)


def _less(a: str, b: str) -> bool:
    digits = False
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            digits = a[i].isdigit()
            continue
        al, bl = a[i].isalpha(), b[i].isalpha()
        if al and bl:
            return a[i] < b[i]
        if al or bl:
            return al if digits else bl
        an = bn = 0
        if a[i] == "0" or b[i] == "0":
            j = i - 1
            while j >= 0 and a[j].isdigit():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdigit():
            an, ai = an * 10 + int(a[ai]), ai + 1
        bi = i
        while bi < len(b) and b[bi].isdigit():
            bn, bi = bn * 10 + int(b[bi]), bi + 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return a[i] < b[i]
    return len(a) < len(b)
