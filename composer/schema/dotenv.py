"""``.env`` and ``env_file`` files: KEY=VALUE lines, with Docker Compose's rules.

Comments, blank lines, an optional ``export`` prefix, ``KEY=VALUE`` (or
``KEY: VALUE``); single quotes are literal, double quotes take ``\\n``,
``\\t``, ``\\"``, ``\\\\`` escapes; both may span lines. Unquoted and
double-quoted values are interpolated (``${VAR}``, ``${VAR:-default}``...)
from the variables above them and the ``lookup`` the caller passes;
unquoted values lose a trailing `` #`` comment. A bare ``KEY`` takes its value
from ``lookup`` if set. ``raw=True`` (``format: raw``) takes values verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from composer.errors import ConfigError, InterpolationError
from composer.schema.cache import record

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def read_dotenv(
    path: Path,
    lookup: Mapping[str, str] | None = None,
    *,
    required: bool = False,
    raw: bool = False,
    where: str | None = None,
) -> dict[str, str]:
    """Read ``path``; a missing file is empty unless ``required``."""
    record(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        if not required:
            return {}
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}env file {path} not found: no such file or directory") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path}: is a directory, not an env file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    return parse_dotenv(text, str(path), lookup, raw=raw)


def parse_dotenv(
    text: str, source: str, lookup: Mapping[str, str] | None = None, *, raw: bool = False
) -> dict[str, str]:
    values: dict[str, str] = {}
    env = lookup or {}
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        lineno = i + 1
        line = lines[i].strip()
        i += 1
        if line.startswith("\ufeff"):
            line = line[1:]
        if not line or line.startswith("#"):
            continue
        if line.startswith("export ") or line.startswith("export\t"):
            line = line[len("export") :].lstrip()
        match = re.match(r"^([^=:\s]+)\s*([=:])?\s*(.*)$", line, re.S)
        key = match.group(1) if match else line
        if match is None or not _KEY.match(key):
            raise ConfigError(f"{source}: line {lineno}: invalid variable name {key!r}")
        if match.group(2) is None:
            if match.group(3):
                raise ConfigError(f"{source}: line {lineno}: invalid variable name {line!r}")
            if key in env:  # a bare KEY takes its value from the environment
                values[key] = env[key]
            continue
        rest = match.group(3)
        if raw:
            values[key] = rest
            continue
        if rest[:1] in ("'", '"'):
            quote = rest[0]
            body = rest[1:]
            while (end := _closing_quote(body, quote)) < 0:
                if i >= len(lines):
                    raise ConfigError(f"{source}: line {lineno}: unterminated quoted value")
                body += "\n" + lines[i]
                i += 1
            value = body[:end]
            if quote == '"':
                value = _expand(_unescape(value), {**env, **values}, source, lineno, escaped=True)
            values[key] = value
            continue
        comment = re.search(r"\s#", rest)
        value = (rest[: comment.start()] if comment else rest).rstrip()
        values[key] = _expand(value, {**env, **values}, source, lineno)
    return values


def _expand(value: str, env: Mapping[str, str], source: str, lineno: int, escaped: bool = False) -> str:
    if "$" not in value:
        return value
    from composer.schema.interpolate import Interpolator
    from composer.schema.location import Loc

    try:
        return Interpolator(env).string(value, Loc(source, f"line {lineno}"))
    except InterpolationError as exc:
        raise ConfigError(str(exc)) from exc


def _closing_quote(text: str, quote: str) -> int:
    i = 0
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
            ch = body[i + 1]
            out.append("$$" if ch == "$" else _ESCAPES[ch])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)
