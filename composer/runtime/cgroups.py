"""Control groups of a container, on cgroup v1, v2, or a hybrid of both.

``hierarchies()`` reads /proc/self/mountinfo: each v1 mount names its
controllers (``cpu``, ``memory``, ...); a cgroup2 mount offers the controllers
listed in its ``cgroup.controllers``. A controller is used on v1 where v1 has
it (a hybrid host such as this project's CI mounts v1 controllers plus an
empty v2 tree), else on v2. ``Cgroup(path)`` is one container's group in
every hierarchy, at the same relative path (``composer/<id>`` unless the
spec sets ``linux.cgroupsPath``).

The group is made and its limits written before the container exists (by
the caller of a forked shim, else by the shim); the shim moves the init into
it before the init unshares the cgroup namespace or execs, so the init and
everything it forks are inside, and ``exec`` joins it too. After the init exits the shim kills what is left,
reads the OOM-kill counter (Docker's ``OOMKilled``) and removes the group.

The device controller is the second line of defence behind the mount
namespace: with CAP_MKNOD a container may create ``/dev/sda``, but the v1
``devices`` list (deny all, allow the defaults and ``devices:``) makes open
fail. On a v2-only host that needs an eBPF program, which this runtime does
not load: there ``devices.deny`` is not enforced and ``docs/runtime.md`` says so.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

from composer.errors import RuntimeFailure
from composer.values import valueclass

if TYPE_CHECKING:
    from composer.runtime.spec import Resources

V1_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "pids", "blkio")
V2_CONTROLLERS = ("cpu", "cpuset", "memory", "pids", "io")
FREEZE_TIMEOUT = 5.0


@valueclass
class Hierarchies:
    v1: dict[str, str]  # controller -> mount point
    unified: str | None  # the cgroup2 mount, if any
    v2_controllers: frozenset[str]

    def place(self, controller: str) -> str | None:
        """``"v1"``, ``"v2"`` or None: where ``controller`` lives on this host."""
        if controller in self.v1:
            return "v1"
        if self.unified and controller in self.v2_controllers:
            return "v2"
        return None


@functools.cache
def hierarchies() -> Hierarchies:
    v1: dict[str, str] = {}
    unified: str | None = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, extra = left.split(), right.split()
            if len(fields) < 5 or len(extra) < 3:
                continue
            mountpoint, fstype, superopts = fields[4], extra[0], extra[2].split(",")
            if fstype == "cgroup2" and unified is None:
                unified = mountpoint
            elif fstype == "cgroup":
                for opt in superopts:
                    if opt in V1_CONTROLLERS and opt not in v1:
                        v1[opt] = mountpoint
    controllers: frozenset[str] = frozenset()
    if unified:
        with contextlib.suppress(OSError):
            controllers = frozenset(Path(unified, "cgroup.controllers").read_text().split())
    return Hierarchies(v1, unified, controllers)


def default_path(container_id: str) -> str:
    return f"composer/{container_id}"


def process_cgroups(pid: int | str = "self") -> dict[str, str]:
    """hierarchy mount point -> the process's cgroup in it, from /proc/<pid>/cgroup."""
    h = hierarchies()
    out: dict[str, str] = {}
    try:
        text = _read(Path(f"/proc/{pid}/cgroup"))
    except OSError as exc:
        raise RuntimeFailure.from_oserror("read", f"/proc/{pid}/cgroup", exc) from exc
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        if not controllers:
            if h.unified:
                out[h.unified] = path
            continue
        for controller in controllers.split(","):
            if controller in h.v1:
                out[h.v1[controller]] = path
    return out


class Cgroup:
    """One container's group in every hierarchy of the host: mount point -> directory.

    A relative ``linux.cgroupsPath`` (and the default ``composer/<id>``) is
    placed below the shim's own group in each hierarchy, as runc places it
    below its caller's: a runtime started inside a delegated or limited
    group stays inside it.
    """

    def __init__(self, dirs: dict[str, str]) -> None:
        self.dirs = {mount: Path(d) for mount, d in dirs.items()}
        self.h = hierarchies()

    @classmethod
    def for_path(cls, path: str) -> Cgroup:
        rel = path.strip("/")
        if not rel or ".." in rel.split("/"):
            raise RuntimeFailure(f"linux.cgroupsPath: invalid cgroup path {path!r}")
        h = hierarchies()
        own = process_cgroups() if not path.startswith("/") else {}
        mounts = set(h.v1.values()) | ({h.unified} if h.unified else set())
        dirs = {}
        for mount in sorted(mounts):
            base = own.get(mount, "/").strip("/")
            dirs[mount] = str(Path(mount, base, rel) if base else Path(mount, rel))
        return cls(dirs)

    @classmethod
    def of_process(cls, pid: int) -> Cgroup:
        """The groups a running process is in (for backends that make their own)."""
        return cls({mount: str(Path(mount, path.strip("/"))) for mount, path in process_cgroups(pid).items()})

    def to_record(self) -> dict[str, str]:
        return {mount: str(d) for mount, d in self.dirs.items()}

    # -- where things are ---------------------------------------------------------

    def dir(self, controller: str) -> Path | None:
        place = self.h.place(controller)
        mount = self.h.v1.get(controller) if place == "v1" else self.h.unified if place == "v2" else None
        return self.dirs.get(mount) if mount else None

    def directories(self) -> list[Path]:
        """Every directory of the group: one per v1 mount used, plus the v2 one."""
        return sorted(set(self.dirs.values()))

    def _levels(self, mount: str) -> list[Path]:
        """The directories from ``mount`` (exclusive) down to the group, top first."""
        target = self.dirs[mount]
        rel = target.relative_to(mount)
        return [Path(mount, *rel.parts[: i + 1]) for i in range(len(rel.parts))]

    # -- lifecycle ----------------------------------------------------------------

    def create(self) -> None:
        """Make the group; one left by a dead container is reused only if empty."""
        if self.pids():
            raise RuntimeFailure(f"cgroup {self.dir('pids') or self.directories()[0]} is in use by another container")
        with contextlib.suppress(RuntimeFailure, OSError):
            if self.is_frozen():
                self.thaw()
        for directory in self.directories():
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RuntimeFailure.from_oserror("create cgroup", str(directory), exc) from exc
        self._fill_cpuset()
        self._enable_v2_controllers()

    def _fill_cpuset(self) -> None:
        """A new v1 cpuset group has no cpus nor mems; copy them down from its parents."""
        if self.h.place("cpuset") != "v1" or self.h.v1["cpuset"] not in self.dirs:
            return
        for current in self._levels(self.h.v1["cpuset"]):
            for name in ("cpuset.cpus", "cpuset.mems"):
                if not _read(current / name).strip():
                    _write(current / name, _read(current.parent / name).strip())

    def _enable_v2_controllers(self) -> None:
        """On v2, each ancestor must delegate the controllers we use to its children."""
        if not self.h.unified or self.h.unified not in self.dirs:
            return
        wanted = [c for c in V2_CONTROLLERS if self.h.place(c) == "v2"]
        if not wanted:
            return
        for current in self._levels(self.h.unified):
            with contextlib.suppress(OSError):
                _write(current.parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))

    def join(self, pid: int) -> None:
        join_files(self.procs_files, pid)

    @functools.cached_property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` file of every directory of the group (see ``join_files``)."""
        return [str(directory / "cgroup.procs") for directory in self.directories()]

    def apply(self, res: Resources) -> None:
        """Write the limits; errors name the file and the value."""
        self._memory(res)
        self._cpu(res)
        self._pids(res)
        self._devices(res)

    def _memory(self, res: Resources) -> None:
        d = self.dir("memory")
        if d is None:
            return
        if self.h.place("memory") == "v1":
            if res.memory_limit is not None:
                _set(d / "memory.limit_in_bytes", res.memory_limit)
            if res.memory_swap is not None and (d / "memory.memsw.limit_in_bytes").exists():
                _set(d / "memory.memsw.limit_in_bytes", res.memory_swap)
            if res.memory_reservation is not None:
                _set(d / "memory.soft_limit_in_bytes", res.memory_reservation)
            # as runc: written where the kernel has the file (v2 has neither: ignored there)
            if res.memory_swappiness is not None and (d / "memory.swappiness").exists():
                _set(d / "memory.swappiness", res.memory_swappiness)
            if res.disable_oom_killer and (d / "memory.oom_control").exists():
                _set(d / "memory.oom_control", 1)
            return
        if res.memory_limit is not None:
            _set(d / "memory.max", _max(res.memory_limit))
        if res.memory_swap is not None and (d / "memory.swap.max").exists():
            swap = -1 if res.memory_swap < 0 else res.memory_swap - (res.memory_limit or 0)
            _set(d / "memory.swap.max", _max(max(swap, 0) if swap >= 0 else -1))
        if res.memory_reservation is not None:
            _set(d / "memory.low", res.memory_reservation)

    def _cpu(self, res: Resources) -> None:
        d = self.dir("cpu")
        if d is not None and self.h.place("cpu") == "v1":
            if res.cpu_shares:
                _set(d / "cpu.shares", res.cpu_shares)
            if res.cpu_period:
                _set(d / "cpu.cfs_period_us", res.cpu_period)
            if res.cpu_quota:
                _set(d / "cpu.cfs_quota_us", res.cpu_quota)
        elif d is not None:
            if res.cpu_shares:
                _set(d / "cpu.weight", 1 + ((res.cpu_shares - 2) * 9999) // 262142)
            if res.cpu_quota or res.cpu_period:
                quota = _max(res.cpu_quota) if res.cpu_quota else "max"
                _set(d / "cpu.max", f"{quota} {res.cpu_period or 100000}")
        cs = self.dir("cpuset")
        if cs is not None:
            if res.cpuset_cpus:
                _set(cs / "cpuset.cpus", res.cpuset_cpus)
            if res.cpuset_mems:
                _set(cs / "cpuset.mems", res.cpuset_mems)

    def _pids(self, res: Resources) -> None:
        d = self.dir("pids")
        if d is not None and res.pids_limit is not None:
            _set(d / "pids.max", _max(res.pids_limit if res.pids_limit > 0 else -1))

    def _devices(self, res: Resources) -> None:
        d = self.dir("devices")
        if d is None or self.h.place("devices") != "v1" or not res.devices:
            return
        for rule in res.devices:
            _set(d / ("devices.allow" if rule.allow else "devices.deny"), rule.cgroup_line())

    # -- while running ------------------------------------------------------------

    def pids(self) -> list[int]:
        for controller in ("pids", "memory", "freezer", "cpu"):
            d = self.dir(controller)
            if d is not None and d.exists():
                with contextlib.suppress(OSError):
                    return sorted(int(p) for p in _read(d / "cgroup.procs").split())
        return []

    def freeze(self) -> None:
        self._set_frozen(True)

    def thaw(self) -> None:
        self._set_frozen(False)

    def _set_frozen(self, frozen: bool) -> None:
        d = self.dir("freezer")
        if d is not None and self.h.place("freezer") == "v1":
            want = "FROZEN" if frozen else "THAWED"
            _set(d / "freezer.state", want)
            deadline = time.monotonic() + FREEZE_TIMEOUT
            while _read(d / "freezer.state").strip() != want:
                if time.monotonic() > deadline:
                    raise RuntimeFailure(f"cgroup {d} did not reach {want} in {FREEZE_TIMEOUT:g}s")
                time.sleep(0.002)
                _set(d / "freezer.state", want)
            return
        v2 = self.dirs.get(self.h.unified) if self.h.unified else None
        if v2 is not None and (v2 / "cgroup.freeze").exists():
            d = v2
            _set(d / "cgroup.freeze", 1 if frozen else 0)
            deadline = time.monotonic() + FREEZE_TIMEOUT
            expect = f"frozen {1 if frozen else 0}"
            while expect not in _read(d / "cgroup.events"):
                if time.monotonic() > deadline:
                    raise RuntimeFailure(f"cgroup {d} did not freeze in {FREEZE_TIMEOUT:g}s")
                time.sleep(0.002)
            return
        raise RuntimeFailure("pause needs the freezer cgroup controller, which this host does not have")

    def is_frozen(self) -> bool:
        d = self.dir("freezer")
        with contextlib.suppress(OSError):
            if d is not None and self.h.place("freezer") == "v1":
                return _read(d / "freezer.state").strip() != "THAWED"
            v2 = self.dirs.get(self.h.unified) if self.h.unified else None
            if v2 is not None:
                return "frozen 1" in _read(v2 / "cgroup.events")
        return False

    def stats(self) -> dict[str, int]:
        """cpu_ns, memory_bytes, memory_limit, pids (0 where the controller is missing)."""
        out = {"cpu_ns": 0, "memory_bytes": 0, "memory_limit": 0, "pids": 0}
        with contextlib.suppress(OSError, ValueError):
            acct, cpu = self.dir("cpuacct"), self.dir("cpu")
            if acct is not None:
                out["cpu_ns"] = int(_read(acct / "cpuacct.usage"))
            elif cpu is not None and self.h.place("cpu") == "v2":
                usage = _keyed(_read(cpu / "cpu.stat"))
                out["cpu_ns"] = usage.get("usage_usec", 0) * 1000
        mem = self.dir("memory")
        with contextlib.suppress(OSError, ValueError):
            if mem is not None and self.h.place("memory") == "v1":
                stat = _keyed(_read(mem / "memory.stat"))
                used = int(_read(mem / "memory.usage_in_bytes"))
                out["memory_bytes"] = max(0, used - stat.get("total_inactive_file", 0))
                out["memory_limit"] = int(_read(mem / "memory.limit_in_bytes"))
            elif mem is not None:
                stat = _keyed(_read(mem / "memory.stat"))
                used = int(_read(mem / "memory.current"))
                out["memory_bytes"] = max(0, used - stat.get("inactive_file", 0))
                raw = _read(mem / "memory.max").strip()
                out["memory_limit"] = 0 if raw == "max" else int(raw)
        total = _host_memory()
        if not out["memory_limit"] or out["memory_limit"] > total:
            out["memory_limit"] = total
        pids = self.dir("pids")
        with contextlib.suppress(OSError, ValueError):
            if pids is not None:
                out["pids"] = int(_read(pids / "pids.current"))
        return out

    def oom_kills(self) -> int:
        mem = self.dir("memory")
        if mem is None:
            return 0
        name = "memory.oom_control" if self.h.place("memory") == "v1" else "memory.events"
        try:
            return _keyed(_read(mem / name)).get("oom_kill", 0)
        except OSError:
            return 0

    # -- the end ------------------------------------------------------------------

    def kill_all(self) -> None:
        """SIGKILL every process left in the group (thawing it first, or they cannot die)."""
        with contextlib.suppress(RuntimeFailure, OSError):
            if self.is_frozen():
                self.thaw()
        for _ in range(50):
            left = self.pids()
            if not left:
                return
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def remove(self, timeout: float = 2.0) -> None:
        """rmdir the group everywhere; EBUSY (processes still exiting) is retried."""
        deadline = time.monotonic() + timeout
        for directory in self.directories():
            while True:
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise RuntimeFailure.from_oserror("remove cgroup", str(directory), exc) from exc
                    time.sleep(0.005)


def join_files(procs: list[str], pid: int) -> None:
    """Move ``pid`` into the group whose ``procs_files`` these are (plain strings: the init's
    move runs in a forked shim, where every Python object touched costs a copied page)."""
    value = str(pid).encode()
    for path in procs:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, value)
            finally:
                os.close(fd)
        except OSError as exc:
            raise RuntimeFailure.from_oserror("join cgroup", os.path.dirname(path), exc) from exc


def _read(path: Path) -> str:
    with open(path) as f:
        return f.read()


def _write(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _set(path: Path, value: int | str) -> None:
    try:
        _write(path, str(value))
    except OSError as exc:
        raise RuntimeFailure(f"cgroup: write {value} to {path}: {exc.strerror or exc}") from exc


def _max(value: int | None) -> str:
    return "max" if value is None or value < 0 else str(value)


def _keyed(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            out[key] = int(value.strip())
    return out


@functools.cache
def _host_memory() -> int:
    with contextlib.suppress(OSError, ValueError):
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return 0
