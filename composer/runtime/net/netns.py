"""Network namespaces kept alive by a bind mount on a file.

A network namespace lives as long as something refers to it: a process in it,
an open file descriptor, or a bind mount of its ``/proc/<pid>/task/<tid>/ns/net``
file. Like ``ip netns add``, we bind-mount it on a plain file (by convention
``RUN/netns/<container id>``) so the namespace outlives the process that made it
and can be joined later by path: the container's init joins it through the OCI
``linux.namespaces[].path``, and we configure it before the container starts.

Two kernel facts shape this module:

- ``unshare(CLONE_NEWNET)`` and ``setns(fd, CLONE_NEWNET)`` change the network
  namespace of the *calling thread* only (unlike the mount namespace, which a
  multi-threaded process may not unshare). So each is done in a dedicated,
  short-lived thread; the caller's thread, the event loop and any thread pool
  never change namespace. A thread that entered a namespace is never reused.
- A socket stays in the namespace it was created in, whatever thread later
  uses it; so a netlink socket opened inside the worker thread configures the
  namespace, and a listening socket opened there serves inside it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from composer.errors import NetworkError, RuntimeFailure
from composer.runtime import syscalls

T = TypeVar("T")

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


def create_netns(path: Path) -> None:
    """Create a new network namespace bound on the file ``path``, with ``lo`` up.

    Parent directories are created. The namespace is made in a throwaway thread,
    so the caller's namespace is untouched. Fails if ``path`` already holds one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    except FileExistsError as exc:
        raise NetworkError(f"network namespace {path} already exists") from exc
    except OSError as exc:
        raise RuntimeFailure.from_oserror("create", os.fspath(path), exc) from exc
    os.close(fd)

    def make() -> None:
        syscalls.unshare(syscalls.CLONE_NEWNET)
        syscalls.mount("/proc/thread-self/ns/net", path, None, syscalls.MS_BIND)
        _set_up("lo")

    try:
        _run_in_thread(make)
    except BaseException:
        with contextlib.suppress(OSError, RuntimeFailure):
            syscalls.umount2(path, syscalls.MNT_DETACH)
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def delete_netns(path: Path) -> None:
    """Unmount and remove the namespace file; a missing file is not an error.

    The namespace itself goes away when the last process in it has exited.
    """
    if not path.exists():
        return
    with contextlib.suppress(RuntimeFailure):  # EINVAL: not (or no longer) a mount point
        syscalls.umount2(path, syscalls.MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def is_netns(path: Path) -> bool:
    """True when ``path`` is a namespace bind mount (not just a leftover file)."""
    try:
        # an nsfs bind mount reports the nsfs device, not the directory's
        return os.stat(path).st_dev != os.stat(path.parent).st_dev
    except OSError:
        return False


def run_in_netns(path: Path, fn: Callable[..., T], *args: Any) -> T:
    """Call ``fn(*args)`` in a new thread that has joined the namespace at ``path``.

    Blocking; from async code use ``anyio.to_thread.run_sync(run_in_netns, ...)``.
    Exceptions of ``fn`` propagate to the caller.
    """

    def call() -> T:
        syscalls.setns_path(path, syscalls.CLONE_NEWNET)
        return fn(*args)

    return _run_in_thread(call)


@contextlib.contextmanager
def entered(path: Path) -> Iterator[None]:
    """Switch the *current thread* into the namespace at ``path`` for a block.

    Only for threads you own (never the event loop's or a pool's): the original
    namespace is restored on exit, and if it cannot be, the error is raised so
    the thread is not silently left in the wrong namespace.
    """
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        syscalls.setns_path(path, syscalls.CLONE_NEWNET)
        try:
            yield
        finally:
            syscalls.setns(original, syscalls.CLONE_NEWNET, "original network namespace")
    finally:
        os.close(original)


def _run_in_thread(fn: Callable[[], T]) -> T:
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target, name="composer-netns", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def _set_up(ifname: str) -> None:
    """Bring an interface up with SIOCSIFFLAGS (cheaper than a netlink socket)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        req = struct.pack("16sH", ifname.encode(), 0)
        try:
            flags = struct.unpack("16sH", fcntl.ioctl(sock, _SIOCGIFFLAGS, req)[:18])[1]
            fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH", ifname.encode(), flags | _IFF_UP))
        except OSError as exc:
            raise RuntimeFailure.from_oserror("ioctl SIOCSIFFLAGS", ifname, exc) from exc
