"""The flagship sample, end to end through the CLI, on the real kernel."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests import helpers

pytestmark = pytest.mark.root
SAMPLE = helpers.REPO / "samples" / "quickstart"


def _port() -> int:
    """18080 as the sample says, unless something else holds it."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", 18080))
            return 18080
        except OSError:
            pass
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(fn, timeout: float = 20.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def _client_logs(run, base: list[str]) -> str:  # type: ignore[no-untyped-def]
    def ready() -> str:
        out: str = run(*base, "logs", "client").stdout
        return out if "api says" in out else ""

    return str(_wait_for(ready))


def _processes_mentioning(text: str) -> list[str]:
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if text in cmd or text.encode() in environ:
            out.append(f"{proc.name}: {cmd}")
    return out


def test_quickstart_up_ps_logs_volume_and_down(run, composer_root: Path, project_name: str) -> None:
    port = _port()
    env = {"QUICKSTART_PORT": str(port)}
    base = ["-f", str(SAMPLE / "compose.yaml"), "-p", project_name]
    run(*base, "up", "-d", env=env)

    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
    assert "composer quickstart" in page

    logs = _client_logs(run, base)
    assert "web says: <h1>composer quickstart" in logs
    assert "api says: hello from the api (hit 1)" in logs
    assert f"{project_name}-client-1  | " in logs

    rows = [json.loads(line) for line in run(*base, "ps", "--format", "json").stdout.splitlines()]
    assert sorted(r["Name"] for r in rows) == [f"{project_name}-{s}-1" for s in ("api", "client", "web")]
    assert {r["State"] for r in rows} == {"running"}
    web = next(r for r in rows if r["Service"] == "web")
    assert web["Health"] == "healthy"
    assert web["Publishers"] == [{"URL": "127.0.0.1", "TargetPort": 8080, "PublishedPort": port, "Protocol": "tcp"}]
    assert web["Labels"].count("com.docker.compose.project=" + project_name) == 1

    # the hit counter lives in the named volume: it survives down + up ...
    run(*base, "down", env=env)
    run(*base, "up", "-d", env=env)
    logs = _client_logs(run, base)
    assert "api says: hello from the api (hit 2)" in logs

    # ... and is gone after down -v
    run(*base, "down", "-v", env=env)
    run(*base, "up", "-d", env=env)
    logs = _client_logs(run, base)
    assert "api says: hello from the api (hit 1)" in logs

    bridges = [json.loads(p.read_text())["bridge"] for p in (composer_root / "networks").glob("*.json")]
    assert bridges
    veths = [line.split(":")[1].strip().split("@")[0] for bridge in bridges
             for line in subprocess.run(["ip", "-o", "link", "show", "master", bridge],
                                        capture_output=True, text=True, check=True).stdout.splitlines()]
    assert len(veths) == 3
    run(*base, "down", "-v", env=env)

    # nothing left: no mount under the root, no bridge, no veth, no process
    assert helpers.mounts_under(composer_root) == []
    links = helpers.links()
    for bridge in bridges:
        assert bridge not in links
    for veth in veths:
        assert f" {veth}@" not in links and f" {veth}:" not in links
    leftovers = _wait_for(lambda: not _processes_mentioning(str(composer_root)), timeout=20)
    assert leftovers, _processes_mentioning(str(composer_root))
    assert list((composer_root / "volumes").glob(f"{project_name}_*")) == []


def test_errors_are_one_line(run, tmp_path: Path, project_name: str) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  web:\n    image: busybox\n   command: [oops\n")
    res = run("-f", str(broken), "up", "-d", check=False)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr

    good = tmp_path / "good.yaml"
    good.write_text("services:\n  web:\n    image: busybox\n")
    res = run("-f", str(good), "-p", project_name, "logs", "nosuch", check=False)
    assert res.returncode != 0
    assert res.stderr.strip() == "no such service: nosuch"

    missing = tmp_path / "missing.yaml"
    missing.write_text("services:\n  web:\n    image: nosuchimage:1.0\n")
    res = run("-f", str(missing), "-p", project_name, "up", "-d", check=False)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1] == "No such image: nosuchimage:1.0"
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
