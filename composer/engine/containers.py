"""One container's life on the host: create, start, stop, remove.

A container is a directory under ``containers/<id>`` holding its OCI bundle
and the engine's record (``container.json``). Starting it mounts the overlay
rootfs (image snapshots as lower dirs, the container's own upper dir), creates
its network namespace and wires one veth per network, then hands the bundle to
the runtime, whose shim keeps the logs and records the exit code. Stopping
sends the stop signal, then SIGKILL after the grace period, and releases the
mounts and the namespace.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from composer.engine import state
from composer.engine.state import Paths
from composer.errors import RuntimeFailure

COMPOSE_VERSION = "2.40.3"  # the Docker Compose version whose labels we mirror


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def veth_name(container_id: str, network: str) -> str:
    """Host-side veth name: unique per attachment, within IFNAMSIZ (15)."""
    digest = hashlib.sha256(f"{container_id}/{network}".encode()).hexdigest()
    return f"veth{digest[:10]}"


def signal_number(name: str | None) -> int:
    if not name:
        return int(signal.SIGTERM)
    name = name.upper()
    if name.isdigit():
        return int(name)
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        from composer.errors import ConfigError

        raise ConfigError(f"invalid stop signal {name}") from None


def _is_mount(path: Path) -> bool:
    try:
        return os.path.ismount(path)
    except OSError:
        return False


def mount_rootfs(paths: Paths, record: dict[str, Any]) -> Path:
    from composer.runtime import syscalls

    cdir = paths.container_dir(record["id"])
    rootfs, upper, work = cdir / "rootfs", cdir / "upper", cdir / "work"
    for d in (rootfs, upper, work):
        d.mkdir(parents=True, exist_ok=True)
    if _is_mount(rootfs):
        return rootfs
    lowers = ":".join(reversed(record["layers"]))  # overlay wants the top layer first
    syscalls.mount("overlay", rootfs, "overlay", 0,
                   f"lowerdir={lowers},upperdir={upper},workdir={work}")
    return rootfs


def release(paths: Paths, record: dict[str, Any], *, veths: bool = True) -> None:
    """Undo what start set up: veths, the network namespace, the rootfs mount.

    ``veths=False`` leaves the veth pairs to the kernel, which destroys them
    with the namespace (see ``attach.disconnect``): only for containers whose
    networks are being removed too.
    """
    from composer.engine import attach
    from composer.runtime import syscalls

    attach.disconnect(paths, record, veths=veths)
    rootfs = paths.container_dir(record["id"]) / "rootfs"
    if _is_mount(rootfs):
        with contextlib.suppress(RuntimeFailure):
            syscalls.umount2(rootfs, syscalls.MNT_DETACH)


def runtime_state(paths: Paths, container_id: str) -> Any:
    from composer.runtime import api

    return api.container_state(container_id, paths.runtime)


def is_running(paths: Paths, container_id: str) -> bool:
    st = runtime_state(paths, container_id)
    return st is not None and st.status == "running"


def start(paths: Paths, record: dict[str, Any], *, fresh: bool = False, notify: bool = True,
          sync: bool = True, stdio: Any = None, before_run: Callable[[], None] | None = None
          ) -> dict[str, Any]:
    """Mount, wire and run the container; returns the updated record.

    ``fresh``: the container was just created by this command, so there is no
    runtime state, mount or namespace of an earlier run to look for and undo.
    ``notify=False`` leaves telling the monitor to the caller (``up`` does it
    once for the lot); ``sync=False`` as in ``state.write_json``. ``stdio``:
    the caller's descriptors for the container (``runtime.console.Stdio``, ``run``).
    ``before_run`` is called once the rootfs and network are ready, just before
    the process starts (``up`` waits there for the monitor it started meanwhile).
    """
    from composer.engine import attach
    from composer.runtime import api

    cid = record["id"]
    cdir = paths.container_dir(cid)
    if not fresh:
        from composer.engine import restarts

        restarts.clear_user_stop(paths, cid)
        if is_running(paths, cid):
            return record
        old = api.container_state(cid, paths.runtime)
        if old is not None:
            api.delete_container(cid, paths.runtime)
        release(paths, record)
    try:
        mount_rootfs(paths, record)
        ns_path = attach.connect(paths, record)  # None: the container joins another's netns
        if before_run is not None:
            before_run()
        api.start_container(
            cid, cdir, paths.runtime, cdir / f"{cid}-json.log",
            cleanup_mounts=tuple(p for p in (cdir / "rootfs", ns_path) if p is not None),
            backend=record.get("runtime", "builtin"), stdio=stdio,
        )
    except BaseException:
        release(paths, record)
        raise
    record = dict(record, started_at=now_rfc3339())
    state.save_container(paths, record, sync=sync)
    if notify:
        from composer.engine import monitor_client

        monitor_client.notify(paths, record["project"])  # DNS, ports, healthcheck for it now
    return record


def stop(paths: Paths, record: dict[str, Any], timeout: float | None = None, *, veths: bool = True
         ) -> int | None:
    from composer.engine import restarts
    from composer.runtime import api

    grace = record.get("stop_grace_period", 10.0) if timeout is None else timeout
    restarts.mark_user_stop(paths, record["id"])
    code = None
    if is_running(paths, record["id"]):
        code = api.stop_container(
            record["id"], paths.runtime, signal_number(record.get("stop_signal")), grace
        )
    release(paths, record, veths=veths)
    return code


def kill(paths: Paths, record: dict[str, Any], sig: int) -> None:
    from composer.engine import restarts
    from composer.runtime import api

    if is_running(paths, record["id"]):
        restarts.mark_user_stop(paths, record["id"])
        api.kill_container(record["id"], paths.runtime, sig)


def remove(paths: Paths, record: dict[str, Any], *, veths: bool = True) -> None:
    """Remove a stopped container: runtime state, bundle, writable layer, logs."""
    from composer.runtime import api

    if record.get("oneoff") and not is_running(paths, record["id"]):
        release(paths, record, veths=veths)  # a one-off never restarts: no stop marker for the monitor
    else:
        stop(paths, record, timeout=0, veths=veths)
    with contextlib.suppress(RuntimeFailure):
        api.delete_container(record["id"], paths.runtime)
    shutil.rmtree(paths.container_dir(record["id"]), ignore_errors=True)


def active(paths: Paths, container_id: str) -> bool:
    """Running, or stopped but about to be restarted by its restart policy."""
    from composer.engine import restarts

    st = runtime_state(paths, container_id)
    if st is not None and st.status == "running":
        return True
    rec = state.read_json(paths.container_dir(container_id) / "container.json")
    if not rec or st is None:
        return False
    return restarts.will_restart(paths, rec, st.exit_code)
