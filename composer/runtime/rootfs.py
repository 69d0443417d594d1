"""The container's filesystem view: mounts, /dev, pivot_root, masked paths.

Runs in the container's init (pid 1 of the new pid namespace, inside the new
mount namespace) before exec. Two phases, as in runc:

``prepare`` (still seeing the host's tree): make ``/`` rprivate so nothing we
mount propagates back to the host; bind the rootfs onto itself (pivot_root
needs a mount point); mount ``config.mounts`` in order; populate /dev; set
up the /dev symlinks; pivot_root.

``finalize`` (inside the new root): mask paths, make paths read-only, make
the root read-only if asked.

Every destination is resolved inside the rootfs with ``secure_join``, so a
symlink in an image (``/proc -> /``, ``/etc/x -> /host/...``) cannot send a
mount outside the container (CVE-2015-3627 class; runc's CVE-2019-19921 is the
racy variant, which needs an attacker already running in the container while
it is being set up, and is not closed here).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable

from composer.errors import ContainerStartError
from composer.runtime import syscalls as sc
from composer.runtime.securejoin import secure_join
from composer.runtime.spec import Device, Mount, Spec
from composer.values import valueclass

#: option -> (clears the flag, flag); as runc's mountFlags table
MOUNT_FLAGS: dict[str, tuple[bool, int]] = {
    "async": (True, sc.MS_SYNCHRONOUS),
    "atime": (True, sc.MS_NOATIME),
    "bind": (False, sc.MS_BIND),
    "defaults": (False, 0),
    "dev": (True, sc.MS_NODEV),
    "diratime": (True, sc.MS_NODIRATIME),
    "dirsync": (False, sc.MS_DIRSYNC),
    "exec": (True, sc.MS_NOEXEC),
    "mand": (False, sc.MS_MANDLOCK),
    "noatime": (False, sc.MS_NOATIME),
    "nodev": (False, sc.MS_NODEV),
    "nodiratime": (False, sc.MS_NODIRATIME),
    "noexec": (False, sc.MS_NOEXEC),
    "nomand": (True, sc.MS_MANDLOCK),
    "norelatime": (True, sc.MS_RELATIME),
    "nostrictatime": (True, sc.MS_STRICTATIME),
    "nosuid": (False, sc.MS_NOSUID),
    "rbind": (False, sc.MS_BIND | sc.MS_REC),
    "relatime": (False, sc.MS_RELATIME),
    "remount": (False, sc.MS_REMOUNT),
    "ro": (False, sc.MS_RDONLY),
    "rw": (True, sc.MS_RDONLY),
    "strictatime": (False, sc.MS_STRICTATIME),
    "suid": (True, sc.MS_NOSUID),
    "sync": (False, sc.MS_SYNCHRONOUS),
}
PROPAGATION_FLAGS: dict[str, int] = {
    "private": sc.MS_PRIVATE,
    "rprivate": sc.MS_PRIVATE | sc.MS_REC,
    "shared": sc.MS_SHARED,
    "rshared": sc.MS_SHARED | sc.MS_REC,
    "slave": sc.MS_SLAVE,
    "rslave": sc.MS_SLAVE | sc.MS_REC,
    "unbindable": sc.MS_UNBINDABLE,
    "runbindable": sc.MS_UNBINDABLE | sc.MS_REC,
}
#: runc extensions that are not kernel options
IGNORED_OPTIONS = frozenset({"tmpcopyup", "nocopyup"})
#: per-mount flags a bind remount must repeat, or it would clear them (statvfs ST_* == MS_*)
KEPT_ON_REMOUNT = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC | sc.MS_NOATIME | sc.MS_NODIRATIME

DEFAULT_DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEV_SYMLINKS = (
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
)


@valueclass
class MountOptions:
    flags: int
    propagation: tuple[int, ...]
    data: str


def parse_options(options: Iterable[str]) -> MountOptions:
    """Translate OCI mount options into mount(2) flags, propagation changes and data."""
    flags = 0
    propagation: list[int] = []
    data: list[str] = []
    for opt in options:
        if opt in MOUNT_FLAGS:
            clear, flag = MOUNT_FLAGS[opt]
            flags = flags & ~flag if clear else flags | flag
        elif opt in PROPAGATION_FLAGS:
            propagation.append(PROPAGATION_FLAGS[opt])
        elif opt not in IGNORED_OPTIONS:
            data.append(opt)
    return MountOptions(flags, tuple(propagation), ",".join(data))


def prepare(spec: Spec, rootfs: str) -> None:
    """Everything done while the host's tree is still visible, ending in pivot_root."""
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
    sc.mount(rootfs, rootfs, None, sc.MS_BIND | sc.MS_REC)
    for m in spec.mounts:
        mount_one(rootfs, m)
    has_pts = any(m.destination.rstrip("/") == "/dev/pts" for m in spec.mounts)
    create_devices(rootfs, spec.devices)
    create_dev_symlinks(rootfs, ptmx=has_pts)
    pivot(rootfs)


def finalize(spec: Spec) -> None:
    """Inside the new root: masked paths, read-only paths, read-only root."""
    for path in spec.masked_paths:
        mask_path(path)
    for path in spec.readonly_paths:
        if os.path.lexists(path):
            sc.mount(path, path, None, sc.MS_BIND | sc.MS_REC)
            remount_readonly(path)
    if spec.root_readonly:
        remount_readonly("/")


def write_sysctls(sysctl: dict[str, str]) -> None:
    """Write ``linux.sysctl`` under the container's /proc/sys (before it is made read-only).

    Only namespaced keys take effect in the container's own namespaces; the
    engine refuses the others (as Docker does) before they get here.
    """
    for key in sorted(sysctl):
        rel = key.replace(".", "/")
        if rel.startswith("/") or ".." in rel.split("/"):
            raise ContainerStartError(f"linux.sysctl: invalid key {key!r}")
        try:
            with open(f"/proc/sys/{rel}", "w") as f:
                f.write(sysctl[key])
        except OSError as exc:
            raise ContainerStartError(f"sysctl {key}={sysctl[key]}: {exc.strerror or exc}") from exc


def mount_one(rootfs: str, m: Mount) -> None:
    opts = parse_options(m.options)
    dest = secure_join(rootfs, m.destination)
    is_bind = bool(opts.flags & sc.MS_BIND) or m.type == "bind"
    try:
        if is_bind:
            _bind(m, opts, dest)
        else:
            os.makedirs(dest, exist_ok=True)
            fstype = m.type or "none"
            sc.mount(m.source or fstype, dest, fstype, opts.flags, opts.data or None)
        for prop in opts.propagation:
            sc.mount(None, dest, None, prop)
    except sc.SyscallError as exc:
        raise ContainerStartError(f"mount {m.source or m.type} on {m.destination}: {exc}") from exc
    except OSError as exc:
        raise ContainerStartError(
            f"mount {m.source or m.type} on {m.destination}: {exc.strerror or exc}"
        ) from exc


def _bind(m: Mount, opts: MountOptions, dest: str) -> None:
    if not m.source:
        raise ContainerStartError(f"mount on {m.destination}: a bind mount needs a source")
    source_is_dir = os.path.isdir(m.source)  # follows symlinks, as mount(2) will
    if not os.path.exists(m.source):
        raise ContainerStartError(f"mount {m.source} on {m.destination}: source does not exist")
    if source_is_dir:
        os.makedirs(dest, exist_ok=True)
    elif not os.path.lexists(dest):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.close(os.open(dest, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
    sc.mount(m.source, dest, None, sc.MS_BIND | (opts.flags & sc.MS_REC))
    extra = opts.flags & ~(sc.MS_BIND | sc.MS_REC | sc.MS_REMOUNT)
    if extra:
        kept = os.statvfs(dest).f_flag & KEPT_ON_REMOUNT
        sc.mount(None, dest, None, sc.MS_BIND | sc.MS_REMOUNT | extra | kept)


def remount_readonly(path: str) -> None:
    kept = os.statvfs(path).f_flag & KEPT_ON_REMOUNT
    sc.mount(None, path, None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY | kept)


def mask_path(path: str) -> None:
    """Hide ``path``: /dev/null over a file, an empty read-only tmpfs over a directory."""
    if not os.path.lexists(path):
        return
    if os.path.isdir(path):
        sc.mount("tmpfs", path, "tmpfs", sc.MS_RDONLY)
    else:
        sc.mount("/dev/null", path, None, sc.MS_BIND)


def create_devices(rootfs: str, devices: Iterable[Device]) -> None:
    """The spec's devices and the default set with mknod, as runc does.

    A default device is bound from the host's /dev instead where a node would
    not work: a container /dev mounted ``nodev``, or no CAP_MKNOD.
    """
    devdir = secure_join(rootfs, "/dev")
    os.makedirs(devdir, exist_ok=True)
    listed = set()
    for dev in devices:
        listed.add(dev.path)
        _mknod(rootfs, dev)
    nodes = not os.statvfs(devdir).f_flag & sc.MS_NODEV  # statvfs ST_NODEV == MS_NODEV
    for name in DEFAULT_DEVICES:
        if f"/dev/{name}" not in listed:
            _default_device(name, os.path.join(devdir, name), nodes)


def _default_device(name: str, dest: str, node: bool) -> None:
    host = f"/dev/{name}"
    if node:
        try:
            if os.path.lexists(dest):
                os.unlink(dest)
            os.mknod(dest, stat.S_IFCHR | 0o666, os.stat(host).st_rdev)
            os.chmod(dest, 0o666)  # mknod is subject to the umask
            return
        except PermissionError:
            pass
    if not os.path.lexists(dest):
        os.close(os.open(dest, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o666))
    try:
        sc.mount(host, dest, None, sc.MS_BIND)
    except sc.SyscallError as exc:
        raise ContainerStartError(f"device {host}: {exc}") from exc


def _mknod(rootfs: str, dev: Device) -> None:
    kinds = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
    dest = secure_join(rootfs, dev.path)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.lexists(dest) and not os.path.isdir(dest):
        os.unlink(dest)
    mode = dev.file_mode if dev.file_mode is not None else 0o666
    try:
        os.mknod(dest, kinds[dev.type] | (mode & 0o7777), os.makedev(dev.major, dev.minor))
        os.chmod(dest, mode & 0o7777)  # mknod is subject to the umask
        os.chown(dest, dev.uid or 0, dev.gid or 0)
    except OSError as exc:
        raise ContainerStartError(f"device {dev.path}: mknod: {exc.strerror or exc}") from exc


def create_dev_symlinks(rootfs: str, *, ptmx: bool) -> None:
    devdir = secure_join(rootfs, "/dev")
    links = list(DEV_SYMLINKS)
    if ptmx:
        ptmx_path = os.path.join(devdir, "ptmx")
        if os.path.lexists(ptmx_path) and not os.path.isdir(ptmx_path):
            os.unlink(ptmx_path)
        links.append(("pts/ptmx", "ptmx"))
    for target, name in links:
        path = os.path.join(devdir, name)
        if not os.path.lexists(path):
            os.symlink(target, path)


def pivot(rootfs: str) -> None:
    """pivot_root(".", ".") then detach the old root stacked on top (runc's trick)."""
    old_root = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new_root = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new_root)
        sc.pivot_root(".", ".")
        os.fchdir(old_root)
        # the old root must not propagate our unmount to the host
        sc.mount(None, ".", None, sc.MS_SLAVE | sc.MS_REC)
        sc.umount2(".", sc.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old_root)
        os.close(new_root)
