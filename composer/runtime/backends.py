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

``init: true``. As Docker does, a static tini (Debian's ``tini`` package,
``/usr/bin/tini-static``) is bound read-only at ``/sbin/docker-init`` and made
pid 1 with ``/sbin/docker-init -- <args>``: it forwards signals to the program,
reaps orphans and exits with the program's status (128+signal). The shim hands
the runtime a derived bundle (``run_bundle``): a copy of ``config.json`` in the
container's runtime directory, its root made absolute. Every backend runs it
so; without tini the builtin backend falls back on its own init
(``init.reaper``) and crun and runc refuse to start.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from composer.errors import ContainerStartError
from composer.runtime import cgroups, syscalls

EXTERNAL = ("crun", "runc")
KNOWN = ("builtin", *EXTERNAL)
DELETE_TIMEOUT = 10.0
#: where Docker puts its init (``docker run --init``)
INIT_PATH = "/sbin/docker-init"
#: static builds of tini: they run in any image, even one without a libc
TINI_BINARIES = ("/usr/bin/tini-static", "/usr/local/bin/tini-static")
#: the derived bundle of an ``init: true`` container, in its runtime directory
INIT_BUNDLE = "init-bundle"


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
    import subprocess  # here: the builtin backend (``run``'s) never loads it

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
    import subprocess

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


def tini_binary() -> str | None:
    return next((path for path in TINI_BINARIES if os.access(path, os.X_OK)), None)


def run_bundle(bundle: Path, directory: Path, backend: str) -> Path:
    """The bundle to run: ``bundle``, or for ``init: true`` one whose pid 1 is tini (see above)."""
    from composer.runtime.init import INIT_ANNOTATION  # not at the top: api imports this module

    try:
        raw = (bundle / "config.json").read_bytes()
    except OSError:
        return bundle  # load_spec says what is wrong
    if INIT_ANNOTATION.encode() not in raw:
        return bundle
    try:
        doc = json.loads(raw)
    except ValueError:
        return bundle
    notes = doc.get("annotations") if isinstance(doc, dict) else None
    if not isinstance(notes, dict) or notes.get(INIT_ANNOTATION) != "true":
        return bundle
    tini = tini_binary()
    if tini is None:
        if backend == "builtin":
            return bundle  # its own init stands in
        raise ContainerStartError(f"init: true on {backend} needs a static tini on the host (apt-get install tini)")
    derived = directory / INIT_BUNDLE
    derived.mkdir(parents=True, exist_ok=True)
    (derived / "config.json").write_text(json.dumps(with_init(doc, bundle, tini)))
    return derived


def with_init(doc: dict[str, Any], bundle: Path, tini: str) -> dict[str, Any]:
    """``doc`` (a config.json) run under ``tini`` as Docker's ``--init``; paths made absolute."""
    from composer.runtime.init import INIT_ANNOTATION

    out = dict(doc)
    root = dict(doc.get("root") or {})
    root["path"] = os.path.join(bundle, str(root.get("path") or "rootfs"))
    out["root"] = root
    process = dict(doc.get("process") or {})
    process["args"] = [INIT_PATH, "--", *(process.get("args") or [])]
    out["process"] = process
    mounts = [_absolute_source(m, bundle) for m in doc.get("mounts") or []]
    out["mounts"] = [*mounts, {"destination": INIT_PATH, "type": "bind", "source": tini,
                               "options": ["rbind", "rprivate", "ro"]}]
    out["annotations"] = {k: v for k, v in (doc.get("annotations") or {}).items() if k != INIT_ANNOTATION}
    return out


def _absolute_source(mount: Any, bundle: Path) -> Any:
    """A bind's relative source is relative to the bundle (OCI), which the derived one is not."""
    if not isinstance(mount, dict) or not isinstance(mount.get("source"), str):
        return mount
    bind = mount.get("type") == "bind" or "bind" in (mount.get("options") or ()) or "rbind" in (mount.get("options") or ())
    if not bind or os.path.isabs(mount["source"]):
        return mount
    return {**mount, "source": os.path.join(bundle, mount["source"])}
