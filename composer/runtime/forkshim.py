"""A shim started in a fork of the caller (``api.SHIM_MODE = "fork"``): no interpreter start-up.

A fork pays a page fault for each page of its parent it then writes to, and
the parent for each page it writes while the child lives: 5-40 µs each on
this project's VMs, where a container start writes a few thousand pages
(``bench/RESULTS.md``). So whatever a shim would do first that needs no
process of its own is done here, by the warm caller, before the fork
(``prepared``): parsing its arguments and config.json, writing state.json,
making the container's cgroup and writing its limits, loading the compiled
seccomp program, the look-ups the init makes. Each step but the state is
best effort: whatever fails here is left to the shim, which does it again
(every step is idempotent) and reports the error as it always has.

The shim is the caller's child (``shim.forked`` starts a new session): the
caller reaps it once it has exited (``reap``, on every start, stop and
delete), instead of a second fork on the critical path.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from composer.errors import ComposerError
from composer.runtime import capabilities, cgroups, migration, seccomp, shim, shimargs, syscalls
from composer.runtime.spec import load_spec
from composer.runtime.state import Record, write_record
from composer.values import replace

#: shims this process forked: our children until they exit
_CHILDREN: set[int] = set()


def start(
    argv: Sequence[str], record: Record, directory: Path, keep_fds: Sequence[int], *,
    prime: bool = True, child_setup: Callable[[], None] | None = None,
) -> str:
    """Fork the shim for ``argv`` (``shimargs.parse_args``); returns its backend in the caller at once.

    For the builtin backend the caller then pays the wait of the first cgroup
    move while the shim works (``migration.prime_migration``), unless ``prime``
    is false (the ``zygote`` does it once it has answered). ``child_setup``
    runs first in the child (the zygote puts the caller's descriptors in place).
    """
    args = prepared(argv, record, directory)
    reap()
    migration.stop_warming()  # (``keep_migration_warm``) before the fork: one thread forks without CPython's after-fork work
    try:
        child = syscalls.bare_fork()
    except OSError:
        if args.cgroup is not None:
            with contextlib.suppress(ComposerError):
                args.cgroup.remove()
        raise
    if child == 0:
        if child_setup is not None:
            try:
                child_setup()
            except BaseException:
                os._exit(1)
        shim.forked(args, *keep_fds)
    _CHILDREN.add(child)
    if prime and args.backend == "builtin":
        migration.prime_migration()
    return str(args.backend)


def prepared(argv: Sequence[str], record: Record, directory: Path) -> shimargs.ShimArgs:
    """The shim's arguments, with what it would read and make first (see the module docstring)."""
    args = shimargs.parse_args(argv)
    args.record = record
    cgroups.hierarchies()  # cached for the shim too
    group = None
    with contextlib.suppress(ComposerError, OSError):
        spec = args.spec = load_spec(Path(args.bundle))
        if args.backend == "builtin":
            group = cgroups.Cgroup.for_path(spec.cgroups_path or cgroups.default_path(record.id))
            args.record = replace(record, cgroup=group.to_record())
    write_record(directory, args.record)  # the caller's first write: the shim's and the cgroup's cleanup need it
    if group is None:
        return args
    try:
        group.create()
        group.apply(spec.resources)
        args.cgroup = group
        capabilities.last_cap()
        if spec.seccomp is not None:
            args.program = seccomp.compiled(spec.seccomp, directory.parent / shim.SECCOMP_CACHE)
            seccomp.prepare_load()
    except (ComposerError, OSError):
        pass  # the shim tries again and says what is wrong
    return args


def reap() -> None:
    """Reap the forked shims that have exited."""
    for pid in list(_CHILDREN):
        try:
            done = os.waitpid(pid, os.WNOHANG)[0] != 0
        except ChildProcessError:
            done = True
        if done:
            _CHILDREN.discard(pid)
