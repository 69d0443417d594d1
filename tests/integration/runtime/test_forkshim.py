"""The fast start (``runtime.forkshim``, ``init.fork_container``): one init, in its cgroup and namespaces.

The shape of the start is checked on the real kernel: the init is the shim's
own child and pid 1 of its pid namespace (no intermediate process), it is in
the container's cgroup before it runs the program (also with a cgroup
namespace, which must be unshared only once it is there), and the shim the
caller forked does not linger as its zombie.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from composer.runtime import api
from composer.runtime.state import read_record
from tests.integration.runtime.harness import Runtime


def _status(pid: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def test_init_is_the_shims_child_and_pid_1_in_its_cgroup(builtin_runtime: Runtime) -> None:
    rt = builtin_runtime
    state = rt.start("shape", ["sleep", "60"])
    record = read_record(rt.run_root / "shape")
    assert record is not None and record.cgroup
    status = _status(state.pid)
    assert int(status["PPid"]) == record.shim_pid
    assert status["NSpid"].split()[-1] == "1"
    groups = Path(f"/proc/{state.pid}/cgroup").read_text()
    assert f"/{rt.cgroup_path('shape')}\n" in groups
    assert api.stop_container("shape", rt.run_root, signal.SIGKILL, timeout=5) == 137


def test_cgroup_namespace_is_rooted_at_the_containers_group(builtin_runtime: Runtime) -> None:
    def own_cgroupns(spec: dict[str, Any]) -> None:
        spec["linux"]["namespaces"].append({"type": "cgroup"})

    rt = builtin_runtime
    rt.start("cgns", ["cat", "/proc/self/cgroup"], edit=own_cgroupns)
    assert rt.wait_stopped("cgns").exit_code == 0
    lines = rt.stdout("cgns").splitlines()
    assert lines and all(line.endswith(":/") for line in lines), lines


def test_forked_shim_is_reaped(builtin_runtime: Runtime) -> None:
    rt = builtin_runtime
    rt.start("reaped", ["sleep", "60"])
    record = read_record(rt.run_root / "reaped")
    assert record is not None and record.shim_pid
    assert int(_status(record.shim_pid)["PPid"]) == os.getpid()  # our child: no double fork
    assert api.stop_container("reaped", rt.run_root, signal.SIGKILL, timeout=5) == 137
    api.delete_container("reaped", rt.run_root)
    with pytest.raises(ChildProcessError):
        os.waitpid(record.shim_pid, os.WNOHANG)  # and no zombie of ours: stop and delete reaped it


def test_migration_warmer_runs_until_the_start_stops_it(builtin_runtime: Runtime) -> None:
    """``run``'s ``keep_migration_warm``: a thread moving the caller into its own group until the fork."""
    import threading

    from composer.runtime import migration

    before = threading.active_count()
    migration.keep_migration_warm()
    migration.keep_migration_warm()  # once
    try:
        assert threading.active_count() == before + 1
        own = Path("/proc/self/cgroup").read_text()
        state = builtin_runtime.start("warmed", ["sleep", "60"])  # forkshim.start stops the thread first
        assert threading.active_count() == before
        assert Path("/proc/self/cgroup").read_text() == own  # the moves changed nothing
        assert _status(state.pid)["State"][0] in "RS"
        assert api.stop_container("warmed", builtin_runtime.run_root, signal.SIGKILL, timeout=5) == 137
    finally:
        migration.stop_warming()
        migration.stop_warming()  # a no-op once stopped
    assert threading.active_count() == before
