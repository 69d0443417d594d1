"""The build context: ``.dockerignore``, COPY/ADD source globs, content hashes.

``.dockerignore`` follows ``moby/patternmatcher``: one pattern a line, ``#``
comments, ``!`` re-includes, patterns cleaned as paths (a leading ``/`` is
dropped), ``*`` and ``?`` never cross ``/``, ``**`` matches any number of
directories, and a path is excluded when the *last* pattern matching it (or
one of its parent directories) is not a ``!`` pattern.

Sources never leave their root: ``COPY ../x`` is the context's ``x``, as in
Docker, and a symlink met on the way is resolved inside the root.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from composer.errors import ImageError


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    exclusion: bool
    text: str


def _translate(pattern: str) -> re.Pattern[str]:
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):  # "**/" : zero or more directories
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    out.append("$")
    return re.compile("".join(out), re.DOTALL)


class Ignore:
    """The patterns of a ``.dockerignore`` file."""

    def __init__(self, lines: list[str]) -> None:
        self.patterns: list[_Pattern] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            exclusion = line.startswith("!")
            if exclusion:
                line = line[1:].strip()
            cleaned = os.path.normpath(line).lstrip("/") if line else ""
            if cleaned in ("", "."):
                continue
            self.patterns.append(_Pattern(_translate(cleaned), exclusion, cleaned))
        self.has_exclusions = any(p.exclusion for p in self.patterns)

    @classmethod
    def load(cls, context: Path) -> Ignore:
        try:
            text = (context / ".dockerignore").read_text(errors="replace")
        except (FileNotFoundError, NotADirectoryError):
            return cls([])
        except OSError as exc:
            raise ImageError(f"read {context / '.dockerignore'}: {exc.strerror}") from exc
        return cls(text.splitlines())

    def excluded(self, rel: str) -> bool:
        if not self.patterns:
            return False
        parts = rel.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        result = False
        for pattern in self.patterns:
            if any(pattern.regex.match(p) for p in prefixes):
                result = not pattern.exclusion
        return result

    def fingerprint(self) -> str:
        return "\n".join(("!" if p.exclusion else "") + p.text for p in self.patterns)


@dataclass(frozen=True)
class Source:
    """One COPY/ADD source: ``path`` on disk, ``rel`` its name under the root."""

    path: Path
    rel: str
    is_dir: bool


def resolve_in_root(root: Path, rel: str) -> Path:
    """``rel`` under ``root``, symlinks resolved as if ``root`` were ``/`` (the runtime's secure_join)."""
    from composer.errors import ContainerStartError
    from composer.runtime.securejoin import secure_join

    try:
        return Path(secure_join(str(root), rel))
    except ContainerStartError:
        raise ImageError(f"{rel}: too many levels of symbolic links") from None


def find_sources(root: Path, pattern: str, ignore: Ignore | None, what: str) -> list[Source]:
    """The paths ``pattern`` (a path or glob relative to ``root``) names; error if none."""
    cleaned = os.path.normpath("/" + pattern).lstrip("/")
    if cleaned in ("", "."):
        return [Source(root, "", True)]
    if not any(c in cleaned for c in "*?["):
        path = resolve_in_root(root, cleaned)
        if not os.path.lexists(path) or (ignore is not None and ignore.excluded(cleaned)):
            raise ImageError(f'failed to compute cache key: "/{cleaned}": not found in {what}')
        return [Source(path, cleaned, path.is_dir())]
    found: list[Source] = []
    parts = cleaned.split("/")

    def walk(base: Path, rel: list[str], depth: int) -> None:
        if depth == len(parts):
            name = "/".join(rel)
            if ignore is None or not ignore.excluded(name):
                found.append(Source(base, name, base.is_dir() and not base.is_symlink()))
            return
        part = parts[depth]
        if not any(c in part for c in "*?["):
            nxt = base / part
            if os.path.lexists(nxt):
                walk(nxt, [*rel, part], depth + 1)
            return
        try:
            names = sorted(os.listdir(base))
        except (NotADirectoryError, FileNotFoundError):
            return
        for name in names:
            if fnmatch.fnmatchcase(name, part):
                walk(base / name, [*rel, name], depth + 1)

    walk(root, [], 0)
    if not found:
        raise ImageError(f'failed to compute cache key: no source files were specified for "{pattern}" in {what}')
    return found


def walk_tree(src: Source, ignore: Ignore | None) -> Iterator[tuple[str, Path, os.stat_result]]:
    """(path relative to ``src``, path, lstat) of ``src`` and everything under it, sorted."""
    st = os.lstat(src.path)
    yield "", src.path, st
    if not stat.S_ISDIR(st.st_mode):
        return

    def inner(directory: Path, rel: str) -> Iterator[tuple[str, Path, os.stat_result]]:
        for name in sorted(os.listdir(directory)):
            sub = f"{rel}/{name}" if rel else name
            full_rel = f"{src.rel}/{sub}" if src.rel else sub
            if ignore is not None and not ignore.has_exclusions and ignore.excluded(full_rel):
                continue
            path = directory / name
            est = os.lstat(path)
            excluded = ignore is not None and ignore.excluded(full_rel)
            if stat.S_ISDIR(est.st_mode):
                if not excluded:
                    yield sub, path, est
                yield from inner(path, sub)
            elif not excluded:
                yield sub, path, est

    yield from inner(src.path, "")


def content_digest(entries: list[tuple[str, Path, os.stat_result]]) -> str:
    """A digest of names, types, modes and contents (not times, not owners), as BuildKit's."""
    h = hashlib.sha256()
    for rel, path, st in entries:
        h.update(f"{rel}\0{stat.S_IFMT(st.st_mode)}\0{stat.S_IMODE(st.st_mode)}\0".encode())
        if stat.S_ISREG(st.st_mode):
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
        elif stat.S_ISLNK(st.st_mode):
            h.update(os.readlink(path).encode())
        h.update(b"\n")
    return h.hexdigest()
