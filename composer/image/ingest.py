"""Read a (possibly compressed) tar stream into a file, hashing the tar as it goes.

``docker import`` takes a plain tar or one compressed with gzip, bzip2 or xz,
told apart by their magic numbers, never by the file name; so does this. The
sha256 of the uncompressed stream is the layer's diff id.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import zlib
from typing import Any, BinaryIO

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
        return _zstd_reader(stream, source)
    return stream  # type: ignore[return-value]


def _zstd_reader(stream: BinaryIO, source: str) -> BinaryIO:
    """zstd: the ``zstandard`` module when installed, else the ``zstd`` program (a pipe
    fed by a thread). Python 3.11's standard library has no zstd."""
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        return zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)  # type: ignore[no-any-return]
    import shutil
    import subprocess
    import threading

    program = shutil.which("zstd")
    if program is None:
        raise ImageError(f"{source}: zstd-compressed layer, but neither the zstandard module nor the zstd program is installed")
    proc = subprocess.Popen([program, "-dcq"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    sink = proc.stdin

    def feed() -> None:
        try:
            while chunk := stream.read(_CHUNK):
                sink.write(chunk)
        except (OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.close()

    threading.Thread(target=feed, daemon=True).start()
    return io.BufferedReader(_ProcReader(proc, source), _CHUNK)  # type: ignore[return-value]


class _ProcReader(io.RawIOBase):
    """The stdout of a decompressor process; a non-zero exit is a broken archive."""

    def __init__(self, proc: Any, source: str) -> None:
        self._proc = proc
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._proc.stdout.readinto(buffer)
        if not n:
            if self._proc.wait() != 0:
                raise EOFError(f"{self._source}: zstd reports a corrupt stream")
            return 0
        return int(n)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()
        super().close()


def copy_decompressed(src: BinaryIO, out: BinaryIO, source: str) -> tuple[str, int]:
    """Copy ``src`` uncompressed into ``out``; return (``sha256:<hex>``, size)."""
    digest = hashlib.sha256()
    size = 0
    errors: tuple[type[BaseException], ...] = (EOFError, zlib.error, ValueError)
    try:
        import lzma

        errors = (*errors, lzma.LZMAError)
        stream = open_decompressed(src, source)
        try:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        finally:
            if isinstance(stream, io.BufferedReader) and isinstance(stream.raw, _ProcReader):
                stream.close()
    except errors as exc:
        raise ImageError(f"{source}: not a valid tar archive") from exc
    except OSError as exc:
        # gzip.BadGzipFile is an OSError without errno: a broken archive, not a broken disk.
        if exc.errno is None:
            raise ImageError(f"{source}: not a valid tar archive") from exc
        raise ImageError(f"{source}: {exc.strerror}") from exc
    out.flush()
    return "sha256:" + digest.hexdigest(), size
