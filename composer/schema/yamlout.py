"""YAML output as go-yaml v3 writes it (what ``docker compose config`` prints).

Sequences are indented under their key, strings that YAML 1.1 would read as
something else are double-quoted, other strings that cannot be plain are
single-quoted, multi-line strings use a ``|-`` block, and lines are never
folded.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_NEEDS_QUOTES = re.compile(
    r"^(y|Y|n|N|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|null|Null|NULL|~|[-+]?(\d[\d_]*)?\.?\d+([eE][-+]?\d+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
    r"|0x[0-9a-fA-F]+|0o?[0-7]+|[-+]?\d+(:[0-5]?\d)+(\.\d*)?)$"
)


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value and not value.endswith(" "):
        style = "|"
    elif value == "" or _NEEDS_QUOTES.match(value) or _ambiguous(dumper, value):
        style = '"'
    elif not dumper.analyze_scalar(value).allow_block_plain:
        style = "'"
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _ambiguous(dumper: yaml.SafeDumper, value: str) -> bool:
    """Would a plain scalar read back as something else (a date, a number...)?"""
    tag = dumper.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag != "tag:yaml.org,2002:str")


_Dumper.add_representer(str, _str)


def dump_yaml(document: Any) -> str:
    text: str = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=float("inf"),  # type: ignore[arg-type]
        indent=2,
    )
    return text
