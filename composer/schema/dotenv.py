"""The ``.env`` file of the project directory: KEY=VALUE lines.

Supports comments, blank lines, an optional ``export`` prefix, single quotes
(literal), double quotes (with ``\\n``, ``\\t``, ``\\"`` and ``\\\\`` escapes) and
unquoted values with `` #`` trailing comments. The OS environment wins over
``.env``; that precedence is applied by the loader, not here.
"""

from __future__ import annotations

import re
from pathlib import Path

from composer.errors import ConfigError

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def read_dotenv(path: Path) -> dict[str, str]:
    """Read ``path`` if it exists; a missing file is an empty environment."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    return parse_dotenv(text, str(path))


def parse_dotenv(text: str, source: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, rest = line.partition("=")
        key = key.strip()
        if not _KEY.match(key):
            raise ConfigError(f"{source}: line {lineno}: invalid variable name {key!r}")
        if not sep:
            continue  # a bare KEY takes its value from the OS environment, which wins anyway
        values[key] = _value(rest.strip(), source, lineno)
    return values


def _value(text: str, source: str, lineno: int) -> str:
    if text[:1] in ("'", '"'):
        quote = text[0]
        end = _closing_quote(text, quote)
        if end < 0:
            raise ConfigError(f"{source}: line {lineno}: unterminated quoted value")
        body = text[1:end]
        return _unescape(body) if quote == '"' else body
    comment = re.search(r"\s#", text)
    return (text[: comment.start()] if comment else text).rstrip()


def _closing_quote(text: str, quote: str) -> int:
    i = 1
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return -1


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in _ESCAPES:
            out.append(_ESCAPES[body[i + 1]])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)
