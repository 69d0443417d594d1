"""Load an OCI ``linux.seccomp`` filter with libseccomp (through ctypes), as runc does.

libseccomp compiles the rules into BPF for every listed architecture (so an
x86_64 container cannot escape the filter with 32-bit system calls, the
``int 0x80`` trick) and resolves call names per architecture. Names the
library or the kernel does not know are skipped, as runc skips them; a rule
whose action is the default one is skipped too (libseccomp refuses it).
libseccomp's own "set no_new_privs on load" is turned off: whether the
process gets no_new_privileges is the spec's ``process.noNewPrivileges``.
Loading needs CAP_SYS_ADMIN or no_new_privs: the init calls ``load`` before
it drops capabilities unless no_new_privs is already set.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from composer.errors import ContainerStartError
from composer.values import valueclass

SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_KILL_THREAD = 0x00000000
SCMP_ACT_TRAP = 0x00030000
SCMP_ACT_LOG = 0x7FFC0000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_FLTATR_CTL_NNP = 3
_NR_SCMP_ERROR = -1

COMPARE_OPS: dict[str, int] = {
    "SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7,
}  # fmt: skip
ARCHES: dict[str, str] = {
    "SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32",
    "SCMP_ARCH_ARM": "arm", "SCMP_ARCH_AARCH64": "aarch64", "SCMP_ARCH_PPC64LE": "ppc64le",
    "SCMP_ARCH_S390X": "s390x", "SCMP_ARCH_RISCV64": "riscv64",
}  # fmt: skip


@valueclass
class Arg:
    index: int
    value: int
    value_two: int
    op: str


@valueclass
class Rule:
    names: tuple[str, ...]
    action: str
    errno_ret: int | None = None
    args: tuple[Arg, ...] = ()


@valueclass
class Seccomp:
    default_action: str
    default_errno: int | None = None
    architectures: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()


def action_value(action: str, errno_ret: int | None, default_errno: int | None = None) -> int:
    """The libseccomp action for an OCI action name (``SCMP_ACT_ERRNO`` uses ``errno_ret``)."""
    if action == "SCMP_ACT_ERRNO":
        code = errno_ret if errno_ret is not None else (default_errno if default_errno is not None else errno.EPERM)
        return 0x00050000 | (code & 0xFFFF)
    if action == "SCMP_ACT_TRACE":
        code = errno_ret if errno_ret is not None else errno.EPERM
        return 0x7FF00000 | (code & 0xFFFF)
    table = {
        "SCMP_ACT_KILL": SCMP_ACT_KILL_THREAD, "SCMP_ACT_KILL_THREAD": SCMP_ACT_KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS": SCMP_ACT_KILL_PROCESS, "SCMP_ACT_TRAP": SCMP_ACT_TRAP,
        "SCMP_ACT_LOG": SCMP_ACT_LOG, "SCMP_ACT_ALLOW": SCMP_ACT_ALLOW,
    }  # fmt: skip
    if action not in table:
        raise ContainerStartError(f"linux.seccomp: unsupported action {action!r}")
    return table[action]


class _ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


@functools.cache
def _library() -> ctypes.CDLL:
    """libseccomp, opened once; the init opens it before pivot_root hides the host's /usr/lib."""
    try:
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError as exc:
        raise ContainerStartError(
            "linux.seccomp: libseccomp.so.2 is not installed (apt-get install libseccomp2), "
            "or run the service with security_opt: [seccomp=unconfined]"
        ) from exc
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_ArgCmp),
    ]
    return lib


def preload() -> None:
    """Open libseccomp now, while the host's files are still visible."""
    _library()


_SYS_SECCOMP = {"x86_64": 317, "aarch64": 277}
SECCOMP_SET_MODE_FILTER = 1


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def compiled(profile: Seccomp, cache_dir: Path | None = None) -> bytes:
    """The BPF program for ``profile`` (8-byte instructions), from ``cache_dir`` when built before.

    Building the Docker profile with libseccomp takes ~25 ms; the program
    depends only on the profile, so it is kept under the hash of the profile.
    """
    key = hashlib.sha256(repr(profile).encode()).hexdigest()[:32]
    path = cache_dir / f"{key}.bpf" if cache_dir is not None else None
    if path is not None:
        with contextlib.suppress(OSError):
            data = path.read_bytes()
            if data and len(data) % 8 == 0:
                return data
    lib = _library()
    ctx = _build(lib, profile)
    try:
        fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
        try:
            _check(lib.seccomp_export_bpf(ctx, fd), "seccomp_export_bpf")
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
            data = b"".join(chunks)
        finally:
            os.close(fd)
    finally:
        lib.seccomp_release(ctx)
    if path is not None:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp.write_bytes(data)
            tmp.rename(path)
    return data


@functools.cache
def _seccomp_call() -> tuple[Callable[..., int], int | None]:
    """syscall(3) and seccomp's number here; looked up by the shim before it forks the init."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc.syscall, _SYS_SECCOMP.get(os.uname().machine)


def prepare_load() -> None:
    """Look up what ``load_program`` needs now, in the caller, not in each forked init."""
    _seccomp_call()


def load_program(program: bytes) -> None:
    """Install a compiled filter with seccomp(2): no library needed, works after pivot_root."""
    syscall, number = _seccomp_call()
    if number is None:
        raise ContainerStartError(f"linux.seccomp: unsupported machine {os.uname().machine}")
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if syscall(ctypes.c_long(number), ctypes.c_long(SECCOMP_SET_MODE_FILTER), ctypes.c_long(0), ctypes.byref(prog)) < 0:
        raise ContainerStartError(f"linux.seccomp: seccomp(SET_MODE_FILTER): {os.strerror(ctypes.get_errno())}")


def load(profile: Seccomp | bytes) -> None:
    """Install ``profile`` (or its compiled program) on the calling process (inherited across exec)."""
    if isinstance(profile, bytes):
        load_program(profile)
        return
    lib = _library()
    ctx = _build(lib, profile)
    try:
        _check(lib.seccomp_load(ctx), "seccomp_load")
    finally:
        lib.seccomp_release(ctx)


def _build(lib: ctypes.CDLL, profile: Seccomp) -> int:
    """A libseccomp context holding ``profile``'s rules (the caller releases it)."""
    default = action_value(profile.default_action, profile.default_errno)
    ctx = lib.seccomp_init(default)
    if not ctx:
        raise ContainerStartError("linux.seccomp: seccomp_init failed")
    try:
        _check(lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "seccomp_attr_set")
        for arch in profile.architectures:
            name = ARCHES.get(arch)
            token = lib.seccomp_arch_resolve_name(name.encode()) if name else 0
            if not token:
                continue
            rc = lib.seccomp_arch_add(ctx, token)
            if rc not in (0, -errno.EEXIST):
                _check(rc, f"seccomp_arch_add {arch}")
        for rule in profile.rules:
            action = action_value(rule.action, rule.errno_ret, profile.default_errno)
            if action == default:
                continue
            _add_rule(lib, ctx, rule, action)
    except BaseException:
        lib.seccomp_release(ctx)
        raise
    return int(ctx)


def _add_rule(lib: ctypes.CDLL, ctx: int, rule: Rule, action: int) -> None:
    count = len(rule.args)
    cmps = (_ArgCmp * max(1, count))()
    for i, arg in enumerate(rule.args):
        op = COMPARE_OPS.get(arg.op)
        if op is None:
            raise ContainerStartError(f"linux.seccomp: unknown operator {arg.op!r}")
        cmps[i] = _ArgCmp(arg.index, op, arg.value, arg.value_two)
    for name in rule.names:
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number == _NR_SCMP_ERROR:
            continue  # a call this libseccomp does not know: as runc, skip it
        rc = lib.seccomp_rule_add_array(ctx, action, number, count, cmps)
        if rc == -errno.EDOM or (rc == -errno.EINVAL and number < 0):
            continue  # a pseudo-call with no number on these architectures
        _check(rc, f"seccomp rule for {name}")


def _check(rc: int, what: str) -> None:
    if rc < 0:
        raise ContainerStartError(f"linux.seccomp: {what}: {os.strerror(-rc)}")
