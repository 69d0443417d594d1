"""Test helpers: run the CLI, build the busybox tarball, clean a composer root."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ipaddress import IPv4Network

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent


def composer(root: Path, *args: str, cwd: Path | None = None, check: bool = True,
             env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {}), "COMPOSER_ROOT": str(root)}
    proc = subprocess.run(
        [sys.executable, "-m", "composer", *args], cwd=cwd or REPO, env=full_env,
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"composer {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def make_busybox_tarball(out: Path) -> None:
    """A busybox rootfs (static /bin/busybox + applet links + minimal /etc) as a tar."""
    busybox = Path("/bin/busybox")
    applets = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    with tarfile.open(out, "w") as tar:
        def add_dir(name: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)

        def add_file(name: str, data: bytes, mode: int = 0o644) -> None:
            import io

            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))

        for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "root",
                  "var", "var/www", "data", "run"):
            add_dir(d)
        add_dir("tmp", 0o1777)
        add_file("bin/busybox", busybox.read_bytes(), 0o755)
        for applet in applets:
            if applet == "bin/busybox":
                continue
            info = tarfile.TarInfo(applet)
            info.type, info.linkname = tarfile.SYMTYPE, "/bin/busybox"
            tar.addfile(info)
        add_file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
        add_file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
        add_file("etc/nsswitch.conf", b"hosts: files dns\n")
        for f in ("etc/hosts", "etc/resolv.conf", "etc/hostname"):
            add_file(f, b"")


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def cleanup_root(root: Path) -> None:
    """Remove everything a test left under ``root``: processes, mounts, bridges, files."""
    run_root = root / "run"
    # processes recorded under this root: container inits, shims, monitors
    groups: list[Path] = []
    for state_file in (run_root / "runtime").glob("*/state.json"):
        with contextlib.suppress(Exception):
            st = json.loads(state_file.read_text())
            for key in ("pid", "shim_pid", "shimPid"):
                if isinstance(st.get(key), int) and st[key] > 1:
                    _kill(st[key])
            groups += [Path(g) for g in (st.get("cgroup") or {}).values() if str(g).startswith("/sys/fs/cgroup/")]
    for pid_file in (run_root / "monitor").glob("*.pid"):
        with contextlib.suppress(Exception):
            _kill(int(pid_file.read_text()))
    time.sleep(0.05)
    _remove_cgroups(groups)
    # mounts under the root, deepest first
    prefix = str(root.resolve())
    with open("/proc/self/mounts") as fh:
        points = [line.split()[1].replace("\\040", " ") for line in fh]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    # bridges of this root's networks (veths die with their namespaces)
    for net_file in (root / "networks").glob("*.json"):
        with contextlib.suppress(Exception):
            bridge = json.loads(net_file.read_text())["bridge"]
            subprocess.run(["ip", "link", "del", bridge], capture_output=True, check=False)
    # nftables tables of this root's networks (composer_<root tag>_<net id12>)
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]
    if shutil.which("nft"):
        out = subprocess.run(["nft", "list", "tables", "ip"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            name = line.split()[-1] if line.startswith("table ip ") else ""
            if name.startswith(f"composer_{tag}_"):
                subprocess.run(["nft", "delete", "table", "ip", name], capture_output=True, check=False)
    shutil.rmtree(root, ignore_errors=True)


def _remove_cgroups(groups: list[Path], timeout: float = 2.0) -> None:
    """rmdir the containers' cgroups (their processes were just killed: EBUSY until they are gone)."""
    deadline = time.monotonic() + timeout
    for group in groups:
        while group.is_dir():
            for pid in _group_pids(group):
                _kill(pid)
            try:
                group.rmdir()
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)


def _group_pids(group: Path) -> list[int]:
    try:
        return [int(line) for line in (group / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve())
    with open("/proc/self/mounts") as fh:
        return [line.split()[1] for line in fh if line.split()[1].startswith(prefix)]


def links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05,
             what: str = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy and return that; fail after ``timeout`` s.

    For tests on a loaded machine: wait on the condition itself, never on a fixed sleep.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not met within {timeout:g}s (last: {value!r})")
        time.sleep(interval)


#: (wait for these bytes in the output, then do this with the pty's master)
PtyStep = tuple[bytes, Callable[[int], None]]


def on_a_terminal(root: Path, args: list[str] | tuple[str, ...], steps: list[PtyStep] | tuple[PtyStep, ...] = (),
                  before_exec: Callable[[], object] | None = None, timeout: float = 60) -> tuple[int, str]:
    """Run the CLI on a new pseudo-terminal, doing ``steps`` as their cue shows up: (exit code, output).

    ``before_exec`` runs in the child, on the terminal, just before the CLI starts. Bounded by ``timeout``:
    the CLI is killed (by its pid) when it has not finished by then.
    """
    import pty
    import select

    env = {**os.environ, "COMPOSER_ROOT": str(root)}
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        if before_exec is not None:
            before_exec()
        os.execvpe(sys.executable, [sys.executable, "-m", "composer", *args], env)
    out = b""
    todo = list(steps)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if todo and todo[0][0] in out:
                todo.pop(0)[1](fd)
            if not select.select([fd], [], [], 0.2)[0]:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the terminal's last user has gone
                break
            if not chunk:
                break
            out += chunk
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace").replace("\r\n", "\n")


def free_subnet() -> IPv4Network:
    """A /24 in 10.150-250.x.0 that overlaps no network on this host (bounded tries)."""
    import random
    from ipaddress import IPv4Network

    from composer.runtime.net import ipam

    used = ipam.host_networks()
    for _ in range(200):
        net = IPv4Network(f"10.{random.randint(150, 250)}.{random.randint(0, 255)}.0/24")
        if not any(net.overlaps(u) for u in used):
            return net
    raise AssertionError("no free subnet")


#: a service command that runs until stopped and exits 0 on SIGTERM (a shell as pid 1 ignores it otherwise)
SLEEP_COMMAND = 'command: ["sh", "-c", "trap \'exit 0\' TERM; sleep 1000 & wait"]'


def write_compose(directory: Path, text: str) -> Path:
    """``directory/compose.yaml`` with ``text``; its path."""
    path = directory / "compose.yaml"
    path.write_text(text)
    return path
