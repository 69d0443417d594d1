"""Linux capabilities of the container's process: the five sets of ``process.capabilities``.

Applied in runc's order (libcontainer ``finalizeNamespace``): drop from the
bounding set every capability not listed (needs CAP_SETPCAP, so it comes
first, while the init is still full root); keep the permitted set across
setuid (PR_SET_KEEPCAPS); switch user; then set effective, permitted and
inheritable with capset(2) and raise the ambient ones. A capability the
kernel does not know (newer than ``cap_last_cap``) is ignored, as runc does;
a name that is no capability at all is a spec error.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Iterable

from composer.runtime import syscalls as sc
from composer.values import valueclass

#: capability(7) numbers, as in linux/capability.h
CAPABILITIES: dict[str, int] = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
    "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
    "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}  # fmt: skip

PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_KEEPCAPS = 8
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_SYS_CAPSET = 126  # x86_64 (aarch64: 91)


@valueclass
class Capabilities:
    """The five sets, as capability names (``CAP_CHOWN``)."""

    bounding: tuple[str, ...] = ()
    effective: tuple[str, ...] = ()
    permitted: tuple[str, ...] = ()
    inheritable: tuple[str, ...] = ()
    ambient: tuple[str, ...] = ()


def normalise(name: str) -> str | None:
    """``chown`` / ``CAP_CHOWN`` / ``cap_chown`` -> ``CAP_CHOWN``; None if unknown."""
    upper = name.strip().upper()
    if not upper.startswith("CAP_"):
        upper = "CAP_" + upper
    return upper if upper in CAPABILITIES else None


@functools.cache
def last_cap() -> int:
    """The highest capability this kernel knows (read once per process: the shim's init inherits it)."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return max(CAPABILITIES.values())


def _numbers(names: Iterable[str], top: int) -> set[int]:
    return {CAPABILITIES[n] for n in names if n in CAPABILITIES and CAPABILITIES[n] <= top}


def _mask(numbers: Iterable[int]) -> int:
    out = 0
    for n in numbers:
        out |= 1 << n
    return out


def drop_bounding(caps: Capabilities) -> None:
    """Drop every capability not in ``caps.bounding`` from the bounding set (dropping one not there is a no-op)."""
    top = last_cap()
    keep = _numbers(caps.bounding, top)
    for number in range(top + 1):
        if number not in keep:
            sc.prctl(PR_CAPBSET_DROP, number)


def keep_caps(on: bool) -> None:
    sc.prctl(PR_SET_KEEPCAPS, 1 if on else 0)


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def apply(caps: Capabilities) -> None:
    """capset(2) the effective, permitted and inheritable sets; raise the ambient ones."""
    top = last_cap()
    wanted = _numbers((*caps.effective, *caps.permitted, *caps.inheritable, *caps.ambient), top)
    # a capability the host withheld from us (no CAP_SYS_RESOURCE on some VMs) cannot be granted
    held = {n for n in wanted if sc.prctl(PR_CAPBSET_READ, n)}
    eff = _mask(_numbers(caps.effective, top) & held)
    perm = _mask(_numbers(caps.permitted, top) & held)
    inh = _mask(_numbers(caps.inheritable, top) & held)
    header = _Header(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_Data * 2)()
    for i in range(2):
        shift = 32 * i
        data[i].effective = (eff >> shift) & 0xFFFFFFFF
        data[i].permitted = (perm >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inh >> shift) & 0xFFFFFFFF
    sc.raw_syscall(_capset_number(), "capset", "process", ctypes.byref(header), ctypes.byref(data))
    sc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    for number in sorted(_numbers(caps.ambient, top) & held):
        sc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, number)


def _capset_number() -> int:
    import os

    return 91 if os.uname().machine in ("aarch64", "arm64") else _SYS_CAPSET
