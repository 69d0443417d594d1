"""The project monitor: what a detached project needs a living process for.

``python -m composer.engine.monitor STATE_ROOT RUN_ROOT PROJECT`` runs one per
project (monitor_client starts it; ``up`` runs ``main`` in a fork of the CLI
instead, which has most of its imports already). It holds ``monitor/<project>.lock`` for
its life and, from the container records on disk, keeps:

- healthchecks of running containers, results in ``containers/<id>/health.json``;
- published ports (a userland proxy per port, see docs/networking.md);
- the embedded DNS server on each project network's gateway address.

It rescans the records every half second and at once on SIGHUP, writes what
it bound to ``monitor/<project>.status.json``, and exits when the project has
had no running container for a few seconds. It never stops a container:
killing it costs ports, DNS and healthchecks until the next composer command
starts a new one, nothing else.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskGroup

from composer.engine import containers, dns_view, health, monitor_client, publish, restarts, state
from composer.engine.state import Paths
from composer.errors import ComposerError

log = logging.getLogger("composer.monitor")

SCAN_INTERVAL = 0.5
IDLE_EXIT = 3.0     # seconds without a running container before exiting
STARTUP_GRACE = 15.0


class Monitor:
    def __init__(self, paths: Paths, project: str) -> None:
        self.paths = paths
        self.project = project
        self.records: dict[str, dict[str, Any]] = {}
        self.running: set[str] = set()
        self.health_scopes: dict[str, anyio.CancelScope] = {}
        self.port_scopes: dict[str, anyio.CancelScope] = {}
        self.bound_ports: dict[str, list[dict[str, Any]]] = {}
        self.port_errors: dict[str, str] = {}
        self.dns_listeners: set[str] = set()
        self.wakeup = anyio.Event()
        self.last_scan = 0.0
        self.restarting: set[str] = set()
        self.backoffs: dict[str, float] = {}
        self.last_start: dict[str, float] = {}
        self.record_cache: state.RecordCache = {}  # rescans parse only the records that changed
        self.run_records: dict[str, tuple[tuple[int, int, int], str, int, int]] = {}  # (see _is_running)
        self.last_status: dict[str, Any] | None = None

    # -- DNS view ---------------------------------------------------------
    def resolve(self, client_ip: str, name: str) -> list[str]:
        """Names visible to the container at ``client_ip``: its networks' members.

        A miss rescans the records first: a container that has just started
        asks before the next periodic scan would have seen it or its peers.
        """
        answers = self._lookup(client_ip, name)
        if not answers and time.monotonic() - self.last_scan > 0.05:
            self.scan()
            answers = self._lookup(client_ip, name)
        return answers

    def _lookup(self, client_ip: str, name: str) -> list[str]:
        return dns_view.lookup(self.records, self.running, client_ip, name)

    # -- scanning ---------------------------------------------------------
    def scan(self) -> None:
        self.records = {r["id"]: r for r in state.container_records(self.paths, self.project,
                                                                    cache=self.record_cache)}
        self.running = {cid for cid in self.records if self._is_running(cid)}
        self.last_scan = time.monotonic()

    def _is_running(self, cid: str) -> bool:
        """The runtime's "running" (paused included), as ``container_state`` says it, for less.

        Twice a second and on every notice, for every container: the runtime's
        record is parsed again only when it was replaced (inode, mtime, size),
        and a paused container's freezer is not read (running either way).
        """
        from composer.runtime import state as run_state

        path = os.path.join(self.paths.runtime, cid, run_state.STATE_FILE)
        try:
            st = os.stat(path)
        except OSError:
            self.run_records.pop(cid, None)
            return False
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self.run_records.get(cid)
        if cached is None or cached[0] != key:
            try:
                record = run_state.read_record(Path(self.paths.runtime, cid))
            except ComposerError:
                return False
            if record is None:
                return False
            cached = self.run_records[cid] = (key, record.status, record.pid, record.pid_start)
        _, status, pid, start = cached
        return status == "running" and run_state.is_alive(pid, start)

    def write_status(self) -> None:
        """``status.json``, when what it says changed (run state: no fsync, see runtime.state)."""
        status = {"pid": os.getpid(), "ports": self.bound_ports, "port_errors": self.port_errors,
                  "dns": sorted(self.dns_listeners)}
        if status == self.last_status:
            return
        state.write_json(monitor_client.status_path(self.paths, self.project),
                         {**status, "updated": time.time()}, sync=False)
        self.last_status = copy.deepcopy(status)

    async def reconcile(self, tg: TaskGroup, dns: Any) -> None:
        for cid in list(self.health_scopes):
            if cid not in self.running:
                self.health_scopes.pop(cid).cancel()
        for cid in list(self.port_scopes):
            if cid not in self.running:
                self.port_scopes.pop(cid).cancel()
                self.bound_ports.pop(cid, None)
        for cid in list(self.port_errors):
            if cid not in self.records:
                del self.port_errors[cid]
        for cid in sorted(self.running):
            rec = self.records[cid]
            if rec.get("healthcheck") and cid not in self.health_scopes:
                scope = anyio.CancelScope()
                self.health_scopes[cid] = scope
                tg.start_soon(self._health_loop, rec, scope)
            if rec.get("ports") and cid not in self.port_scopes and cid not in self.port_errors:
                await self._publish(tg, rec)
        await self._restarts(tg)
        await self._dns_listen(dns)
        self.write_status()

    async def _restarts(self, tg: TaskGroup) -> None:
        """Start the restart of every stopped container whose policy asks for one."""
        now = time.monotonic()
        for cid, rec in self.records.items():
            if cid in self.running or cid in self.restarting or rec.get("oneoff"):
                continue
            policy = restarts.policy_of(rec)
            if policy.name == "no" or restarts.stopped_by_user(self.paths, cid):
                continue
            st = containers.runtime_state(self.paths, cid)
            if st is None or st.status != "stopped":
                continue
            counts = restarts.read_count(self.paths, cid)
            if not restarts.should_restart(policy, st.exit_code, counts.get("count", 0)):
                continue
            ran_for = now - self.last_start.get(cid, now - restarts.RESET_AFTER)
            delay = policy.delay if policy.delay is not None else restarts.backoff(self.backoffs.get(cid), ran_for)
            self.backoffs[cid] = delay
            self.restarting.add(cid)
            tg.start_soon(self._restart, rec, delay, counts)

    async def _restart(self, rec: dict[str, Any], delay: float, counts: dict[str, Any]) -> None:
        cid = rec["id"]
        try:
            await anyio.sleep(delay)
            if restarts.stopped_by_user(self.paths, cid) or not self.paths.container_dir(cid).exists():
                return
            try:
                with state.project_lock(self.paths, self.project, timeout=0):
                    counts = dict(counts, count=counts.get("count", 0) + 1)
                    restarts.write_count(self.paths, cid, counts)
                    await anyio.to_thread.run_sync(containers.start, self.paths, rec)
                    self.last_start[cid] = time.monotonic()
                    log.info("restarted %s (restart %d)", rec["name"], counts["count"])
            except ComposerError as exc:
                log.warning("restart of %s: %s", rec["name"], exc)
        finally:
            self.restarting.discard(cid)
            self.wakeup.set()

    async def _dns_listen(self, dns: Any) -> None:
        # every network of the project, and every network a container of it is on, running
        # or not yet: a container may resolve names the moment its process starts (``up``
        # waits for these listeners before the first one does)
        wanted = {att["gateway"] for rec in self.records.values()
                  for att in rec.get("networks", {}).values() if att.get("gateway")}
        wanted |= {net["gateway"] for net in state.network_records(self.paths)
                   if net.get("labels", {}).get("com.docker.compose.project") == self.project}
        for gw in sorted(wanted - self.dns_listeners):
            try:
                await dns.add_listener((gw, 53))
                self.dns_listeners.add(gw)
            except ComposerError as exc:
                log.warning("DNS on %s: %s", gw, exc)
        for gw in sorted(self.dns_listeners - wanted):
            await dns.remove_listener((gw, 53))
            self.dns_listeners.discard(gw)

    async def _publish(self, tg: TaskGroup, rec: dict[str, Any]) -> None:
        scope = anyio.CancelScope()
        self.port_scopes[rec["id"]] = scope
        try:
            self.bound_ports[rec["id"]] = await publish.publish(tg, rec, scope)
        except ComposerError as exc:
            self.port_errors[rec["id"]] = str(exc)
            self.port_scopes.pop(rec["id"], None)

    async def _health_loop(self, rec: dict[str, Any], scope: anyio.CancelScope) -> None:
        with scope:
            await health.run_checks(self.paths, rec)

    # -- main loop --------------------------------------------------------
    async def run(self) -> None:
        from composer.runtime.net.dns import DnsServer

        dns = DnsServer()
        started = time.monotonic()
        idle_since: float | None = None
        async with anyio.create_task_group() as tg:
            await tg.start(dns.serve, [], self.resolve)
            tg.start_soon(self._signals, tg)
            # DNS first: ``up`` holds back the first container process until the server
            # listens, and the first full scan (the runtime's cgroup discovery) is slow
            self.records = {r["id"]: r for r in state.container_records(self.paths, self.project,
                                                                        cache=self.record_cache)}
            await self._dns_listen(dns)
            self.write_status()
            while True:
                self.scan()
                await self.reconcile(tg, dns)
                now = time.monotonic()
                if self.running or self.restarting:
                    idle_since = None
                elif idle_since is None:
                    idle_since = now
                if (idle_since is not None and now - idle_since > IDLE_EXIT
                        and (now - started > STARTUP_GRACE or not self.records)
                        and now - started > IDLE_EXIT):
                    break
                self.wakeup = anyio.Event()
                with anyio.move_on_after(SCAN_INTERVAL):
                    await self.wakeup.wait()
            tg.cancel_scope.cancel()

    async def _signals(self, tg: TaskGroup) -> None:
        with anyio.open_signal_receiver(signal.SIGHUP, signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                if signum == signal.SIGHUP:
                    self.wakeup.set()
                else:
                    tg.cancel_scope.cancel()
                    return


def main(argv: list[str]) -> int:
    state_root, run_root, project = Path(argv[0]), Path(argv[1]), argv[2]
    paths = Paths(state_root, run_root)
    # ``up`` may signal before the loop's receiver is installed: a rescan
    # request must never kill the monitor (SIGHUP's default action)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s monitor[%(process)d] %(message)s",
                        force=True)  # (forked from the CLI: its handlers, if it had any, are not ours)
    paths.monitors.mkdir(parents=True, exist_ok=True)
    fd = os.open(monitor_client.lock_path(paths, project), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another monitor already looks after this project
    pid_file = monitor_client.pid_path(paths, project)
    pid_file.write_text(str(os.getpid()))
    try:
        anyio.run(Monitor(paths, project).run)
    finally:
        with contextlib.suppress(FileNotFoundError):
            monitor_client.status_path(paths, project).unlink()
        with contextlib.suppress(FileNotFoundError):
            pid_file.unlink()
        os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
