"""Linux system calls the Python standard library (3.11) lacks, through ctypes.

Every kernel call of the runtime that is not in ``os`` goes through this one
small module, so failures are translated in one place: an ``OSError`` from the
kernel becomes a ``RuntimeFailure`` naming the syscall and its target.
Only constants and thin wrappers live here; the logic is elsewhere.
"""

from __future__ import annotations

import ctypes
import os

from composer.errors import RuntimeFailure

# namespaces (linux/sched.h)
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

#: OCI namespace type -> clone flag
NAMESPACE_FLAGS: dict[str, int] = {
    "pid": CLONE_NEWPID,
    "network": CLONE_NEWNET,
    "mount": CLONE_NEWNS,
    "ipc": CLONE_NEWIPC,
    "uts": CLONE_NEWUTS,
    "user": CLONE_NEWUSER,
    "cgroup": CLONE_NEWCGROUP,
}
#: OCI namespace type -> name under /proc/<pid>/ns/
NAMESPACE_PROC_NAMES: dict[str, str] = {
    "pid": "pid",
    "network": "net",
    "mount": "mnt",
    "ipc": "ipc",
    "uts": "uts",
    "user": "user",
    "cgroup": "cgroup",
}

# mount flags (linux/mount.h)
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24

MNT_FORCE = 1
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36

def _load_libc() -> ctypes.CDLL:
    # find_library runs ldconfig in a subprocess: ~10 ms on every shim start
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        from ctypes.util import find_library

        return ctypes.CDLL(find_library("c") or "libc.so.6", use_errno=True)


_libc = _load_libc()
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.setdomainname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.syscall.restype = ctypes.c_long

_SYS_PIVOT_ROOT = 155  # x86_64
if os.uname().machine in ("aarch64", "arm64"):
    _SYS_PIVOT_ROOT = 41


class SyscallError(RuntimeFailure):
    """A ``RuntimeFailure`` that keeps the kernel's errno, for callers that tolerate some."""

    def __init__(self, message: str, errno: int = 0) -> None:
        super().__init__(message)
        self.errno = errno


def _check(result: int, syscall: str, target: str) -> None:
    if result < 0:
        err = ctypes.get_errno()
        raise SyscallError(f"{syscall} {target}: {os.strerror(err)}", err)


def _b(value: str | os.PathLike[str] | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def mount(
    source: str | os.PathLike[str] | None,
    target: str | os.PathLike[str],
    fstype: str | None = None,
    flags: int = 0,
    data: str | None = None,
) -> None:
    """mount(2); ``source`` may be None for remounts and propagation changes."""
    res = _libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data))
    _check(res, "mount", f"{fstype or 'bind'} {source} on {target}")


def umount2(target: str | os.PathLike[str], flags: int = 0) -> None:
    _check(_libc.umount2(_b(target), flags), "umount2", os.fspath(target))


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare", hex(flags))


def setns(fd: int, nstype: int = 0, what: str = "") -> None:
    """setns(2) on an open namespace file descriptor."""
    _check(_libc.setns(fd, nstype), "setns", what or f"fd {fd}")


def setns_path(path: str | os.PathLike[str], nstype: int = 0) -> None:
    """Join the namespace bind-mounted or linked at ``path`` (e.g. /proc/PID/ns/net)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise RuntimeFailure.from_oserror("open", os.fspath(path), exc) from exc
    try:
        setns(fd, nstype, os.fspath(path))
    finally:
        os.close(fd)


def pivot_root(new_root: str | os.PathLike[str], put_old: str | os.PathLike[str]) -> None:
    res = _libc.syscall(_SYS_PIVOT_ROOT, _b(new_root), _b(put_old))
    _check(res, "pivot_root", os.fspath(new_root))


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname", name)


def setdomainname(name: str) -> None:
    raw = name.encode()
    _check(_libc.setdomainname(raw, len(raw)), "setdomainname", name)


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    res = _libc.prctl(option, arg2, arg3, arg4, arg5)
    _check(res, "prctl", str(option))
    return int(res)


def set_child_subreaper() -> None:
    """Orphaned descendants re-parent to us, so we can wait for them (as conmon does)."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)


def set_parent_death_signal(sig: int) -> None:
    prctl(PR_SET_PDEATHSIG, sig)


def raw_syscall(number: int, name: str, target: str, *args: object) -> int:
    """syscall(2) by number, for calls glibc does not wrap (capset, ...)."""
    res = int(_libc.syscall(number, *args))
    _check(res, name, target)
    return res


_pylibc = ctypes.PyDLL("libc.so.6", use_errno=True)  # calls keep the GIL: needed across fork
_pylibc.fork.restype = ctypes.c_int


def bare_fork() -> int:
    """fork(2) without CPython's after-fork work in the child, when we have one thread.

    ``os.fork`` re-initialises the interpreter's locks and thread states and
    runs every ``os.register_at_fork`` hook (threading, random, logging) in
    the child: ~200 page faults, 1-2 ms on a VM, in a child that only sets a
    container up. A single-threaded process has nothing to re-initialise (no
    lock can be held by a thread that does not exist in the child), so the
    runtime's own forks (shim, init) use this; with other threads alive it is
    ``os.fork``.
    """
    import threading

    if threading.active_count() > 1:
        return os.fork()
    pid = int(_pylibc.fork())
    if pid < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return pid
