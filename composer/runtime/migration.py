"""Moving processes between cgroups without the kernel's first-move wait.

The first cgroup migration after a quiet spell waits for an RCU grace period
(the global ``cgroup_threadgroup_rwsem`` turning to writer mode: 5-20 ms on
this project's VMs); moves within about one grace period after another do not.
``prime_migration`` pays that wait at a moment of the caller's choosing, and
``keep_migration_warm`` keeps the lock warm from a thread while ``run`` builds
its container (docs/runtime.md, "Start-up cost").
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from composer.errors import RuntimeFailure
from composer.runtime.cgroups import hierarchies, process_cgroups


def _write(path: Path, value: str) -> None:
    with open(path, "w") as fh:  # one write(2): the kernel moves the process
        fh.write(value)


def prime_migration() -> None:
    """Pay the kernel's wait for moving a process between cgroups now (best effort).

    The first move after a quiet spell waits for an RCU grace period (the
    global ``cgroup_threadgroup_rwsem`` turning to writer mode: 5-20 ms on
    this project's VMs, ``bench/RESULTS.md``), holding ``cgroup_mutex`` (every
    cgroup mkdir and limit write waits too); moves within about one grace
    period after another do not wait. Moving the caller into the group it is
    already in changes nothing else, so the runtime does it once the cgroup is
    made, while the shim forks the init: the init's move, a few ms later,
    finds the lock warm or waits only for the rest of that grace period.
    """
    procs = _own_procs()
    if procs is not None:
        with contextlib.suppress(OSError):
            _write(procs, "0")


def _own_procs() -> Path | None:
    """The caller's ``cgroup.procs`` in its first hierarchy (``prime_migration`` moves it there)."""
    own = process_cgroups()
    h = hierarchies()
    mount = next(iter(h.v1.values()), None) or h.unified
    if mount is None or mount not in own:
        return None
    return Path(mount, own[mount].lstrip("/"), "cgroup.procs")


#: seconds between two moves of ``keep_migration_warm``: well within a grace period (~10 ms here)
WARM_INTERVAL = 0.005
_warmer: tuple[threading.Thread, threading.Event] | None = None  # while ``keep_migration_warm`` runs


def keep_migration_warm() -> None:
    """``prime_migration`` now, in a thread, and again every few ms until ``stop_warming`` (best effort).

    For a caller with other work before its one container start (``run``):
    the grace period of the first move passes while it works (the thread
    waits in the kernel, without the GIL), and the moves after it keep the
    lock in writer mode, so neither the shim's move of the init nor the
    caller's ``prime_migration`` after the fork waits. ``forkshim.start``
    stops the thread before it forks (a single-threaded caller forks cheaply).
    """
    global _warmer
    if _warmer is not None:
        return
    try:
        procs = _own_procs()
    except (OSError, RuntimeFailure):
        return
    if procs is None:
        return
    stop = threading.Event()

    def warm() -> None:
        while True:
            try:
                _write(procs, "0")
            except OSError:
                return
            if stop.wait(WARM_INTERVAL):
                return

    thread = threading.Thread(target=warm, name="cgroup-warm", daemon=True)
    thread.start()
    _warmer = (thread, stop)


def stop_warming() -> None:
    """End ``keep_migration_warm``'s thread (waiting for a move in progress); a no-op if none runs."""
    global _warmer
    if _warmer is None:
        return
    thread, stop = _warmer
    _warmer = None
    stop.set()
    thread.join()
