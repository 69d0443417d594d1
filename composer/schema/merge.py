"""Merging canonical files (``-f a.yaml -f b.yaml``): later files win.

Mappings merge key by key, recursively; lists are replaced, except those in
``APPEND`` which are concatenated. Paths are matched with ``*`` standing for
one key, as in compose-go's merge tables. A first cut: Docker also
de-duplicates ports and volumes by target, which this does not do yet.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

APPEND = ("services.*.ports", "services.*.volumes", "services.*.expose")


def merge_files(docs: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for doc in docs:
        merged = _merge(merged, doc, "")
    return merged


def _merge(base: Any, override: Any, path: str) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        result = dict(base)
        for key, value in override.items():
            sub = f"{path}.{key}" if path else key
            result[key] = _merge(base[key], value, sub) if key in base else value
        return result
    if (
        isinstance(base, list)
        and isinstance(override, list)
        and any(fnmatchcase(path, pattern) for pattern in APPEND)
    ):
        return base + override
    return override
