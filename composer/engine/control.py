"""Per-container verbs on a project's services: restart, kill, pause, unpause, top, port, wait.

Each works from the container records on disk and the runtime's state, like
``ps``: nothing here needs the Compose model. Commands that change
containers hold the project's lock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from composer.engine import containers, hooks, monitor_client, state
from composer.engine.state import Paths
from composer.errors import ComposerError, ConfigError, ContainerNotFoundError, RuntimeFailure

Reporter = Callable[[str, str, str], None]


def _quiet(kind: str, name: str, status: str) -> None:
    pass


def records(paths: Paths, project: str, services: Sequence[str] = (), *, oneoff: bool = True) -> list[dict[str, Any]]:
    from composer.engine.oneoff import is_oneoff

    return [r for r in state.container_records(paths, project)
            if (not services or r["service"] in services) and (oneoff or not is_oneoff(r))]


def with_dependencies(recs_all: list[dict[str, Any]], services: Sequence[str]) -> list[str]:
    """``services`` and, transitively, what they depend on (as recorded)."""
    deps: dict[str, set[str]] = {}
    for r in recs_all:
        deps.setdefault(r["service"], set()).update(r.get("depends_on", {}))
    todo, seen = list(services), set()
    while todo:
        s = todo.pop()
        if s not in seen:
            seen.add(s)
            todo += sorted(deps.get(s, ()))
    return sorted(seen)


def restart(paths: Paths, project: str, services: Sequence[str], *, timeout: float | None = None,
            no_deps: bool = False, report: Reporter = _quiet) -> list[str]:
    """Stop and start the services' containers (dependencies first); returns their names."""
    from composer.engine import project as engine

    everything = records(paths, project, oneoff=False)
    if services and not no_deps:
        services = with_dependencies(everything, services)
    chosen = [r for r in everything if not services or r["service"] in services]
    with state.project_lock(paths, project):
        if chosen:
            monitor_client.ensure_monitor(paths, project)
        try:
            for rec in engine._by_dependency(chosen):
                report("Container", rec["name"], "Restarting")
                engine.stop_one(paths, rec, timeout, report)  # its pre_stop hooks, then the stop
                containers.start(paths, rec)
                hooks.run(paths, rec, hooks.POST_START, report)
                report("Container", rec["name"], "Started")
        finally:  # a failing hook still leaves the restarted ones watched
            monitor_client.notify(paths, project)
    return [r["name"] for r in chosen]


def kill(paths: Paths, project: str, services: Sequence[str], sig: int, *,
         report: Reporter = _quiet) -> list[str]:
    """Send ``sig`` to every running container of the services; returns those signalled."""
    done = []
    for rec in records(paths, project, services):
        if containers.is_running(paths, rec["id"]):
            report("Container", rec["name"], "Killing")
            containers.kill(paths, rec, sig)
            report("Container", rec["name"], "Killed")
            done.append(rec["name"])
    return done


def remove_orphans(paths: Paths, project: str, known: Sequence[str], *, report: Reporter = _quiet) -> list[str]:
    """Remove the containers of services the compose file no longer has (one-off ones stay)."""
    removed = []
    with state.project_lock(paths, project):
        for rec in records(paths, project, oneoff=False):
            if rec["service"] not in known:
                report("Container", rec["name"], "Removing")
                containers.remove(paths, rec)
                report("Container", rec["name"], "Removed")
                removed.append(rec["name"])
    return removed


def _runtime_call(name: str) -> Any:
    from composer.runtime import api

    fn = getattr(api, name, None)
    if fn is None:
        raise RuntimeFailure(f"{name.split('_')[0]} is not supported by this runtime yet")
    return fn


def pause(paths: Paths, project: str, services: Sequence[str], *, resume: bool = False,
          report: Reporter = _quiet) -> list[str]:
    """Freeze (or thaw, ``resume``) every running container of the services."""
    fn = _runtime_call("resume_container" if resume else "pause_container")
    done = []
    for rec in records(paths, project, services):
        if not containers.is_running(paths, rec["id"]):
            continue
        report("Container", rec["name"], "Unpausing" if resume else "Pausing")
        fn(rec["id"], paths.runtime)
        report("Container", rec["name"], "Unpaused" if resume else "Paused")
        done.append(rec["name"])
    return done


# ---------------------------------------------------------------- top


@dataclass(frozen=True)
class Proc:
    uid: str
    pid: int
    ppid: int
    cpu: int
    stime: str
    tty: str
    time: str
    cmd: str


def _ns(pid: int | str, kind: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None


def _proc(pid: int, names: dict[int, str], boot: float, tick: int) -> Proc | None:
    import datetime as dt

    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
        with open(f"/proc/{pid}/status") as fh:
            uid = next(int(ln.split()[1]) for ln in fh if ln.startswith("Uid:"))
    except (OSError, StopIteration, ValueError):
        return None
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    ppid, utime, stime, start = int(fields[1]), int(fields[11]), int(fields[12]), int(fields[19])
    secs = (utime + stime) // tick
    started = dt.datetime.fromtimestamp(boot + start / tick)
    cpu_time = f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    elapsed = max(time.time() - (boot + start / tick), 1e-3)
    return Proc(names.get(uid, str(uid)), pid, ppid, int(100 * (utime + stime) / tick / elapsed),
                started.strftime("%H:%M"), "?", cpu_time, " ".join(argv) or f"[{comm}]")


def _boot_time() -> float:
    with open("/proc/stat") as fh:
        for line in fh:
            if line.startswith("btime"):
                return float(line.split()[1])
    return 0.0


def _from_runtime(rows: list[dict[str, Any]]) -> list[Proc]:
    import datetime as dt

    boot, now = _boot_time(), time.time()
    out = []
    for r in rows:
        secs = int(r.get("time", 0))
        started = boot + float(r.get("stime", 0))
        out.append(Proc(
            str(r.get("user") or r.get("uid", "")), int(r["pid"]), int(r.get("ppid", 0)),
            int(100 * float(r.get("time", 0)) / max(now - started, 1e-3)),
            dt.datetime.fromtimestamp(started).strftime("%H:%M"), "?",
            f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}", str(r.get("cmd", "")),
        ))
    return out


def processes(paths: Paths, rec: dict[str, Any]) -> list[Proc]:
    """The container's processes (the runtime's list, else its init's pid namespace from /proc)."""
    from composer.runtime import api

    st = containers.runtime_state(paths, rec["id"])
    if st is None or st.status != "running" or not st.pid:
        return []
    listing = getattr(api, "container_processes", None)
    if listing is not None:
        try:
            return _from_runtime(listing(rec["id"], paths.runtime))
        except RuntimeFailure:
            return []
    ns = _ns(st.pid, "pid")
    if ns is None:
        return []
    names: dict[int, str] = {}
    try:
        with open("/etc/passwd") as fh:
            for line in fh:
                parts = line.split(":")
                if len(parts) > 2 and parts[2].isdigit():
                    names.setdefault(int(parts[2]), parts[0])
    except OSError:
        pass
    boot, tick = _boot_time(), os.sysconf("SC_CLK_TCK")
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _ns(entry, "pid") == ns:
            p = _proc(int(entry), names, boot, tick)
            if p is not None:
                out.append(p)
    return sorted(out, key=lambda p: p.pid)


# ---------------------------------------------------------------- port


def port(paths: Paths, project: str, service: str, private_port: int, protocol: str = "tcp",
         index: int = 1) -> str:
    """``HOST:PORT`` the service's container publishes ``private_port`` on."""
    from composer.engine.execcmd import service_container
    from composer.engine.ps import publishers

    if protocol not in ("tcp", "udp"):
        raise ConfigError(f'invalid protocol "{protocol}" (use tcp or udp)')
    rec = service_container(paths, project, service, index, running=False)
    bound = monitor_client.read_status(paths, project).get("ports", {})
    for p in publishers(rec, bound):
        if p["TargetPort"] == private_port and p["Protocol"] == protocol and p["PublishedPort"]:
            return f"{p['URL']}:{p['PublishedPort']}"
    raise ContainerNotFoundError(f"no port {private_port}/{protocol} for container {rec['name']}")


# ---------------------------------------------------------------- wait


def wait(paths: Paths, project: str, services: Sequence[str], *, timeout: float | None = None,
         poll: float = 0.1) -> int:
    """Block until the first container of the services stops; its exit code (as Docker Compose)."""
    recs = records(paths, project, services, oneoff=False)
    if not recs:
        raise ContainerNotFoundError(f"no containers for project {project}")
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        for rec in recs:
            st = containers.runtime_state(paths, rec["id"])
            if st is None or st.status == "stopped":
                return int(st.exit_code or 0) if st is not None else 0
        if deadline is not None and time.monotonic() > deadline:
            raise ComposerError(f"timed out after {timeout:g}s waiting for containers to stop")
        time.sleep(poll)
