"""Making layers: an overlay upper directory as an OCI layer tar, and lookups in a layer stack.

``write_diff`` walks the upper directory of a finished RUN step: overlayfs
writes a deleted path as a 0/0 character device and a directory that
replaced a lower one as ``trusted.overlay.opaque=y``; the OCI layer says the
same with ``.wh.NAME`` files and ``.wh..wh..opq`` (image-spec ``layer.md``).
Entries are written in sorted order with their numeric owners, modes and
mtimes; hard links inside the upper dir become tar hard links.

``lookup`` answers "what is at this path in the image?" from the snapshot
directories alone, top layer first, honouring whiteouts and opaque
directories, as the overlay mount would.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import tarfile

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
_OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    for name in _OPAQUE_XATTRS:
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def tarinfo_for(path: str, name: str, st: os.stat_result) -> tarfile.TarInfo:
    import tarfile  # not at module level: ``run`` imports this module for ``lookup`` alone

    """A TarInfo for ``path`` (already lstat'ed) stored under ``name``."""
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.uname = info.gname = ""
    info.mtime = int(st.st_mtime)
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISREG(st.st_mode):
        info.type, info.size = tarfile.REGTYPE, st.st_size
    elif stat.S_ISLNK(st.st_mode):
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
    elif stat.S_ISFIFO(st.st_mode):
        info.type = tarfile.FIFOTYPE
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    else:
        raise ValueError(f"unsupported file type at {path}")
    xattrs = {}
    if not stat.S_ISLNK(st.st_mode):
        try:
            names = os.listxattr(path, follow_symlinks=False)
        except OSError:
            names = []
        for attr in names:
            if attr.startswith(("trusted.overlay.", "user.overlay.")):
                continue
            try:
                value = os.getxattr(path, attr, follow_symlinks=False)
            except OSError:
                continue
            xattrs["SCHILY.xattr." + attr] = value.decode("utf-8", "surrogateescape")
    if xattrs:
        info.pax_headers = xattrs
    return info


def write_diff(upper: Path, out: BinaryIO, skip: Iterable[str] = ()) -> None:
    import tarfile

    """The upper dir of an overlay as an OCI layer tar (``skip``: relative paths left out)."""
    skipped = set(skip)
    links: dict[tuple[int, int], str] = {}
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        def walk(rel: str) -> None:
            directory = os.path.join(upper, rel) if rel else str(upper)
            for entry in sorted(os.listdir(directory)):
                name = f"{rel}/{entry}" if rel else entry
                if name in skipped:
                    continue
                path = os.path.join(directory, entry)
                st = os.lstat(path)
                if _is_whiteout(st):
                    info = tarfile.TarInfo(f"{rel}/{WHITEOUT_PREFIX}{entry}" if rel else WHITEOUT_PREFIX + entry)
                    info.mtime = int(st.st_mtime)
                    tar.addfile(info)
                    continue
                info = tarinfo_for(path, name, st)
                if stat.S_ISDIR(st.st_mode):
                    tar.addfile(info)
                    if _is_opaque(path):
                        opq = tarfile.TarInfo(f"{name}/{OPAQUE}")
                        opq.mtime = int(st.st_mtime)
                        tar.addfile(opq)
                    walk(name)
                elif stat.S_ISREG(st.st_mode):
                    key = (st.st_dev, st.st_ino)
                    if st.st_nlink > 1 and key in links:
                        info.type, info.linkname, info.size = tarfile.LNKTYPE, links[key], 0
                        tar.addfile(info)
                        continue
                    links[key] = name
                    with open(path, "rb") as fh:
                        tar.addfile(info, fh)
                else:
                    tar.addfile(info)

        walk("")


def lookup(layers: Sequence[Path], rel: str) -> tuple[Path, os.stat_result] | None:
    """(path, lstat) of ``rel`` in the stack ``layers`` (bottom first), or None if absent.

    Parent symlinks are not followed: a build path crossing a symlinked
    directory is looked up literally, and then reported absent.
    """
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts:
        return (Path(layers[-1]), os.lstat(layers[-1])) if layers else None
    for fs in reversed(layers):
        opaque_above = False
        for depth in range(len(parts)):
            here = os.path.join(fs, *parts[: depth + 1])
            try:
                st = os.lstat(here)
            except (FileNotFoundError, NotADirectoryError):
                if opaque_above:
                    return None
                break
            if _is_whiteout(st):
                return None
            if depth + 1 == len(parts):
                return Path(here), st
            if not stat.S_ISDIR(st.st_mode):
                return None  # a file (or symlink) replaces the parent in this layer
            opaque_above = opaque_above or _is_opaque(here)
    return None


def resolve_path(layers: Sequence[Path], path: str) -> str:
    """``path`` in the image with its symlinked parent directories followed (the last
    component is not), scoped to the image's root as in a chroot."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        if parts:
            found = lookup(layers, "/".join([*resolved, part]))
            if found is not None and stat.S_ISLNK(found[1].st_mode) and hops < 40:
                hops += 1
                target = os.readlink(found[0])
                if target.startswith("/"):
                    resolved = []
                parts[:0] = [p for p in target.split("/") if p not in ("", ".")]
                continue
        resolved.append(part)
    return "/" + "/".join(resolved)
