"""What a running container uses and how to freeze it: ``pause``, ``unpause``, ``stats``, ``top``.

Everything here reads or writes the container's cgroups (recorded by its shim
in state.json); the cgroup machinery is imported only when one of these runs,
so reading a container's state stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from composer.errors import RuntimeFailure
from composer.runtime import api


def pause_container(container_id: str, run_root: Path) -> None:
    """Freeze every process of the running container (``docker pause``)."""
    _running_cgroup(container_id, run_root, "pause").freeze()


def resume_container(container_id: str, run_root: Path) -> None:
    """Thaw a paused container (``docker unpause``)."""
    _running_cgroup(container_id, run_root, "unpause").thaw()


def container_stats(container_id: str, run_root: Path) -> dict[str, int]:
    """Usage from the container's cgroups: ``cpu_ns`` (total CPU time), ``memory_bytes``
    (usage less inactive page cache, as ``docker stats``), ``memory_limit`` (the
    host's memory when unlimited) and ``pids``. All zero once it has stopped."""
    current = api.container_state(container_id, run_root)
    record = api._record(container_id, run_root)
    if current is None or current.status != "running" or not record.cgroup:
        return {"cpu_ns": 0, "memory_bytes": 0, "memory_limit": 0, "pids": 0}
    from composer.runtime.cgroups import Cgroup

    return Cgroup(record.cgroup).stats()


def container_processes(container_id: str, run_root: Path) -> list[dict[str, Any]]:
    """The container's processes as ``docker top`` lists them (host pids), init first.

    Each: ``pid``, ``ppid``, ``uid``, ``user`` (the host's name for the uid),
    ``stime`` (start, seconds since boot), ``time`` (CPU seconds), ``cmd``.
    """
    record = api._record(container_id, run_root)
    current = api.container_state(container_id, run_root)
    if current is None or current.status != "running":
        raise RuntimeFailure(f"container {container_id} is not running")
    from composer.runtime.procinfo import processes

    pids: list[int] = []
    if record.cgroup:
        from composer.runtime.cgroups import Cgroup

        pids = Cgroup(record.cgroup).pids()
    if not pids:
        pids = [record.pid]
    return processes(pids, first=record.pid)


def _running_cgroup(container_id: str, run_root: Path, verb: str) -> Any:
    from composer.runtime.cgroups import Cgroup

    record = api._record(container_id, run_root)
    current = api.container_state(container_id, run_root)
    if current is None or current.status != "running":
        raise RuntimeFailure(f"cannot {verb} container {container_id}: it is not running")
    if not record.cgroup:
        raise RuntimeFailure(f"cannot {verb} container {container_id}: it has no cgroup")
    return Cgroup(record.cgroup)
