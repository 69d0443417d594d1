"""One RUN step: a container of the built-in runtime over the image's layers.

The rootfs is an overlay of the parent's snapshot directories with a fresh
upper directory; the command runs with the stage's environment, user and
working directory; its output (the shim's json-file log) is streamed to the
build log; when it exits the upper directory *is* the step's change set, and
``layers.write_diff`` turns it into the new layer.

Network: the host's (no network namespace entry in the spec: the container
shares the caller's, as ``docker build`` does by default) with the host's
``/etc/resolv.conf`` and ``/etc/hosts`` bind-mounted read-only; ``none`` gives
a fresh namespace holding only a loopback. Mount points the runtime had to
create for those files are left out of the layer.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from composer.errors import ImageError, RuntimeFailure

_POLL = 0.01
_MOUNT_OPTIONS_MAX = 4095
_HOST_FILES = ("etc/resolv.conf", "etc/hosts")


@dataclass(frozen=True)
class RunSpec:
    argv: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    network: str = "host"  # host | none
    shm_size: int | None = None
    extra_hosts: tuple[str, ...] = ()
    timeout: float | None = None
    mounts: tuple[dict[str, Any], ...] = field(default=())


def _mount_overlay(lowers: Sequence[Path], empty: Path, upper: Path, work: Path, target: Path) -> None:
    from composer.runtime import syscalls

    stack = [str(p) for p in reversed(lowers)] or [str(empty)]
    options = f"lowerdir={':'.join(stack)},upperdir={upper},workdir={work}"
    if len(options) >= _MOUNT_OPTIONS_MAX:
        # mount(2) takes one page of options; the new mount API ("lowerdir+") would lift this
        raise ImageError(f"the image has too many layers ({len(lowers)}) for one overlay mount "
                         f"under {Path(stack[0]).parent.parent}; squash some RUN/COPY steps")
    syscalls.mount("overlay", target, "overlay", 0, options)


def _umount(target: Path) -> None:
    from composer.runtime import syscalls

    with contextlib.suppress(RuntimeFailure, OSError):
        if os.path.ismount(target):
            syscalls.umount2(target, syscalls.MNT_DETACH)


def read_only_view(lowers: Sequence[Path], scratch: Path) -> Path:
    """Mount ``lowers`` (bottom first) read-only at ``scratch/view``; caller unmounts."""
    from composer.runtime import syscalls

    empty, view = scratch / "empty", scratch / "view"
    empty.mkdir(parents=True, exist_ok=True)
    view.mkdir(exist_ok=True)
    stack = [str(p) for p in reversed(lowers)] + [str(empty)]
    syscalls.mount("overlay", view, "overlay", syscalls.MS_RDONLY,
                   f"lowerdir={':'.join(stack)}")
    return view


def release_view(view: Path) -> None:
    _umount(view)


def _spec(run: RunSpec, workdir: Path) -> dict[str, Any]:
    from composer.runtime.config import default_spec

    spec = default_spec(run.argv, run.env, cwd=run.cwd, hostname="buildkitsandbox")
    spec["process"]["user"] = {"uid": run.uid, "gid": run.gid,
                               **({"additionalGids": list(run.additional_gids)} if run.additional_gids else {})}
    namespaces = spec["linux"]["namespaces"]
    if run.network != "none":
        spec["linux"]["namespaces"] = [ns for ns in namespaces if ns["type"] != "network"]
        for rel in _HOST_FILES:
            src = workdir / os.path.basename(rel)
            spec["mounts"].append({"destination": "/" + rel, "type": "bind", "source": str(src),
                                   "options": ["rbind", "ro"]})
    if run.shm_size:
        for m in spec["mounts"]:
            if m["destination"] == "/dev/shm":
                m["options"] = [o for o in m["options"] if not o.startswith("size=")] + [f"size={run.shm_size}"]
    spec["mounts"].extend(run.mounts)
    return spec


def _host_files(workdir: Path, extra_hosts: Sequence[str]) -> None:
    for rel in _HOST_FILES:
        try:
            data = Path("/", rel).read_bytes()
        except OSError:
            data = b""
        if rel == "etc/hosts" and extra_hosts:
            data += b"".join(f"{ip}\t{host}\n".encode() for host, ip in
                             (h.replace("=", ":", 1).split(":", 1) for h in extra_hosts))
        (workdir / os.path.basename(rel)).write_bytes(data)


class _LogTail:
    """Forward the complete json-file lines the shim has written so far."""

    def __init__(self, path: Path, out: Callable[[str], None] | None) -> None:
        self.path = path
        self.out = out
        self.offset = 0
        self.partial = b""

    def pump(self) -> None:
        if self.out is None:
            return
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self.out(json.loads(line)["log"].rstrip("\n"))


def run_step(
    lowers: Sequence[Path], scratch: Path, run: RunSpec, run_root: Path,
    log: Callable[[str], None] | None = None,
) -> tuple[Path, list[str]]:
    """Run ``run`` over ``lowers``; return (the upper directory, mount points to leave out).

    ``scratch`` is a fresh directory the caller removes. Raises ImageError
    when the command fails, naming it and its exit code as Docker does.
    """
    from composer.runtime import api

    upper, work, rootfs, empty = (scratch / d for d in ("upper", "work", "rootfs", "empty"))
    for d in (upper, work, rootfs, empty):
        d.mkdir(parents=True, exist_ok=True)
    _host_files(scratch, run.extra_hosts if run.network != "none" else ())
    _mount_overlay(lowers, empty, upper, work, rootfs)
    created: list[str] = []
    cid = secrets.token_hex(32)
    try:
        if run.network != "none":
            for rel in _HOST_FILES:
                if not os.path.lexists(rootfs / rel) and (rootfs / os.path.dirname(rel)).is_dir():
                    created.append(rel)
        (rootfs / run.cwd.lstrip("/")).mkdir(parents=True, exist_ok=True)
        (scratch / "config.json").write_text(json.dumps(_spec(run, scratch)))
        code = _run_container(cid, scratch, run, run_root, log)
    finally:
        _umount(rootfs)
        with contextlib.suppress(Exception):
            api.delete_container(cid, run_root)
    if code != 0:
        shown = " ".join(run.argv).replace("\n", " ")
        raise ImageError(f'process "{shown}" did not complete successfully: exit code: {code}')
    skip = [rel for rel in created
            if os.path.isfile(upper / rel) and os.path.getsize(upper / rel) == 0]
    return upper, skip


def _run_container(cid: str, bundle: Path, run: RunSpec, run_root: Path,
                   log: Callable[[str], None] | None) -> int:
    from composer.runtime import api

    log_path = bundle / "run.log"
    tail = _LogTail(log_path, log)
    api.start_container(cid, bundle, run_root, log_path, cleanup_mounts=(bundle / "rootfs",))
    deadline = None if run.timeout is None else time.monotonic() + run.timeout
    try:
        while True:
            state = api.container_state(cid, run_root)
            tail.pump()
            if state is None or state.status == "stopped":
                break
            if deadline is not None and time.monotonic() > deadline:
                api.stop_container(cid, run_root, signal.SIGKILL, timeout=5)
                raise ImageError(f"RUN {' '.join(run.argv)}: timed out after {run.timeout:g}s")
            time.sleep(_POLL)
    except BaseException:
        with contextlib.suppress(Exception):
            api.stop_container(cid, run_root, signal.SIGKILL, timeout=5)
        raise
    tail.pump()
    return state.exit_code if state is not None and state.exit_code is not None else 1


def clean(scratch: Path) -> None:
    _umount(scratch / "rootfs")
    _umount(scratch / "view")
    shutil.rmtree(scratch, ignore_errors=True)
