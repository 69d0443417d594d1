"""``cp``: files between a service container and the host, as ``docker cp`` does.

Copying is a tar stream from one side to the other. The container's side
runs in a forked child that has ``chroot``-ed into the container's root
filesystem, so every path, ``..`` and symlink there (absolute ones too) is
resolved by the kernel *inside* that root and nothing can reach the host's
files: the race that made ``docker cp`` write through a symlink swapped in by
the container (CVE-2018-15664) has no host path to race for. Extraction
uses tarfile's ``tar`` filter, which also refuses members that would land
outside the destination directory.

For a running container the root is ``/proc/<init>/root``: the container's
own view, with its volumes, binds and tmpfs mounts. For a stopped one, its
overlay (image layers + writable layer) is mounted for the copy and
detached again, and each copying child binds the container's volumes and
bind mounts over it in a mount namespace of its own before entering it
(tmpfs contents are gone with the container's run).

The layout rules are Docker's: a file into an existing directory keeps its
name; a directory onto a missing path creates it; ``SRC/.`` copies a
directory's contents; a path ending in ``/`` must be a directory. Ownership
becomes root's unless ``archive`` (``-a``) keeps the source uid/gid.
"""

from __future__ import annotations

import contextlib
import grp  # noqa: F401  (loaded before chroot: tarfile looks names up)
import json
import os
import posixpath
import pwd  # noqa: F401
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from composer.engine import containers, state
from composer.engine.state import Paths
from composer.errors import ComposerError, ConfigError, NotFoundError

#: (host source, container destination) bind mounts
Binds = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Endpoint:
    """One side of a copy: a path on the host (``root`` None) or under a container root.

    ``binds`` (source, destination) are mounted over the root, in the copying
    child's own mount namespace, before it enters the root: a stopped
    container's volumes and bind mounts.
    """

    root: str | None
    path: str
    label: str  # as the user wrote it, for messages
    binds: Binds = ()


def split_ref(arg: str) -> tuple[str | None, str]:
    """``SERVICE:PATH`` -> (service, path); a local path -> (None, path), as ``docker cp`` parses."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return None, arg
    service, _, path = arg.partition(":")
    if not service:
        raise ConfigError(f"invalid copy argument {arg!r}: expected SERVICE:PATH or a local path")
    return service, path


# ---------------------------------------------------------------- running code under a root


def _mount_binds(root: str, binds: Binds) -> None:  # pragma: no cover - child
    """Bind ``binds`` over ``root`` in a mount namespace of this (single-threaded) child only."""
    from composer.runtime import syscalls

    syscalls.unshare(syscalls.CLONE_NEWNS)
    syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
    real_root = os.path.realpath(root)
    for source, dest in binds:
        target = os.path.join(root, dest.lstrip("/"))
        # a destination the container turned into a symlink must not lead the mount out of its root
        if os.path.commonpath([os.path.realpath(target), real_root]) != real_root or not os.path.exists(target):
            continue
        with contextlib.suppress(ComposerError):
            syscalls.mount(source, target, None, syscalls.MS_BIND | syscalls.MS_REC)


def _child(root: str | None, fn: Callable[[], None], err_w: int,
           binds: Binds = ()) -> None:  # pragma: no cover - child
    code = 0
    try:
        if root is not None and binds:
            _mount_binds(root, binds)
        if root is not None:
            os.chroot(root)
            os.chdir("/")
        fn()
    except BaseException as exc:  # reported to the parent as text
        with contextlib.suppress(OSError):
            os.write(err_w, _describe(exc).encode()[:4000])
        code = 1
    finally:
        os._exit(code)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def _spawn(end: Endpoint, fn: Callable[[], None], close: tuple[int, ...] = ()) -> tuple[int, int]:
    """Fork a child that runs ``fn`` inside the endpoint's root; returns (pid, error pipe)."""
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(err_r)
        for fd in close:
            with contextlib.suppress(OSError):
                os.close(fd)
        _child(end.root, fn, err_w, end.binds)
    os.close(err_w)
    return pid, err_r


def _join(pid: int, err_r: int) -> str | None:
    """Wait for a child; its error text or None."""
    chunks = []
    while chunk := os.read(err_r, 4096):
        chunks.append(chunk)
    os.close(err_r)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        return None
    return b"".join(chunks).decode(errors="replace") or "copy failed"


def _stat(end: Endpoint, follow: bool) -> dict[str, Any]:
    """What is at the endpoint: {"kind": dir|file|missing, "parent": bool}."""
    out_r, out_w = os.pipe()

    def probe() -> None:
        path = end.path
        st: os.stat_result | None
        try:
            st = os.stat(path) if follow else os.lstat(path)
        except FileNotFoundError:
            st = None
        except NotADirectoryError:
            st = None
        import stat as stmod

        kind = "missing" if st is None else "dir" if stmod.S_ISDIR(st.st_mode) else "file"
        parent = os.path.isdir(posixpath.dirname(_plain(path)) or "/")
        os.write(out_w, json.dumps({"kind": kind, "parent": parent}).encode())

    pid, err_r = _spawn(end, probe, close=(out_r,))
    os.close(out_w)
    data = b""
    while chunk := os.read(out_r, 4096):
        data += chunk
    os.close(out_r)
    error = _join(pid, err_r)
    if error is not None:
        raise ComposerError(f"cannot read {end.label}: {error}")
    return json.loads(data)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- the copy


def _normalise(path: str) -> str:
    """``normpath``, keeping a trailing ``/`` (must be a directory) or ``/.`` (its contents)."""
    norm = posixpath.normpath(path)
    if path.endswith("/.") or path == ".":
        return norm.rstrip("/") + "/."
    if path.endswith("/") and norm != "/":
        return norm + "/"
    return norm


def _plain(path: str) -> str:
    """The path without its trailing ``/`` or ``/.``."""
    if path.endswith("/."):
        path = path[:-2]
    return path.rstrip("/") or "/"


def _layout(src: Endpoint, src_kind: str, dest: Endpoint, dest_info: dict[str, Any]) -> tuple[str, str | None]:
    """(directory to extract in, top-level name in the stream; None: the source's contents)."""
    contents = src.path.endswith("/.")
    if dest_info["kind"] == "dir":
        name = posixpath.basename(_plain(src.path))
        return dest.path, None if (contents and src_kind == "dir") or not name else name
    if src_kind == "dir" and dest_info["kind"] == "file":
        raise ComposerError(f"cannot copy a directory to a file: {dest.label}")
    if dest.path.endswith("/") and src_kind != "dir":
        raise NotFoundError(f"destination directory {dest.label} does not exist")
    if not dest_info["parent"]:
        raise NotFoundError(f"no such directory: {posixpath.dirname(_plain(dest.path)) or '/'}"
                            f" (for {dest.label})")
    stripped = _plain(dest.path)
    return posixpath.dirname(stripped) or "/", posixpath.basename(stripped)


def _writer(src: Endpoint, top: str | None, follow: bool, archive: bool, out_w: int) -> Callable[[], None]:
    def reset(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uname = info.gname = ""
        if not archive:
            info.uid = info.gid = 0
        return info

    def write() -> None:
        path = _plain(src.path)
        if follow:
            path = os.path.realpath(path)
        with os.fdopen(out_w, "wb") as fh, tarfile.open(fileobj=fh, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            if top is None:
                for name in sorted(os.listdir(path)):
                    tar.add(os.path.join(path, name), arcname=name, filter=reset)
            else:
                tar.add(path, arcname=top, filter=reset)

    return write


def _reader(dest_dir: str, in_r: int) -> Callable[[], None]:
    def read() -> None:
        with os.fdopen(in_r, "rb") as fh, tarfile.open(fileobj=fh, mode="r|") as tar:
            tar.extractall(dest_dir, filter="tar")

    return read


def copy(src: Endpoint, dest: Endpoint, *, follow_link: bool = False, archive: bool = False) -> None:
    """Copy ``src`` to ``dest`` (either may be in a container)."""
    src = replace(src, path=_normalise(src.path))
    dest = replace(dest, path=_normalise(dest.path))
    src_info = _stat(src, follow_link)
    if src_info["kind"] == "missing":
        raise NotFoundError(f"Could not find the file {src.label}")
    dest_info = _stat(dest, True)
    dest_dir, top = _layout(src, src_info["kind"], dest, dest_info)
    pipe_r, pipe_w = os.pipe()
    w_pid, w_err = _spawn(src, _writer(src, top, follow_link, archive, pipe_w), close=(pipe_r,))
    r_pid, r_err = _spawn(dest, _reader(dest_dir, pipe_r), close=(pipe_w,))
    os.close(pipe_r)
    os.close(pipe_w)
    w_error, r_error = _join(w_pid, w_err), _join(r_pid, r_err)
    if w_error is not None or r_error is not None:
        raise ComposerError(f"copying {src.label} to {dest.label} failed: {r_error or w_error}")


# ---------------------------------------------------------------- container roots


def stopped_binds(paths: Paths, rec: dict[str, Any]) -> Binds:
    """The bind mounts (volumes included) of the container's bundle, shallowest first."""
    spec = state.read_json(paths.container_dir(rec["id"]) / "config.json") or {}
    binds = [(m["source"], m["destination"]) for m in spec.get("mounts", [])
             if m.get("type") == "bind" and m.get("source") and m.get("destination")]
    return tuple(sorted(binds, key=lambda b: b[1].rstrip("/").count("/")))


@contextlib.contextmanager
def container_root(paths: Paths, rec: dict[str, Any]) -> Iterator[tuple[str, Binds]]:
    """The directory that is the container's ``/`` for the time of a copy, and the binds to lay over it."""
    st = containers.runtime_state(paths, rec["id"])
    if st is not None and st.status == "running" and st.pid:
        yield f"/proc/{st.pid}/root", ()
        return
    with state.project_lock(paths, rec["project"]):
        rootfs = paths.container_dir(rec["id"]) / "rootfs"
        mounted_here = not os.path.ismount(rootfs)
        root = containers.mount_rootfs(paths, rec)
        try:
            yield str(root), stopped_binds(paths, rec)
        finally:
            if mounted_here and not containers.is_running(paths, rec["id"]):
                from composer.runtime import syscalls

                with contextlib.suppress(ComposerError):
                    syscalls.umount2(Path(root), syscalls.MNT_DETACH)


def container_path(path: str) -> str:
    """Container paths are relative to the container's ``/``."""
    return path if path.startswith("/") else "/" + path
