"""Unpack one layer (an uncompressed tar) into an empty snapshot directory, safely.

A layer comes from whoever built the image, so every entry is treated as
hostile (CVE-2019-14271, CVE-2018-15664, CVE-2007-4559 and friends):

- names are cleaned lexically; a leading ``/`` is dropped (``/etc/x`` is the
  layer's ``etc/x``, as Docker does) and a ``..`` that climbs above the layer
  root is refused;
- parent directories are resolved component by component *by us*, never by
  the kernel: a symlink met on the way is read and followed inside the
  snapshot root (an absolute target restarts at the snapshot root, as in a
  chroot); a ``..`` that would leave the root is refused. The final component
  is never followed (``O_NOFOLLOW``, ``lstat``, replace instead of open);
- hard links must point at an entry this layer already unpacked, never at a
  directory;
- modes, numeric uid/gid, mtimes, symlinks and ``SCHILY.xattr`` attributes are
  kept (ownership only when running as root), except ``trusted.overlay.*``
  xattrs, which would let a layer forge overlayfs metadata;
- character and block devices are created with ``mknod`` when root, and
  skipped when the kernel refuses (user namespaces) or we are not root;
- OCI whiteouts become overlayfs whiteouts, so the snapshot can be an overlay
  lower directory as is: ``.wh.NAME`` becomes a 0/0 character device ``NAME``
  and ``.wh..wh..opq`` sets ``trusted.overlay.opaque=y`` on its directory.
  Both need root; without it they are dropped. In the bottom layer of an
  image (``import``) they hide nothing, so keeping them is harmless.
  Other ``.wh..wh.*`` entries (AUFS bookkeeping) are ignored.

Directory metadata is applied last, deepest first, so that writing children
does not change a directory's mtime and a read-only directory can be filled.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import stat
import tarfile
from pathlib import Path
from typing import BinaryIO

from composer.errors import ImageError

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
_MAX_SYMLINKS = 40
_CHUNK = 1 << 20


def unpack_layer(fh: BinaryIO, dest: Path, source: str) -> int:
    """Unpack the seekable uncompressed tar ``fh`` into ``dest`` (an existing empty
    directory). Return the bytes of regular-file content. ``source`` names the
    archive in error messages. Raises ImageError; the caller removes ``dest``."""
    return _Unpacker(str(dest), source).run(fh)


def rmtree(path: Path) -> None:
    """Remove a tree even if a layer made some of its directories read-only."""

    def retry(func: object, target: str, _exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), 0o700)
            if os.path.isdir(target) and not os.path.islink(target):
                os.chmod(target, 0o700)
                shutil.rmtree(target, ignore_errors=True)
            else:
                os.unlink(target)

    if os.path.lexists(path):
        shutil.rmtree(path, onerror=retry)


class _Unpacker:
    def __init__(self, root: str, source: str) -> None:
        self.root = root
        self.source = source
        self.privileged = os.geteuid() == 0
        self.dirs: dict[str, tarfile.TarInfo] = {}
        self.real_dirs: dict[str, str] = {}
        self.size = 0

    def _refuse(self, name: str, why: str) -> ImageError:
        return ImageError(f'{self.source}: refusing layer entry "{name}": {why}')

    def run(self, fh: BinaryIO) -> int:
        self.src_fd: int | None = None
        self.src_size = 0
        with contextlib.suppress(OSError, AttributeError, ValueError, io.UnsupportedOperation):
            if fh.writable():
                fh.flush()  # the ingest file was just written through this buffer
            self.src_size = os.fstat(fh.fileno()).st_size
            self.src_fd = fh.fileno()
        try:
            with tarfile.open(fileobj=fh, mode="r:") as tar:
                for member in tar:
                    self._member(tar, member)
                end = tar.offset
        except (tarfile.TarError, EOFError) as exc:
            raise ImageError(f"{self.source}: not a valid tar archive") from exc
        # tarfile stops silently at a truncated or garbled header after the
        # first member; what follows the last member must be the end-of-archive
        # zero blocks (or nothing, which Go's archive/tar accepts too).
        fh.seek(end)
        tail = fh.read(tarfile.BLOCKSIZE)
        if tail.strip(b"\0"):
            raise ImageError(f"{self.source}: not a valid tar archive")
        self._finish_dirs()
        return self.size

    # names and paths

    def _clean(self, name: str) -> list[str]:
        parts: list[str] = []
        for part in name.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise self._refuse(name, "path escapes the layer root")
                parts.pop()
            else:
                parts.append(part)
        return parts

    def _resolve(self, name: str, parts: list[str], create: bool) -> str:
        """The real path of directory ``parts`` under the root, symlinks followed in scope.

        Paths found to be real directories all the way down are remembered
        (``self.real_dirs``) until the layer replaces something; most entries
        then cost no system call here."""
        key = "/".join(parts)
        known = self.real_dirs.get(key)
        if known is not None:
            return known
        resolved: list[str] = []
        plain = True
        pending = list(parts)
        hops = 0
        while pending:
            part = pending.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if not resolved:
                    raise self._refuse(name, "path escapes the layer root")
                resolved.pop()
                continue
            path = os.path.join(self.root, *resolved, part)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                if not create:
                    raise self._refuse(name, f'parent "{"/".join([*resolved, part])}" does not exist') from None
                os.mkdir(path, 0o755)
                resolved.append(part)
                continue
            if stat.S_ISLNK(st.st_mode):
                plain = False
                hops += 1
                if hops > _MAX_SYMLINKS:
                    raise self._refuse(name, "too many levels of symbolic links")
                target = os.readlink(path)
                if target.startswith("/"):
                    resolved = []
                pending[:0] = target.split("/")
            elif stat.S_ISDIR(st.st_mode):
                resolved.append(part)
            else:
                raise self._refuse(name, f'parent "{"/".join([*resolved, part])}" is not a directory')
        real = os.path.join(self.root, *resolved)
        if plain:
            self.real_dirs[key] = real
        return real

    def _place(self, name: str, parts: list[str], is_dir: bool) -> str:
        """Path for a new entry: parents made, any old non-directory entry removed."""
        path = os.path.join(self._resolve(name, parts[:-1], create=True), parts[-1])
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return path
        if stat.S_ISDIR(st.st_mode):
            if not is_dir:
                rmtree(Path(path))
                self.dirs.pop(path, None)
                self.real_dirs.clear()
        else:
            os.unlink(path)
        return path

    # entries

    def _member(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        parts = self._clean(member.name)
        if not parts:
            if member.isdir():
                self.dirs[self.root] = member
            return
        base = parts[-1]
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(member.name, parts)
            return
        try:
            self._create(tar, member, parts)
        except (OSError, OverflowError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise ImageError(
                f'{self.source}: cannot unpack layer entry "{member.name}": {reason}'
            ) from exc

    def _create(self, tar: tarfile.TarFile, member: tarfile.TarInfo, parts: list[str]) -> None:
        name = member.name
        if member.islnk():
            self._hardlink(member, parts)
        elif member.isdir():
            path = self._place(name, parts, is_dir=True)
            if not os.path.isdir(path):
                os.mkdir(path, 0o700)
            self.dirs[path] = member
        elif member.isreg():
            path = self._place(name, parts, is_dir=False)
            self._write_file(tar, member, path)
        elif member.issym():
            path = self._place(name, parts, is_dir=False)
            os.symlink(member.linkname, path)
            self._metadata(path, member)
        elif member.isfifo():
            path = self._place(name, parts, is_dir=False)
            os.mkfifo(path, 0o600)
            self._metadata(path, member)
        elif member.ischr() or member.isblk():
            self._device(member, parts)

    def _write_file(self, tar: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, 0o600)
        try:
            if not self._copy_range(tar, member, fd):
                src = tar.extractfile(member)
                written = 0
                while src is not None and (chunk := src.read(_CHUNK)):
                    _write_all(fd, chunk)
                    written += len(chunk)
                if written != member.size:
                    raise tarfile.ReadError("unexpected end of data")
        finally:
            os.close(fd)
        self.size += member.size
        self._metadata(path, member)

    def _copy_range(self, tar: tarfile.TarFile, member: tarfile.TarInfo, fd: int) -> bool:
        """Copy a plain member's bytes in the kernel (copy_file_range) straight from the
        layer file; False when that does not apply (a stream, sparse member, old kernel)."""
        if self.src_fd is None or member.issparse() or member.size == 0:
            return member.size == 0 and not member.issparse()
        offset, left = member.offset_data, member.size  # absolute: tarfile counts from the file start
        if offset + left > self.src_size:
            raise tarfile.ReadError("unexpected end of data")
        try:
            while left:
                n = os.copy_file_range(self.src_fd, fd, min(left, 1 << 30), offset)
                if n == 0:
                    raise tarfile.ReadError("unexpected end of data")
                offset += n
                left -= n
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL) and left == member.size:
                self.src_fd = None  # fall back to reading, for the rest of the layer too
                return False
            raise
        return True

    def _hardlink(self, member: tarfile.TarInfo, parts: list[str]) -> None:
        name = member.name
        target_parts = self._clean(member.linkname)
        if not target_parts:
            raise self._refuse(name, f'hard link target "{member.linkname}" is the layer root')
        target_dir = self._resolve(name, target_parts[:-1], create=False)
        target = os.path.join(target_dir, target_parts[-1])
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            raise self._refuse(name, f'hard link target "{member.linkname}" is not in the layer') from None
        if stat.S_ISDIR(st.st_mode):
            raise self._refuse(name, f'hard link target "{member.linkname}" is a directory')
        path = self._place(name, parts, is_dir=False)
        os.link(target, path, follow_symlinks=False)

    def _device(self, member: tarfile.TarInfo, parts: list[str]) -> None:
        if not self.privileged:
            return
        path = self._place(member.name, parts, is_dir=False)
        kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
        try:
            os.mknod(path, kind | 0o600, os.makedev(member.devmajor, member.devminor))
        except PermissionError:  # no CAP_MKNOD (user namespace): skip, as rootless engines do
            return
        self._metadata(path, member)

    def _whiteout(self, name: str, parts: list[str]) -> None:
        base = parts[-1]
        if base == WHITEOUT_OPAQUE:
            directory = self._resolve(name, parts[:-1], create=True)
            if self.privileged:
                _try_xattr(directory, OVERLAY_OPAQUE_XATTR, b"y")
            return
        if base.startswith(WHITEOUT_META_PREFIX):
            return
        hidden = base[len(WHITEOUT_PREFIX) :]
        if not hidden or hidden in (".", ".."):
            raise self._refuse(name, "invalid whiteout name")
        path = self._place(name, [*parts[:-1], hidden], is_dir=False)
        if self.privileged:
            with contextlib.suppress(PermissionError):
                os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))

    # metadata

    def _metadata(self, path: str, member: tarfile.TarInfo) -> None:
        is_link = member.issym()
        if self.privileged:
            os.chown(path, member.uid, member.gid, follow_symlinks=False)
        if not is_link:
            os.chmod(path, member.mode & 0o7777)
        for key, value in member.pax_headers.items():
            if key.startswith("SCHILY.xattr.") and not is_link:
                attr = key[len("SCHILY.xattr.") :]
                if not attr.startswith("trusted.overlay."):
                    _try_xattr(path, attr, value.encode("utf-8", "surrogateescape"))
        mtime = int(member.mtime * 1_000_000_000)
        os.utime(path, ns=(mtime, mtime), follow_symlinks=False)

    def _finish_dirs(self) -> None:
        for path in sorted(self.dirs, key=lambda p: p.count("/"), reverse=True):
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISDIR(os.lstat(path).st_mode):
                    self._metadata(path, self.dirs[path])


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _try_xattr(path: str, name: str, value: bytes) -> None:
    try:
        os.setxattr(path, name, value, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.ENOTSUP, errno.EPERM, errno.EOPNOTSUPP, errno.EACCES):
            raise
