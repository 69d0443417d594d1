"""YAML output as go-yaml v3 writes it (what ``docker compose config`` prints).

Sequences are indented under their key, strings that go-yaml (or YAML 1.1)
would read as something else are double-quoted, floats and extension
timestamps are written as Go writes them, other strings that cannot be plain are
single-quoted, multi-line strings use a ``|-`` block, and lines are never
folded.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from composer.schema import yaml12
from composer.schema.gojson import go_format_g
from composer.schema.yaml12 import GoTime

# go-yaml quotes a string that would read back as another type, or as one in YAML 1.1
_OLD_BOOL = frozenset(["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF"])
_PLAIN = (yaml12.STR, yaml12.MERGE)  # go-yaml writes "<<" plain
_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


class _Dumper(yaml.SafeDumper):
    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = yaml12.resolve(value)[0]
            return yaml12.STR if tag == yaml12.MERGE else tag
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value and not value.endswith(" "):
        style = "|"
    elif value == "" or value in _OLD_BOOL or _BASE60.match(value) or yaml12.resolve(value)[0] not in _PLAIN:
        style = '"'
    elif not dumper.analyze_scalar(value).allow_block_plain:
        style = "'"
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _float(dumper: yaml.SafeDumper, value: float) -> yaml.ScalarNode:
    text = {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(go_format_g(value), go_format_g(value))
    return dumper.represent_scalar(yaml12.resolve(text)[0], text)  # "50": plain, as Go


def _time(dumper: yaml.SafeDumper, value: GoTime) -> yaml.ScalarNode:
    return dumper.represent_scalar(yaml12.TIMESTAMP, str(value))


_Dumper.add_representer(str, _str)
_Dumper.add_representer(float, _float)
_Dumper.add_representer(GoTime, _time)


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

