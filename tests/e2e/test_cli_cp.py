"""cp between the host and service containers, running and stopped, with hostile symlinks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import helpers

pytestmark = pytest.mark.root

LONG = '["sh", "-c", "trap \'exit 0\' TERM; sleep 1000 & wait"]'


def test_cp_both_directions(run, composer_root: Path, tmp_path: Path, project_name: str) -> None:
    vol = tmp_path / "vol"
    vol.mkdir()
    f = tmp_path / "compose.yaml"
    f.write_text(f"""
services:
  web:
    image: busybox
    command: {LONG}
    volumes: ["{vol}:/mnt/vol"]
""")
    base = ["-f", str(f), "-p", project_name]
    host = tmp_path / "host"
    host.mkdir()
    (host / "file.txt").write_text("hello\n")
    (host / "tree" / "sub").mkdir(parents=True)
    (host / "tree" / "sub" / "leaf").write_text("leaf\n")

    def sh(script: str) -> str:
        return run(*base, "exec", "-T", "web", "sh", "-c", script).stdout  # type: ignore[no-any-return]

    try:
        run(*base, "up", "-d")
        # host -> container: into a directory, to a new name, a whole tree, the contents of a tree
        res = run(*base, "cp", str(host / "file.txt"), "web:/tmp/")
        assert "Copied" in res.stderr
        run(*base, "cp", str(host / "file.txt"), "web:/tmp/renamed.txt")
        run(*base, "cp", str(host / "tree"), "web:/tmp/tree")
        run(*base, "cp", str(host / "tree") + "/.", "web:/tmp")
        run(*base, "cp", str(host / "file.txt"), "web:/mnt/vol/")  # through the container's mounts
        assert sh("cat /tmp/file.txt /tmp/renamed.txt /tmp/tree/sub/leaf /tmp/sub/leaf") == "hello\nhello\nleaf\nleaf\n"
        assert (vol / "file.txt").read_text() == "hello\n"
        assert sh("stat -c %u:%g /tmp/file.txt") == "0:0\n"

        # container -> host, relative host paths resolved from the caller's directory
        run(*base, "cp", "web:/etc/passwd", "copied-passwd", cwd=host)
        assert (host / "copied-passwd").read_text().startswith("root:x:0:0")
        run(*base, "cp", "web:/tmp/tree", str(host / "back"))
        assert (host / "back" / "sub" / "leaf").read_text() == "leaf\n"

        # symlinks in the container resolve inside its root, never on the host
        sh("ln -s / /tmp/evil-root; ln -s ../../../../../../etc /tmp/evil-rel")
        run(*base, "cp", str(host / "file.txt"), "web:/tmp/evil-root/tmp/via-link")
        run(*base, "cp", str(host / "file.txt"), "web:/tmp/evil-rel/composer-test-canary")
        assert not Path("/tmp/via-link").exists() and not Path("/etc/composer-test-canary").exists()
        assert sh("cat /tmp/via-link /etc/composer-test-canary") == "hello\nhello\n"
        run(*base, "cp", "web:/tmp/evil-rel/passwd", str(host / "their-passwd"))
        assert (host / "their-passwd").read_text() == (host / "copied-passwd").read_text()

        # errors name the path; exit code 1, no traceback
        res = run(*base, "cp", "web:/no/such/file", str(host), check=False)
        assert (res.returncode, res.stderr.strip()) == (1, f"Could not find the file {project_name}-web-1:/no/such/file")
        res = run(*base, "cp", str(host / "file.txt"), "web:/no/such/dir/", check=False)
        assert res.returncode == 1 and "does not exist" in res.stderr
        res = run(*base, "cp", str(host / "file.txt"), str(host / "x"), check=False)
        assert res.returncode == 1 and res.stderr.strip() == "one of SRC and DEST must be SERVICE:PATH"

        # a stopped container: its writable layer, mounted for the copy only
        run(*base, "stop", "-t", "1")
        run(*base, "cp", str(host / "file.txt"), "web:/root/while-stopped")
        run(*base, "cp", "web:/tmp/renamed.txt", str(host / "from-stopped"))
        assert (host / "from-stopped").read_text() == "hello\n"
        run(*base, "cp", str(host / "file.txt"), "web:/mnt/vol/while-stopped.txt")  # its volumes too
        assert (vol / "while-stopped.txt").read_text() == "hello\n"
        run(*base, "cp", "web:/mnt/vol/file.txt", str(host / "vol-from-stopped"))
        assert (host / "vol-from-stopped").read_text() == "hello\n"
        assert [m for m in helpers.mounts_under(composer_root) if m.endswith("/rootfs")] == []
        run(*base, "start")
        assert sh("cat /root/while-stopped") == "hello\n"
    finally:
        run(*base, "down", "-t", "0", check=False)
