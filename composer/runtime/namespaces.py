"""Linux namespaces: join the ones a bundle names by path, create the others.

Runs in the container's init (a pid namespace: in the shim, for the one fork
of the init, ``init.fork_container``). The kernel ordering is kept as
data: every namespace file is opened first (a path such as
``/run/composer/netns/<id>`` must be reached before the mount namespace
changes), then joined in ``ORDERED_NAMESPACES`` order (mount last, as youki
and runc do), then the remaining namespaces are created with one unshare(2).
A new pid namespace only applies to children: the caller must fork, and the
child becomes pid 1.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from composer.errors import RuntimeFailure
from composer.runtime import syscalls
from composer.runtime.spec import Namespace

#: order in which namespaces are joined (setns) or entered
ORDERED_NAMESPACES: tuple[str, ...] = ("user", "pid", "uts", "ipc", "network", "cgroup", "mount")


def enter(namespaces: Sequence[Namespace]) -> None:
    """Join the namespaces with a ``path``, then unshare the others at once."""
    rank = {kind: i for i, kind in enumerate(ORDERED_NAMESPACES)}
    joined = sorted((ns for ns in namespaces if ns.path), key=lambda ns: rank[ns.type])
    fds: list[tuple[Namespace, int]] = []
    try:
        for ns in joined:
            assert ns.path is not None
            try:
                fds.append((ns, os.open(ns.path, os.O_RDONLY | os.O_CLOEXEC)))
            except OSError as exc:
                raise RuntimeFailure.from_oserror(f"open {ns.type} namespace", ns.path, exc) from exc
        for ns, fd in fds:
            syscalls.setns(fd, syscalls.NAMESPACE_FLAGS[ns.type], f"{ns.type} namespace {ns.path}")
    finally:
        for _, fd in fds:
            os.close(fd)
    flags = 0
    for ns in namespaces:
        if not ns.path:
            flags |= syscalls.NAMESPACE_FLAGS[ns.type]
    if flags:
        syscalls.unshare(flags)


def namespace_files(pid: int, kinds: Sequence[str]) -> list[tuple[str, str]]:
    """(kind, /proc/<pid>/ns/<name>) for each kind whose namespace differs from ours.

    Used by exec: joining a namespace we already share is skipped, so a
    container that shares the host's network needs no setns for it.
    """
    out: list[tuple[str, str]] = []
    for kind in sorted(kinds, key=ORDERED_NAMESPACES.index):
        name = syscalls.NAMESPACE_PROC_NAMES[kind]
        theirs = f"/proc/{pid}/ns/{name}"
        try:
            if os.stat(theirs).st_ino == os.stat(f"/proc/self/ns/{name}").st_ino:
                continue
        except OSError as exc:
            raise RuntimeFailure.from_oserror("stat", theirs, exc) from exc
        out.append((kind, theirs))
    return out
