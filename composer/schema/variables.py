"""``config --variables``: the variables a project's files use, as Docker lists them.

Every ``$NAME`` / ``${NAME...}`` of the raw (not interpolated) model, with
its default (``:-``, ``-``), its alternate value (``:+``, ``+``) and whether
it is required (``:?``, ``?``); defaults are scanned too (``${A:-${B:-x}}``
lists ``A`` with the default ``${B:-x}`` and ``B`` with ``x``). Printed as
Docker prints them: a table (Go's tabwriter: columns of at least 20, 3
spaces of padding), JSON (``MarshalIndent`` by 4) or YAML (go-yaml, indent 4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from composer.schema.interpolate import _closing_brace

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


@dataclass(frozen=True)
class Variable:
    name: str
    default: str = ""
    presence: str = ""
    required: bool = False


def extract(tree: Any) -> dict[str, Variable]:
    """The variables of every string value of ``tree`` (the later use of a name wins)."""
    found: dict[str, Variable] = {}
    stack = [tree]
    for _ in range(10_000_000):  # bounded walk of a finite tree
        if not stack:
            break
        value = stack.pop()
        if isinstance(value, str):
            _scan(value, found)
        elif isinstance(value, dict):
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, list):
            stack.extend(reversed(value))
        elif hasattr(value, "value"):  # !override
            stack.append(value.value)
    return found


def _scan(text: str, found: dict[str, Variable]) -> None:
    i = 0
    while 0 <= i < len(text):
        i = text.find("$", i)
        if i < 0:
            return
        nxt = text[i + 1 : i + 2]
        if nxt == "$":
            i += 2
        elif nxt == "{":
            end = _closing_brace(text, i + 2)
            if end < 0:
                return
            _braced(text[i + 2 : end], found)
            i = end + 1
        elif match := _NAME.match(text, i + 1):
            found[match.group()] = Variable(match.group())
            i = match.end()
        else:
            i += 1


def _braced(body: str, found: dict[str, Variable]) -> None:
    match = _NAME.match(body)
    if match is None:
        return
    name, rest = match.group(), body[match.end() :]
    op = next((o for o in _OPERATORS if rest.startswith(o)), None)
    arg = rest[len(op) :] if op else ""
    if op is None:
        found[name] = Variable(name)
    elif op.endswith("-"):
        found[name] = Variable(name, default=arg)
    elif op.endswith("+"):
        found[name] = Variable(name, presence=arg)
    else:
        found[name] = Variable(name, required=True)
    if arg:
        _scan(arg, found)


def render_variables(found: dict[str, Variable], fmt: str | None) -> str:
    """Docker's table (no ``--format``), JSON or YAML; sorted by name (Docker's order is random)."""
    ordered = [found[name] for name in sorted(found)]
    if fmt == "json":
        from composer.schema.gojson import go_json

        doc = {v.name: {"Name": v.name, "DefaultValue": v.default, "PresenceValue": v.presence,
                        "Required": v.required} for v in ordered}  # fmt: skip
        return go_json(doc, indent=4) + "\n\n"
    if fmt == "yaml":
        from composer.schema.yamlout import dump_yaml

        doc = {v.name: {"name": v.name, "defaultvalue": v.default, "presencevalue": v.presence,
                        "required": v.required} for v in ordered}  # fmt: skip
        return _reindent(dump_yaml(doc))
    rows = [["NAME", "REQUIRED", "DEFAULT VALUE", "ALTERNATE VALUE"]]
    rows += [[v.name, "true" if v.required else "false", v.default, v.presence] for v in ordered]
    widths = [max(20, *(len(row[c]) + 3 for row in rows)) for c in range(3)]
    return "".join(
        "".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + row[3] + "\n"
        for row in rows
    )


def _reindent(text: str) -> str:
    """go-yaml's 4-space indentation of a two-level mapping."""
    return "".join(
        ("  " + line if line.startswith("  ") else line) for line in text.splitlines(keepends=True)
    )
