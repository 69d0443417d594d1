"""Building image layers entry by entry, for the tests that feed hostile or unusual tars to the store."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable

Entry = Callable[[tarfile.TarFile], None]


def file_entry(name: str, data: bytes = b"x", **kw: object) -> Entry:
    """A regular file; ``kw`` sets further ``TarInfo`` attributes (mode, uid...)."""
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        for key, value in kw.items():
            setattr(info, key, value)
        tar.addfile(info, io.BytesIO(data))

    return add


def special_entry(name: str, kind: bytes, target: str = "", major: int = 0, minor: int = 0) -> Entry:
    """A link (``tarfile.SYMTYPE``/``LNKTYPE`` to ``target``), a device, a FIFO, a directory."""
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, target
        info.devmajor, info.devminor = major, minor
        tar.addfile(info)

    return add


def tar_bytes(*entries: Entry) -> bytes:
    """The entries as one uncompressed PAX tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            entry(tar)
    return buf.getvalue()
