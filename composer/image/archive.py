"""``image save`` and ``image load``: Docker archives and OCI archives.

``save`` writes what Docker 25+ writes: one tar that is both an OCI image
layout (``oci-layout``, ``index.json``, ``blobs/sha256/``) and a ``docker save``
archive (``manifest.json``, ``repositories``), so that ``docker load``,
``skopeo copy docker-archive:`` and ``skopeo copy oci-archive:`` all read it.
``index.json`` names each image as containerd does
(``io.containerd.image.name``) and by its tag (``org.opencontainers.image.ref.name``).

``load`` reads either kind, plain or compressed (gzip, bzip2, xz, zstd):
``manifest.json`` (classic ``docker save``, skopeo's ``docker-archive:``) or
``index.json`` (OCI layout; nested indexes resolved for this platform). Every
blob is checked against its digest, every layer against the diff id of its
config; layers are stored uncompressed and unpacked through the same safe
unpacker as ``import``. The config is kept byte for byte, so the image id is
the one it had where it was saved.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import posixpath
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from composer.errors import ImageError, StateError
from composer.image import layout as oci
from composer.image.ingest import copy_decompressed
from composer.image.reference import parse_reference
from composer.image.store import Image, ImageStore, host_architecture

_CONTAINERD_NAME = "io.containerd.image.name"
_MANIFEST_TYPES = (oci.MT_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json")
_INDEX_TYPES = (oci.MT_INDEX, "application/vnd.docker.distribution.manifest.list.v2+json")


# -- save ---------------------------------------------------------------------


def save(store: ImageStore, refs: Sequence[str], out: BinaryIO) -> None:
    """Write the images ``refs`` names (references or ids) to ``out`` as one archive."""
    if not refs:
        raise ImageError("save: at least one image is required")
    images: dict[str, tuple[Image, list[str]]] = {}
    for ref in refs:
        image = store.get(ref)
        tags = images.setdefault(image.digest, (image, []))[1]
        try:
            parsed = parse_reference(ref)
        except ImageError:
            parsed = None
        if parsed is not None and parsed.tag and not ref.startswith("sha256:") and store.exists(parsed.canonical()) \
                and store.get(parsed.canonical()).digest == image.digest:
            tags.append(parsed.canonical())
    blobs: dict[str, Path] = {}
    docker_manifest: list[dict[str, Any]] = []
    index: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    for digest, (image, tags) in images.items():
        manifest = store.layout.read_json(digest)
        config_digest = manifest["config"]["digest"]
        layer_digests = [layer["digest"] for layer in manifest["layers"]]
        for d in [digest, config_digest, *layer_digests]:
            blobs[d] = store.layout.blob_path(d)
        size = blobs[digest].stat().st_size
        docker_manifest.append({
            "Config": f"blobs/sha256/{oci.digest_hex(config_digest)}",
            "RepoTags": [parse_reference(t).familiar() for t in tags] or None,
            "Layers": [f"blobs/sha256/{oci.digest_hex(d)}" for d in layer_digests],
        })
        for tag in tags or [None]:  # type: ignore[list-item]
            desc: dict[str, Any] = {"mediaType": oci.MT_MANIFEST, "digest": digest, "size": size}
            if tag is not None:
                parsed = parse_reference(tag)
                desc["annotations"] = {_CONTAINERD_NAME: parsed.canonical(), oci.REF_NAME: parsed.tag}
                repositories.setdefault(parsed.familiar_name, {})[parsed.tag or "latest"] = \
                    oci.digest_hex(image.diff_ids[-1]) if image.diff_ids else ""
            index.append(desc)
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add_dir(tar, "blobs")
        _add_dir(tar, "blobs/sha256")
        for d, path in sorted(blobs.items()):
            try:
                with open(path, "rb") as fh:
                    info = tarfile.TarInfo(f"blobs/sha256/{oci.digest_hex(d)}")
                    info.size, info.mode = path.stat().st_size, 0o644
                    tar.addfile(info, fh)
            except FileNotFoundError as exc:
                raise StateError(f"image store: blob {d} is missing") from exc
        _add_bytes(tar, "index.json", json.dumps({"schemaVersion": 2, "mediaType": oci.MT_INDEX,
                                                   "manifests": index}).encode())
        _add_bytes(tar, "manifest.json", json.dumps(docker_manifest).encode())
        _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        if repositories:
            _add_bytes(tar, "repositories", json.dumps(repositories).encode())


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    tar.addfile(info)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


# -- load ---------------------------------------------------------------------


class _HashingReader(io.RawIOBase):
    def __init__(self, src: BinaryIO) -> None:
        self.src = src
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.src.read(len(buffer))
        self.sha.update(data)
        buffer[: len(data)] = data
        return len(data)


class _Archive:
    """An archive opened for random access (decompressed into the store's ingest dir)."""

    def __init__(self, tar: tarfile.TarFile, source: str) -> None:
        self.tar = tar
        self.source = source
        self.members: dict[str, tarfile.TarInfo] = {}
        for member in tar.getmembers():
            name = posixpath.normpath(member.name.lstrip("/"))
            self.members[name] = member

    def has(self, name: str) -> bool:
        return posixpath.normpath(name) in self.members

    def open(self, name: str) -> BinaryIO:
        member = self.members.get(posixpath.normpath(name.lstrip("/")))
        if member is None:
            raise ImageError(f"{self.source}: the archive has no {name}")
        fh = self.tar.extractfile(member)
        if fh is None:
            raise ImageError(f"{self.source}: {name} is not a file")
        return fh  # type: ignore[return-value]

    def read(self, name: str, digest: str | None = None) -> bytes:
        data = self.open(name).read()
        if digest is not None and "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise ImageError(f"{self.source}: {name} does not match its digest {digest}")
        return data

    def json(self, name: str, digest: str | None = None) -> Any:
        try:
            return json.loads(self.read(name, digest))
        except ValueError as exc:
            raise ImageError(f"{self.source}: {name} is not valid JSON") from exc


@contextlib.contextmanager
def _opened(store: ImageStore, src: BinaryIO, source: str) -> Iterator[_Archive]:
    store.layout.ensure()
    with store.layout.ingest() as (_tmp, fh):
        copy_decompressed(src, fh, source)
        fh.seek(0)
        try:
            tar = tarfile.open(fileobj=fh, mode="r:")  # noqa: SIM115 - closed by the with below
            archive = _Archive(tar, source)
        except (tarfile.TarError, EOFError) as exc:
            raise ImageError(f"{source}: not a valid image archive (not a tar)") from exc
        with tar:
            yield archive


def load(store: ImageStore, src: BinaryIO | Path, source: str | None = None) -> list[str]:
    """Load every image of a Docker or OCI archive; return "Loaded image: REF" lines."""
    if isinstance(src, Path):
        try:
            fh = open(src, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise ImageError(f"open {src}: {exc.strerror or exc}") from exc
        with fh:
            return load(store, fh, source or str(src))
    name = source or "archive"
    with _opened(store, src, name) as archive:
        if archive.has("manifest.json"):
            return _load_docker(store, archive)
        if archive.has("index.json"):
            return _load_oci(store, archive)
    raise ImageError(f"{name}: not an image archive (neither manifest.json nor index.json found)")


def _load_docker(store: ImageStore, archive: _Archive) -> list[str]:
    entries = archive.json("manifest.json")
    if not isinstance(entries, list):
        raise ImageError(f"{archive.source}: manifest.json is not a list")
    lines: list[str] = []
    for entry in entries:
        config_name = entry.get("Config") or ""
        hex_part = posixpath.basename(config_name).removesuffix(".json")
        digest = f"sha256:{hex_part}" if len(hex_part) == 64 else None
        config_bytes = archive.read(config_name, digest)
        layer_names = list(entry.get("Layers") or [])
        refs = [t for t in entry.get("RepoTags") or [] if t]
        image = _commit(store, archive, config_bytes, [(n, None) for n in layer_names], refs)
        lines += [f"Loaded image: {_familiar(r)}" for r in refs] or [f"Loaded image ID: {image.id}"]
    return lines


def _familiar(ref: str) -> str:
    try:
        return parse_reference(ref).familiar()
    except ImageError:
        return ref


def _load_oci(store: ImageStore, archive: _Archive) -> list[str]:
    index = archive.json("index.json")
    lines: list[str] = []
    for desc in index.get("manifests") or []:
        manifest_desc = _platform_manifest(archive, desc)
        manifest = archive.json(_blob_name(manifest_desc["digest"]), manifest_desc["digest"])
        config_digest = manifest["config"]["digest"]
        config_bytes = archive.read(_blob_name(config_digest), config_digest)
        layers = [(_blob_name(layer["digest"]), layer["digest"]) for layer in manifest.get("layers") or []]
        refs = _oci_refs(desc)
        image = _commit(store, archive, config_bytes, layers, refs)
        lines += [f"Loaded image: {parse_reference(r).familiar()}" for r in refs] or [f"Loaded image ID: {image.id}"]
    return lines


def _blob_name(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64:
        raise ImageError(f"unsupported digest {digest!r}: expected sha256:<64 hex>")
    return f"blobs/sha256/{hexpart}"


def _platform_manifest(archive: _Archive, desc: dict[str, Any]) -> dict[str, Any]:
    """``desc`` itself, or the entry of a nested index for linux/<this machine>."""
    depth = 0
    while desc.get("mediaType") in _INDEX_TYPES:
        depth += 1
        if depth > 4:
            raise ImageError(f"{archive.source}: image indexes nested too deep")
        nested = archive.json(_blob_name(desc["digest"]), desc["digest"])
        desc = select_platform(nested.get("manifests") or [], archive.source)
    return desc


def select_platform(manifests: list[dict[str, Any]], source: str) -> dict[str, Any]:
    """The manifest of an index for linux and this machine's architecture."""
    arch = host_architecture()
    for m in manifests:
        platform = m.get("platform") or {}
        if platform.get("os", "linux") == "linux" and platform.get("architecture", arch) == arch:
            return m
    found = ", ".join(f"{(m.get('platform') or {}).get('os')}/{(m.get('platform') or {}).get('architecture')}"
                      for m in manifests)
    raise ImageError(f"{source}: no image for linux/{arch} (the index has {found or 'nothing'})")


def _oci_refs(desc: dict[str, Any]) -> list[str]:
    notes = desc.get("annotations") or {}
    name = notes.get(_CONTAINERD_NAME) or notes.get(oci.REF_NAME)
    if not name or ("/" not in name and ":" not in name):
        return []  # a bare tag ("latest") names no repository
    try:
        parse_reference(name)
    except ImageError:
        return []
    return [name]


def _layer_writer(archive: _Archive, name: str, digest: str | None) -> Any:
    """Copy a (possibly compressed) layer out, checking the blob's own digest when known."""

    def write(out: BinaryIO) -> None:
        reader = _HashingReader(archive.open(name))
        copy_decompressed(io.BufferedReader(reader, 1 << 20), out, f"{archive.source}: {name}")
        if digest is not None and "sha256:" + reader.sha.hexdigest() != digest:
            raise ImageError(f"{archive.source}: {name} does not match its digest {digest}")

    return write


def _commit(store: ImageStore, archive: _Archive, config_bytes: bytes,
            layers: list[tuple[str, str | None]], refs: list[str]) -> Image:
    try:
        config = json.loads(config_bytes)
        diff_ids = list(config["rootfs"]["diff_ids"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ImageError(f"{archive.source}: the image config is not valid") from exc
    if len(diff_ids) != len(layers):
        raise ImageError(f"{archive.source}: the config lists {len(diff_ids)} layers, the manifest {len(layers)}")
    descriptors: list[dict[str, Any]] = []
    for (name, digest), diff_id in zip(layers, diff_ids, strict=True):
        descriptor, _ = store.add_layer(_layer_writer(archive, name, digest), f"{archive.source}: {name}",
                                        expect=diff_id)
        descriptors.append(descriptor)
    return store.add_image(config_bytes, descriptors, refs)
