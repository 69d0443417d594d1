"""Variable substitution in compose values, as the Compose Specification defines it.

Forms: ``$$`` (a literal ``$``), ``$VAR``, ``${VAR}``, ``${VAR:-default}``
(unset or empty), ``${VAR-default}`` (unset), ``${VAR:?err}``, ``${VAR?err}``,
``${VAR:+alt}`` and ``${VAR+alt}``. Defaults and alternatives are themselves
interpolated, so ``${A:-${B}}`` works. Only values are substituted, never keys.
A ``$`` followed by anything else is kept as written, as compose-go does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from composer.errors import InterpolationError
from composer.schema.location import Loc
from composer.schema.tags import Override

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class Interpolator:
    """Substitutes from ``environ``; collects Docker's "variable is not set" warnings."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.warnings: list[str] = []

    def tree(self, value: Any, loc: Loc) -> Any:
        """Interpolate every string value of a YAML tree (returns a new tree)."""
        return self._tree(value, loc, None)

    def _tree(self, value: Any, loc: Loc, path: Any) -> Any:
        # ``path`` is a linked list (parent, key); the Loc of a value is built only for
        # strings with a ``$`` (big files are mostly without)
        if isinstance(value, str):
            if "$" not in value:
                return value
            parts: list[str | int] = []
            while path is not None:
                path, part = path
                parts.append(part)
            here = loc
            for part in reversed(parts):
                here = here.item(part) if isinstance(part, int) else here.child(part)
            return self.string(value, here)
        if isinstance(value, dict):
            return {k: self._tree(v, loc, (path, str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [self._tree(v, loc, (path, i)) for i, v in enumerate(value)]
        if isinstance(value, Override):
            return Override(self._tree(value.value, loc, path))
        return value

    def string(self, text: str, loc: Loc) -> str:
        if "$" not in text:
            return text
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            nxt = text[i + 1] if i + 1 < n else ""
            if ch != "$":
                out.append(ch)
                i += 1
            elif nxt == "$":
                out.append("$")
                i += 2
            elif nxt == "{":
                end = _closing_brace(text, i + 2)
                if end < 0:
                    raise _invalid(text, loc)
                out.append(self._braced(text[i + 2 : end], text, loc))
                i = end + 1
            elif match := _NAME.match(text, i + 1):
                out.append(self._plain(match.group(), loc))
                i = match.end()
            else:
                out.append("$")
                i += 1
        return "".join(out)

    def _plain(self, name: str, loc: Loc) -> str:
        value = self.environ.get(name)
        if value is None:
            warning = f'The "{name}" variable is not set. Defaulting to a blank string.'
            if warning not in self.warnings:
                self.warnings.append(warning)
            return ""
        return value

    def _braced(self, body: str, text: str, loc: Loc) -> str:
        match = _NAME.match(body)
        if match is None:
            raise _invalid(text, loc)
        name, rest = match.group(), body[match.end() :]
        if not rest:
            return self._plain(name, loc)
        op = next((o for o in _OPERATORS if rest.startswith(o)), None)
        if op is None:
            raise _invalid(text, loc)
        arg = rest[len(op) :]
        value = self.environ.get(name)
        present = value is not None and (value != "" or not op.startswith(":"))
        if op.endswith("-"):
            return value if present and value is not None else self.string(arg, loc)
        if op.endswith("+"):
            return self.string(arg, loc) if present else ""
        if not present or value is None:
            reason = f"required variable {name} is missing a value"
            raise InterpolationError(f"{loc}: {reason}: {arg}" if arg else f"{loc}: {reason}")
        return value


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing a ``${`` whose body starts at ``start``, or -1."""
    depth, i = 1, start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _invalid(text: str, loc: Loc) -> InterpolationError:
    return InterpolationError(
        f'{loc}: invalid interpolation format "{text}": you may need to escape any $ with another $'
    )
