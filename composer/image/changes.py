"""Dockerfile instructions applied to an image config (``import --change``).

``docker import -c LINE`` accepts the Dockerfile instructions that only touch
the image config. The same are accepted here: CMD, ENTRYPOINT, ENV, EXPOSE,
LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR. Each line is parsed as the Dockerfile
parser parses it: JSON (exec) form or shell form for CMD/ENTRYPOINT, ``k=v``
pairs or the legacy ``k v`` form for ENV/LABEL, quotes, backslash escapes and
``$VAR`` / ``${VAR}`` / ``${VAR:-default}`` / ``${VAR:+alt}`` expansion against
the ENV set by earlier lines. The config is the ``config`` object of an OCI
image config, with Docker's key names (``Env``, ``Cmd``, ``ExposedPorts``...).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any

from composer.errors import ImageError

_PORT_RE = re.compile(r"(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?", re.ASCII)
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_SUBST_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])(.*))?", re.ASCII | re.DOTALL)


def apply_changes(
    config: Mapping[str, Any], changes: Sequence[str], build_args: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A copy of ``config`` with each Dockerfile line of ``changes`` applied in order.

    ``build_args`` (the builder's ARGs in scope) are expanded too; the image's
    ENV wins over an ARG of the same name, as in Docker.
    """
    out: dict[str, Any] = json.loads(json.dumps(dict(config)))
    if build_args:
        out["\0args"] = dict(build_args)
    for line in changes:
        parts = line.strip().split(None, 1)
        keyword = parts[0].upper() if parts else ""
        args = parts[1].strip() if len(parts) > 1 else ""
        handler = _HANDLERS.get(keyword)
        if handler is None:
            raise ImageError(f"{keyword or repr(line)} is not a valid change command")
        if not args:
            raise ImageError(f"{keyword} requires at least one argument")
        handler(out, args, keyword)
    out.pop("\0args", None)
    return out


def _env_map(config: Mapping[str, Any]) -> dict[str, str]:
    env: dict[str, str] = dict(config.get("\0args") or {})
    for item in config.get("Env") or []:
        key, _, value = item.partition("=")
        env[key] = value
    return env


def _exec_or_shell(args: str) -> list[str]:
    """JSON array of strings (exec form), else ``/bin/sh -c args`` (shell form)."""
    if args.startswith("["):
        try:
            value = json.loads(args)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return ["/bin/sh", "-c", args]


def _cmd(config: dict[str, Any], args: str, keyword: str) -> None:
    config["Cmd" if keyword == "CMD" else "Entrypoint"] = _exec_or_shell(args)


def _name_values(args: str, keyword: str, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """``k=v k2="v 2"`` pairs, or the legacy ``k value with spaces`` form."""
    first = re.split(r"\s+", args, maxsplit=1)
    if "=" not in first[0]:
        if len(first) < 2:
            raise ImageError(f"{keyword} must have two arguments")
        return [(first[0], " ".join(split_words(first[1], env, split=False)))]
    pairs = []
    for word in split_words(args, env):
        key, sep, value = word.partition("=")
        if not sep:
            raise ImageError(f"{keyword} names can not be blank: syntax error - can't find = in {word!r}. Must be of the form: name=value")
        if not key:
            raise ImageError(f"{keyword} names can not be blank")
        pairs.append((key, value))
    return pairs


def _env(config: dict[str, Any], args: str, keyword: str) -> None:
    own: dict[str, str] = {}
    for item in config.get("Env") or []:
        key, _, value = item.partition("=")
        own[key] = value
    for key, value in _name_values(args, keyword, _env_map(config)):
        own[key] = value
    config["Env"] = [f"{k}={v}" for k, v in own.items()]


def _label(config: dict[str, Any], args: str, keyword: str) -> None:
    labels = dict(config.get("Labels") or {})
    for key, value in _name_values(args, keyword, _env_map(config)):
        labels[key] = value
    config["Labels"] = labels


def _single(args: str, keyword: str, env: Mapping[str, str]) -> str:
    words = split_words(args, env)
    if len(words) != 1:
        raise ImageError(f"{keyword} requires exactly one argument")
    return words[0]


def _workdir(config: dict[str, Any], args: str, keyword: str) -> None:
    path = " ".join(split_words(args, _env_map(config), split=False))
    if not path.startswith("/"):
        path = posixpath.join("/", config.get("WorkingDir") or "/", path)
    config["WorkingDir"] = posixpath.normpath(path).replace("//", "/")


def _user(config: dict[str, Any], args: str, keyword: str) -> None:
    config["User"] = _single(args, keyword, _env_map(config))


def _stopsignal(config: dict[str, Any], args: str, keyword: str) -> None:
    config["StopSignal"] = _single(args, keyword, _env_map(config))


def _expose(config: dict[str, Any], args: str, keyword: str) -> None:
    ports = dict(config.get("ExposedPorts") or {})
    for word in split_words(args, _env_map(config)):
        match = _PORT_RE.fullmatch(word.lower())
        if match is None:
            raise ImageError(f"invalid containerPort: {word}")
        start, end, proto = int(match[1]), int(match[2] or match[1]), match[3] or "tcp"
        if not 0 < start <= end <= 65535:
            raise ImageError(f"invalid containerPort: {word}")
        for port in range(start, end + 1):
            ports[f"{port}/{proto}"] = {}
    config["ExposedPorts"] = ports


def _volume(config: dict[str, Any], args: str, keyword: str) -> None:
    volumes = dict(config.get("Volumes") or {})
    words = _exec_or_shell(args)
    if words[:2] == ["/bin/sh", "-c"]:
        words = split_words(args, _env_map(config))
    for word in words:
        if not word.strip():
            raise ImageError("VOLUME specified can not be an empty string")
        volumes[word] = {}
    config["Volumes"] = volumes


_HANDLERS = {
    "CMD": _cmd,
    "ENTRYPOINT": _cmd,
    "ENV": _env,
    "EXPOSE": _expose,
    "LABEL": _label,
    "STOPSIGNAL": _stopsignal,
    "USER": _user,
    "VOLUME": _volume,
    "WORKDIR": _workdir,
}


def split_words(text: str, env: Mapping[str, str], split: bool = True) -> list[str]:
    """Dockerfile word processing: quotes, escapes, variable expansion, splitting."""
    words: list[str] = []
    current: list[str] = []
    in_word = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if split and c.isspace():
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            i += 1
            continue
        in_word = True
        if c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise ImageError(f"unexpected end of statement while looking for matching single-quote: {text}")
            current.append(text[i + 1 : end])
            i = end + 1
        elif c == '"':
            i = _double_quoted(text, i + 1, env, current)
        elif c == "\\" and i + 1 < n:
            current.append(text[i + 1])
            i += 2
        elif c == "$":
            value, i = _expand(text, i, env)
            current.append(value)
        else:
            current.append(c)
            i += 1
    if in_word:
        words.append("".join(current))
    return words


def _double_quoted(text: str, i: int, env: Mapping[str, str], out: list[str]) -> int:
    n = len(text)
    while i < n and text[i] != '"':
        if text[i] == "\\" and i + 1 < n and text[i + 1] in '"\\$':
            out.append(text[i + 1])
            i += 2
        elif text[i] == "$":
            value, i = _expand(text, i, env)
            out.append(value)
        else:
            out.append(text[i])
            i += 1
    if i >= n:
        raise ImageError(f"unexpected end of statement while looking for matching double-quote: {text}")
    return i + 1


def _expand(text: str, i: int, env: Mapping[str, str]) -> tuple[str, int]:
    """Expand the ``$`` form at ``text[i]``; return (value, index after it)."""
    if text.startswith("${", i):
        end = text.find("}", i + 2)
        if end < 0:
            raise ImageError(f"missing '}}' in substitution: {text}")
        body = text[i + 2 : end]
        match = _SUBST_RE.fullmatch(body)
        if match is None:
            raise ImageError(f"bad substitution: ${{{body}}}")
        name, op, word = match[1], match[2] or "", match[3] or ""
        found = env.get(name)
        value = found or ""
        is_set = found is not None and (bool(found) or not op.startswith(":"))
        if op in (":-", "-"):
            value = value if is_set else word
        elif op in (":+", "+"):
            value = word if is_set else ""
        elif op in (":?", "?") and not is_set:
            raise ImageError(f"{name}: {word or 'parameter not set or null' if op == ':?' else 'parameter not set'}")
        return value, end + 1
    match = _NAME_RE.match(text, i + 1)
    if match is None:
        return "$", i + 1
    return env.get(match[0], ""), match.end()
