"""cgroups on every backend: limits, the OOM killer, pause, stats, top, and exit statuses.

Each container must end with the right status and exit code and leave no
process, mount or cgroup behind (the ``runtime`` fixture checks the last).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from composer.errors import RuntimeFailure
from composer.runtime import api
from composer.runtime.cgroups import Cgroup, hierarchies
from composer.runtime.state import read_record
from tests.helpers import wait_for

if TYPE_CHECKING:
    from tests.integration.runtime.harness import Runtime

pytestmark = pytest.mark.root

MiB = 1024 * 1024


def _limits(memory: int | None = None, swap: int | None = None, pids: int | None = None,
            quota: int | None = None, shares: int | None = None) -> Any:
    def edit(spec: dict[str, Any]) -> None:
        res = spec["linux"].setdefault("resources", {})
        if memory:
            res["memory"] = {"limit": memory, **({"swap": swap} if swap else {})}
        if pids:
            res["pids"] = {"limit": pids}
        if quota or shares:
            res["cpu"] = {**({"quota": quota, "period": 100000} if quota else {}), **({"shares": shares} if shares else {})}

    return edit


def _group(runtime: Runtime, name: str) -> Cgroup:
    record = read_record(runtime.run_root / name)
    assert record is not None and record.cgroup
    return Cgroup(record.cgroup)


def test_limits_are_written_and_reported(runtime: Runtime) -> None:
    if "memory" not in hierarchies().v1 and not hierarchies().unified:
        pytest.skip("no memory controller")
    runtime.start("limits", ["sleep", "60"], edit=_limits(memory=64 * MiB, pids=40, quota=50000, shares=512))
    group = _group(runtime, "limits")
    stats = api.container_stats("limits", runtime.run_root)
    assert stats["memory_limit"] == 64 * MiB
    assert stats["pids"] >= 1 and stats["memory_bytes"] > 0
    pids_dir = group.dir("pids")
    assert pids_dir is not None and (pids_dir / "pids.max").read_text().strip() == "40"
    cpu = group.dir("cpu")
    if cpu is not None and hierarchies().place("cpu") == "v1":
        assert (cpu / "cpu.cfs_quota_us").read_text().strip() == "50000"
        assert (cpu / "cpu.shares").read_text().strip() == "512"
    top = api.container_processes("limits", runtime.run_root)
    assert top[0]["cmd"] == "sleep 60" and top[0]["pid"] == api.container_state("limits", runtime.run_root).pid  # type: ignore[union-attr]
    assert api.stop_container("limits", runtime.run_root, timeout=0.2) == 137


def test_pids_limit_stops_a_fork_bomb(runtime: Runtime) -> None:
    script = "for i in $(seq 30); do sleep 5 & done; echo all-started"
    runtime.start("pids", ["sh", "-c", script], edit=_limits(pids=10))
    state = runtime.wait_stopped("pids", timeout=30)
    out = runtime.output("pids")
    assert "can't fork: Resource temporarily unavailable" in out and "all-started" not in out, out
    assert state.status == "stopped"


def test_oom_kill_is_reported(runtime: Runtime) -> None:
    # tail keeps the whole of an endless line in memory: the OOM killer ends it
    runtime.start("oom", ["sh", "-c", "tail /dev/zero"], edit=_limits(memory=24 * MiB, swap=24 * MiB))
    state = runtime.wait_stopped("oom", timeout=30)
    assert (state.status, state.exit_code, state.oom_killed) == ("stopped", 137, True)


def test_pause_resume_and_stats(runtime: Runtime) -> None:
    runtime.start("pause", ["sh", "-c", "while :; do :; done"])
    wait_for(lambda: api.container_stats("pause", runtime.run_root)["cpu_ns"] > 0, timeout=30, what="some CPU time")
    api.pause_container("pause", runtime.run_root)
    try:
        state = api.container_state("pause", runtime.run_root)
        assert state is not None and state.paused and api.state("pause", runtime.run_root)["status"] == "paused"
        before = api.container_stats("pause", runtime.run_root)["cpu_ns"]
        time.sleep(0.2)  # a window for a running loop to add CPU time: a frozen one adds none
        assert api.container_stats("pause", runtime.run_root)["cpu_ns"] == before > 0
        with pytest.raises(RuntimeFailure, match="is paused"):
            api.exec_container("pause", runtime.run_root, ["true"])
    finally:
        api.resume_container("pause", runtime.run_root)
    state = api.container_state("pause", runtime.run_root)
    assert state is not None and not state.paused and state.status == "running"
    assert api.exec_container("pause", runtime.run_root, ["true"]).exit_code == 0
    assert api.stop_container("pause", runtime.run_root, timeout=0.2) == 137


def test_paused_container_can_still_be_killed(runtime: Runtime) -> None:
    runtime.start("frozen", ["sleep", "60"])
    api.pause_container("frozen", runtime.run_root)
    assert api.stop_container("frozen", runtime.run_root, signal.SIGKILL, timeout=2) == 137


def test_exit_statuses(runtime: Runtime) -> None:
    runtime.start("nonzero", ["sh", "-c", "exit 7"])
    runtime.start("killed", ["sleep", "60"])
    runtime.start("stubborn", ["sleep", "60"])  # pid 1 ignores SIGTERM: the grace period, then SIGKILL
    runtime.start("self-term", ["sh", "-c", "kill -USR1 $$; sleep 5"])
    assert runtime.wait_stopped("nonzero").exit_code == 7
    api.kill_container("killed", runtime.run_root, signal.SIGKILL)
    assert runtime.wait_stopped("killed").exit_code == 137
    start = time.monotonic()
    assert api.stop_container("stubborn", runtime.run_root, signal.SIGTERM, timeout=0.5) == 137
    assert 0.4 < time.monotonic() - start < 15  # the grace period, then SIGKILL: far from sleep's 60 s
    # a shell as pid 1 has no handler for USR1 and pid 1 ignores unhandled signals: it sleeps on
    assert api.stop_container("self-term", runtime.run_root, signal.SIGKILL, timeout=1) == 137


def test_exec_joins_the_cgroup_with_the_container_privileges(runtime: Runtime) -> None:
    runtime.start("execcg", ["sleep", "60"])
    res = api.exec_container("execcg", runtime.run_root, ["sh", "-c", "grep -E '^(CapEff|Seccomp):' /proc/self/status; sleep 0.3 & echo $!"])
    assert res.exit_code == 0, res
    lines = res.stdout.decode().split("\n")
    assert lines[0].split() == ["CapEff:", "00000000a80425fb"] and lines[1].split() == ["Seccomp:", "2"]
    assert len(_group(runtime, "execcg").pids()) >= 1
    assert api.stop_container("execcg", runtime.run_root, timeout=0.2) == 137


def test_cgroup_paths_are_below_the_callers(runtime: Runtime) -> None:
    runtime.start("below", ["sleep", "60"])
    group = _group(runtime, "below")
    mem = group.dir("memory")
    assert mem is not None and mem.exists()
    own = Path("/proc/self/cgroup").read_text()
    assert any(line.split(":", 2)[2].strip("/") in str(mem) for line in own.splitlines() if ":memory:" in line)
    assert api.stop_container("below", runtime.run_root, timeout=0.2) == 137


def test_init_forwards_signals_and_reaps(builtin_runtime: Runtime) -> None:
    """``init: true``: pid 1 is the runtime's init; the program gets SIGTERM and orphans are reaped."""

    def with_init(spec: dict[str, Any]) -> None:
        spec["annotations"] = {"org.composer.init": "true"}

    rt = builtin_runtime
    rt.start("init", ["sh", "-c", "(sleep 0.1 &) ; echo $$; exec sleep 60"], edit=with_init)

    def settled() -> list[dict[str, Any]] | None:  # the orphaned sleep 0.1 reaped, the program exec'd
        top = api.container_processes("init", rt.run_root)
        return top if len(top) == 2 and "sleep 60" in top[1]["cmd"] else None

    wait_for(settled, timeout=30, what="init and sleep 60 alone in the container")
    wait_for(lambda: rt.stdout("init") == "2\n", timeout=30, what="the program's pid, logged")  # pid 2 under init
    grace = 30.0
    start = time.monotonic()
    assert api.stop_container("init", rt.run_root, signal.SIGTERM, timeout=grace) == 143
    assert time.monotonic() - start < grace / 3  # forwarded TERM ended it, well before the SIGKILL
