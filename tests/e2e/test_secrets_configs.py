"""Secrets, configs and volumes_from on real containers, as Docker Compose mounts them."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import SLEEP_COMMAND, write_compose

pytestmark = pytest.mark.root



def test_secrets_and_configs(run, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "pw.txt").write_text("from-a-file\n")
    (tmp_path / "app.conf").write_text("conf=1\n")
    f = write_compose(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP_COMMAND}
    secrets:
      - pw
      - source: inline
        target: custom
        mode: 0440
        uid: "65534"
        gid: "65534"
      - source: fromenv
        target: /etc/abs-secret
    configs:
      - app
      - source: inline_cfg
        target: /etc/inline.conf
        mode: 0600
secrets:
  pw:
    file: ./pw.txt
  inline:
    environment: INLINE_SECRET
  fromenv:
    environment: MY_SECRET
configs:
  app:
    file: ./app.conf
  inline_cfg:
    content: "k=v"
""")
    base = ["-f", str(f), "-p", project_name]
    up = run(*base, "up", "-d", env={"MY_SECRET": "env-value", "INLINE_SECRET": "s3cret"})
    assert "not acted on" not in up.stderr

    def sh(script: str) -> str:
        return str(run(*base, "exec", "-T", "svc", "sh", "-c", script).stdout)

    assert sh("cat /run/secrets/pw") == "from-a-file\n"
    assert sh("cat /run/secrets/custom") == "s3cret"
    assert sh("stat -c '%a %u %g' /run/secrets/custom") == "440 65534 65534\n"
    assert sh("cat /etc/abs-secret") == "env-value"
    assert sh("stat -c '%a %u %g' /etc/abs-secret") == "444 0 0\n"
    assert sh("cat /app") == "conf=1\n"
    assert sh("cat /etc/inline.conf; stat -c ' %a' /etc/inline.conf") == "k=v 600\n"
    # read-only, even for root in the container
    assert run(*base, "exec", "-T", "svc", "sh", "-c", "echo x > /run/secrets/custom", check=False).returncode != 0
    assert run(*base, "exec", "-T", "svc", "sh", "-c", "echo x > /run/secrets/pw", check=False).returncode != 0
    assert (tmp_path / "pw.txt").read_text() == "from-a-file\n"
    run(*base, "down")


def test_secret_errors(run, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    f = write_compose(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP_COMMAND}
    secrets: [fromenv]
secrets:
  fromenv:
    environment: UNSET_SECRET_VAR_FOR_TEST
""")
    base = ["-f", str(f), "-p", project_name]
    proc = run(*base, "up", "-d", check=False)
    assert proc.returncode == 1
    assert (f'environment variable "UNSET_SECRET_VAR_FOR_TEST" required by file "{project_name}_fromenv" '
            "is not set") in proc.stderr
    assert "Traceback" not in proc.stderr
    f = write_compose(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP_COMMAND}
    secrets: [ext]
secrets:
  ext:
    external: true
""")
    proc = run(*base, "up", "-d", check=False)
    assert proc.returncode == 1
    assert "unsupported external secret ext" in proc.stderr
    run(*base, "down")


def test_volumes_from(run, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bound").mkdir()
    f = write_compose(tmp_path, f"""
services:
  data:
    image: busybox
    {SLEEP_COMMAND}
    volumes:
      - shared:/shared
      - ./bound:/bound
  reader:
    image: busybox
    {SLEEP_COMMAND}
    volumes_from: ["data:ro"]
  writer:
    image: busybox
    {SLEEP_COMMAND}
    volumes_from: [data]
volumes:
  shared: {{}}
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")

    def sh(service: str, script: str, check: bool = True) -> str:
        return str(run(*base, "exec", "-T", service, "sh", "-c", script, check=check).stdout)

    sh("data", "echo from-data > /shared/a")
    assert sh("reader", "cat /shared/a") == "from-data\n"
    sh("writer", "echo from-writer > /shared/b; echo bound > /bound/c")
    assert sh("data", "cat /shared/b") == "from-writer\n"
    assert (tmp_path / "bound" / "c").read_text() == "bound\n"
    proc = run(*base, "exec", "-T", "reader", "sh", "-c", "echo no > /shared/d", check=False)
    assert proc.returncode != 0
    assert sh("data", "ls /shared") == "a\nb\n"
    # the other container's own files (/etc/hosts...) are not its mounts
    assert sh("reader", "cat /etc/hostname") != sh("data", "cat /etc/hostname")
    run(*base, "down")


def test_volumes_from_rw_keeps_read_only_mounts_read_only(run, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bound").mkdir()
    (tmp_path / "pw.txt").write_text("secret\n")
    f = write_compose(tmp_path, f"""
services:
  src:
    image: busybox
    {SLEEP_COMMAND}
    volumes: ["./bound:/bind:ro", "rw:/rw"]
    secrets: [pw]
  use:
    image: busybox
    {SLEEP_COMMAND}
    volumes_from: ["src:rw"]
secrets:
  pw:
    file: ./pw.txt
volumes:
  rw: {{}}
""")
    base = ["-f", str(f), "-p", project_name]
    try:
        run(*base, "up", "-d")
        # ``:rw`` only keeps what was writable writable (moby: RW = m.RW && mode is rw)
        assert run(*base, "exec", "-T", "use", "sh", "-c", "echo x > /rw/ok && cat /rw/ok").stdout == "x\n"
        for script in ("echo x > /bind/new", "echo x > /run/secrets/pw"):
            proc = run(*base, "exec", "-T", "use", "sh", "-c", script, check=False)
            assert proc.returncode != 0, script
        assert not (tmp_path / "bound" / "new").exists()
        assert (tmp_path / "pw.txt").read_text() == "secret\n"
    finally:
        run(*base, "down", "-v", check=False)


@pytest.mark.parametrize("command", [["create"], ["up", "--no-start"]])
def test_volumes_from_without_starting(run, tmp_path: Path, project_name: str, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    # a_use sorts first: it must still be created after z_src, whose volumes it takes
    f = write_compose(tmp_path, f"""
services:
  a_use:
    image: busybox
    {SLEEP_COMMAND}
    volumes_from: [z_src]
  z_src:
    image: busybox
    {SLEEP_COMMAND}
    volumes: [/anon]
""")
    base = ["-f", str(f), "-p", project_name]
    try:
        proc = run(*base, *command, check=False)
        assert proc.returncode == 0, proc.stderr
        run(*base, "start")
        run(*base, "exec", "-T", "z_src", "sh", "-c", "echo shared > /anon/f")
        assert run(*base, "exec", "-T", "a_use", "cat", "/anon/f").stdout == "shared\n"
    finally:
        run(*base, "down", "-v", check=False)


def test_secret_uid_out_of_range_leaves_nothing(run, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    f = write_compose(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP_COMMAND}
    secrets:
      - source: s
        uid: "99999999999"
secrets:
  s:
    environment: S
""")
    base = ["-f", str(f), "-p", project_name]
    try:
        proc = run(*base, "up", "-d", check=False, env={"S": "v"})
        assert proc.returncode == 1
        assert "service 'svc': secrets: secret 's': uid '99999999999' is out of range (0 to 4294967294)" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert run(*base, "ps", "-a", "-q").stdout.strip() == ""  # no ghost "Created" container
    finally:
        run(*base, "down", check=False)


def test_secrets_as_docker_compose_skips_them(run, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "pw.txt").write_text("from-a-file\n")
    (tmp_path / "bound").mkdir()
    (tmp_path / "bound" / "mine").write_text("the volume's\n")
    f = write_compose(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP_COMMAND}
    volumes: ["./bound/mine:/run/secrets/over"]
    secrets:
      - source: pw
        mode: 0400
      - source: pw
        target: over
    configs:
      - empty
secrets:
  pw:
    file: ./pw.txt
configs:
  empty:
    content: ""
""")
    base = ["-f", str(f), "-p", project_name]
    try:
        up = run(*base, "up", "-d")
        assert "secrets `uid`, `gid` and `mode` are not supported, they will be ignored" in up.stderr

        def sh(script: str) -> str:
            return str(run(*base, "exec", "-T", "svc", "sh", "-c", script).stdout)

        assert sh("cat /run/secrets/pw") == "from-a-file\n"
        assert sh("cat /run/secrets/over") == "the volume's\n"  # the volume wins
        assert sh("test -e /empty && echo there || echo skipped") == "skipped\n"
    finally:
        run(*base, "down", check=False)


def _cgroup_dirs(name: str) -> list[Path]:
    """Every cgroup directory at or below one called ``name``, deepest first (to rmdir in order)."""
    found = subprocess.run(["find", "/sys/fs/cgroup", "-maxdepth", "7", "-type", "d", "-path", f"*/{name}*"],
                           capture_output=True, text=True, check=False).stdout.split()
    return sorted((Path(p) for p in found), key=lambda p: len(p.parts), reverse=True)


def test_annotations_and_cgroup_parent(run, composer_root: Path, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    parent = f"{project_name}-parent"  # relative: below composer's own group, as the default one
    f = write_compose(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP_COMMAND}
    annotations: {{org.example.team: blue}}
    cgroup_parent: {parent}
""")
    base = ["-f", str(f), "-p", project_name]
    try:
        run(*base, "up", "-d")
        (cdir,) = [p.parent for p in (composer_root / "containers").glob("*/container.json")
                   if json.loads(p.read_text())["project"] == project_name]
        cid = cdir.name
        spec = json.loads((cdir / "config.json").read_text())
        assert spec["annotations"]["org.example.team"] == "blue"
        assert spec["annotations"]["com.docker.compose.service"] == "svc"
        groups = run(*base, "exec", "-T", "svc", "cat", "/proc/self/cgroup").stdout
        assert f"/{parent}/{cid}" in groups
        run(*base, "down")
    finally:
        for d in _cgroup_dirs(parent):
            with contextlib.suppress(OSError):
                d.rmdir()
