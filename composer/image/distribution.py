"""Pull and push over the OCI distribution API; ``login`` and ``logout``.

Pull: the manifest (``Accept`` lists OCI and Docker schema 2 manifests and
indexes); an index or manifest list is resolved to the entry for linux and
this machine (or ``--platform``); the config and the layers are fetched
(layers in parallel) and verified against their digests before anything is
stored; layers are kept uncompressed and unpacked by the safe unpacker, each
checked against the config's diff id. A layer whose snapshot the store
already has is not downloaded again.

Push: each layer is gzip-compressed (reproducibly: no name, no mtime, so
pushing twice gives the same digests), skipped when the registry has it
(``HEAD``), otherwise uploaded in chunks (``POST`` then ``PATCH``es then ``PUT
?digest=``); then the config, then the manifest under the tag.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from composer.errors import ImageError, ImageNotFoundError
from composer.image import layout as oci
from composer.image.archive import select_platform
from composer.image.auth import remove_credentials, store_credentials
from composer.image.ingest import copy_decompressed
from composer.image.reference import DEFAULT_DOMAIN, Reference, parse_reference
from composer.image.registry import Registry, error_message
from composer.image.store import Image, ImageStore

Progress = Callable[[str], None]
PARALLEL_LAYERS = 3
CHUNK = 5 << 20
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
_ACCEPT = ", ".join([oci.MT_INDEX, oci.MT_MANIFEST, MT_DOCKER_LIST, MT_DOCKER_MANIFEST])


def _short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]


def _verify(data: bytes, digest: str, what: str) -> None:
    if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        raise ImageError(f"{what}: digest mismatch: the content does not match {digest} (refusing it)")


def _select(manifests: list[dict[str, Any]], platform: str | None, source: str) -> dict[str, Any]:
    if not platform:
        return select_platform(manifests, source)
    os_name, _, rest = platform.partition("/")
    arch, _, variant = rest.partition("/")
    for m in manifests:
        p = m.get("platform") or {}
        if p.get("os") == os_name and p.get("architecture") == arch and (not variant or p.get("variant") == variant):
            return m
    raise ImageError(f"{source}: no matching manifest for {platform} in the manifest list entries")


# -- pull -----------------------------------------------------------------------


def pull(store: ImageStore, ref: str, *, docker_config: Path | None = None, insecure: Iterable[str] = (),
         progress: Progress | None = None, platform: str | None = None) -> Image:
    """Pull ``ref`` into ``store``; return the stored image."""
    say = progress or (lambda _line: None)
    reference = parse_reference(ref)
    client = Registry(reference.domain, docker_config=docker_config, insecure=insecure)
    scope = f"repository:{reference.path}:pull"
    shown = reference.familiar()
    say(f"{reference.tag or reference.digest}: Pulling from {reference.familiar_name}")
    manifest_bytes, media_type = _get_manifest(client, reference, reference.digest or reference.tag or "latest", scope)
    manifest = _json(manifest_bytes, shown)
    top_digest = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
    if media_type in (oci.MT_INDEX, MT_DOCKER_LIST) or "manifests" in manifest:
        chosen = _select(manifest.get("manifests") or [], platform, shown)
        manifest_bytes, media_type = _get_manifest(client, reference, chosen["digest"], scope)
        _verify(manifest_bytes, chosen["digest"], shown)
        manifest = _json(manifest_bytes, shown)
    if manifest.get("schemaVersion") != 2 or "config" not in manifest:
        raise ImageError(f"{shown}: unsupported manifest (schema 1 or unknown media type {media_type})")
    config_digest = manifest["config"]["digest"]
    config_bytes = _get_blob_bytes(client, reference, config_digest, scope)
    config = _json(config_bytes, shown)
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
    layers = list(manifest.get("layers") or [])
    if len(diff_ids) != len(layers):
        raise ImageError(f"{shown}: the manifest has {len(layers)} layers, its config {len(diff_ids)}")

    def fetch(pair: tuple[dict[str, Any], str]) -> dict[str, Any]:
        layer, diff_id = pair
        if store.snapshot_dir(diff_id).is_dir() and store.layout.has_blob(diff_id):
            say(f"{_short(layer['digest'])}: Already exists")
            return {"mediaType": oci.MT_LAYER, "digest": diff_id,
                    "size": store.layout.blob_path(diff_id).stat().st_size}
        descriptor = _fetch_layer(store, client, reference, layer, diff_id, scope)
        say(f"{_short(layer['digest'])}: Pull complete")
        return descriptor

    with ThreadPoolExecutor(max_workers=PARALLEL_LAYERS) as pool:
        descriptors = list(pool.map(fetch, zip(layers, diff_ids, strict=True)))
    say(f"Digest: {top_digest}")
    refs = [reference.canonical()] if reference.digest is None else []
    image = store.add_image(config_bytes, descriptors, refs)
    if reference.digest is not None:
        store.add_digest_ref(image, reference)
    return image


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise ImageError(f"{what}: the registry sent an invalid JSON document") from exc
    if not isinstance(value, dict):
        raise ImageError(f"{what}: the registry sent an invalid JSON document")
    return value


def _get_manifest(client: Registry, ref: Reference, tag_or_digest: str, scope: str) -> tuple[bytes, str]:
    resp = client.request("GET", f"/v2/{ref.path}/manifests/{tag_or_digest}", scope=scope,
                          headers={"Accept": _ACCEPT})
    if resp.status == 404:
        raise ImageNotFoundError(f"manifest for {ref.familiar()} not found: {error_message(resp)}")
    if resp.status == 401:
        raise ImageError(f"pull access denied for {ref.familiar_name}, repository does not exist or may require "
                         f"'composer login': {error_message(resp)}")
    if resp.status != 200:
        raise ImageError(f"{ref.familiar()}: the registry answered {resp.status}: {error_message(resp)}")
    if tag_or_digest.startswith("sha256:"):
        _verify(resp.body, tag_or_digest, ref.familiar())
    sent = resp.header("Docker-Content-Digest")
    if sent and sent.startswith("sha256:"):
        _verify(resp.body, sent, ref.familiar())
    media_type = (resp.header("Content-Type") or "").split(";")[0].strip()
    return resp.body, media_type


def _get_blob_bytes(client: Registry, ref: Reference, digest: str, scope: str) -> bytes:
    resp = client.request("GET", f"/v2/{ref.path}/blobs/{digest}", scope=scope)
    if resp.status != 200:
        raise ImageError(f"{ref.familiar()}: blob {digest}: {error_message(resp)}")
    _verify(resp.body, digest, f"{ref.familiar()}: blob {_short(digest)}")
    return resp.body


class _HashingStream:
    def __init__(self, src: Any) -> None:
        self.src = src
        self.sha = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.src.read(size)
        self.sha.update(data)
        return data


def _fetch_layer(store: ImageStore, client: Registry, ref: Reference, layer: dict[str, Any], diff_id: str,
                 scope: str) -> dict[str, Any]:
    digest = layer["digest"]
    store.layout.ensure()
    with store.layout.ingest() as (_tmp, fh):
        resp = client.request("GET", f"/v2/{ref.path}/blobs/{digest}", scope=scope, stream=True)
        if resp.status != 200 or resp.stream is None:
            raise ImageError(f"{ref.familiar()}: layer {digest}: {error_message(resp)}")
        hashing = _HashingStream(resp.stream)
        try:
            while chunk := hashing.read(1 << 20):
                fh.write(chunk)
        except OSError as exc:
            raise ImageError(f"{ref.familiar()}: layer {_short(digest)}: download failed: {exc}") from exc
        finally:
            resp.stream.close()
        fh.flush()
        if "sha256:" + hashing.sha.hexdigest() != digest:
            raise ImageError(f"{ref.familiar()}: layer {_short(digest)}: digest mismatch: the content does not "
                             f"match {digest} (refusing it)")
        fh.seek(0)
        descriptor, _ = store.add_layer(lambda out: copy_decompressed(fh, out, f"layer {_short(digest)}"),
                                        f"{ref.familiar()}: layer {_short(digest)}", expect=diff_id)
    return descriptor


# -- push -----------------------------------------------------------------------


def push(store: ImageStore, ref: str, *, docker_config: Path | None = None, insecure: Iterable[str] = (),
         progress: Progress | None = None) -> str:
    """Push the image ``ref`` names to its registry; return the manifest digest."""
    say = progress or (lambda _line: None)
    reference = parse_reference(ref)
    if reference.digest is not None:
        raise ImageError(f"cannot push a digest reference: {ref}")
    image = store.get(reference.canonical())
    client = Registry(reference.domain, docker_config=docker_config, insecure=insecure)
    scope = f"repository:{reference.path}:pull,push"
    if reference.domain == DEFAULT_DOMAIN and "/" not in reference.path.removeprefix("library/"):
        say("note: pushing to Docker Hub's library/ namespace needs an official-image account")
    say(f"The push refers to repository [{reference.name}]")
    layers: list[dict[str, Any]] = []
    store.layout.ensure()
    for diff_id in image.diff_ids:
        with store.layout.ingest() as (_tmp, fh):
            digest, size = _gzip_blob(store.layout.blob_path(diff_id), fh)
            fh.flush()
            if _blob_exists(client, reference, digest, scope):
                say(f"{_short(digest)}: Layer already exists")
            else:
                fh.seek(0)
                _upload(client, reference, fh, digest, size, scope)
                say(f"{_short(digest)}: Pushed")
            layers.append({"mediaType": oci.MT_LAYER_GZIP, "digest": digest, "size": size})
    config_bytes = store.layout.read_blob(image.id)
    if not _blob_exists(client, reference, image.id, scope):
        _upload_bytes(client, reference, config_bytes, image.id, scope)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": oci.MT_MANIFEST,
        "config": {"mediaType": oci.MT_CONFIG, "digest": image.id, "size": len(config_bytes)},
        "layers": layers,
    }, separators=(",", ":")).encode()
    resp = client.request("PUT", f"/v2/{reference.path}/manifests/{reference.tag}", scope=scope,
                          headers={"Content-Type": oci.MT_MANIFEST}, body=manifest)
    if resp.status not in (200, 201):
        raise ImageError(f"{reference.familiar()}: manifest upload failed: {error_message(resp)}")
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    say(f"{reference.tag}: digest: {digest} size: {len(manifest)}")
    return digest


def _gzip_blob(path: Path, out: BinaryIO) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0

    class _Sink:
        def write(self, data: bytes) -> int:
            nonlocal size
            sha.update(data)
            size += len(data)
            return out.write(data)

        def flush(self) -> None:
            out.flush()

    with open(path, "rb") as src, gzip.GzipFile(filename="", mode="wb", fileobj=_Sink(), mtime=0,  # type: ignore[arg-type]
                                                compresslevel=6) as gz:
        while chunk := src.read(1 << 20):
            gz.write(chunk)
    return "sha256:" + sha.hexdigest(), size


def _blob_exists(client: Registry, ref: Reference, digest: str, scope: str) -> bool:
    resp = client.request("HEAD", f"/v2/{ref.path}/blobs/{digest}", scope=scope)
    return resp.status == 200


def _start_upload(client: Registry, ref: Reference, scope: str) -> str:
    resp = client.request("POST", f"/v2/{ref.path}/blobs/uploads/", scope=scope, headers={"Content-Length": "0"})
    if resp.status == 401:
        raise ImageError(f"push access denied for {ref.familiar_name}: {error_message(resp)} (composer login {ref.domain})")
    if resp.status != 202 or not resp.header("Location"):
        raise ImageError(f"{ref.familiar()}: cannot start an upload: {error_message(resp)}")
    return _absolute(client, resp.header("Location") or "")


def _absolute(client: Registry, location: str) -> str:
    if location.startswith(("http://", "https://")):
        return location
    return f"{client._scheme()}://{client.host}{location}"


def _with_digest(location: str, digest: str) -> str:
    return location + ("&" if "?" in location else "?") + "digest=" + digest


def _upload(client: Registry, ref: Reference, fh: BinaryIO, digest: str, size: int, scope: str) -> None:
    location = _start_upload(client, ref, scope)
    offset = 0
    while offset < size:
        chunk = fh.read(CHUNK)
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(chunk)),
                   "Content-Range": f"{offset}-{offset + len(chunk) - 1}"}
        resp = client.request("PATCH", "", url=location, scope=scope, headers=headers, body=chunk)
        if resp.status != 202:
            raise ImageError(f"{ref.familiar()}: layer upload failed at byte {offset}: {error_message(resp)}")
        location = _absolute(client, resp.header("Location") or location)
        offset += len(chunk)
    resp = client.request("PUT", "", url=_with_digest(location, digest), scope=scope,
                          headers={"Content-Length": "0"}, body=b"")
    if resp.status not in (201, 204):
        raise ImageError(f"{ref.familiar()}: layer upload failed: {error_message(resp)}")


def _upload_bytes(client: Registry, ref: Reference, data: bytes, digest: str, scope: str) -> None:
    location = _start_upload(client, ref, scope)
    resp = client.request("PUT", "", url=_with_digest(location, digest), scope=scope,
                          headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(data))},
                          body=data)
    if resp.status not in (201, 204):
        raise ImageError(f"{ref.familiar()}: config upload failed: {error_message(resp)}")


# -- login / logout -------------------------------------------------------------------


def _server_domain(server: str | None) -> str:
    if not server:
        return DEFAULT_DOMAIN
    host = server.removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    return DEFAULT_DOMAIN if host in ("index.docker.io", "registry-1.docker.io") else host


def login(server: str | None, username: str, password: str, *, docker_config: Path,
          insecure: Iterable[str] = ()) -> str:
    """Check the credentials against the registry, then keep them in ``docker_config``."""
    domain = _server_domain(server)
    client = Registry(domain, insecure=insecure)
    client.credentials = (username, password)
    client.ping()
    store_credentials(docker_config, domain, username, password)
    return domain


def logout(server: str | None, *, docker_config: Path) -> tuple[str, bool]:
    """Forget the credentials of ``server``: (its domain, whether there were any)."""
    domain = _server_domain(server)
    return domain, remove_credentials(docker_config, domain)
