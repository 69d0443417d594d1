"""post_start and pre_stop hooks on real containers, with Docker Compose's semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import SLEEP_COMMAND, write_compose

pytestmark = pytest.mark.root



def test_post_start_runs_with_its_settings(run, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    f = write_compose(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP_COMMAND}
    user: "65534"
    environment: {{BASE: base}}
    post_start:
      - command: ["sh", "-c", "echo hook-out $$BASE $$EXTRA $$(id -u) $$(pwd); echo done > /tmp/hooked"]
        user: root
        working_dir: /etc
        environment: {{EXTRA: extra}}
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "--no-start")
    proc = run(*base, "start")
    assert "svc-1 ->  hook-out base extra 0 /etc" in proc.stderr
    assert run(*base, "exec", "-T", "svc", "cat", "/tmp/hooked").stdout == "done\n"
    run(*base, "down")


def test_post_start_failure_fails_the_command(run, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    f = write_compose(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP_COMMAND}
    post_start:
      - command: ["sh", "-c", "echo failing; exit 3"]
      - command: ["touch", "/tmp/second"]
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "--no-start")
    proc = run(*base, "start", check=False)
    assert proc.returncode == 1
    assert "svc hook exited with status 3" in proc.stderr
    assert "Traceback" not in proc.stderr
    # the container keeps running, as with Docker Compose; the later hooks do not run
    assert run(*base, "ps", "-q").stdout.strip()
    assert run(*base, "exec", "-T", "svc", "test", "-e", "/tmp/second", check=False).returncode == 1
    run(*base, "down")


def test_pre_stop_runs_at_stop_and_down(run, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    out.mkdir()
    f = write_compose(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP_COMMAND}
    volumes: ["./out:/out"]
    pre_stop:
      - command: ["sh", "-c", "echo stopping >> /out/log; echo pre-stop-out"]
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")
    assert not (out / "log").exists()
    proc = run(*base, "stop")
    assert (out / "log").read_text() == "stopping\n"
    assert "svc-1 ->  pre-stop-out" in proc.stderr
    run(*base, "stop")  # not running: no hook
    assert (out / "log").read_text() == "stopping\n"
    run(*base, "start")
    run(*base, "down")
    assert (out / "log").read_text() == "stopping\nstopping\n"


def test_hooks_on_up(run, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    out.mkdir()
    f = write_compose(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP_COMMAND}
    volumes: ["./out:/out"]
    environment: {{V: "1"}}
    post_start:
      - command: ["sh", "-c", "echo started $$V >> /out/log"]
    pre_stop:
      - command: ["sh", "-c", "echo stopping $$V >> /out/log"]
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")
    assert (out / "log").read_text() == "started 1\n"
    f.write_text(f.read_text().replace('V: "1"', 'V: "2"'))
    run(*base, "up", "-d")  # a recreate: the old container's pre_stop, the new one's post_start
    assert (out / "log").read_text() == "started 1\nstopping 1\nstarted 2\n"
    f.write_text(f.read_text().replace("echo started", "exit 5; echo"))
    proc = run(*base, "up", "-d", check=False)
    assert proc.returncode == 1 and "svc hook exited with status 5" in proc.stderr
    run(*base, "down")


def test_hook_user_with_a_hostile_passwd(run, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    """The container owns /etc/passwd: a symlink to a host FIFO must not hang ``stop``."""
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    f = write_compose(tmp_path, f"""
services:
  svc:
    image: busybox
    {SLEEP_COMMAND}
    pre_stop:
      - command: ["true"]
        user: nobody
""")
    base = ["-f", str(f), "-p", project_name]
    try:
        run(*base, "up", "-d")
        run(*base, "exec", "-T", "svc", "sh", "-c", f"cp /etc/passwd /passwd.orig; ln -sf {fifo} /etc/passwd")
        proc = run(*base, "stop", check=False, timeout=30)  # resolved in the rootfs: no such file there
        assert proc.returncode == 1
        assert "unable to find user nobody: no matching entries in passwd file" in proc.stderr
        run(*base, "exec", "-T", "svc", "sh", "-c", "mkfifo /p; ln -sf /p /etc/passwd")
        proc = run(*base, "stop", check=False, timeout=30)
        assert proc.returncode == 1
        assert "cannot read /etc/passwd in the container: not a regular file" in proc.stderr
        assert "Traceback" not in proc.stderr
        run(*base, "exec", "-T", "svc", "sh", "-c", "rm /etc/passwd; cp /passwd.orig /etc/passwd")
        run(*base, "stop", timeout=30)
    finally:
        run(*base, "kill", check=False)
        run(*base, "down", check=False)
