"""Secrets, configs and volumes_from on real containers, as Docker Compose mounts them."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.root

SLEEP = 'command: ["sh", "-c", "trap \'exit 0\' TERM; sleep 1000 & wait"]'


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    return path


def test_secrets_and_configs(run, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "pw.txt").write_text("from-a-file\n")
    (tmp_path / "app.conf").write_text("conf=1\n")
    f = _write(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP}
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
    f = _write(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP}
    secrets: [fromenv]
secrets:
  fromenv:
    environment: UNSET_SECRET_VAR_FOR_TEST
""")
    base = ["-f", str(f), "-p", project_name]
    proc = run(*base, "up", "-d", check=False)
    assert proc.returncode == 1
    assert (f'environment variable "UNSET_SECRET_VAR_FOR_TEST" required by secret "{project_name}_fromenv" '
            "is not set") in proc.stderr
    assert "Traceback" not in proc.stderr
    f = _write(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP}
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
    f = _write(tmp_path, f"""
services:
  data:
    image: busybox
    {SLEEP}
    volumes:
      - shared:/shared
      - ./bound:/bound
  reader:
    image: busybox
    {SLEEP}
    volumes_from: ["data:ro"]
  writer:
    image: busybox
    {SLEEP}
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


def _cgroup_dirs(name: str) -> list[Path]:
    """Every cgroup directory at or below one called ``name``, deepest first (to rmdir in order)."""
    found = subprocess.run(["find", "/sys/fs/cgroup", "-maxdepth", "7", "-type", "d", "-path", f"*/{name}*"],
                           capture_output=True, text=True, check=False).stdout.split()
    return sorted((Path(p) for p in found), key=lambda p: len(p.parts), reverse=True)


def test_annotations_and_cgroup_parent(run, composer_root: Path, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    parent = f"{project_name}-parent"  # relative: below composer's own group, as the default one
    f = _write(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP}
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
