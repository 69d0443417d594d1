"""Fixtures for the runtime's integration tests: busybox bundles, a run root, a backend.

Every test gets its own directories; the ``runtime`` fixture stops and deletes
every container the test started, even when the test fails, then asserts that
no process, state directory, cgroup or mount of the test is left behind.

``runtime`` is parametrized over the backends present (``builtin`` always,
``crun`` and ``runc`` when installed), so the same tests run on each; a test
that needs the built-in backend alone asks for ``builtin_runtime``.
Conftests import the fixtures from here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from composer.runtime import api, cgroups
from composer.runtime.config import default_spec
from composer.runtime.state import is_alive, read_record

BUSYBOX = Path("/bin/busybox")
BACKENDS = ("builtin", "crun", "runc")


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root: the runtime tests create real namespaces and mounts"
    if not BUSYBOX.exists():
        return "needs /bin/busybox (apt-get install busybox-static) to build a test rootfs"
    return None


@pytest.fixture(scope="session")
def busybox_applets() -> list[str]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    out = subprocess.run([str(BUSYBOX), "--list"], check=True, capture_output=True, text=True).stdout
    return sorted(set(out.split()) - {"busybox"})


@pytest.fixture
def rootfs_factory(tmp_path: Path, busybox_applets: list[str]) -> Callable[[Path], Path]:
    def make(bundle: Path) -> Path:
        root = bundle / "rootfs"
        (root / "bin").mkdir(parents=True)
        shutil.copy2(BUSYBOX, root / "bin" / "busybox")
        for applet in busybox_applets:
            (root / "bin" / applet).symlink_to("busybox")
        for d in ("proc", "sys", "dev", "etc", "tmp"):
            (root / d).mkdir()
        (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        (root / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
        return root

    return make


@dataclass
class Runtime:
    """A run root and the containers a test started in it."""

    tmp: Path
    make_rootfs: Callable[[Path], Path]
    backend: str = "builtin"
    run_root: Path = field(init=False)
    ids: list[str] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        import secrets

        self.run_root = self.tmp / "run" / "runtime"
        # a cgroup parent of the test's own: test runs side by side reuse container names
        self.cgroup_parent = f"composer-test/{secrets.token_hex(4)}"

    def cgroup_path(self, name: str) -> str:
        return f"{self.cgroup_parent}/{name}"

    def bundle(self, name: str, args: list[str], *, edit: Callable[[dict[str, Any]], None] | None = None,
               env: list[str] | None = None, cwd: str = "/", hostname: str | None = "box") -> Path:
        bundle = self.tmp / "bundles" / name
        bundle.mkdir(parents=True)
        self.make_rootfs(bundle)
        spec = default_spec(args, env or [], cwd, hostname, None)
        spec["linux"]["cgroupsPath"] = self.cgroup_path(name)
        if edit:
            edit(spec)
        (bundle / "config.json").write_text(json.dumps(spec))
        return bundle

    def log(self, name: str) -> Path:
        return self.tmp / "logs" / f"{name}-json.log"

    def start(self, name: str, args: list[str], **kwargs: Any) -> api.RuntimeState:
        cleanup = kwargs.pop("cleanup_mounts", ())
        bundle = self.bundle(name, args, **kwargs)
        self.ids.append(name)
        state = api.start_container(
            name, bundle, self.run_root, self.log(name), cleanup_mounts=cleanup, backend=self.backend
        )
        self.pids.append(state.pid)
        return state

    def start_bundle(self, name: str, bundle: Path) -> api.RuntimeState:
        """Start a bundle made with ``bundle`` (and perhaps changed since)."""
        self.ids.append(name)
        state = api.start_container(name, bundle, self.run_root, self.log(name), backend=self.backend)
        self.pids.append(state.pid)
        return state

    def stdout(self, name: str) -> str:
        return "".join(e["log"] for e in self.log_entries(name) if e["stream"] == "stdout")

    def output(self, name: str) -> str:
        return "".join(e["log"] for e in self.log_entries(name))

    def track(self, name: str) -> None:
        self.ids.append(name)

    def log_entries(self, name: str) -> list[dict[str, str]]:
        path = self.log(name)
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def wait_stopped(self, name: str, timeout: float = 30.0) -> api.RuntimeState:
        """The state once stopped, or as it is after ``timeout`` s (bounded poll; loose for busy machines)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            state = api.container_state(name, self.run_root)
            assert state is not None
            if state.status == "stopped" or time.monotonic() > deadline:
                return state
            time.sleep(0.01)

    def teardown(self) -> None:
        leftovers: list[int] = []
        for name in self.ids:
            record = read_record(self.run_root / name)
            if record is None:
                continue
            for pid, start in ((record.pid, record.pid_start), (record.shim_pid, record.shim_start)):
                leftovers.append(pid)
                if is_alive(pid, start) and pid == record.pid:
                    api.stop_container(name, self.run_root, signal.SIGKILL, timeout=5)
            api.delete_container(name, self.run_root)
            assert not is_alive(record.pid, record.pid_start), f"container {name} still running"
            assert not is_alive(record.shim_pid, record.shim_start), f"shim of {name} still running"
        left = [p for p in self.run_root.iterdir() if not p.name.startswith(".")] if self.run_root.exists() else []
        assert not left, f"runtime state left behind: {left}"
        mounts = Path("/proc/self/mountinfo").read_text()
        assert str(self.tmp) not in mounts, "mounts left behind"
        for name in self.ids:
            for directory in cgroups.Cgroup.for_path(self.cgroup_path(name)).directories():
                assert not directory.exists(), f"cgroup {directory} left behind"
        named = [p for p in Path("/sys/fs/cgroup/systemd").glob(f"**/{self.cgroup_parent}/*") if p.is_dir()]
        for directory in named:  # runc also makes the group in the name=systemd hierarchy
            with contextlib.suppress(OSError):
                directory.rmdir()
        parents = cgroups.Cgroup.for_path(self.cgroup_parent).directories()
        parents += [p for p in Path("/sys/fs/cgroup/systemd").glob(f"**/{self.cgroup_parent}") if p.is_dir()]
        for directory in parents:
            with contextlib.suppress(OSError):
                directory.rmdir()
                directory.parent.rmdir()  # composer-test, once no run uses it


def backend_skip_reason(backend: str) -> str | None:
    if backend == "builtin":
        return None
    if shutil.which(backend) is None:
        return f"{backend} is not installed"
    return None


@pytest.fixture(params=BACKENDS)
def runtime(request: pytest.FixtureRequest, tmp_path: Path, rootfs_factory: Callable[[Path], Path]) -> Iterator[Runtime]:
    backend: str = request.param
    reason = backend_skip_reason(backend)
    if reason:
        pytest.skip(reason)
    rt = Runtime(tmp_path, rootfs_factory, backend)
    try:
        yield rt
    finally:
        rt.teardown()


@pytest.fixture
def builtin_runtime(tmp_path: Path, rootfs_factory: Callable[[Path], Path]) -> Iterator[Runtime]:
    rt = Runtime(tmp_path, rootfs_factory, "builtin")
    try:
        yield rt
    finally:
        rt.teardown()
