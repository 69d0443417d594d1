"""The ``!reset`` and ``!override`` YAML tags of the merge rules.

``!reset`` on a value removes the attribute (or mapping entry) from what the
earlier files defined; ``!override`` replaces it whole instead of merging.
The YAML reader turns tagged nodes into these wrappers; ``merge.py`` acts on
them and ``strip_tags`` removes any left over (a tag in the first file).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reset:
    """``key: !reset ...``: forget the value of earlier files."""


@dataclass(frozen=True)
class Override:
    """``key: !override value``: replace the earlier value without merging."""

    value: Any


RESET = Reset()


def strip_tags(value: Any) -> Any:
    """Drop ``Reset`` entries and unwrap ``Override`` values, recursively."""
    if isinstance(value, Override):
        return strip_tags(value.value)
    if isinstance(value, dict):
        return {k: strip_tags(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [strip_tags(v) for v in value if not isinstance(v, Reset)]
    return value
