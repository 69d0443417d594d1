"""``user:`` resolved against a hostile image's /etc/passwd and /etc/group: the layers'
symlinks stay inside the image, and FIFOs, devices and huge files are refused at once."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from composer.engine import create
from composer.engine.execcmd import MAX_TABLE
from composer.engine.state import Paths
from composer.errors import ConfigError
from composer.image.archive import load
from composer.image.model import Image
from composer.image.store import ImageStore
from composer.schema.model import Project, Service
from tests.layers import Entry, file_entry, special_entry, tar_bytes

pytestmark = pytest.mark.root

def _image(root: Path, *layers: list[Entry]) -> Image:
    """An image of ``layers`` (bottom first), loaded as a docker archive."""
    blobs = [tar_bytes(*entries) for entries in layers]
    diff_ids = ["sha256:" + hashlib.sha256(b).hexdigest() for b in blobs]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    archive = root.parent / "img.tar"
    with tarfile.open(archive, "w") as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("config.json", config)
        for i, blob in enumerate(blobs):
            add(f"l{i}/layer.tar", blob)
        add("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": ["hostile:1"],
                                           "Layers": [f"l{i}/layer.tar" for i in range(len(blobs))]}]).encode())
    store = ImageStore(root)
    load(store, archive)
    return store.get("hostile:1")


@pytest.fixture
def host_passwd(tmp_path: Path) -> Path:
    host = tmp_path / "host-passwd"
    host.write_text("app:x:77:77::/host:/bin/sh\n")
    return host


def test_symlinks_resolve_inside_the_image(tmp_path: Path, host_passwd: Path) -> None:
    image = _image(tmp_path / "root", [
        file_entry("etc/passwd.real", b"app:x:5:6::/home/app:/bin/sh\n"),
        file_entry("etc/group", b"grp:x:9:\n"),
    ], [
        special_entry("etc/passwd", tarfile.SYMTYPE, "passwd.real"),  # relative, to a lower layer
        special_entry("etc/group", tarfile.SYMTYPE, "../../../.." + str(host_passwd)),  # host path: not in the image
        special_entry("etc/shadow", tarfile.SYMTYPE, "/etc/shadow"),  # a loop
    ])
    assert create._read_image_file(image, "etc/passwd") == "app:x:5:6::/home/app:/bin/sh\n"
    assert create._read_image_file(image, "etc/group") == ""
    with pytest.raises(ConfigError, match=r"^cannot read /etc/shadow in image hostile:1: too many levels"):
        create._read_image_file(image, "etc/shadow")


def test_absolute_host_symlink_is_not_followed(tmp_path: Path, host_passwd: Path) -> None:
    """``user: app`` exists only in the host file the image points at: not found, as in the container."""
    image = _image(tmp_path / "root", [special_entry("etc/passwd", tarfile.SYMTYPE, str(host_passwd))])
    assert create._read_image_file(image, "etc/passwd") == ""
    svc = Service(name="svc", image="hostile:1", user="app", command=["true"])
    project = Project(name="p", working_dir=Path("/"), config_files=(), services={"svc": svc})
    paths = Paths(tmp_path / "root", tmp_path / "run")
    create._IMAGE_FILES.clear()
    with pytest.raises(ConfigError, match="app"):
        create.create(paths, project, svc, 1, image, "hash")
    assert not paths.containers.exists() or not list(paths.containers.iterdir())


@pytest.mark.parametrize("entries", [
    [special_entry("etc/passwd", tarfile.FIFOTYPE)],
    [special_entry("etc/passwd", tarfile.CHRTYPE, major=1, minor=5)],  # /dev/zero's numbers
    [special_entry("dev/zero", tarfile.CHRTYPE, major=1, minor=5), special_entry("etc/passwd", tarfile.SYMTYPE, "/dev/zero")],
], ids=["fifo", "device", "symlink-to-device"])
def test_special_files_are_refused_at_once(tmp_path: Path, entries: list[Entry]) -> None:
    image = _image(tmp_path / "root", entries)
    with pytest.raises(ConfigError, match=r"^cannot read /etc/passwd in image hostile:1: not a regular file$"):
        create._read_image_file(image, "etc/passwd")


def test_huge_and_whited_out_tables(tmp_path: Path) -> None:
    image = _image(tmp_path / "root", [
        file_entry("etc/passwd", b"x" * (MAX_TABLE + 1)),
        file_entry("etc/group", b"grp:x:9:\n"),
    ], [file_entry("etc/.wh.group")])
    with pytest.raises(ConfigError, match=r"larger than 1048576 bytes$"):
        create._read_image_file(image, "etc/passwd")
    assert create._read_image_file(image, "etc/group") == ""  # deleted by the top layer
