"""The monitor's cheap "is it running" check agrees with the runtime's record and /proc."""

from __future__ import annotations

import os
from pathlib import Path

from composer.engine.monitor import Monitor
from composer.engine.state import Paths
from composer.runtime import state as run_state


def _record(run_root: Path, cid: str, status: str, pid: int) -> None:
    directory = run_root / "runtime" / cid
    directory.mkdir(parents=True, exist_ok=True)
    start = run_state.proc_start_time(pid) or 0 if pid else 0
    run_state.write_record(directory, run_state.Record(id=cid, status=status, bundle="/b", pid=pid,  # type: ignore[arg-type]
                                                       pid_start=start))


def test_running_follows_record_and_process(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "state", tmp_path / "run")
    mon = Monitor(paths, "p")
    assert not mon._is_running("none")  # no record
    _record(paths.run_root, "a", "running", os.getpid())
    assert mon._is_running("a")
    _record(paths.run_root, "a", "stopped", os.getpid())  # a replaced record is read again
    assert not mon._is_running("a")
    _record(paths.run_root, "b", "running", 0)  # no process: not running
    assert not mon._is_running("b")
    _record(paths.run_root, "c", "created", os.getpid())
    assert not mon._is_running("c")
