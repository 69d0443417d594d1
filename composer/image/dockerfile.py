"""The Dockerfile parser: text -> stages of instructions, as BuildKit's frontend reads it.

What it knows (``moby/buildkit/frontend/dockerfile/parser``):

- parser directives (``# syntax=``, ``# escape=``) only on the first lines,
  before any comment, blank line or instruction; ``escape`` is ``\\`` or a
  backtick;
- comments are lines whose first non-blank character is ``#``, also inside a
  continued instruction; blank lines inside a continuation are dropped;
- a line ending with the escape character (trailing blanks allowed) goes on;
- heredocs (``<<EOF``, ``<<-EOF``, ``<<"EOF"``) after RUN, COPY and ADD;
- flags (``--from=x``, ``--chown=u:g``) before the arguments;
- ``ARG`` before the first ``FROM`` (the "global" args, usable in FROM lines).

Expansion of ``$VAR`` happens later, in the builder, because it needs the
build state (ARG and ENV in scope). This module is pure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from composer.errors import ImageError

KEYWORDS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
    "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})  # fmt: skip
_HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC_RE = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_FLAG_RE = re.compile(r"--([a-z][a-z0-9-]*)(?:=(\S*))?")


@dataclass(frozen=True)
class Heredoc:
    name: str
    content: str
    expand: bool  # an unquoted delimiter expands variables
    chomp: bool  # <<- strips leading tabs


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    args: str  # the text after the keyword and flags, continuations joined
    line: int  # 1-based line of the keyword
    flags: dict[str, str] = field(default_factory=dict, hash=False)
    heredocs: tuple[Heredoc, ...] = ()
    original: str = ""

    def json_args(self) -> list[str] | None:
        """The exec (JSON array) form of the arguments, or None for the shell form."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        return None


@dataclass(frozen=True)
class Stage:
    index: int
    base: str  # the FROM argument (unexpanded)
    name: str | None  # FROM ... AS name (lower case)
    platform: str | None
    instructions: tuple[Instruction, ...]
    line: int


@dataclass(frozen=True)
class Dockerfile:
    global_args: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    escape: str = "\\"
    syntax: str | None = None

    def stage(self, target: str | None) -> Stage:
        """The stage ``target`` names (by name or index), else the last one."""
        if target is None:
            return self.stages[-1]
        for st in self.stages:
            if st.name == target.lower():
                return st
        raise ImageError(f"failed to solve: target stage {target!r} could not be found")


def parse(text: str, source: str = "Dockerfile") -> Dockerfile:
    """Parse Dockerfile ``text``; errors name ``source`` and the line."""
    lines = text.replace("\r\n", "\n").split("\n")
    escape, syntax, start = _directives(lines)
    instructions = _instructions(lines, start, escape, source)
    return _stages(instructions, escape, syntax, source)


def _directives(lines: list[str]) -> tuple[str, str | None, int]:
    escape, syntax = "\\", None
    seen: set[str] = set()
    i = 0
    for i, line in enumerate(lines):  # noqa: B007 - i is used after the loop
        match = _DIRECTIVE_RE.match(line)
        if match is None:
            break
        name, value = match[1].lower(), match[2]
        if name in seen:
            break
        seen.add(name)
        if name == "escape":
            if value not in ("\\", "`"):
                raise ImageError(f"invalid escape token {value!r} does not match ` or \\")
            escape = value
        elif name == "syntax":
            syntax = value
    else:
        i = len(lines)
    return escape, syntax, 0 if not seen else i


def _continues(line: str, escape: str) -> tuple[bool, str]:
    stripped = line.rstrip(" \t")
    if stripped.endswith(escape):
        return True, stripped[:-1]
    return False, line


def _instructions(lines: list[str], start: int, escape: str, source: str) -> list[Instruction]:
    out: list[Instruction] = []
    i = start
    n = len(lines)
    while i < n:
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        first = i
        parts: list[str] = []
        original = [line]
        more, text = _continues(line, escape)
        parts.append(text)
        i += 1
        while more and i < n:
            nxt = lines[i]
            original.append(nxt)
            i += 1
            s = nxt.strip()
            if not s or s.startswith("#"):
                continue
            more, text = _continues(nxt, escape)
            parts.append(text)
        joined = "".join(parts).strip()
        keyword, _, rest = joined.partition(" ")
        if "\t" in keyword:
            keyword, _, tail = keyword.partition("\t")
            rest = tail + " " + rest
        keyword = keyword.upper()
        if keyword not in KEYWORDS:
            raise ImageError(f"{source}:{first + 1}: unknown instruction: {keyword}")
        flags, rest = _flags(rest.strip(), keyword)
        heredocs: list[Heredoc] = []
        if keyword in _HEREDOC_KEYWORDS:
            for match in _HEREDOC_RE.finditer(rest):
                body: list[str] = []
                while i < n and (lines[i].lstrip("\t") if match[1] else lines[i]) != match[3]:
                    body.append(lines[i].lstrip("\t") if match[1] else lines[i])
                    original.append(lines[i])
                    i += 1
                if i >= n:
                    raise ImageError(f"{source}:{first + 1}: heredoc <<{match[3]} is not terminated")
                original.append(lines[i])
                i += 1
                heredocs.append(Heredoc(match[3], "\n".join(body) + "\n", not match[2], bool(match[1])))
        out.append(Instruction(keyword, rest, first + 1, flags, tuple(heredocs), "\n".join(original)))
    return out


_KNOWN_FLAGS = {
    "FROM": {"platform"},
    "COPY": {"from", "chown", "chmod", "link", "parents", "exclude"},
    "ADD": {"chown", "chmod", "link", "keep-git-dir", "checksum", "exclude"},
    "RUN": {"mount", "network", "security"},
    "HEALTHCHECK": {"interval", "timeout", "start-period", "start-interval", "retries"},
}


def _flags(rest: str, keyword: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    known = _KNOWN_FLAGS.get(keyword, set())
    while rest.startswith("--"):
        word, _, tail = rest.partition(" ")
        match = _FLAG_RE.fullmatch(word)
        if match is None or match[1] not in known:
            if keyword in _KNOWN_FLAGS or match is None:
                raise ImageError(f"unknown flag: {word.partition('=')[0]} for {keyword}")
            break
        flags[match[1]] = match[2] if match[2] is not None else "true"
        rest = tail.lstrip()
    return flags, rest


def _stages(instructions: list[Instruction], escape: str, syntax: str | None, source: str) -> Dockerfile:
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    current: list[Instruction] | None = None
    header: Instruction | None = None

    def close() -> None:
        if header is None or current is None:
            return
        words = header.args.split()
        name = None
        if len(words) == 3 and words[1].lower() == "as":
            name = words[2].lower()
            if not re.fullmatch(r"[a-z][a-z0-9-_.]*", name):
                raise ImageError(f"{source}:{header.line}: invalid name for build stage: {words[2]!r}")
        elif len(words) != 1:
            raise ImageError(f"{source}:{header.line}: FROM requires either one or three arguments")
        stages.append(Stage(len(stages), words[0], name, header.flags.get("platform"),
                            tuple(current), header.line))

    for ins in instructions:
        if ins.keyword == "FROM":
            close()
            header, current = ins, []
        elif current is None:
            if ins.keyword != "ARG":
                raise ImageError(f"{source}:{ins.line}: no build stage in current context (the first instruction must be FROM)")
            global_args.append(ins)
        else:
            current.append(ins)
    close()
    if not stages:
        raise ImageError(f"{source}: the Dockerfile has no FROM instruction")
    return Dockerfile(tuple(global_args), tuple(stages), escape, syntax)
