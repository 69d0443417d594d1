"""exec, run, create, restart, kill, top, port, wait, pause on real busybox containers."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.helpers import on_a_terminal

pytestmark = pytest.mark.root

TRAP = "trap 'exit 0' TERM; "
LONG = f'["sh", "-c", "{TRAP}sleep 1000 & wait"]'
# LONG that prints "ready" once its trap is set: before that, pid 1 ignores SIGTERM
READY = f'["sh", "-c", "{TRAP}echo ready; sleep 1000 & wait"]'


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    return path


def _ps(run, base: list[str], *extra: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in run(*base, "ps", "--format", "json", *extra).stdout.splitlines()]


def _until(check, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _on_a_terminal(root: Path, *args: str) -> tuple[str, int, str]:
    """Run the CLI with a pseudo-terminal as its stdio: (its tty name, exit code, output)."""
    import os

    code, out = on_a_terminal(root, list(args), before_exec=lambda: os.write(1, (os.ttyname(0) + "\n").encode()))
    ours, _, rest = out.partition("\n")
    return ours, code, rest.strip()



def test_exec_flags_and_exit_codes(run, composer_root: Path, tmp_path: Path, project_name: str) -> None:
    f = _write(tmp_path, f"""
services:
  web:
    image: busybox
    command: {LONG}
    environment: {{FROM_FILE: yes-file}}
    working_dir: /tmp
""")
    base = ["-f", str(f), "-p", project_name]
    try:
        run(*base, "up", "-d")
        res = run(*base, "exec", "-T", "web", "sh", "-c", "echo $FROM_FILE; pwd; id -u")
        assert res.stdout == "yes-file\n/tmp\n0\n"
        res = run(*base, "exec", "-T", "-e", "A=1", "-e", "HOME_FROM_CALLER", "-w", "/etc", "-u", "nobody",
                  "web", "sh", "-c", "echo $A $HOME_FROM_CALLER; pwd; id -u; exit 7",
                  check=False, env={"HOME_FROM_CALLER": "passed"})
        assert (res.returncode, res.stdout) == (7, "1 passed\n/etc\n65534\n")
        res = run(*base, "exec", "-T", "-u", "0:65534", "--privileged", "web", "id", "-g")
        assert res.stdout == "65534\n"
        res = run(*base, "exec", "-T", "web", "no-such-program", check=False)
        assert res.returncode == 127
        assert "no-such-program" in res.stderr and "Traceback" not in res.stderr
        run(*base, "exec", "-d", "web", "sh", "-c", "sleep 0.2; echo later > /tmp/detached")
        _until(lambda: run(*base, "exec", "-T", "web", "cat", "/tmp/detached", check=False).stdout == "later\n")
        ours, code, out = _on_a_terminal(composer_root, *base, "exec", "web", "sh", "-c",
                                         "[ -t 0 ] && readlink /proc/self/fd/0; exit 5")
        assert code == 5 and out.startswith("/dev/pts/")  # a pty of its own, in the container's devpts (test_cli_io)
        ours, code, out = _on_a_terminal(composer_root, *base, "exec", "-T", "web", "readlink", "/proc/self/fd/0")
        assert (code, out) == (0, ours)  # -T: no new terminal, the caller's stdio as it is
        res = run(*base, "exec", "-T", "--index", "2", "web", "true", check=False)
        assert (res.returncode, res.stderr.strip()) == (1, 'service "web" has no container number 2')
        res = run(*base, "exec", "-T", "nosvc", "true", check=False)
        assert res.returncode == 1 and res.stderr.strip() == "no such service: nosvc"
        run(*base, "stop", "-t", "1")
        res = run(*base, "exec", "-T", "web", "true", check=False)
        assert (res.returncode, res.stderr.strip()) == (1, 'service "web" is not running')
    finally:
        run(*base, "down", check=False)


def test_run_one_off_containers(run, tmp_path: Path, project_name: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.txt").write_text("from host\n")
    f = _write(tmp_path, f"""
services:
  db:
    image: busybox
    command: {LONG}
    healthcheck: {{test: ["CMD", "true"], interval: 200ms, start_interval: 100ms}}
  app:
    image: busybox
    command: ["echo", "default command"]
    environment: {{GREETING: hi}}
    depends_on: {{db: {{condition: service_healthy}}}}
    restart: always
""")
    base = ["-f", str(f), "-p", project_name]
    try:
        res = run(*base, "run", "--rm", "--no-deps", "app")
        assert res.stdout == "default command\n"
        assert _ps(run, base, "-a") == []  # --no-deps: db not started; --rm: nothing left

        res = run(*base, "run", "--rm", "-e", "EXTRA=x", "-w", "/etc", "-u", "nobody", "-v", f"{data}:/data:ro",
                  "app", "sh", "-c", "echo $GREETING $EXTRA; pwd; id -u; cat /data/in.txt; echo oops >&2; exit 3",
                  check=False)
        assert res.returncode == 3
        assert res.stdout == "hi x\n/etc\n65534\nfrom host\n"
        assert "oops\n" in res.stderr
        assert f"Container {project_name}-db-1  Started" in res.stderr  # dependencies come up first
        assert f"Container {project_name}-db-1  Healthy" in res.stderr  # ... and meet their condition
        assert [r["Service"] for r in _ps(run, base, "-a")] == ["db"]

        res = run(*base, "run", "--rm", "--entrypoint", "echo from entrypoint", "app")
        assert res.stdout == "from entrypoint\n"
        res = run(*base, "run", "--rm", "app", "no-such-program", check=False)
        assert res.returncode == 127 and "Traceback" not in res.stderr

        cid = run(*base, "run", "-d", "app", "sh", "-c", f"{TRAP}sleep 1000 & wait").stdout.strip()
        assert re.fullmatch(r"[0-9a-f]{64}", cid), cid
        row = next(r for r in _ps(run, base) if r["ID"] == cid)
        assert re.fullmatch(rf"{project_name}-app-run-[0-9a-f]{{12}}", row["Name"]), row["Name"]
        assert "com.docker.compose.oneoff=True" in row["Labels"]
        assert re.search(r"com\.docker\.compose\.slug=[0-9a-f]{64}", row["Labels"])
        # `up` neither counts the one-off container as a replica nor warns about it
        res = run(*base, "up", "-d")
        assert f"{project_name}-app-1" in res.stderr and "orphan" not in res.stderr
        assert res.returncode == 0
        named = run(*base, "run", "-d", "--name", "custom-oneoff", "app", "sleep", "100").stdout.strip()
        assert [r["Name"] for r in _ps(run, base) if r["ID"] == named] == ["custom-oneoff"]
        res = run(*base, "run", "-d", "--name", "custom-oneoff", "app", "true", check=False)
        assert res.returncode != 0 and "already in use" in res.stderr
        res = run(*base, "run", "-d", "--rm", "app", check=False)
        assert res.returncode == 1 and res.stderr.strip() == "--rm and -d cannot be combined"
    finally:
        run(*base, "down", "-t", "0", check=False)
    assert _ps(run, base, "-a") == []


def test_run_publishes_ports_only_when_asked(run, tmp_path: Path, project_name: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port_a = s.getsockname()[1]
    f = _write(tmp_path, f"""
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80", "-h", "/etc"]
    ports: ["127.0.0.1:{port_a}:80"]
""")
    base = ["-f", str(f), "-p", project_name]
    try:
        cid = run(*base, "run", "-d", "web").stdout.strip()
        row = next(r for r in _ps(run, base) if r["ID"] == cid)
        assert row["Publishers"] == []  # the service's ports only with --service-ports
        cid = run(*base, "run", "-d", "--service-ports", "web").stdout.strip()
        row = next(r for r in _ps(run, base) if r["ID"] == cid)
        assert [(p["URL"], p["PublishedPort"], p["TargetPort"]) for p in row["Publishers"]] == [
            ("127.0.0.1", port_a, 80)]
        cid = run(*base, "run", "-d", "-p", "127.0.0.1::80", "web").stdout.strip()
        row = next(r for r in _ps(run, base) if r["ID"] == cid)
        assert [p["TargetPort"] for p in row["Publishers"]] == [80]
    finally:
        run(*base, "down", "-t", "0", check=False)


def test_create_restart_kill_top_port_wait(run, tmp_path: Path, project_name: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    f = _write(tmp_path, f"""
services:
  web:
    image: busybox
    command: {READY}
    ports: ["127.0.0.1:{free}:80", "127.0.0.1::53/udp"]
  job:
    image: busybox
    command: ["sh", "-c", "sleep 0.3; exit 4"]
""")
    base = ["-f", str(f), "-p", project_name]
    try:
        res = run(*base, "create")
        assert f"Container {project_name}-web-1  Created" in res.stderr
        assert {r["State"] for r in _ps(run, base, "-a")} == {"created"}
        run(*base, "start", "web")

        def readies() -> int:
            return int(run(*base, "logs", "--no-log-prefix", "web").stdout.count("ready"))

        _until(lambda: readies() == 1)
        res = run(*base, "port", "web", "80")
        assert res.stdout == f"127.0.0.1:{free}\n"
        res = run(*base, "port", "web", "81", check=False)
        assert (res.returncode, res.stderr.strip()) == (1, f"no port 81/tcp for container {project_name}-web-1")
        res = run(*base, "port", "--protocol", "udp", "web", "53")
        assert re.fullmatch(r"127\.0\.0\.1:\d+\n", res.stdout) and not res.stdout.endswith(":0\n")

        # sleep is forked after "ready"
        _until(lambda: any(ln.endswith("sleep 1000") for ln in run(*base, "top", "web").stdout.splitlines()))
        top = run(*base, "top", "web").stdout.splitlines()
        assert top[0] == f"{project_name}-web-1"
        assert top[1].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        assert any(line.endswith("sleep 1000") and line.startswith("root") for line in top[2:])

        before = _ps(run, base, "web")[0]
        res = run(*base, "restart", "-t", "1", "web")
        assert f"Container {project_name}-web-1  Restarting" in res.stderr
        after = _ps(run, base, "web")[0]
        assert after["State"] == "running" and after["Status"].startswith("Up")
        assert before["ID"] == after["ID"]

        _until(lambda: readies() == 2)  # the restarted shell has set its trap
        run(*base, "kill", "-s", "TERM", "web")  # the trap exits 0
        assert run(*base, "wait", "web", check=False).returncode == 0
        run(*base, "start", "web")
        run(*base, "kill", "web")
        started = time.monotonic()
        assert run(*base, "wait", "web", check=False).returncode == 137
        assert time.monotonic() - started < 30  # SIGKILL by default: far from sleep's 1000 s
        res = run(*base, "kill", "-s", "NOSUCHSIG", "web", check=False)
        assert res.returncode == 1 and "Traceback" not in res.stderr
        only_web = tmp_path / "only-web.yaml"
        only_web.write_text(f"services:\n  web:\n    image: busybox\n    command: {LONG}\n")
        res = run("-f", str(only_web), "-p", project_name, "kill", "--remove-orphans")
        assert f"Container {project_name}-job-1  Removed" in res.stderr
        assert res.stderr.strip().endswith("no container to kill")

        run(*base, "up", "-d", "job")
        res = run(*base, "wait", "--down-project", "job", check=False)
        assert res.returncode == 4
        assert _ps(run, base, "-a") == []
    finally:
        run(*base, "down", "-t", "0", check=False)


def test_pause_unpause(run, tmp_path: Path, project_name: str) -> None:
    from composer.runtime import api

    f = _write(tmp_path, f"services:\n  web:\n    image: busybox\n    command: {LONG}\n")
    base = ["-f", str(f), "-p", project_name]
    try:
        run(*base, "up", "-d")
        res = run(*base, "pause", check=False)
        if not hasattr(api, "pause_container"):
            assert (res.returncode, res.stderr.strip()) == (1, "pause is not supported by this runtime yet")
            return
        assert res.returncode == 0, res.stderr
        assert f"Container {project_name}-web-1  Paused" in res.stderr
        (row,) = json.loads(run("ls", "--format", "json").stdout)
        assert (row["Name"], row["Status"]) == (project_name, "paused(1)")
        run(*base, "unpause")
        assert run(*base, "exec", "-T", "web", "echo", "alive").stdout == "alive\n"
    finally:
        run(*base, "down", "-t", "0", check=False)


def test_run_in_the_foreground_passes_ctrl_c_on(composer_root: Path, tmp_path: Path, project_name: str) -> None:
    import os
    import select
    import signal
    import subprocess
    import sys

    from tests import helpers

    f = _write(tmp_path, "services:\n  app:\n    image: busybox\n")
    base = ["-f", str(f), "-p", project_name]
    script = "trap 'echo got INT; exit 9' INT; echo ready; while true; do sleep 0.1; done"
    env = {**os.environ, "COMPOSER_ROOT": str(composer_root)}
    err_path = tmp_path / "run.err"
    with open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "composer", *base, "run", "--rm", "app", "sh", "-c", script],
                                stdout=subprocess.PIPE, stderr=err, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert select.select([proc.stdout], [], [], 30)[0], "the one-off container printed nothing"
        assert proc.stdout.readline() == "ready\n", err_path.read_text()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert (proc.returncode, out) == (9, "got INT\n")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert helpers.composer(composer_root, *base, "ps", "-a", "-q").stdout == ""  # --rm removed it


def test_exec_user_with_a_hostile_passwd(run, tmp_path: Path, project_name: str) -> None:  # type: ignore[no-untyped-def]
    """``exec -u NAME`` reads the container's /etc/passwd inside its rootfs, never through a host path."""
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    f = _write(tmp_path, f"""
services:
  web:
    image: busybox
    command: {LONG}
""")
    base = ["-f", str(f), "-p", project_name]
    try:
        run(*base, "up", "-d")
        run(*base, "exec", "-T", "web", "sh", "-c", f"ln -sf {fifo} /etc/passwd")
        res = run(*base, "exec", "-T", "-u", "nobody", "web", "true", check=False, timeout=30)
        assert res.returncode == 1
        assert "unable to find user nobody: no matching entries in passwd file" in res.stderr
        run(*base, "exec", "-T", "web", "sh", "-c",
            "rm /etc/passwd; dd if=/dev/zero of=/etc/passwd bs=1024 count=1025 2>/dev/null")
        res = run(*base, "exec", "-T", "-u", "nobody", "web", "true", check=False, timeout=30)
        assert res.returncode == 1
        assert "cannot read /etc/passwd in the container: larger than 1048576 bytes" in res.stderr
        assert "Traceback" not in res.stderr
    finally:
        run(*base, "down", check=False)
