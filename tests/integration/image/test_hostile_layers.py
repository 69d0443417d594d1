"""Hostile layers through the store (``import`` and ``load``): the host stays untouched,
the error names the entry, and nothing half-written is left in the store."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from composer.errors import ImageError
from composer.image.archive import load
from composer.image.store import ImageStore
from tests.layers import Entry, file_entry, special_entry, tar_bytes

pytestmark = pytest.mark.root

def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> Entry:
    return special_entry(name, kind, target)


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A directory standing for the host: a victim file a layer must never reach."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("untouched")
    return outside


def _host_untouched(host: Path) -> None:
    assert sorted(p.name for p in host.iterdir()) == ["victim"]
    assert (host / "victim").read_text() == "untouched"


def _store_clean(root: Path) -> None:
    assert not list((root / "snapshots").glob(".tmp-*")) if (root / "snapshots").exists() else True
    ingest = root / "images" / "ingest"
    assert not ingest.exists() or not list(ingest.iterdir())


@pytest.mark.parametrize(("make", "message"), [
    (lambda h: [file_entry("../../../../../../" + str(h / "victim").lstrip("/"), b"pwned")],
     "path escapes the layer root"),
    (lambda h: [_link("esc", "../../../../../../../.."), file_entry("esc/" + str(h / "victim").lstrip("/"), b"pwned")],
     "path escapes the layer root"),
    (lambda h: [_link("hl", "../../../../../" + str(h / "victim").lstrip("/"), tarfile.LNKTYPE)],
     "path escapes the layer root"),
    (lambda h: [_link("hl", str(h / "victim"), tarfile.LNKTYPE)], "does not exist|is not in the layer"),
    (lambda h: [file_entry("dir/.wh..."), ], "invalid whiteout name"),
    (lambda h: [file_entry("f"), file_entry("f/child")], 'parent "f" is not a directory'),
    (lambda h: [file_entry("n" * 300)], "cannot unpack layer entry"),
    (lambda h: [_link("a", "b"), _link("b", "a"), file_entry("a/x")], "too many levels of symbolic links"),
])
def test_refused_entries(tmp_path: Path, host: Path, make: Callable[[Path], list[Entry]], message: str) -> None:
    root = tmp_path / "root"
    store = ImageStore(root)
    with pytest.raises(ImageError, match=message) as info:
        store.import_rootfs(io.BytesIO(tar_bytes(*make(host))), "hostile:1")
    assert "\n" not in str(info.value)
    _host_untouched(host)
    _store_clean(root)
    assert not store.exists("hostile:1")
    assert not (root / "snapshots").exists() or not any((root / "snapshots").iterdir())


def test_escapes_that_resolve_inside(tmp_path: Path, host: Path) -> None:
    """Absolute names and absolute symlinks are the layer's own: they land in the snapshot."""
    root = tmp_path / "root"
    layer = tar_bytes(
        file_entry(str(host / "victim"), b"inside"),                  # absolute name
        _link("abs", str(host)),                                   # absolute symlink to the "host" dir
        file_entry("abs/planted", b"inside too"),                       # written through it: inside
        _link("hostfile", str(host / "victim")),                   # a symlink may point anywhere...
        file_entry("hostfile", b"replaced the link, not the target"),   # ...but is replaced, never followed
    )
    image = ImageStore(root).import_rootfs(io.BytesIO(layer), "inside:1")
    fs = image.layers[0]
    assert (fs / str(host / "victim").lstrip("/")).read_text() == "inside"
    assert (fs / str(host / "planted").lstrip("/")).read_text() == "inside too"
    assert not (fs / "hostfile").is_symlink()
    _host_untouched(host)


def test_huge_and_truncated_entries(tmp_path: Path, host: Path) -> None:
    root = tmp_path / "root"
    header = tarfile.TarInfo("huge")
    header.size = 1 << 40  # claims a terabyte, carries 1 KiB
    data = header.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 1024
    with pytest.raises(ImageError, match=r"not a valid tar archive|unexpected end"):
        ImageStore(root).import_rootfs(io.BytesIO(data), "huge:1")
    _store_clean(root)
    assert not list((root / "snapshots").glob("*"))
    good = tar_bytes(file_entry("a", b"a" * 100_000))
    with pytest.raises(ImageError, match="not a valid tar archive"):
        ImageStore(root).import_rootfs(io.BytesIO(good[:50_000]), "cut:1")
    _store_clean(root)
    _host_untouched(host)


def test_whiteouts_across_layers_via_load(tmp_path: Path, host: Path) -> None:
    """A second layer deleting files of the first: OCI whiteouts become overlay whiteouts,
    an opaque directory hides the lower one, and a whiteout behind a symlink stays inside."""
    base = tar_bytes(file_entry("keep"), file_entry("gone"), file_entry("d/old"), _link("evil", str(host)))
    top = tar_bytes(file_entry(".wh.gone"), file_entry("d/.wh..wh..opq"), file_entry("d/new"), file_entry("evil/.wh.victim"))
    root = tmp_path / "root"
    archive = tmp_path / "img.tar"
    _docker_archive(archive, [base, top], "wh:1")
    assert load(ImageStore(root), archive) == ["Loaded image: wh:1"]
    image = ImageStore(root).get("wh:1")
    upper = image.layers[1]
    gone = os.lstat(upper / "gone")
    assert stat.S_ISCHR(gone.st_mode) and gone.st_rdev == 0
    assert os.getxattr(upper / "d", "trusted.overlay.opaque") == b"y"
    assert (upper / "d" / "new").exists()
    # each layer is unpacked on its own: "evil" is a plain directory of the top snapshot
    assert stat.S_ISCHR(os.lstat(upper / "evil" / "victim").st_mode)
    _host_untouched(host)


def _docker_archive(path: Path, layers: list[bytes], tag: str) -> None:
    import hashlib

    diff_ids = ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    with tarfile.open(path, "w") as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("config.json", config)
        for i, layer in enumerate(layers):
            add(f"l{i}/layer.tar", layer)
        add("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": [tag],
                                           "Layers": [f"l{i}/layer.tar" for i in range(len(layers))]}]).encode())


@pytest.mark.skipif(shutil.which("zstd") is None, reason="zstd is not installed")
def test_zstd_layers(tmp_path: Path) -> None:
    plain = tar_bytes(file_entry("etc/hello", b"zstd works"))
    compressed = subprocess.run(["zstd", "-q", "-c"], input=plain, capture_output=True, check=True).stdout
    root = tmp_path / "root"
    image = ImageStore(root).import_rootfs(io.BytesIO(compressed), "z:1")
    assert (image.layers[0] / "etc" / "hello").read_text() == "zstd works"
    with pytest.raises(ImageError, match="not a valid tar archive"):
        ImageStore(root).import_rootfs(io.BytesIO(compressed[:-20] + b"\0" * 20), "z:2")
    _store_clean(root)
