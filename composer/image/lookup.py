"""Finding an image in the store's index: by reference, by digest, by (a prefix of) its id.

Docker's rules: ``busybox`` and ``docker.io/library/busybox:latest`` are the
same reference; ``name@sha256:...`` matches that manifest under that name; a
full ``sha256:<id>`` or a unique prefix of at least 4 hex digits names an
image by its config digest; an ambiguous prefix is an error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from composer.errors import ImageError, ImageNotFoundError, StateError
from composer.image.reference import is_image_id, parse_reference

_HEX_PREFIX_RE = re.compile(r"(?:sha256:)?([a-f0-9]{4,64})")


def resolve(layout: Any, entries: Sequence[Any], query: str) -> tuple[str, str | None]:
    """(manifest digest, the canonical reference matched or None) for ``query``."""
    if is_image_id(query):
        found = by_id_prefix(layout, entries, query[7:], exact=True)
        if found:
            return found, None
        raise ImageNotFoundError(f"No such image: {query}")
    parse_error: ImageError | None = None
    shown = query
    try:
        ref = parse_reference(query)
    except ImageError as exc:
        parse_error = exc
    else:
        shown = ref.familiar()
        for entry in entries:
            if entry.ref == ref.canonical():
                return entry.digest, entry.ref
            if ref.digest is not None and entry.digest == ref.digest and entry.ref and \
                    parse_reference(entry.ref).name == ref.name:
                return entry.digest, None
    match = _HEX_PREFIX_RE.fullmatch(query)
    if match:
        found = by_id_prefix(layout, entries, match[1], exact=False)
        if found:
            return found, None
    if parse_error is not None:
        raise parse_error
    raise ImageNotFoundError(f"No such image: {shown}")

def by_id_prefix(layout: Any, entries: Sequence[Any], prefix: str, exact: bool) -> str | None:
    ids: dict[str, str] = {}
    for digest in dict.fromkeys(e.digest for e in entries):
        try:
            image_id = layout.read_json(digest)["config"]["digest"]
        except (StateError, KeyError, TypeError):
            continue
        hexid = image_id.removeprefix("sha256:")
        if hexid == prefix or (not exact and hexid.startswith(prefix)):
            ids.setdefault(image_id, digest)
    if len(ids) > 1:
        raise ImageError(f"multiple images found with provided prefix: {prefix}")
    return next(iter(ids.values()), None)
