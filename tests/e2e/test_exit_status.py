"""How containers end, through the CLI, on every backend (issue #4's acceptance).

A container killed with SIGKILL, one that exits non-zero, one killed by the
OOM killer and one whose pid 1 ignores SIGTERM are each reported by
``ps -a`` with the right state, status and exit code (the OOM kill also in
the runtime's state, Docker's ``OOMKilled``), and leave no process, no
cgroup directory (v1 controllers, the v2 tree, named hierarchies) and, once
removed, no mount under the composer root. An ``init: true`` container stops
on SIGTERM through its init (tini) with the program's status, 143.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests import helpers

pytestmark = pytest.mark.root

BACKENDS = ("builtin", "crun", "runc")
COMPOSE = """
services:
  nonzero:
    image: busybox
    command: ["sh", "-c", "exit 3"]
  killed:
    image: busybox
    command: ["sleep", "1000"]
  oom:
    image: busybox
    command: ["sh", "-c", "tail /dev/zero"]
    mem_limit: 24m
    memswap_limit: 24m
  stubborn:
    image: busybox
    command: ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]
    stop_grace_period: 1s
  inited:
    image: busybox
    command: ["sleep", "1000"]
    init: true
"""
#: ``inited``: tini is pid 1 and passes SIGTERM on to sleep, which dies of it: 128+15
EXPECTED = {"nonzero": 3, "killed": 137, "oom": 137, "stubborn": 137, "inited": 143}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name != "builtin" and shutil.which(name) is None:
        pytest.skip(f"{name} is not installed")
    return name


def _rows(run: Any, base: list[str]) -> dict[str, dict[str, Any]]:
    out = run(*base, "ps", "-a", "--format", "json").stdout
    return {row["Service"]: row for row in map(json.loads, out.splitlines())}


def _runtime_state(root: Path, container_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((root / "run" / "runtime" / container_id / "state.json").read_text())
    return doc


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return False
    return fields[0] != "Z"


def _cgroup_dirs(name: str) -> list[str]:
    """Every directory called ``name`` in every cgroup hierarchy mounted (v1, v2, named)."""
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()
              if line.split()[2] in ("cgroup", "cgroup2")]
    found = []
    for mount in mounts:
        for top, dirs, _ in os.walk(mount):
            found += [os.path.join(top, d) for d in dirs if d == name]
    return found


def _wait_exited(run: Any, base: list[str], services: tuple[str, ...], timeout: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = _rows(run, base)
        if all(rows[s]["State"] == "exited" for s in services) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_each_ending_is_reported_and_leaves_nothing(run: Any, composer_root: Path, tmp_path: Path,
                                                   project_name: str, backend: str) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    base = ["-f", str(tmp_path / "compose.yaml"), "-p", project_name, "--runtime", backend]
    run(*base, "up", "-d")
    ids = {service: row["ID"] for service, row in _rows(run, base).items()}
    states = {service: _runtime_state(composer_root, cid) for service, cid in ids.items()}
    pids = [st[key] for st in states.values() for key in ("pid", "shim_pid") if isinstance(st.get(key), int)]
    assert _cgroup_dirs(ids["killed"]), "the running container's cgroup is not where this test looks"
    _wait_exited(run, base, ("nonzero", "oom"), timeout=30)
    run(*base, "kill", "-s", "SIGKILL", "killed")
    started = time.monotonic()
    run(*base, "stop", "stubborn")
    assert 0.9 < time.monotonic() - started < 8  # the grace period, then SIGKILL
    started = time.monotonic()
    run(*base, "stop", "inited")
    assert time.monotonic() - started < 5  # no grace period wasted: the init forwarded SIGTERM
    rows = _wait_exited(run, base, tuple(EXPECTED), timeout=10)
    for service, code in EXPECTED.items():
        row = rows[service]
        assert (row["State"], row["ExitCode"]) == ("exited", code), (service, row)
        assert row["Status"].startswith(f"Exited ({code})"), (service, row)
        oom = _runtime_state(composer_root, ids[service]).get("oom_killed", False)
        assert oom is (service == "oom"), (service, oom)
    # stopped: no process, no cgroup
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if _alive(pid)], "processes left behind"
    for service, cid in ids.items():
        assert _cgroup_dirs(cid) == [], f"cgroup of {service} left behind"
    # removed: no mount either
    run(*base, "down")
    assert helpers.mounts_under(composer_root) == []
    assert not [cid for cid in ids.values() if (composer_root / "run" / "runtime" / cid).exists()]
