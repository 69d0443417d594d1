"""``stats``: resource use of a project's running containers, as ``docker stats`` shows it.

CPU time, memory (usage and limit) and the number of pids come from the
runtime's cgroup figures (``api.container_stats``) when it has them, else
from /proc over the container's processes (those in its init's pid
namespace). CPU time is sampled twice, ``interval`` apart, against the
host's CPU time, times the number of CPUs, as Docker computes CPU %.
Network bytes are those of the container's own namespace
(``/proc/<init>/net/dev``, loopback excluded); block I/O the bytes its
processes read and wrote (``/proc/<pid>/io``).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from composer.engine import containers
from composer.engine.state import Paths
from composer.errors import ComposerError


@dataclass(frozen=True)
class Sample:
    cpu_ticks: int
    rss: int
    net_rx: int
    net_tx: int
    blk_read: int
    blk_write: int
    pids: int


@dataclass(frozen=True)
class Stats:
    id: str
    name: str
    cpu_percent: float
    mem_usage: int
    mem_limit: int
    net_rx: int
    net_tx: int
    blk_read: int
    blk_write: int
    pids: int

    @property
    def mem_percent(self) -> float:
        return 100.0 * self.mem_usage / self.mem_limit if self.mem_limit else 0.0


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return ""


def _pids(init: int) -> list[int]:
    try:
        ns = os.readlink(f"/proc/{init}/ns/pid")
    except OSError:
        return []
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") == ns:
                    out.append(int(entry))
            except OSError:
                continue
    return out


def _sample(init: int, cgroup: dict[str, int] | None = None) -> Sample:
    """/proc figures; CPU (in ticks), memory and pids from the runtime's cgroup stats when given."""
    ticks = rss = rd = wr = 0
    pids = _pids(init)
    page = os.sysconf("SC_PAGE_SIZE")
    for pid in pids:
        stat = _read(f"/proc/{pid}/stat")
        if stat:
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks += int(fields[11]) + int(fields[12])
            rss += int(fields[21]) * page
        for line in _read(f"/proc/{pid}/io").splitlines():
            key, _, value = line.partition(":")
            if key == "read_bytes":
                rd += int(value)
            elif key == "write_bytes":
                wr += int(value)
    rx = tx = 0
    for line in _read(f"/proc/{init}/net/dev").splitlines()[2:]:
        name, _, rest = line.partition(":")
        if name.strip() != "lo":
            cols = rest.split()
            rx, tx = rx + int(cols[0]), tx + int(cols[8])
    if cgroup:
        tick = os.sysconf("SC_CLK_TCK")
        return Sample(cgroup.get("cpu_ns", 0) * tick // 1_000_000_000, cgroup.get("memory_bytes", rss),
                      rx, tx, rd, wr, cgroup.get("pids", len(pids)) or len(pids))
    return Sample(ticks, rss, rx, tx, rd, wr, len(pids))


def _host_ticks() -> int:
    line = _read("/proc/stat").splitlines()[0]
    return sum(int(v) for v in line.split()[1:8])


def _mem_total() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def collect(paths: Paths, recs: Sequence[dict[str, Any]], interval: float = 0.5) -> list[Stats]:
    """One ``Stats`` per running container of ``recs``."""
    running = []
    for rec in recs:
        st = containers.runtime_state(paths, rec["id"])
        if st is not None and st.status == "running" and st.pid:
            running.append((rec, st.pid))
    from composer.runtime import api

    runtime_stats = getattr(api, "container_stats", None)

    def cgroup(cid: str) -> dict[str, int] | None:
        if runtime_stats is None:
            return None
        with contextlib.suppress(ComposerError):
            return runtime_stats(cid, paths.runtime)  # type: ignore[no-any-return]
        return None

    host0 = _host_ticks()
    first = {rec["id"]: _sample(pid, cgroup(rec["id"])) for rec, pid in running}
    time.sleep(interval if running else 0)
    host1 = _host_ticks()
    ncpu = os.cpu_count() or 1
    out = []
    for rec, pid in running:
        figures = cgroup(rec["id"])
        limit = (figures or {}).get("memory_limit") or _mem_total()
        now = _sample(pid, figures)
        host_delta = max(host1 - host0, 1)
        cpu = 100.0 * ncpu * max(now.cpu_ticks - first[rec["id"]].cpu_ticks, 0) / host_delta
        out.append(Stats(rec["id"], rec["name"], cpu, now.rss, limit, now.net_rx, now.net_tx,
                         now.blk_read, now.blk_write, now.pids))
    return out


def binary_size(size: float) -> str:
    """Docker's ``units.BytesSize``: binary units (KiB, MiB), 3 significant digits."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    i = 0
    while size >= 1024 and i < len(units) - 1:
        size /= 1024
        i += 1
    return f"{size:.3g}{units[i]}"
