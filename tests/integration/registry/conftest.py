"""A real registry on 127.0.0.1: Debian's ``docker-registry`` (distribution 2.x).

Each fixture starts its own server on a free loopback port with a temporary
storage directory (and, for ``auth_registry``, a bcrypt htpasswd file made
with the C library's ``crypt``: no extra Python package), waits until
``/v2/`` answers, and kills the server by its PID at teardown.
"""

from __future__ import annotations

import contextlib
import http.client
import shutil
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REGISTRY = shutil.which("docker-registry") or "/usr/bin/docker-registry"


@dataclass(frozen=True)
class RegistryServer:
    host: str  # "127.0.0.1:PORT"
    storage: Path
    user: str | None = None
    password: str | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bcrypt(password: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))  # cost 4: fast tests


def _ready(host: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection(host, timeout=1)
        try:
            conn.request("GET", "/v2/")
            if conn.getresponse().status in (200, 401):
                return True
        except OSError:
            time.sleep(0.05)
        finally:
            conn.close()
    return False


@contextlib.contextmanager
def _serve(tmp: Path, htpasswd: tuple[str, str] | None) -> Iterator[RegistryServer]:
    if not Path(REGISTRY).exists():
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    port = _free_port()
    host = f"127.0.0.1:{port}"
    storage = tmp / "storage"
    storage.mkdir()
    config = [
        "version: 0.1",
        "log:", "  level: error", "  accesslog:", "    disabled: true",
        "storage:", "  filesystem:", f"    rootdirectory: {storage}", "  delete:", "    enabled: true",
        "http:", f"  addr: {host}",
    ]
    if htpasswd is not None:
        (tmp / "htpasswd").write_text(f"{htpasswd[0]}:{_bcrypt(htpasswd[1])}\n")
        config += ["auth:", "  htpasswd:", "    realm: composer-tests", f"    path: {tmp / 'htpasswd'}"]
    (tmp / "config.yml").write_text("\n".join(config) + "\n")
    log = open(tmp / "registry.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen([REGISTRY, "serve", str(tmp / "config.yml")], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    try:
        if not _ready(host, time.monotonic() + 10):
            raise RuntimeError(f"docker-registry did not start: {(tmp / 'registry.log').read_text()[-500:]}")
        yield RegistryServer(host, storage, *(htpasswd or (None, None)))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    with _serve(tmp_path_factory.mktemp("registry"), None) as server:
        yield server


@pytest.fixture
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    with _serve(tmp_path_factory.mktemp("registry-auth"), ("tester", "s3cret-pw")) as server:
        yield server
