"""scripts/make-busybox-image.sh builds busybox:latest into a fresh root, idempotently."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from composer.image.store import ImageStore

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "make-busybox-image.sh"
COMPOSER = REPO / ".venv" / "bin" / "composer"

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chroot, ownership)"),
    pytest.mark.skipif(not Path("/bin/busybox").exists(), reason="busybox-static not installed"),
    pytest.mark.skipif(not COMPOSER.exists() or shutil.which("chroot") is None,
                       reason="composer entry point or chroot missing"),
]


def run_script(root: Path) -> str:
    env = {**os.environ, "COMPOSER_ROOT": str(root), "COMPOSER": str(COMPOSER)}
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_script_builds_and_is_idempotent(tmp_path: Path) -> None:
    assert "busybox:latest imported" in run_script(tmp_path)
    store = ImageStore(tmp_path)
    image = store.get("busybox:latest")
    assert "up to date" in run_script(tmp_path)
    assert store.get("busybox").id == image.id
    assert len(store.list()) == 1

    fs = image.layers[0]
    assert image.config.cmd == ("sh",)
    assert not any(e.startswith("PATH=") for e in image.config.env)
    assert image.config.labels["composer.busybox.sha"]
    assert os.access(fs / "bin/busybox", os.X_OK)
    assert os.readlink(fs / "bin/sh") == "/bin/busybox"
    assert os.path.islink(fs / "usr/sbin/httpd") or os.path.islink(fs / "sbin/httpd")
    assert "nobody:x:65534:65534" in (fs / "etc/passwd").read_text()
    assert (fs / "etc/group").read_text().startswith("root:x:0:")
    assert (fs / "etc/nsswitch.conf").read_text() == "hosts: files dns\n"
    for empty in ("etc/hosts", "etc/resolv.conf", "etc/hostname"):
        assert (fs / empty).read_bytes() == b""
    assert stat.S_IMODE(os.lstat(fs / "tmp").st_mode) == 0o1777
    for directory in ("proc", "sys", "dev", "root", "var/log", "data", "run", "var/www"):
        assert (fs / directory).is_dir(), directory
    assert (fs / "var/www/index.html").read_text().strip()
