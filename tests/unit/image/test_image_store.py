"""ImageStore: import, get, list, tag, remove on a fresh state root."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import threading
from pathlib import Path

import pytest
from tarbuild import d, f, make_tar, sym

from composer.errors import ImageError, ImageNotFoundError
from composer.image.layout import REF_NAME
from composer.image.store import ImageStore
from composer.image.unpack import rmtree

BUSYBOX = Path("/bin/busybox")


def rootfs_tar(marker: bytes = b"") -> bytes:
    data = BUSYBOX.read_bytes() if BUSYBOX.exists() else b"\x7fELF fake"
    return make_tar(d("."), d("bin"), f("bin/busybox", data, mode=0o755), sym("bin/sh", "/bin/busybox"),
                    d("tmp", mode=0o1777), f("etc/marker", marker))


def leftovers(root: Path) -> list[str]:
    """Everything under the root but the empty skeleton and the layout's fixed files."""
    fixed = {"images", "images/oci-layout", "images/index.json", "images/index.lock",
             "images/blobs", "images/blobs/sha256", "images/ingest", "snapshots"}
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if str(p.relative_to(root)) not in fixed)


def test_import_get_layers(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    data = rootfs_tar()
    image = store.import_rootfs(io.BytesIO(data), "busybox", ['CMD ["sh"]', "ENV A=1", "EXPOSE 80",
                                                              "LABEL x=y", "WORKDIR /tmp", "USER 65534",
                                                              "STOPSIGNAL SIGINT"])
    assert image.id.startswith("sha256:") and len(image.id) == 71
    assert image.refs == ("busybox:latest",)
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    assert image.diff_ids == (diff_id,)
    assert image.layers == (tmp_path / "snapshots" / diff_id[7:] / "fs",)
    assert (image.layers[0] / "bin" / "busybox").is_file()
    assert os.readlink(image.layers[0] / "bin" / "sh") == "/bin/busybox"
    c = image.config
    assert (c.cmd, c.entrypoint, c.env, c.exposed_ports) == (("sh",), None, ("A=1",), ("80/tcp",))
    assert (c.labels, c.working_dir, c.user, c.stop_signal) == ({"x": "y"}, "/tmp", "65534", "SIGINT")
    assert image.size == len(BUSYBOX.read_bytes() if BUSYBOX.exists() else b"\x7fELF fake")
    assert image.architecture in ("amd64", "arm64") and image.os == "linux"
    for query in ("busybox", "busybox:latest", "docker.io/library/busybox:latest", image.id,
                  image.id[7:], image.id[7:11], "sha256:" + image.id[7:15]):
        assert store.get(query).id == image.id, query


def test_oci_layout_on_disk(tmp_path: Path) -> None:
    image = ImageStore(tmp_path).import_rootfs(io.BytesIO(rootfs_tar()), "localhost/localbusybox:latest")
    layout = tmp_path / "images"
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((layout / "index.json").read_text())
    [desc] = index["manifests"]
    assert desc["annotations"] == {REF_NAME: "localhost/localbusybox:latest"}
    assert desc["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    for blob in (layout / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    manifest = json.loads((layout / "blobs/sha256" / desc["digest"][7:]).read_text())
    assert manifest["config"]["digest"] == image.id
    config = json.loads((layout / "blobs/sha256" / image.id[7:]).read_text())
    assert config["rootfs"] == {"type": "layers", "diff_ids": list(image.diff_ids)}
    assert config["history"][0]["comment"] == "Imported from -"


def test_gzip_and_path_input(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    data = rootfs_tar()
    src = tmp_path / "rootfs.tar.gz"
    src.write_bytes(gzip.compress(data))
    image = store.import_rootfs(src, "gz", message="from gzip")
    assert image.diff_ids == ("sha256:" + hashlib.sha256(data).hexdigest(),)
    assert image.raw_config["history"][0]["comment"] == "from gzip"


@pytest.mark.parametrize("kind", ["truncated", "truncated-gzip", "garbage", "empty"])
def test_broken_archive_leaves_nothing(tmp_path: Path, kind: str) -> None:
    store = ImageStore(tmp_path)
    data = rootfs_tar()
    broken = {
        "truncated": data[: len(data) // 2 + 100],
        "truncated-gzip": gzip.compress(data)[:-200],
        "garbage": b"this is not a tar archive at all" * 100,
        "empty": b"",
    }[kind]
    with pytest.raises(ImageError) as info:
        store.import_rootfs(io.BytesIO(broken), "broken")
    assert str(info.value) == "-: not a valid tar archive"
    assert leftovers(tmp_path) == []
    assert store.list() == []


def test_hostile_archive_leaves_nothing(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    with pytest.raises(ImageError, match="escapes the layer root"):
        store.import_rootfs(io.BytesIO(make_tar(f("ok"), f("../../evil"))), "evil")
    assert leftovers(tmp_path) == []
    assert not (tmp_path.parent / "evil").exists()


def test_bad_change_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="RUN is not a valid change command"):
        ImageStore(tmp_path).import_rootfs(io.BytesIO(rootfs_tar()), "x", ["RUN true"])
    with pytest.raises(ImageError, match="must be lowercase"):
        ImageStore(tmp_path).import_rootfs(io.BytesIO(rootfs_tar()), "X")
    assert not (tmp_path / "images").exists()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as info:
        ImageStore(tmp_path).import_rootfs(tmp_path / "nope.tar", "x")
    assert str(info.value) == f"open {tmp_path}/nope.tar: No such file or directory"


def test_not_found(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    with pytest.raises(ImageNotFoundError) as info:
        store.get("busybox")
    assert str(info.value) == "No such image: busybox:latest"
    image = store.import_rootfs(io.BytesIO(rootfs_tar()), "busybox")
    for query, shown in [("busybox:1", "busybox:1"), ("sha256:" + "0" * 64, "sha256:" + "0" * 64),
                         ("other", "other:latest")]:
        with pytest.raises(ImageNotFoundError) as info:
            store.get(query)
        assert str(info.value) == f"No such image: {shown}"
    with pytest.raises(ImageNotFoundError):
        store.get(image.id[7:10])  # fewer than 4 hex digits is not an id prefix
    with pytest.raises(ImageError, match="must be lowercase"):
        store.get("BusyBox")


def test_ambiguous_prefix(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    store.layout.ensure()
    # two configs whose digests share their first 4 hex digits
    seen: dict[str, bytes] = {}
    n = 0
    while True:
        blob = json.dumps({"n": n, "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        prefix = hashlib.sha256(blob).hexdigest()[:4]
        if prefix in seen:
            break
        seen[prefix] = blob
        n += 1
    manifests = []
    for i, config in enumerate((seen[prefix], blob)):
        cfg = store.layout.write_blob(config)
        m = store.layout.write_blob(json.dumps({"schemaVersion": 2, "config": {"digest": cfg}, "layers": []}).encode())
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m, "size": 1,
                          "annotations": {REF_NAME: f"docker.io/library/img{i}:latest"}})
    store.layout.write_index(manifests)
    with pytest.raises(ImageError) as info:
        store.get(prefix)
    assert str(info.value) == f"multiple images found with provided prefix: {prefix}"
    assert store.get("img0").refs == ("img0:latest",)


def test_list_tag_retag_remove(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    first = store.import_rootfs(io.BytesIO(rootfs_tar(b"1")), "busybox")
    store.tag("busybox", "localhost/localbusybox")
    assert store.get("localhost/localbusybox:latest").refs == ("busybox:latest", "localhost/localbusybox:latest")
    second = store.import_rootfs(io.BytesIO(rootfs_tar(b"2")), "busybox:latest")
    anonymous = store.import_rootfs(io.BytesIO(rootfs_tar(b"3")), None)
    rows = [(r.repository, r.tag, r.id) for r in store.list()]
    assert rows == [("<none>", "<none>", anonymous.id), ("busybox", "latest", second.id),
                    ("localhost/localbusybox", "latest", first.id)]
    # untag only: the image keeps its other reference
    store.tag("busybox", "mine:v1")
    result = store.remove("mine:v1")
    assert (result.untagged, result.deleted) == (("mine:v1",), ())
    # last reference: the image, its blobs and its snapshot go
    result = store.remove("localhost/localbusybox")
    assert result.untagged == ("localhost/localbusybox:latest",)
    assert result.deleted == (first.id, first.diff_ids[0])
    assert not first.layers[0].parent.exists()
    assert not (tmp_path / "images/blobs/sha256" / first.id[7:]).exists()
    assert second.layers[0].is_dir()
    with pytest.raises(ImageNotFoundError):
        store.get(first.id)
    # by id, untagged
    assert store.remove(anonymous.id[7:19]).deleted[0] == anonymous.id
    assert [r.id for r in store.list()] == [second.id]


def test_shared_layer_survives_removal(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    data = rootfs_tar()
    a = store.import_rootfs(io.BytesIO(data), "a", ["CMD a"])
    b = store.import_rootfs(io.BytesIO(data), "b", ["CMD b"])
    assert a.layers == b.layers and a.id != b.id
    assert store.remove("a").deleted == (a.id,)
    assert (b.layers[0] / "bin/busybox").exists()
    assert store.get("b").layers == b.layers


def test_remove_conflict_needs_force(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    image = store.import_rootfs(io.BytesIO(rootfs_tar()), "a")
    store.tag("a", "b")
    with pytest.raises(ImageError, match=r"unable to delete .* \(must be forced\)"):
        store.remove(image.id)
    assert store.remove(image.id, force=True).untagged == ("a:latest", "b:latest")
    assert store.list() == []


def test_tag_refuses_digest(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    store.import_rootfs(io.BytesIO(rootfs_tar()), "a")
    with pytest.raises(ImageError, match="refusing to create a tag with a digest reference"):
        store.tag("a", "b@sha256:" + "a" * 64)


def test_missing_snapshot_is_rebuilt(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    image = store.import_rootfs(io.BytesIO(rootfs_tar()), "a")
    rmtree(image.layers[0].parent)
    again = store.get("a")
    assert (again.layers[0] / "bin/busybox").is_file()
    assert again.size == image.size


def test_concurrent_imports(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            ImageStore(tmp_path).import_rootfs(io.BytesIO(rootfs_tar(str(i % 2).encode())), f"img{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.repository for r in store.list()) == [f"img{i}" for i in range(6)]
    assert len(list((tmp_path / "snapshots").iterdir())) == 2
