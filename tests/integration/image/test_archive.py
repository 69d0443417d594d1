"""``image save``/``image load`` against an independent tool: skopeo (offline, local files only)."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from composer.image.store import ImageStore
from tests import helpers

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed"),
]


def skopeo(*args: str) -> None:
    done = subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", *args], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def fresh_root(tmp_path_factory: pytest.TempPathFactory) -> object:
    root = Path(tmp_path_factory.mktemp("fresh", numbered=True))
    try:
        yield root
    finally:
        helpers.cleanup_root(root)


def test_skopeo_archives_load_and_run(composer_root: Path, fresh_root: Path, tmp_path: Path) -> None:
    # an OCI layout written by skopeo from composer's own save: the independent tool's format
    helpers.composer(composer_root, "image", "save", "-o", str(tmp_path / "bb.tar"), "busybox:latest")
    skopeo(f"docker-archive:{tmp_path / 'bb.tar'}", f"oci:{tmp_path / 'layout'}:bb")
    # skopeo writes gzip layers into the layout; from it, both archive kinds
    skopeo(f"oci:{tmp_path / 'layout'}:bb", f"docker-archive:{tmp_path / 'docker.tar'}:example/bb:docker")
    skopeo(f"oci:{tmp_path / 'layout'}:bb", f"oci-archive:{tmp_path / 'oci.tar'}:example/bb:oci")
    out = helpers.composer(fresh_root, "image", "load", "-i", str(tmp_path / "docker.tar")).stdout
    assert out == "Loaded image: example/bb:docker\n"
    out = helpers.composer(fresh_root, "image", "load", "-i", str(tmp_path / "oci.tar")).stdout
    assert out == "Loaded image: example/bb:oci\n"
    store = ImageStore(fresh_root)
    original = ImageStore(composer_root).get("busybox:latest")
    assert store.get("example/bb:docker").id == original.id == store.get("example/bb:oci").id
    # a compressed archive loads too (docker load accepts gzip)
    (tmp_path / "docker.tar.gz").write_bytes(gzip.compress((tmp_path / "docker.tar").read_bytes(), 1))
    helpers.composer(fresh_root, "image", "rm", "example/bb:docker")
    helpers.composer(fresh_root, "image", "load", "-i", str(tmp_path / "docker.tar.gz"))
    # and it runs
    project = tmp_path / "proj"
    project.mkdir()
    (project / "compose.yaml").write_text("services:\n  app:\n    image: example/bb:oci\n"
                                          "    command: [\"echo\", \"loaded and running\"]\n")
    try:
        ran = helpers.composer(fresh_root, "-p", "loadrun", "run", "--rm", "app", cwd=project, timeout=60)
        assert ran.stdout == "loaded and running\n"
    finally:
        helpers.composer(fresh_root, "-p", "loadrun", "down", cwd=project, check=False)


def test_composer_save_is_read_by_skopeo(composer_root: Path, tmp_path: Path) -> None:
    helpers.composer(composer_root, "image", "tag", "busybox:latest", "example/two:v2")
    archive = tmp_path / "both.tar"
    helpers.composer(composer_root, "image", "save", "-o", str(archive), "busybox:latest", "example/two:v2")
    skopeo(f"docker-archive:{archive}:example/two:v2", f"oci:{tmp_path / 'a'}:x")
    skopeo(f"oci-archive:{archive}:latest", f"oci:{tmp_path / 'b'}:y")
    for layout in ("a", "b"):
        index = json.loads((tmp_path / layout / "index.json").read_text())
        manifest_digest = index["manifests"][0]["digest"].split(":")[1]
        manifest = json.loads((tmp_path / layout / "blobs" / "sha256" / manifest_digest).read_text())
        config = manifest["config"]["digest"]
        assert config == ImageStore(composer_root).get("busybox:latest").id


def test_load_rejects_tampered_and_broken_archives(composer_root: Path, fresh_root: Path, tmp_path: Path) -> None:
    archive = tmp_path / "bb.tar"
    helpers.composer(composer_root, "image", "save", "-o", str(archive), "busybox:latest")
    # flip one byte of the layer blob inside the archive: its digest no longer matches
    data = bytearray(archive.read_bytes())
    layer_hex = ImageStore(composer_root).get("busybox:latest").diff_ids[0].split(":")[1]
    start = data.find(f"blobs/sha256/{layer_hex}".encode())
    position = start + 512 + 4096  # header block, then well inside the content
    data[position] ^= 0xFF
    (tmp_path / "tampered.tar").write_bytes(bytes(data))
    bad = helpers.composer(fresh_root, "image", "load", "-i", str(tmp_path / "tampered.tar"), check=False)
    assert bad.returncode != 0
    assert "does not match its diff id" in bad.stderr
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(archive.read_bytes()[:20000])
    bad = helpers.composer(fresh_root, "image", "load", "-i", str(truncated), check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    (tmp_path / "notar").write_bytes(b"hello")
    bad = helpers.composer(fresh_root, "image", "load", "-i", str(tmp_path / "notar"), check=False)
    assert bad.returncode != 0 and "not a valid" in bad.stderr
    assert ImageStore(fresh_root).list() == []
    assert not list((fresh_root / "snapshots").glob("*")) if (fresh_root / "snapshots").exists() else True
