"""COPY and ADD (and the directory WORKDIR creates): a layer written as a tar, no container.

Sources come from the build context (``.dockerignore`` applied), an earlier
stage or an image (``--from``, read through a read-only overlay mount), or a
heredoc. Docker's destination rules: a destination ending in ``/``, or more
than one source, is a directory; a single file copied onto an existing
directory lands inside it; a directory source copies its *contents*. New
files are owned by 0:0 unless ``--chown``; ``--chmod`` sets their mode.
Parent directories already in the image are written with their existing
metadata (overlayfs shows the top layer's copy of a directory, so writing
``/tmp`` as 0755 would break it); missing ones are created 0755.

ADD also unpacks a local tar archive (plain, gzip, bzip2, xz) into the
destination; URLs are refused (builds are offline).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import posixpath
import stat
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.errors import ImageError
from composer.image.changes import split_words
from composer.image.context import Source, content_digest, find_sources, walk_tree
from composer.image.layers import lookup, resolve_path, tarinfo_for

if TYPE_CHECKING:
    from composer.image.builder import Builder, _State
    from composer.image.dockerfile import Instruction, Stage

_TAR_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


class _Plan:
    """What one COPY writes: (image path, source entry or heredoc bytes) pairs."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Path | None, os.stat_result | None, bytes | None]] = []
        self.archives: list[tuple[str, Path]] = []


def _words(ins: Instruction, env: dict[str, str]) -> list[str]:
    exec_form = ins.json_args()
    if exec_form is not None:
        return [" ".join(split_words(w, env, split=False)) if w else w for w in exec_form]
    return split_words(ins.args, env)


def _chmod(text: str | None) -> int | None:
    if not text:
        return None
    try:
        mode = int(text, 8)
    except ValueError:
        raise ImageError(f"invalid chmod parameter {text!r}: expected an octal mode such as 0755") from None
    if mode > 0o7777:
        raise ImageError(f"invalid chmod parameter {text!r}")
    return mode


@contextlib.contextmanager
def _source_root(b: Builder, state: _State, ref: str | None) -> Iterator[tuple[Path, str, Any]]:
    """(root directory, cache text, ignore) for a COPY's sources; a mount is released on exit."""
    if ref is None:
        yield b.context, "context", b.ignore
        return
    from composer.image.buildrun import read_only_view, release_view

    index = b.stage_index(ref)
    if index is not None:
        assert b.dockerfile is not None
        src_state = b._stage(b.dockerfile.stages[index])
        layers = b.layer_paths(src_state)
        what = f"stage {ref}"
    else:
        image = b.base_image(ref)
        layers = list(image.layers)
        what = f"image {ref}"
    with b.scratch() as scratch:
        view = read_only_view(layers, scratch)
        try:
            yield view, what, None
        finally:
            release_view(view)


def _source_key(b: Builder, ref: str | None) -> str | None:
    """A cache text for --from sources that needs no mount: the stage's chain key, the image id."""
    if ref is None:
        return None
    index = b.stage_index(ref)
    if index is not None:
        assert b.dockerfile is not None
        return "stage:" + b._stage(b.dockerfile.stages[index]).key
    return "image:" + b.base_image(ref).id


def copy(b: Builder, stage: Stage, ins: Instruction, state: _State) -> _State:
    from composer.image.builder import chain, join_workdir
    from composer.image.buildinstr import scope

    env = scope(state)
    is_add = ins.keyword == "ADD"
    words = _words(ins, env)
    if len(words) < 2:
        raise ImageError(f"{ins.keyword} requires at least two arguments, but only one was provided")
    *srcs, dest = words
    dest_abs = join_workdir(state, dest) if dest not in (".", "./") else (state.config.get("WorkingDir") or "/")
    dest_dir = dest.endswith("/") or dest in (".", "./")
    chown = " ".join(split_words(ins.flags["chown"], env)) if "chown" in ins.flags else None
    chmod = _chmod(ins.flags.get("chmod"))
    ref = " ".join(split_words(ins.flags["from"], env)) if "from" in ins.flags else None
    if is_add and ref is not None:
        raise ImageError("ADD does not support --from (use COPY --from)")
    heredocs = {f"<<{d.name}": d for d in ins.heredocs} | {f"<<-{d.name}": d for d in ins.heredocs}
    for src in srcs:
        if is_add and src.startswith(("http://", "https://", "git@")):
            raise ImageError(f"ADD from a URL ({src}) is not supported: builds are offline; download it into the context")
    mount_free_key = _source_key(b, ref)
    with _source_root(b, state, ref) if mount_free_key is None else contextlib.nullcontext(None) as root_info:
        sources: list[tuple[str, Source | None, bytes | None]] = []
        if root_info is not None:
            root, what, ignore = root_info
            for src in srcs:
                if src in heredocs:
                    sources.append((src, None, _heredoc_bytes(heredocs[src], env)))
                else:
                    sources.extend((src, s, None) for s in find_sources(root, src, ignore, what))
            entries_by_source = [(s, list(walk_tree(s, ignore)) if s else []) for _, s, _ in sources]
            digest = content_digest([e for _, es in entries_by_source for e in es])
            digest += json.dumps([d.decode(errors="replace") for _, _, d in sources if d is not None])
        else:
            digest = mount_free_key or ""
        key = chain(state.key, json.dumps([ins.keyword, srcs, dest_abs, dest_dir, chown, chmod, digest]))
        hit = b.cached(key)
        if hit is not None:
            b.log("CACHED")
            from composer.image.buildexec import _carry

            return _carry(hit, state)
        if root_info is None:
            with _source_root(b, state, ref) as (root, what, ignore):
                sources = [(src, s, None) for src in srcs for s in find_sources(root, src, ignore, what)]
                return _write(b, ins, state, key, sources, dest, dest_abs, dest_dir, chown, chmod, is_add, None)
        return _write(b, ins, state, key, sources, dest, dest_abs, dest_dir, chown, chmod, is_add, b.ignore)


def _heredoc_bytes(doc: Any, env: dict[str, str]) -> bytes:
    text = doc.content
    if doc.expand:
        from composer.image.changes import _expand

        out, i = [], 0
        while i < len(text):
            if text[i] == "$":
                value, i = _expand(text, i, env)
                out.append(value)
            else:
                out.append(text[i])
                i += 1
        text = "".join(out)
    return str(text).encode()


def _write(b: Builder, ins: Instruction, state: _State, key: str,
           sources: list[tuple[str, Source | None, bytes | None]], dest: str, dest_abs: str,
           dest_dir: bool, chown: str | None, chmod: int | None, is_add: bool, ignore: Any) -> _State:
    from composer.image.buildexec import _carry, resolve_user

    if len(sources) > 1 and not dest_dir:
        raise ImageError(f"When using {ins.keyword} with more than one source file, "
                         "the destination must be a directory and end with a /")
    layers = b.layer_paths(state)
    uid, gid = 0, 0
    if chown:
        uid, gid, _ = resolve_user(chown, layers, same_gid=True)
    dest_abs = resolve_path(layers, dest_abs)
    written: set[str] = set()
    now = int(time.time())

    def parents(tar: tarfile.TarFile, path: str, owner: tuple[int, int] = (0, 0)) -> None:
        parts = [p for p in path.split("/") if p]
        for depth in range(1, len(parts) + 1):
            rel = "/".join(parts[:depth])
            if rel in written:
                continue
            written.add(rel)
            found = lookup(layers, rel)
            if found is not None and stat.S_ISDIR(found[1].st_mode):
                info = tarinfo_for(str(found[0]), rel, found[1])
                info.pax_headers = {}
            else:
                info = tarfile.TarInfo(rel)
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, now
                if depth == len(parts):
                    info.uid, info.gid = owner
            tar.addfile(info)

    def add_entry(tar: tarfile.TarFile, name: str, path: Path, st: os.stat_result) -> None:
        info = tarinfo_for(str(path), name, st)
        info.pax_headers = {}
        info.uid, info.gid = uid, gid
        if chmod is not None:
            info.mode = chmod
        if info.isreg():
            with open(path, "rb") as fh:
                tar.addfile(info, fh)
        else:
            tar.addfile(info)
        if info.isdir():
            written.add(name)

    def entries(tar: tarfile.TarFile) -> None:
        for src_text, source, data in sources:
            if data is not None:
                target = posixpath.join(dest_abs, src_text.lstrip("<-")) if dest_dir else dest_abs
                rel = target.lstrip("/")
                parents(tar, posixpath.dirname(rel))
                info = tarfile.TarInfo(rel)
                info.size, info.mode, info.mtime = len(data), chmod if chmod is not None else 0o644, now
                info.uid, info.gid = uid, gid
                tar.addfile(info, io.BytesIO(data))
                continue
            assert source is not None
            if is_add and not source.is_dir and _is_archive(source.path):
                rel = dest_abs.strip("/")
                parents(tar, rel)
                _extract(tar, source.path, rel, written)
                continue
            if source.is_dir:
                rel = dest_abs.strip("/")
                parents(tar, posixpath.dirname(rel))
                tree = list(walk_tree(source, ignore))
                if rel and rel not in written:
                    found = lookup(layers, rel)
                    if found is not None and stat.S_ISDIR(found[1].st_mode):
                        parents(tar, rel)
                    else:
                        add_entry(tar, rel, tree[0][1], tree[0][2])
                for sub, path, st in tree[1:]:
                    add_entry(tar, f"{rel}/{sub}" if rel else sub, path, st)
                continue
            found = lookup(layers, dest_abs.strip("/"))
            into = dest_dir or (found is not None and stat.S_ISDIR(found[1].st_mode))
            target = posixpath.join(dest_abs, posixpath.basename(source.rel) or source.path.name) if into else dest_abs
            rel = target.strip("/")
            if not rel:
                raise ImageError(f"cannot copy {source.rel} onto /")
            parents(tar, posixpath.dirname(rel), (uid, gid))
            add_entry(tar, rel, source.path, os.lstat(source.path))

    from composer.image.builder import write_tar_entries

    shown = f"{ins.keyword} " + " ".join([*(s for s, _, _ in dict.fromkeys(sources)), dest])
    new = b.add_layer_from_tar(lambda out: write_tar_entries(out, entries), state, key, shown)
    return _carry(new, state)


def _is_archive(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    if head.startswith(_TAR_MAGIC):
        return True
    return len(head) == 512 and head[257:262] == b"ustar"


def _extract(tar: tarfile.TarFile, path: Path, prefix: str, written: set[str]) -> None:
    """The members of the archive at ``path``, re-rooted under ``prefix`` (ADD's unpacking)."""
    from composer.image.ingest import open_decompressed

    def clean(name: str) -> str:
        parts: list[str] = []
        for part in name.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise ImageError(f'ADD {path.name}: refusing archive entry "{name}": path escapes the destination')
                parts.pop()
            else:
                parts.append(part)
        return "/".join(parts)

    with open(path, "rb") as raw:
        stream = open_decompressed(raw, str(path))
        try:
            with tarfile.open(fileobj=stream, mode="r|") as src:
                for member in src:
                    rel = clean(member.name)
                    if not rel:
                        continue
                    member.name = f"{prefix}/{rel}" if prefix else rel
                    if member.islnk():
                        target = clean(member.linkname)
                        member.linkname = f"{prefix}/{target}" if prefix else target
                    if member.isdir():
                        written.add(member.name)
                    fileobj = src.extractfile(member) if member.isreg() else None
                    tar.addfile(member, fileobj)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ImageError(f"ADD {path.name}: not a valid tar archive") from exc


def ensure_dir(b: Builder, state: _State, path: str) -> _State:
    """WORKDIR's side effect: create ``path`` (a layer) when the image lacks it."""
    from composer.image.builder import chain, write_tar_entries
    from composer.image.buildexec import _carry

    layers = b.layer_paths(state)
    resolved = resolve_path(layers, path)
    rel = resolved.strip("/")
    found = lookup(layers, rel) if rel else None
    if not rel or (found is not None and stat.S_ISDIR(found[1].st_mode)):
        return state
    key = chain(state.key, "WORKDIR-mkdir " + resolved)
    hit = b.cached(key)
    if hit is not None:
        return _carry(hit, state)
    now = int(time.time())

    def entries(tar: tarfile.TarFile) -> None:
        parts = rel.split("/")
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            existing = lookup(layers, sub)
            if existing is not None and stat.S_ISDIR(existing[1].st_mode):
                info = tarinfo_for(str(existing[0]), sub, existing[1])
                info.pax_headers = {}
            else:
                info = tarfile.TarInfo(sub)
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, now
            tar.addfile(info)

    new = b.add_layer_from_tar(lambda out: write_tar_entries(out, entries), state, key, f"WORKDIR {path}")
    return _carry(new, state)
