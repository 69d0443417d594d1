"""The local image store: OCI blobs in ``STATE/images``, unpacked layers in ``STATE/snapshots``.

Layout (see ``layout.py`` and docs/internals.md)::

    images/oci-layout, index.json, index.lock, blobs/sha256/<hex>, ingest/
    snapshots/<diff-id hex>/fs           the layer unpacked, shared read-only
    snapshots/<diff-id hex>/layer.json   {"diff_id", "size"}: unpacked content bytes

Layers are stored uncompressed (``application/vnd.oci.image.layer.v1.tar``):
the blob digest is the diff id, nothing has to be decompressed again to
rebuild a snapshot, and the layers composer makes are small; compression is
for the wire, at push time. An image's id is its config digest, as Docker's.

Writes are all-or-nothing: the input is read into ``images/ingest/`` and
unpacked into ``snapshots/.tmp-*`` first; only when both succeeded are they
renamed into place and ``index.json`` replaced, under ``index.lock``. A
broken archive leaves nothing behind. A crash may leave files in ``ingest/``
or ``snapshots/.tmp-*``, never a half blob or half snapshot under its name.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from composer.errors import ImageError, ImageNotFoundError, StateError
from composer.image import layout as oci
from composer.image import lookup
from composer.image.model import (
    Image,
    ImageConfig,
    ImageSummary,
    RemoveResult,
    format_created,
    parse_created,
)
from composer.image.reference import Reference, parse_reference

__all__ = ["Image", "ImageConfig", "ImageStore", "ImageSummary", "RemoveResult", "host_architecture"]

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
         "armv7l": "arm", "i686": "386", "i386": "386", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64"}


def host_architecture() -> str:
    import platform

    machine = platform.machine().lower()
    return _ARCH.get(machine, machine)


class _HashingWriter:
    """A file wrapper that hashes and counts what is written through it."""

    def __init__(self, fh: BinaryIO) -> None:
        import hashlib

        self.fh = fh
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()

    def tell(self) -> int:
        return self.size


def _snapshot_size(snapshot: Path) -> int:
    try:
        return int(json.loads((snapshot / "layer.json").read_text())["size"])
    except (OSError, ValueError, KeyError):
        return 0


class _Entry:
    """One descriptor of index.json: a manifest under one reference (or none)."""

    def __init__(self, descriptor: dict[str, Any]) -> None:
        self.descriptor = descriptor
        self.digest: str = descriptor["digest"]
        self.ref: str | None = (descriptor.get("annotations") or {}).get(oci.REF_NAME)


# ImageStore.list shadows the builtin inside the class body.
_Entries = list[_Entry]
_Layers = list[dict[str, Any]]
_Summaries = list[ImageSummary]
_Paths = list[Path]


class ImageStore:
    """Images of one state root. Cheap to create; nothing is written until needed."""

    def __init__(self, state_root: Path) -> None:
        self.state_root = Path(state_root)
        self.layout = oci.OciLayout(self.state_root / "images")
        self.snapshots = self.state_root / "snapshots"

    # reading

    def list(self) -> _Summaries:
        """One row per reference (and one per untagged image), newest first."""
        rows: _Summaries = []
        for entry in self._entries():
            try:
                manifest = self.layout.read_json(entry.digest)
                config = self.layout.read_json(manifest["config"]["digest"])
            except (StateError, KeyError, TypeError):
                continue  # removed under our feet, or not an image manifest
            repository, tag = "<none>", "<none>"
            if entry.ref:
                ref = parse_reference(entry.ref)
                repository, tag = ref.familiar_name, ref.tag or "<none>"
            rows.append(ImageSummary(
                repository=repository,
                tag=tag,
                id=manifest["config"]["digest"],
                created=parse_created(config.get("created")),
                size=self._size(manifest, config),
            ))
        rows.sort(key=lambda r: (r.repository == "<none>", r.repository, r.tag))
        rows.sort(key=lambda r: r.created, reverse=True)
        return rows

    def get(self, ref: str) -> Image:
        """By reference (familiar or canonical), full id, or unique id prefix (>= 4 hex)."""
        digest, _ = lookup.resolve(self.layout, self._entries(), ref)
        return self._image(digest)

    def exists(self, ref: str) -> bool:
        try:
            lookup.resolve(self.layout, self._entries(), ref)
        except ImageNotFoundError:
            return False
        return True

    def snapshot_dir(self, diff_id: str) -> Path:
        return self.snapshots / oci.digest_hex(diff_id) / "fs"

    # writing

    def import_rootfs(
        self,
        src: BinaryIO | Path,
        ref: str | None,
        changes: Sequence[str] = (),
        message: str | None = None,
    ) -> Image:
        """``docker import``: a tar (plain or compressed) becomes a one-layer image."""
        from composer.image.changes import apply_changes

        reference = self._taggable(ref) if ref else None
        run_config = apply_changes({}, changes)
        if not isinstance(src, Path):
            return self._import(src, "-", reference, run_config, message)
        try:
            fh = open(src, "rb")  # noqa: SIM115 - closed below; open errors are the user's
        except OSError as exc:
            raise ImageError(f"open {src}: {exc.strerror or exc}") from exc
        with fh:
            return self._import(fh, str(src), reference, run_config, message)

    def tag(self, src_ref: str, new_ref: str) -> None:
        target = self._taggable(new_ref)
        with self.layout.lock():
            entries = self._entries()
            digest, _ = lookup.resolve(self.layout, entries, src_ref)
            self._write_entries(self._with_ref(entries, digest, target))

    def remove(self, ref: str, force: bool = False) -> RemoveResult:
        """``docker rmi``: untag a reference; delete the image when nothing refers to it."""
        with self.layout.lock():
            entries = self._entries()
            digest, matched = lookup.resolve(self.layout, entries, ref)
            mine = [e for e in entries if e.digest == digest]
            if matched is not None and len(mine) > 1:
                drop = [e for e in mine if e.ref == matched]
            else:
                repos = {parse_reference(e.ref).name for e in mine if e.ref}
                if len(repos) > 1 and not force:
                    image_id = self.layout.read_json(digest)["config"]["digest"]
                    raise ImageError(
                        f"conflict: unable to delete {image_id[7:19]} (must be forced)"
                        " - image is referenced in multiple repositories"
                    )
                drop = mine
            kept = [e for e in entries if e not in drop]
            untagged = tuple(parse_reference(e.ref).familiar() for e in drop if e.ref)
            deleted: tuple[str, ...] = ()
            if not any(e.digest == digest for e in kept):
                deleted = self._delete_image(digest, kept)
            self._write_entries(kept)
        return RemoveResult(untagged=untagged, deleted=deleted)

    def add_layer(self, write: Callable[[BinaryIO], object], source: str,
                  expect: str | None = None) -> tuple[dict[str, Any], int]:
        """Store the uncompressed layer tar that ``write`` writes; return (descriptor, content bytes).

        The tar is hashed, kept as a blob and unpacked into its snapshot (once:
        an existing snapshot of the same diff id is reused). ``expect``: the
        diff id the tar must have; a mismatch stores nothing.
        """
        from composer.image.unpack import unpack_layer

        self.layout.ensure()
        self.snapshots.mkdir(parents=True, exist_ok=True)
        with self.layout.ingest() as (tmp, fh):
            hasher = _HashingWriter(fh)
            write(hasher)  # type: ignore[arg-type]
            fh.flush()
            diff_id, tar_size = "sha256:" + hasher.sha.hexdigest(), hasher.size
            if expect is not None and diff_id != expect:
                raise ImageError(f"{source}: the layer does not match its diff id {expect} (got {diff_id})")
            final = self.snapshots / oci.digest_hex(diff_id)
            if (final / "fs").is_dir() and self.layout.has_blob(diff_id):
                size = _snapshot_size(final)
            else:
                with self._new_snapshot() as snapshot:
                    fh.seek(0)
                    size = unpack_layer(fh, snapshot / "fs", source)
                    (snapshot / "layer.json").write_text(json.dumps({"diff_id": diff_id, "size": size}))
                    with self.layout.lock():
                        self.layout.commit_blob(tmp, diff_id)
                        self._commit_snapshot(snapshot, diff_id)
        return {"mediaType": oci.MT_LAYER, "digest": diff_id, "size": tar_size}, size

    def add_image(self, config: dict[str, Any] | bytes, layers: Sequence[dict[str, Any]],
                  refs: Sequence[str] = ()) -> Image:
        """Write an image (config + manifest) over stored layers and point ``refs`` at it."""
        targets = [self._taggable(r) for r in refs]
        self.layout.ensure()
        with self.layout.lock():
            digest = self._write_image(config, list(layers))
            entries = self._entries()
            for ref in targets:
                entries = self._with_ref(entries, digest, ref)
            if not any(e.digest == digest for e in entries):
                entries.append(_Entry(self._descriptor(digest, None)))
            self._write_entries(entries)
        return self._image(digest)

    def add_digest_ref(self, image: Image, reference: Reference) -> None:
        """Let ``name@digest`` (a pulled-by-digest reference) find ``image``."""
        with self.layout.lock():
            entries = [e for e in self._entries() if e.ref != reference.canonical()]
            desc = self._descriptor(image.digest, None)
            desc["annotations"] = {oci.REF_NAME: reference.canonical()}
            entries.append(_Entry(desc))
            self._write_entries(entries)

    def snapshot_paths(self, layers: Sequence[dict[str, Any]], diff_ids: Sequence[str]) -> _Paths:
        """The snapshot fs directories of ``layers`` (bottom first), unpacked again if missing."""
        return [self._ensure_snapshot(d, layer) for d, layer in zip(diff_ids, layers, strict=True)]

    def layer_descriptors(self, image: Image) -> _Layers:
        return list(self.layout.read_json(image.digest).get("layers") or [])

    def prune(self, used_ids: set[str], all_images: bool = False) -> tuple[RemoveResult, int]:
        """``docker image prune``: delete untagged images (``all_images``: every image whose
        id is not in ``used_ids``); return what was removed and the bytes reclaimed."""
        untagged: list[str] = []
        deleted: list[str] = []
        reclaimed = 0
        with self.layout.lock():
            entries = self._entries()
            ids = {}
            for digest in {e.digest for e in entries}:
                with contextlib.suppress(StateError, KeyError, TypeError):
                    ids[digest] = self.layout.read_json(digest)["config"]["digest"]
            doomed = {d for d, image_id in ids.items() if image_id not in used_ids and (
                all_images or not any(e.digest == d and e.ref for e in entries))}
            kept = [e for e in entries if e.digest not in doomed]
            for digest in sorted(doomed):
                untagged += [parse_reference(e.ref).familiar() for e in entries if e.digest == digest and e.ref]
                config = self.layout.read_json(ids[digest])
                sizes = {d: _snapshot_size(self.snapshots / oci.digest_hex(d)) for d in config["rootfs"]["diff_ids"]}
                removed = self._delete_image(digest, kept)
                deleted += removed
                reclaimed += sum(sizes.get(d, 0) for d in removed)
            self._write_entries(kept)
        return RemoveResult(untagged=tuple(untagged), deleted=tuple(deleted)), reclaimed

    # internals: import

    def _import(
        self,
        src: BinaryIO,
        source: str,
        reference: Reference | None,
        run_config: dict[str, Any],
        message: str | None,
    ) -> Image:
        from composer.image.ingest import copy_decompressed
        from composer.image.unpack import unpack_layer

        self.layout.ensure()
        self.snapshots.mkdir(parents=True, exist_ok=True)
        with self.layout.ingest() as (tmp, fh):
            diff_id, tar_size = copy_decompressed(src, fh, source)
            with self._new_snapshot() as snapshot:
                fh.seek(0)
                size = unpack_layer(fh, snapshot / "fs", source)
                (snapshot / "layer.json").write_text(json.dumps({"diff_id": diff_id, "size": size}))
                created = format_created(datetime.now(UTC))
                config = {
                    "created": created,
                    "architecture": host_architecture(),
                    "os": "linux",
                    "config": run_config,
                    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                    "history": [{"created": created,
                                 "comment": message or f"Imported from {source}"}],
                }
                with self.layout.lock():
                    self.layout.commit_blob(tmp, diff_id)
                    self._commit_snapshot(snapshot, diff_id)
                    layer = {"mediaType": oci.MT_LAYER, "digest": diff_id, "size": tar_size}
                    digest = self._write_image(config, [layer])
                    entries = self._entries()
                    if reference is not None:
                        entries = self._with_ref(entries, digest, reference)
                    elif not any(e.digest == digest for e in entries):
                        entries.append(_Entry(self._descriptor(digest, None)))
                    self._write_entries(entries)
        return self._image(digest)

    @contextlib.contextmanager
    def _new_snapshot(self) -> Any:
        import tempfile

        from composer.image.unpack import rmtree

        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.snapshots))
        try:
            (tmp / "fs").mkdir()
            yield tmp
        finally:
            rmtree(tmp)  # a no-op once committed (renamed away)

    def _commit_snapshot(self, tmp: Path, diff_id: str) -> None:
        final = self.snapshots / oci.digest_hex(diff_id)
        if final.exists():
            return  # unpacked before (or by a concurrent import): the same content
        os.rename(tmp, final)

    def _ensure_snapshot(self, diff_id: str, layer: dict[str, Any]) -> Path:
        """The snapshot of a layer, unpacked again from its blob if it went missing."""
        fs = self.snapshot_dir(diff_id)
        if fs.is_dir():
            return fs
        from composer.image.ingest import copy_decompressed  # (tarfile, zlib...): only to unpack
        from composer.image.unpack import unpack_layer

        self.snapshots.mkdir(parents=True, exist_ok=True)
        self.layout.ensure()
        blob = self.layout.blob_path(layer["digest"])
        with self.layout.ingest() as (_tmp, fh), self._new_snapshot() as snapshot:
            try:
                with open(blob, "rb") as src:
                    got, _ = copy_decompressed(src, fh, str(blob))
            except FileNotFoundError as exc:
                raise StateError(f"image store: layer blob {layer['digest']} is missing") from exc
            if got != diff_id:
                raise StateError(f"image store: layer {layer['digest']} does not match diff id {diff_id}")
            fh.seek(0)
            size = unpack_layer(fh, snapshot / "fs", str(blob))
            (snapshot / "layer.json").write_text(json.dumps({"diff_id": diff_id, "size": size}))
            self._commit_snapshot(snapshot, diff_id)
        return fs

    def _write_image(self, config: dict[str, Any] | bytes, layers: _Layers) -> str:
        """Write config and manifest blobs; ``config`` as bytes is kept byte for byte (its
        digest is the image id, which ``load`` must preserve)."""
        if isinstance(config, bytes):
            config_bytes = config
        else:
            config_bytes = json.dumps(config, indent=None, separators=(",", ":")).encode()
        config_digest = self.layout.write_blob(config_bytes)
        manifest = {
            "schemaVersion": 2,
            "mediaType": oci.MT_MANIFEST,
            "config": {"mediaType": oci.MT_CONFIG, "digest": config_digest,
                       "size": len(config_bytes)},
            "layers": layers,
        }
        return self.layout.write_blob(json.dumps(manifest, separators=(",", ":")).encode())

    # internals: index

    def _entries(self) -> _Entries:
        return [_Entry(d) for d in self.layout.read_index()]

    def _write_entries(self, entries: _Entries) -> None:
        self.layout.write_index([e.descriptor for e in entries])

    def _descriptor(self, digest: str, ref: Reference | None) -> dict[str, Any]:
        desc: dict[str, Any] = {
            "mediaType": oci.MT_MANIFEST,
            "digest": digest,
            "size": self.layout.blob_path(digest).stat().st_size,
        }
        if ref is not None:
            desc["annotations"] = {oci.REF_NAME: ref.canonical()}
        return desc

    def _with_ref(self, entries: _Entries, digest: str, ref: Reference) -> _Entries:
        """Point ``ref`` at ``digest``; an image losing its last reference stays, untagged."""
        name = ref.canonical()
        previous = {e.digest for e in entries if e.ref == name}
        out = [e for e in entries if e.ref != name and not (e.digest == digest and e.ref is None)]
        out.append(_Entry(self._descriptor(digest, ref)))
        for old in sorted(previous - {digest}):
            if not any(e.digest == old for e in out):
                out.append(_Entry(self._descriptor(old, None)))
        return out

    @staticmethod
    def _taggable(text: str) -> Reference:
        ref = parse_reference(text)
        if ref.digest is not None:
            raise ImageError("refusing to create a tag with a digest reference")
        return ref

    # internals: images

    def _image(self, digest: str) -> Image:
        manifest = self.layout.read_json(digest)
        config = self.layout.read_json(manifest["config"]["digest"])
        diff_ids = tuple((config.get("rootfs") or {}).get("diff_ids") or ())
        layers = manifest.get("layers") or []
        if len(layers) != len(diff_ids):
            raise StateError(f"image store: manifest {digest} and its config disagree on layers")
        fs = tuple(self._ensure_snapshot(d, layer) for d, layer in zip(diff_ids, layers, strict=True))
        refs = sorted(parse_reference(e.ref).familiar() for e in self._entries()
                      if e.digest == digest and e.ref)
        return Image(
            id=manifest["config"]["digest"],
            digest=digest,
            refs=tuple(refs),
            config=ImageConfig.from_oci(config.get("config")),
            layers=fs,
            diff_ids=diff_ids,
            created=parse_created(config.get("created")),
            size=self._size(manifest, config),
            architecture=str(config.get("architecture") or ""),
            os=str(config.get("os") or ""),
            raw_config=config,
        )

    def _size(self, manifest: dict[str, Any], config: dict[str, Any]) -> int:
        """Unpacked content bytes, from each snapshot's layer.json (else the blob size)."""
        total = 0
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        for diff_id, layer in zip(diff_ids, manifest.get("layers") or [], strict=False):
            try:
                meta = json.loads((self.snapshots / oci.digest_hex(diff_id) / "layer.json").read_text())
                total += int(meta["size"])
            except (OSError, ValueError, KeyError, StateError):
                total += int(layer.get("size") or 0)
        return total

    def _delete_image(self, digest: str, kept: _Entries) -> tuple[str, ...]:
        """Delete the blobs and snapshots of manifest ``digest`` that ``kept`` does not use."""
        from composer.image.unpack import rmtree

        live_blobs: set[str] = set()
        live_diffs: set[str] = set()
        for other in {e.digest for e in kept}:
            with contextlib.suppress(StateError, KeyError, TypeError):
                m = self.layout.read_json(other)
                c = self.layout.read_json(m["config"]["digest"])
                live_blobs |= {other, m["config"]["digest"], *(x["digest"] for x in m["layers"])}
                live_diffs |= set(c["rootfs"]["diff_ids"])
        manifest = self.layout.read_json(digest)
        config = self.layout.read_json(manifest["config"]["digest"])
        deleted = [manifest["config"]["digest"]]
        for diff_id in config["rootfs"]["diff_ids"]:
            if diff_id not in live_diffs:
                rmtree(self.snapshots / oci.digest_hex(diff_id))
                deleted.append(diff_id)
        for blob in [digest, manifest["config"]["digest"], *(x["digest"] for x in manifest["layers"])]:
            if blob not in live_blobs:
                self.layout.delete_blob(blob)
        return tuple(deleted)
