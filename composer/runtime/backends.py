"""External OCI runtimes (crun, runc) driven by the shim instead of the built-in init.

The shim runs ``<runtime> create`` with the container's stdout/stderr pipes
as its stdio (the runtime passes them through to the container), reads the
init's pid from ``--pid-file``, then ``<runtime> start``. Because the shim is
a child subreaper and ``create`` exits once the init waits for ``start``, the
init becomes the shim's child and is supervised exactly as the built-in
one: same json-file log, same exit codes, same state.json. ``delete --force``
after the exit removes the runtime's own state.

cgroups. The shim creates the container's group and writes the limits itself
(``cgroups``) for ``builtin`` and ``crun``; ``runc`` makes its own group
(``linux.cgroupsPath``, below the shim's) and the shim finds it through
``/proc/<pid>/cgroup`` for stats, pause and OOM reporting.

crun 1.8 refuses a *hybrid* host whose v2 tree holds a controller ("cgroups
in hybrid mode not supported, drop all controllers from cgroupv2"), even with
``--cgroup-manager=disabled``. Chosen workaround: crun runs with its cgroup
manager disabled, from a process that has already joined the container's
group (so the container is inside it and limited by it), in a private mount
namespace where the v2 mount is detached, so crun sees a plain v1 host. The
host's mounts are untouched (the namespace is the crun process's own).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from composer.errors import ContainerStartError
from composer.runtime import cgroups, syscalls

EXTERNAL = ("crun", "runc")
KNOWN = ("builtin", *EXTERNAL)
DELETE_TIMEOUT = 10.0


def check(backend: str) -> None:
    """Raise a user-facing error unless ``backend`` can run here."""
    if backend not in KNOWN:
        raise ContainerStartError(f"unknown OCI runtime {backend!r}: use one of {', '.join(KNOWN)}")
    if backend in EXTERNAL and binary(backend) is None:
        raise ContainerStartError(f"OCI runtime {backend!r} is not installed (apt-get install {backend})")


def binary(backend: str) -> str | None:
    for directory in ("/usr/bin", "/usr/local/bin", "/usr/sbin", "/bin"):
        path = os.path.join(directory, backend)
        if os.access(path, os.X_OK):
            return path
    return shutil.which(backend, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")


def base_command(backend: str, state_root: Path, log_file: Path) -> list[str]:
    exe = binary(backend) or backend
    cmd = [exe, "--root", str(state_root), "--log", str(log_file), "--log-format", "json"]
    if backend == "crun":
        cmd = [exe, "--root", str(state_root), f"--log=file:{log_file}", "--log-format=json", "--cgroup-manager=disabled"]
    return cmd


def manages_cgroups(backend: str) -> bool:
    """True if the runtime makes the container's cgroup itself (runc)."""
    return backend == "runc"


def exec_create(cmd: Sequence[str], stdout: int, stderr: int, group: cgroups.Cgroup | None, backend: str) -> None:
    """In a forked child: join the group, hide a hybrid v2 tree from crun, exec ``create``."""
    code = 127
    try:
        if group is not None:
            group.join(os.getpid())
        if backend == "crun":
            _hide_hybrid_v2()
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        os.closerange(3, 1 << 16)
        os.execv(cmd[0], list(cmd))
    except BaseException:
        code = 126
    finally:
        os._exit(code)


def _hide_hybrid_v2() -> None:
    h = cgroups.hierarchies()
    if not h.unified or not h.v1 or not h.v2_controllers:
        return
    syscalls.unshare(syscalls.CLONE_NEWNS)
    syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.MS_SLAVE)
    syscalls.umount2(h.unified, syscalls.MNT_DETACH)


def start(cmd: Sequence[str], container_id: str) -> str | None:
    """``<runtime> start``; returns the error text, or None on success."""
    try:
        proc = subprocess.run(
            [*cmd, "start", container_id], stdin=subprocess.DEVNULL, capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{cmd[0]} start: {exc}"
    if proc.returncode == 0:
        return None
    return proc.stderr.decode(errors="replace").strip() or f"{cmd[0]} start exited with {proc.returncode}"


def delete(cmd: Sequence[str], container_id: str) -> None:
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(
            [*cmd, "delete", "--force", container_id],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=DELETE_TIMEOUT,
        )  # fmt: skip


def last_error(log_file: Path) -> str | None:
    """The last error the runtime logged (runc and crun write JSON lines with ``msg``)."""
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        with contextlib.suppress(ValueError):
            doc = json.loads(line)
            if isinstance(doc, dict) and doc.get("level") in ("error", "fatal") and doc.get("msg"):
                return str(doc["msg"])
    return None


def exit_code_for(message: str) -> int:
    """127 for a missing program, 126 for one that cannot run, as Docker reports them."""
    lowered = message.lower()
    if "not found" in lowered or "no such file" in lowered:
        return 127
    if "permission denied" in lowered:
        return 126
    return 128
