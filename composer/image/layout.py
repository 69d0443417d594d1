"""The OCI image layout on disk: ``oci-layout``, ``index.json``, ``blobs/sha256/``.

See the OCI image spec, ``image-layout.md``. Blobs are content addressed and
immutable: a blob is written to ``ingest/`` first, its digest computed while
writing, then renamed into ``blobs/sha256/<hex>`` (rename is atomic, so a
reader never sees half a blob). ``index.json`` lists one manifest descriptor
per reference, the reference in the ``org.opencontainers.image.ref.name``
annotation (canonical form, ``docker.io/library/busybox:latest``, as
containerd writes it); an image without reference has a descriptor without
that annotation. Writers of ``index.json`` hold ``index.lock`` (flock) and
replace the file by rename; readers need no lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from composer.errors import StateError

REF_NAME = "org.opencontainers.image.ref.name"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

_DIGEST_RE = re.compile(r"sha256:([a-f0-9]{64})")


def digest_hex(digest: str) -> str:
    match = _DIGEST_RE.fullmatch(digest)
    if match is None:
        raise StateError(f"unsupported digest {digest!r}: expected sha256:<64 hex>")
    return match[1]


def atomic_write(path: Path, data: bytes) -> None:
    """Write, fsync, rename: ``path`` holds either the old or the new content."""
    import tempfile  # writers only: ``run`` reads the store

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class OciLayout:
    """One OCI image layout directory (``STATE/images``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.ingest_dir = root / "ingest"
        self.index_path = root / "index.json"

    def ensure(self) -> None:
        """Create the layout if missing (idempotent)."""
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.ingest_dir.mkdir(exist_ok=True)
        marker = self.root / "oci-layout"
        if not marker.exists():
            atomic_write(marker, b'{"imageLayoutVersion":"1.0.0"}')
        if not self.index_path.exists():
            with self.lock():
                if not self.index_path.exists():
                    self.write_index([])

    # blobs

    def blob_path(self, digest: str) -> Path:
        return self.blobs / digest_hex(digest)

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).exists()

    def write_blob(self, data: bytes) -> str:
        """Store ``data``; return its digest. Writing an existing blob is a no-op."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if not path.exists():
            atomic_write(path, data)
        return digest

    def commit_blob(self, tmp: Path, digest: str) -> None:
        """Move an ingested file (already hashed to ``digest``) into the blob store."""
        path = self.blob_path(digest)
        if path.exists():
            tmp.unlink()
            return
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)

    @contextlib.contextmanager
    def ingest(self) -> Iterator[tuple[Path, BinaryIO]]:
        """A temporary file in ``ingest/``, removed on exit unless committed (moved)."""
        import tempfile

        fd, name = tempfile.mkstemp(prefix="blob-", dir=self.ingest_dir)
        path = Path(name)
        try:
            with os.fdopen(fd, "w+b") as fh:
                yield path, fh
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def read_blob(self, digest: str) -> bytes:
        """The blob's bytes, verified against its digest."""
        try:
            data = self.blob_path(digest).read_bytes()
        except FileNotFoundError as exc:
            raise StateError(f"image store: blob {digest} is missing") from exc
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise StateError(f"image store: blob {digest} is corrupt (digest mismatch)")
        return data

    def read_json(self, digest: str) -> dict[str, Any]:
        value = json.loads(self.read_blob(digest))
        if not isinstance(value, dict):
            raise StateError(f"image store: blob {digest} is not a JSON object")
        return value

    def delete_blob(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.blob_path(digest).unlink()

    # index

    def read_index(self) -> list[dict[str, Any]]:
        """The manifest descriptors of ``index.json`` ([] if the layout does not exist)."""
        try:
            index = json.loads(self.index_path.read_bytes())
        except FileNotFoundError:
            return []
        except ValueError as exc:
            raise StateError(f"image store: {self.index_path} is not valid JSON") from exc
        manifests = index.get("manifests") if isinstance(index, dict) else None
        return [m for m in manifests or [] if isinstance(m, dict) and "digest" in m]

    def write_index(self, manifests: list[dict[str, Any]]) -> None:
        """Replace ``index.json``; the caller holds ``lock()``."""
        ordered = sorted(
            manifests,
            key=lambda m: (m.get("annotations", {}).get(REF_NAME) is None,
                           m.get("annotations", {}).get(REF_NAME, ""), m["digest"]),
        )
        index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": ordered}
        atomic_write(self.index_path, json.dumps(index, indent=2).encode() + b"\n")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive lock for writers of ``index.json`` (and blob deletion)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "index.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
