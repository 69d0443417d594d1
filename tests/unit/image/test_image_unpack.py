"""Unpacking never writes outside the snapshot, whatever the layer says."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tarfile
import uuid
from pathlib import Path

import pytest
from tarbuild import Entry, d, f, hard, make_tar, sym

from composer.errors import ImageError
from composer.image import unpack
from composer.image.unpack import unpack_layer

ROOT = os.geteuid() == 0


@pytest.fixture
def box(tmp_path: Path) -> Path:
    """tmp_path/box/fs is the snapshot; anything else under tmp_path/box is 'outside'."""
    (tmp_path / "box" / "fs").mkdir(parents=True)
    return tmp_path / "box"


def run(box: Path, *entries: Entry) -> int:
    return unpack_layer(io.BytesIO(make_tar(*entries)), box / "fs", "layer.tar")


def outside(box: Path) -> list[str]:
    return sorted(p.name for p in box.iterdir() if p.name != "fs")


def test_dotdot_escape_is_refused(box: Path) -> None:
    with pytest.raises(ImageError) as info:
        run(box, f("../x"))
    assert str(info.value) == 'layer.tar: refusing layer entry "../x": path escapes the layer root'
    with pytest.raises(ImageError):
        run(box, d("a"), f("a/../../x"))
    assert outside(box) == []


def test_absolute_path_is_kept_inside(box: Path) -> None:
    name = f"composer-test-{uuid.uuid4().hex}"
    run(box, f(f"/etc/{name}", b"hi"), f(f"/{name}", b"root"))
    assert (box / "fs" / "etc" / name).read_bytes() == b"hi"
    assert (box / "fs" / name).read_bytes() == b"root"
    assert not Path("/etc", name).exists()
    assert not Path("/", name).exists()


def test_symlink_parent_is_resolved_inside(box: Path) -> None:
    name = f"composer-test-{uuid.uuid4().hex}"
    run(box, sym("a", "/"), f(f"a/etc/{name}", b"in"))
    assert (box / "fs" / "a").is_symlink()
    assert (box / "fs" / "etc" / name).read_bytes() == b"in"
    assert not Path("/etc", name).exists()


def test_relative_symlink_parent_escape_is_refused(box: Path) -> None:
    with pytest.raises(ImageError) as info:
        run(box, sym("up", "../.."), f("up/x"))
    assert str(info.value) == 'layer.tar: refusing layer entry "up/x": path escapes the layer root'
    assert outside(box) == []


def test_symlink_loop_is_refused(box: Path) -> None:
    with pytest.raises(ImageError, match="too many levels of symbolic links"):
        run(box, sym("a", "b"), sym("b", "a"), f("a/x"))


def test_file_replaces_symlink_instead_of_writing_through(box: Path) -> None:
    run(box, sym("f", "../victim"), f("f", b"data"))
    assert not (box / "victim").exists()
    assert not (box / "fs" / "f").is_symlink()
    assert (box / "fs" / "f").read_bytes() == b"data"


def test_hardlink_outside_is_refused(box: Path) -> None:
    (box / "secret").write_bytes(b"s")
    before = os.stat("/etc/passwd").st_nlink
    for target in ("../secret", "/etc/passwd", "etc/passwd"):
        with pytest.raises(ImageError):
            run(box, hard("h", target))
    with pytest.raises(ImageError):
        run(box, sym("l", "/etc"), hard("h", "l/passwd"))
    with pytest.raises(ImageError):
        run(box, sym("l", ".."), hard("h", "l/secret"))
    assert os.stat("/etc/passwd").st_nlink == before
    assert os.stat(box / "secret").st_nlink == 1
    assert not (box / "fs" / "h").exists()


def test_hardlink_inside(box: Path) -> None:
    run(box, f("bin/busybox", b"elf", mode=0o755), hard("bin/sh", "bin/busybox"))
    assert os.stat(box / "fs/bin/sh").st_ino == os.stat(box / "fs/bin/busybox").st_ino


def test_hardlink_to_directory_is_refused(box: Path) -> None:
    with pytest.raises(ImageError, match="is a directory"):
        run(box, d("dir"), hard("h", "dir"))


def test_metadata_is_preserved(box: Path) -> None:
    size = run(
        box,
        d("ro", mode=0o555, mtime=1_000_000_000),
        f("ro/suid", b"12345", mode=0o4755, uid=1000, gid=1001, mtime=1_234_567_890),
        sym("ro/link", "suid"),
        d("tmp", mode=0o1777),
    )
    assert size == 5
    st = os.lstat(box / "fs/ro/suid")
    assert stat.S_IMODE(st.st_mode) == 0o4755
    assert int(st.st_mtime) == 1_234_567_890
    if ROOT:
        assert (st.st_uid, st.st_gid) == (1000, 1001)
    assert os.readlink(box / "fs/ro/link") == "suid"
    ro = os.lstat(box / "fs/ro")
    assert stat.S_IMODE(ro.st_mode) == 0o555
    assert int(ro.st_mtime) == 1_000_000_000
    assert stat.S_IMODE(os.lstat(box / "fs/tmp").st_mode) == 0o1777


def test_implicit_parents_and_replacement(box: Path) -> None:
    run(box, f("a/b/c", b"1"), f("a/b/c", b"2"), d("x"), f("x/y"), f("x", b"file now"))
    assert (box / "fs/a/b/c").read_bytes() == b"2"
    assert stat.S_IMODE(os.lstat(box / "fs/a").st_mode) == 0o755
    assert (box / "fs/x").read_bytes() == b"file now"


def test_file_as_parent_is_refused(box: Path) -> None:
    with pytest.raises(ImageError, match='parent "f" is not a directory'):
        run(box, f("f"), f("f/x"))


@pytest.mark.skipif(not ROOT, reason="mknod needs root")
def test_device_nodes_created_when_root(box: Path) -> None:
    run(box, Entry("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
        Entry("dev/fifo", tarfile.FIFOTYPE, mode=0o600))
    st = os.lstat(box / "fs/dev/null")
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert stat.S_ISFIFO(os.lstat(box / "fs/dev/fifo").st_mode)


def test_device_nodes_skipped_when_not_root(box: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unpack.os, "geteuid", lambda: 1000)
    run(box, Entry("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0), f("ok"))
    assert not os.path.lexists(box / "fs/dev/sda")
    assert (box / "fs/ok").exists()


@pytest.mark.skipif(not ROOT, reason="overlay whiteouts need root")
def test_whiteouts_become_overlay_whiteouts(box: Path) -> None:
    run(box, d("etc"), f("etc/gone"), f("etc/.wh.gone"), d("opq"), f("opq/.wh..wh..opq"),
        f(".wh..wh.plnk"))
    st = os.lstat(box / "fs/etc/gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert not os.path.lexists(box / "fs/etc/.wh.gone")
    assert not os.path.lexists(box / "fs/opq/.wh..wh..opq")
    assert not os.path.lexists(box / "fs/.wh..wh.plnk")
    try:
        assert os.getxattr(box / "fs/opq", "trusted.overlay.opaque") == b"y"
    except OSError:
        pytest.skip("filesystem without trusted xattrs")


def test_forged_overlay_xattrs_are_dropped(box: Path) -> None:
    run(box, f("x", pax={"SCHILY.xattr.trusted.overlay.redirect": "/etc",
                         "SCHILY.xattr.user.kept": "v"}))
    with pytest.raises(OSError):
        os.getxattr(box / "fs/x", "trusted.overlay.redirect")
    with contextlib.suppress(OSError):  # a filesystem without user xattrs
        assert os.getxattr(box / "fs/x", "user.kept") == b"v"


@pytest.mark.parametrize("cut", [100, 700, 1024 + 300])
def test_truncated_archive(box: Path, cut: int) -> None:
    data = make_tar(f("a", b"z" * 2000), f("b", b"y" * 10))
    with pytest.raises(ImageError) as info:
        unpack_layer(io.BytesIO(data[:cut]), box / "fs", "t.tar")
    assert str(info.value) == "t.tar: not a valid tar archive"


def test_garbage_after_first_member(box: Path) -> None:
    data = make_tar(f("a", b"z"))
    with pytest.raises(ImageError, match="not a valid tar archive"):
        unpack_layer(io.BytesIO(data[:1024] + b"\x01" * 1024), box / "fs", "t.tar")


def test_missing_end_of_archive_is_accepted(box: Path) -> None:
    data = make_tar(f("a", b"z"))
    unpack_layer(io.BytesIO(data[:1024]), box / "fs", "t.tar")  # as Go's archive/tar does
    assert (box / "fs/a").read_bytes() == b"z"

