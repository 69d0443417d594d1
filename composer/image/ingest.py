"""Read a (possibly compressed) tar stream into a file, hashing the tar as it goes.

``docker import`` takes a plain tar or one compressed with gzip, bzip2 or xz,
told apart by their magic numbers, never by the file name; so does this. The
sha256 of the uncompressed stream is the layer's diff id.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from typing import BinaryIO

from composer.errors import ImageError

_CHUNK = 1 << 20
_GZIP = b"\x1f\x8b"
_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"
_ZSTD = b"\x28\xb5\x2f\xfd"


class _Prepend(io.RawIOBase):
    """``head`` followed by the rest of ``rest``: lets us sniff a pipe's first bytes."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _read_head(src: BinaryIO, size: int) -> bytes:
    head = b""
    while len(head) < size:
        chunk = src.read(size - len(head))
        if not chunk:
            break
        head += chunk
    return head


def open_decompressed(src: BinaryIO, source: str) -> BinaryIO:
    """``src`` as an uncompressed stream, whatever its compression."""
    head = _read_head(src, 6)
    stream = io.BufferedReader(_Prepend(head, src), _CHUNK)
    if head.startswith(_GZIP):
        import gzip

        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    if head.startswith(_BZIP2):
        import bz2

        return bz2.BZ2File(stream, mode="rb")  # type: ignore[return-value]
    if head.startswith(_XZ):
        import lzma

        return lzma.LZMAFile(stream, mode="rb")  # type: ignore[return-value]
    if head.startswith(_ZSTD):
        raise ImageError(f"{source}: zstd-compressed archives are not supported; decompress it first")
    return stream  # type: ignore[return-value]


def copy_decompressed(src: BinaryIO, out: BinaryIO, source: str) -> tuple[str, int]:
    """Copy ``src`` uncompressed into ``out``; return (``sha256:<hex>``, size)."""
    digest = hashlib.sha256()
    size = 0
    errors: tuple[type[BaseException], ...] = (EOFError, zlib.error, ValueError)
    try:
        import lzma

        errors = (*errors, lzma.LZMAError)
        stream = open_decompressed(src, source)
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    except errors as exc:
        raise ImageError(f"{source}: not a valid tar archive") from exc
    except OSError as exc:
        # gzip.BadGzipFile is an OSError without errno: a broken archive, not a broken disk.
        if exc.errno is None:
            raise ImageError(f"{source}: not a valid tar archive") from exc
        raise ImageError(f"{source}: {exc.strerror}") from exc
    out.flush()
    return "sha256:" + digest.hexdigest(), size
