"""What the engine calls to run an OCI bundle with the built-in runtime.

    start_container(id, bundle, run_root, log_path, cleanup_mounts=())  -> RuntimeState
    container_state(id, run_root)                 -> RuntimeState | None
    kill_container(id, run_root, sig)             signal the container's init
    stop_container(id, run_root, sig, timeout)    -> exit code (SIGKILL after timeout)
    delete_container(id, run_root)                forget a stopped container
    exec_container(id, run_root, argv, ...)       -> ExecResult   (see ``execute``)
    exec_interactive(id, run_root, argv, ...)     -> exit code, caller's stdio
    pause_container(id, run_root)                 freeze every process (cgroup freezer)
    resume_container(id, run_root)                thaw them
    container_stats(id, run_root)                 -> {cpu_ns, memory_bytes, memory_limit, pids}
    container_processes(id, run_root)             -> [{pid, ppid, uid, user, stime, time, cmd}] (``top``)

``start_container(..., backend=)`` picks the OCI runtime: ``builtin`` (this
package), ``crun`` or ``runc`` (see ``backends``); every other function works
the same whatever the backend, from state.json, /proc and the cgroups.
``RuntimeState.oom_killed`` says the kernel's OOM killer struck in the
container (Docker's ``OOMKilled``); ``paused`` that it is frozen.

Terminals and stdio (``console``). Every pty is opened in the container's own
devpts: ``exec_interactive(..., tty=True)`` relays one on the caller's fds
0/1 (raw mode, window size following SIGWINCH). ``process.terminal: true``
(``tty: true``) gives the program one as stdin/stdout/stderr, whose master
its shim logs as ``stdout`` and serves on ``attach_socket(id, run_root)``
(``<run_root>/<id>/attach.sock``, unix stream): every client gets the output
from then on, what it sends is typed in; closing detaches. The
``console.STDIN_OPEN_ANNOTATION`` gives a stdin pipe the shim holds open and
feeds from the same socket. ``start_container(..., stdio=)`` hands the
container the caller's stdin and copies its output to the caller's fds
(``run``). Only the builtin backend has terminals so far.

and the OCI command-line verbs on top of them: ``create``, ``start``,
``state``, ``kill``, ``delete``.

``run_root`` is the runtime's state directory (``runc --root``); each
container has ``<run_root>/<id>/state.json``, written by its shim (see
``shim``). Nothing here keeps a process alive on the caller's side: every
function works from the files and /proc alone, so a fresh process, or the
engine after a crash, sees containers as they are.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.errors import ContainerNotFoundError, ContainerStartError, RuntimeFailure
from composer.runtime import pidfd as pidwait
from composer.runtime.defaults import DEFAULT_PATH
from composer.runtime.state import (
    Record,
    RuntimeState,
    container_dir,
    is_alive,
    now_rfc3339,
    read_record,
    write_record,
)
from composer.values import replace

__all__ = [
    "RuntimeState",
    "attach_socket",
    "container_processes",
    "container_state",
    "container_stats",
    "create",
    "delete",
    "delete_container",
    "exec_container",
    "exec_interactive",
    "kill",
    "kill_container",
    "list_containers",
    "pause_container",
    "resume_container",
    "start",
    "start_container",
    "state",
    "stop_container",
]

if TYPE_CHECKING:
    from composer.runtime.console import Stdio
    from composer.runtime.execute import ExecResult



def exec_container(container_id: str, run_root: Path, argv: Sequence[str], **kwargs: Any) -> ExecResult:
    """Run ``argv`` inside the running container; see ``execute.exec_container``."""
    from composer.runtime import execute

    return execute.exec_container(container_id, run_root, argv, **kwargs)


def exec_interactive(container_id: str, run_root: Path, argv: Sequence[str], **kwargs: Any) -> int:
    """Run ``argv`` inside the container on the caller's stdio; see ``execute``."""
    from composer.runtime import execute

    return execute.exec_interactive(container_id, run_root, argv, **kwargs)


#: how start_container runs the shim: "fork" the caller's warm interpreter (no
#: interpreter start-up: a container runs in milliseconds) or "spawn" a fresh
#: ``python -m composer.runtime.shim`` (small, independent of the caller's memory)
SHIM_MODE = "fork"
START_TIMEOUT = 10.0
SHIM_EXIT_TIMEOUT = 5.0
EXEC_FIFO = "exec.fifo"
#: the directory holding the ``composer`` package, for the shim's PYTHONPATH
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def start_container(
    container_id: str,
    bundle: Path,
    run_root: Path,
    log_path: Path,
    *,
    cleanup_mounts: Sequence[Path] = (),
    backend: str = "builtin",
    shim_mode: str | None = None,
    stdio: Stdio | None = None,
) -> RuntimeState:
    """Run the bundle under a detached shim; returns once the user's program is exec'd.

    ``shim_mode`` is ``"fork"`` or ``"spawn"`` (default ``SHIM_MODE``): see there.
    ``stdio``: the caller's descriptors for the container (``console.Stdio``).

    Raises ``ContainerStartError`` with the init's message (``exec: "x":
    executable file not found in $PATH``, ``mount ... on /data: ...``) if it
    could not start; the same message is kept in state.json. ``backend``
    names the OCI runtime (only ``builtin`` so far).
    """
    from composer.runtime import backends

    backends.check(backend)
    return _spawn(
        container_id, bundle, run_root, log_path, cleanup_mounts,
        exec_fifo=False, backend=backend, mode=shim_mode or SHIM_MODE, stdio=stdio,
    )  # fmt: skip


def list_containers(run_root: Path) -> list[tuple[RuntimeState, str]]:
    """Every container the runtime knows under ``run_root``, with its creation time, by id."""
    out: list[tuple[RuntimeState, str]] = []
    try:
        names = sorted(os.listdir(run_root))
    except FileNotFoundError:
        return out
    for name in names:
        if name.startswith("."):
            continue  # the runtime's caches (.seccomp)
        record = read_record(Path(run_root) / name) if (Path(run_root) / name).is_dir() else None
        current = container_state(name, run_root) if record is not None else None
        if record is not None and current is not None:
            out.append((current, record.created_at or ""))
    return out


def attach_socket(container_id: str, run_root: Path) -> Path | None:
    """The attach socket of a running terminal or stdin_open container (module docstring), else None."""
    record = _record(container_id, run_root)
    if not record.terminal_socket or record.status != "running":
        return None
    return Path(record.terminal_socket)


def signal_process(pid: int, sig: int) -> None:
    """Send ``sig`` to one process (``kill --all``); gone already is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def container_state(container_id: str, run_root: Path) -> RuntimeState | None:
    """The container's state, or None if the runtime does not know it.

    state.json is checked against /proc: if the init is gone and the shim
    too (killed before it could write), the container is reported stopped
    with exit code 137 and an error saying the real status is unknown.
    """
    directory = container_dir(run_root, container_id)
    record = read_record(directory)
    if record is None:
        return None
    if record.status == "stopped":
        return record.public()
    if is_alive(record.pid, record.pid_start):
        public = record.public()
        return replace(public, paused=True) if record.status == "running" and _frozen(record) else public
    shim_alive = is_alive(record.shim_pid, record.shim_start)
    if shim_alive and record.pid == 0:
        return record.public()  # still being set up
    if shim_alive:
        # the init has exited; its shim is about to write the exit code
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            time.sleep(0.005)
            latest = read_record(directory)
            if latest is None or latest.status == "stopped":
                return latest.public() if latest else None
    return replace(
        record.public(),
        status="stopped",
        exit_code=137,
        error="the runtime shim exited without recording the exit status",
    )


def kill_container(container_id: str, run_root: Path, sig: int) -> None:
    """Send ``sig`` to the container's init; a no-op if it is not running."""
    record = _record(container_id, run_root)
    pidfd = pidwait.open_pidfd(record.pid, record.pid_start)
    if pidfd is None:
        return
    try:
        signal.pidfd_send_signal(pidfd, sig)
    except ProcessLookupError:
        pass
    finally:
        os.close(pidfd)
    if sig == signal.SIGKILL:
        _thaw(record)  # a frozen process cannot die (runc kill does the same)


def stop_container(
    container_id: str, run_root: Path, sig: int = signal.SIGTERM, timeout: float = 10.0
) -> int | None:
    """Send ``sig``, wait up to ``timeout`` seconds, then SIGKILL; returns the exit code.

    Returns once the shim has recorded the exit and detached the cleanup
    mounts, so the caller may remove the rootfs right away.
    """
    record = _record(container_id, run_root)
    pidfd = pidwait.open_pidfd(record.pid, record.pid_start)
    if pidfd is not None:
        try:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(pidfd, sig)
            _thaw(record)  # as docker stop: a paused container gets the signal, then runs to act on it
            if not pidwait.wait_fd(pidfd, timeout):
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                pidwait.wait_fd(pidfd, SHIM_EXIT_TIMEOUT)
        finally:
            os.close(pidfd)
    pidwait.wait_shim(record, SHIM_EXIT_TIMEOUT)
    _reap_forked()
    final = container_state(container_id, run_root)
    return final.exit_code if final else None


def delete_container(container_id: str, run_root: Path) -> None:
    """Remove ``<run_root>/<id>``; refuses while the container runs. Unknown ids are a no-op.

    A container still waiting in ``created`` is killed first, as OCI's delete says.
    """
    directory = container_dir(run_root, container_id)
    record = read_record(directory)
    if record is None:
        if directory.exists():
            shutil.rmtree(directory)
        return
    current = container_state(container_id, run_root)
    if current is not None and current.status == "running":
        raise RuntimeFailure(f"cannot delete container {container_id}: it is running; stop it first")
    if current is not None and current.status == "created":
        stop_container(container_id, run_root, signal.SIGKILL, timeout=SHIM_EXIT_TIMEOUT)
    pidwait.wait_shim(record, SHIM_EXIT_TIMEOUT)
    _reap_forked()
    shutil.rmtree(directory)


# -- the OCI command line (runc create/start/state/kill/delete) ----------------


def create(container_id: str, bundle: Path, run_root: Path, log_path: Path | None = None) -> RuntimeState:
    """Set the container up to the point of exec; ``start`` lets it run."""
    log = log_path or container_dir(run_root, container_id) / "container.log"
    return _spawn(container_id, bundle, run_root, log, (), exec_fifo=True)


def start(container_id: str, run_root: Path) -> RuntimeState:
    """Let a ``create``d container exec its program; raises its start error if that fails."""
    directory = container_dir(run_root, container_id)
    current = container_state(container_id, run_root)
    if current is None:
        raise ContainerNotFoundError(f"container {container_id} does not exist")
    if current.status != "created" or not (directory / EXEC_FIFO).exists():
        raise RuntimeFailure(f"cannot start container {container_id}: it is {current.status}, not created")
    fd = os.open(directory / EXEC_FIFO, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not pidwait.wait_fd(fd, START_TIMEOUT) or not os.read(fd, 1):
            raise ContainerStartError(f"container {container_id} did not take the start signal")
    finally:
        os.close(fd)
    (directory / EXEC_FIFO).unlink()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        now = container_state(container_id, run_root)
        if now is not None and now.status != "created":
            if now.error:
                raise ContainerStartError(f"unable to start container process: {now.error}")
            return now
        time.sleep(0.002)
    raise ContainerStartError(f"container {container_id} did not start within {START_TIMEOUT:g}s")


def state(container_id: str, run_root: Path) -> dict[str, Any]:
    """The OCI state document of the container."""
    current = container_state(container_id, run_root)
    if current is None:
        raise ContainerNotFoundError(f"container {container_id} does not exist")
    return current.to_oci()


def kill(container_id: str, run_root: Path, sig: int = signal.SIGTERM) -> None:
    kill_container(container_id, run_root, sig)


def delete(container_id: str, run_root: Path) -> None:
    if read_record(container_dir(run_root, container_id)) is None:
        raise ContainerNotFoundError(f"container {container_id} does not exist")
    delete_container(container_id, run_root)


# -- helpers --------------------------------------------------------------------


def _spawn(
    container_id: str,
    bundle: Path,
    run_root: Path,
    log_path: Path,
    cleanup_mounts: Sequence[Path],
    *,
    exec_fifo: bool,
    backend: str = "builtin",
    mode: str = "spawn",
    stdio: Stdio | None = None,
) -> RuntimeState:
    directory = _fresh_dir(container_id, run_root)
    bundle = Path(bundle).resolve()
    record = Record(id=container_id, status="created", bundle=str(bundle), created_at=now_rfc3339(), backend=backend)
    if mode != "fork":
        write_record(directory, record)  # else ``forkshim.prepared`` writes it, with the cgroup
    cmd = [
        sys.executable, "-S", "-m", "composer.runtime.shim",
        "--id", container_id, "--bundle", str(bundle), "--root", str(Path(run_root).resolve()),
        "--log", str(Path(log_path).resolve()),
    ]  # fmt: skip
    for path in cleanup_mounts:
        cmd += ["--cleanup-mount", str(path)]
    if backend != "builtin":
        cmd += ["--backend", backend]
    if exec_fifo:
        os.mkfifo(directory / EXEC_FIFO, 0o600)
        cmd += ["--exec-fifo", str(directory / EXEC_FIFO)]
    passed = stdio.moved() if stdio is not None else None  # above 0-2, closed here once the shim has them
    if passed is not None:
        cmd += ["--stdio", passed.to_arg()]
    report_r, report_w = os.pipe()
    try:
        cmd += ["--sync-fd", str(report_w)]
        if mode == "fork":
            keep = (report_w, *(passed.fds() if passed else ()))
            zygote = sys.modules.get("composer.runtime.zygote")  # started by the CLI (``zygote.start``)
            if zygote is None or not zygote.request(cmd[4:], record, directory, keep):
                from composer.runtime import forkshim

                forkshim.start(cmd[4:], record, directory, keep)
            os.close(report_w)
            report_w = -1
            report = _read_report(report_r, START_TIMEOUT)
            return _started(container_id, run_root, report)
        import subprocess  # the exec mode only: the fork mode (the CLI's) never loads it

        try:
            shim = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                pass_fds=(report_w, *(passed.fds() if passed else ())),
                env={"PYTHONPATH": _PACKAGE_ROOT, "PATH": DEFAULT_PATH},
                cwd="/",
            )
        except OSError as exc:
            raise RuntimeFailure.from_oserror("spawn shim", sys.executable, exc) from exc
        os.close(report_w)
        report_w = -1
        shim.wait()  # the shim forks and its first process exits at once
        report = _read_report(report_r, START_TIMEOUT)
    finally:
        os.close(report_r)
        if report_w >= 0:
            os.close(report_w)
        if passed is not None:
            passed.close()
    return _started(container_id, run_root, report)


def _started(container_id: str, run_root: Path, report: str | None) -> RuntimeState:
    import json

    message = json.loads(report) if report is not None else {}
    if message.get("ok") and isinstance(message.get("state"), dict):
        return RuntimeState(**message["state"])  # as the shim recorded it on exec
    current = container_state(container_id, run_root)
    if report is None:
        if current is not None and current.status != "stopped":
            kill_container(container_id, run_root, signal.SIGKILL)
            raise ContainerStartError(f"container {container_id} did not start within {START_TIMEOUT:g}s")
        reason = current.error if current and current.error else "the runtime shim exited without reporting"
        raise ContainerStartError(f"unable to start container process: {reason}")
    if not message.get("ok"):
        raise ContainerStartError(f"unable to start container process: {message.get('error')}")
    if current is None:
        raise RuntimeFailure(f"runtime state of container {container_id} vanished during start")
    return current


def _fresh_dir(container_id: str, run_root: Path) -> Path:
    """``<run_root>/<id>``, new or left by a stopped run of the same container."""
    if container_id.startswith("."):
        raise RuntimeFailure(f"invalid container id {container_id!r}: it may not start with a dot")
    directory = container_dir(Path(run_root), container_id)
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir()
    except FileExistsError:
        current = container_state(container_id, run_root)
        if current is not None and current.status != "stopped":
            raise RuntimeFailure(f"container {container_id} already exists and is {current.status}") from None
        if current is not None:
            record = read_record(directory)
            if record is not None:
                pidwait.wait_shim(record, SHIM_EXIT_TIMEOUT)
        shutil.rmtree(directory)
        directory.mkdir()
    return directory


def _read_report(fd: int, timeout: float) -> str | None:
    """The shim's one-line JSON report, or None on EOF or timeout."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return None
        data += chunk
    return data.split(b"\n", 1)[0].decode(errors="replace")


def _reap_forked() -> None:
    if (forked := sys.modules.get("composer.runtime.forkshim")) is not None:
        forked.reap()  # the shims a fork-mode start left as our children


def _thaw(record: Record) -> None:
    if record.cgroup and _frozen(record):
        from composer.runtime.cgroups import Cgroup

        with contextlib.suppress(RuntimeFailure, OSError):
            Cgroup(record.cgroup).thaw()


def _frozen(record: Record) -> bool:
    if not record.cgroup:
        return False
    from composer.runtime.cgroups import Cgroup

    return Cgroup(record.cgroup).is_frozen()


def _record(container_id: str, run_root: Path) -> Record:
    record = read_record(container_dir(run_root, container_id))
    if record is None:
        raise ContainerNotFoundError(f"container {container_id} does not exist")
    return record


# cgroup-facing verbs (pause, stats, top) live in ``usage``; re-exported here, the engine's one door
from composer.runtime.usage import (  # noqa: E402
    container_processes,
    container_stats,
    pause_container,
    resume_container,
)
