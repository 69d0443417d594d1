"""The runtime on every backend against the real kernel: namespaces, mounts, logs, exec, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from composer.errors import ContainerStartError, RuntimeFailure
from composer.runtime import api
from composer.runtime import syscalls as sc
from composer.runtime.execute import ExecResult
from tests.helpers import wait_for

if TYPE_CHECKING:
    from tests.integration.runtime.harness import Runtime

pytestmark = pytest.mark.root


def _stdout(rt: Runtime, name: str) -> str:
    return "".join(e["log"] for e in rt.log_entries(name) if e["stream"] == "stdout")


def test_logs_streams_and_exit_code(runtime: Runtime) -> None:
    runtime.start("logs", ["sh", "-c", "echo hello; echo oops >&2; printf tail; exit 3"])
    state = runtime.wait_stopped("logs")
    assert (state.status, state.exit_code, state.error) == ("stopped", 3, None)
    assert state.started_at and state.finished_at and state.finished_at.endswith("Z")
    entries = runtime.log_entries("logs")
    assert [(e["log"], e["stream"]) for e in entries if e["stream"] == "stderr"] == [("oops\n", "stderr")]
    assert [e["log"] for e in entries if e["stream"] == "stdout"] == ["hello\n", "tail"]
    assert all(len(e["time"]) == len("2026-11-28T06:40:00.123456789Z") for e in entries)


def test_identity_inside(runtime: Runtime) -> None:
    script = 'hostname; echo $$; echo "$FOO"; pwd; cat /proc/1/cmdline | tr "\\0" " "; echo'
    runtime.start("who", ["sh", "-c", script], env=["FOO=bar baz"], cwd="/work/dir", hostname="web1")
    assert runtime.wait_stopped("who").exit_code == 0
    assert _stdout(runtime, "who").splitlines() == ["web1", "1", "bar baz", "/work/dir", f"sh -c {script} "]


def test_user(runtime: Runtime) -> None:
    def as_nobody(spec: dict[str, Any]) -> None:
        spec["process"]["user"] = {"uid": 65534, "gid": 65534, "additionalGids": [5]}

    runtime.start("user", ["sh", "-c", "id -u; id -g; id -G"], edit=as_nobody)
    assert runtime.wait_stopped("user").exit_code == 0
    assert _stdout(runtime, "user").split() == ["65534", "65534", "65534", "5"]


def test_mount_namespace_proc_and_sys(runtime: Runtime) -> None:
    script = textwrap.dedent("""\
        grep -c cgroup /proc/mounts
        grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1
        touch /sys/x 2>/dev/null && echo sys-writable || echo sys-readonly
        wc -c < /proc/keys
        grep -c ' /proc/acpi tmpfs ro' /proc/mounts
        echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo procsys-writable || echo procsys-readonly
        ls -l /dev/null /dev/ptmx /dev/fd | cut -c1
        echo x > /dev/null && echo devnull-ok
        """)
    runtime.start("ns", ["sh", "-c", script])
    state = runtime.wait_stopped("ns")
    assert state.exit_code == 0, runtime.log_entries("ns")
    assert _stdout(runtime, "ns").split() == [
        "0", "ro", "sys-readonly", "0", "1", "procsys-readonly", "l", "c", "l", "devnull-ok",
    ]  # fmt: skip


def test_bind_and_tmpfs_mounts(runtime: Runtime) -> None:
    ro_dir = runtime.tmp / "ro"
    rw_dir = runtime.tmp / "rw"
    ro_dir.mkdir()
    rw_dir.mkdir()
    (ro_dir / "file").write_text("from host\n")
    host_file = runtime.tmp / "single.txt"
    host_file.write_text("one file\n")

    def mounts(spec: dict[str, Any]) -> None:
        spec["mounts"] += [
            {"destination": "/ro", "type": "bind", "source": str(ro_dir), "options": ["rbind", "ro", "rprivate"]},
            {"destination": "/data/rw", "type": "bind", "source": str(rw_dir), "options": ["rbind", "rw"]},
            {"destination": "/etc/single.txt", "type": "bind", "source": str(host_file), "options": ["bind", "ro"]},
            {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m", "mode=1777"]},
            {"destination": "/scratch2", "type": "tmpfs", "source": "tmpfs", "options": ["mode=700"]},
        ]

    script = textwrap.dedent("""\
        cat /ro/file /etc/single.txt
        touch /ro/new 2>/dev/null && echo ro-writable || echo ro-readonly
        echo written > /data/rw/out
        grep ' /scratch ' /proc/mounts | cut -d' ' -f3,4
        stat -c %a /scratch /scratch2
        """)
    runtime.start("mounts", ["sh", "-c", script], edit=mounts)
    assert runtime.wait_stopped("mounts").exit_code == 0, runtime.log_entries("mounts")
    assert _stdout(runtime, "mounts").splitlines() == [
        "from host", "one file", "ro-readonly", "tmpfs rw,nosuid,relatime,size=1024k", "1777", "700",
    ]  # fmt: skip
    assert (rw_dir / "out").read_text() == "written\n"
    assert not (ro_dir / "new").exists()


def test_missing_command_is_a_start_error(runtime: Runtime) -> None:
    with pytest.raises(ContainerStartError) as info:
        runtime.start("nocmd", ["nosuchcmd", "arg"])
    state = api.container_state("nocmd", runtime.run_root)
    assert state is not None
    assert (state.status, state.exit_code) == ("stopped", 127)
    assert "nosuchcmd" in str(info.value) and state.error and "nosuchcmd" in state.error
    if runtime.backend == "builtin":  # Docker's wording, which runc's echoes and crun's does not
        assert str(info.value) == 'unable to start container process: exec: "nosuchcmd": executable file not found in $PATH'
        assert state.error == 'exec: "nosuchcmd": executable file not found in $PATH'


def test_failed_mount_is_a_start_error_naming_it(runtime: Runtime) -> None:
    def bad(spec: dict[str, Any]) -> None:
        spec["mounts"].append({"destination": "/data", "type": "bind", "source": "/nonexistent/src", "options": ["rbind"]})

    expected = "mount /nonexistent/src on /data: source does not exist" if runtime.backend == "builtin" else "/nonexistent/src"
    with pytest.raises(ContainerStartError, match=expected):
        runtime.start("badmount", ["true"], edit=bad)


def test_container_survives_its_caller_being_killed(runtime: Runtime) -> None:
    bundle = runtime.bundle("detached", ["sleep", "60"])
    runtime.track("detached")
    code = textwrap.dedent(f"""\
        import os, signal
        from pathlib import Path
        from composer.runtime import api
        api.start_container("detached", Path({str(bundle)!r}), Path({str(runtime.run_root)!r}),
                            Path({str(runtime.log("detached"))!r}))
        os.kill(os.getpid(), signal.SIGKILL)
        """)
    proc = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    state = api.container_state("detached", runtime.run_root)
    assert state is not None and state.status == "running"
    assert api.state("detached", runtime.run_root)["pid"] == state.pid
    start = time.monotonic()
    assert api.stop_container("detached", runtime.run_root, timeout=1) == 137
    assert 0.9 < time.monotonic() - start < 20  # the grace period, then SIGKILL: far from sleep's 60 s


def test_exec(runtime: Runtime) -> None:
    runtime.start("exec", ["sleep", "60"], env=["FOO=from-spec"], hostname="exechost")
    run_root = runtime.run_root
    assert api.exec_container("exec", run_root, ["hostname"]).stdout == b"exechost\n"
    assert api.exec_container("exec", run_root, ["cat", "/proc/1/cmdline"]).stdout == b"sleep\x0060\x00"
    listing = api.exec_container("exec", run_root, ["ls", "/"]).stdout.split()
    assert b"bin" in listing and b"proc" in listing and b"tmp" in listing
    assert api.exec_container("exec", run_root, ["sh", "-c", "echo $FOO; exit 5"]) == ExecResult(5, b"from-spec\n", b"")
    res = api.exec_container("exec", run_root, ["sh", "-c", "pwd; id -u"], cwd="/tmp", uid=65534, gid=65534, env=["A=1"])
    assert (res.exit_code, res.stdout) == (0, b"/tmp\n65534\n")
    assert api.exec_container("exec", run_root, ["cat"], stdin=b"piped").stdout == b"piped"
    missing = api.exec_container("exec", run_root, ["nosuch"])
    assert missing.exit_code == 127
    assert b'exec: "nosuch": executable file not found in $PATH' in missing.stderr
    start = time.monotonic()
    slow = api.exec_container("exec", run_root, ["sleep", "10"], timeout=0.3)
    assert (slow.exit_code, slow.timed_out) == (124, True)
    assert time.monotonic() - start < 8  # cut at its timeout, not after sleep's 10 s (loose: a busy machine)
    assert api.stop_container("exec", run_root, timeout=0.2) == 137


def test_exec_refuses_a_stopped_container(runtime: Runtime) -> None:
    runtime.start("gone", ["true"])
    runtime.wait_stopped("gone")
    with pytest.raises(RuntimeFailure, match="is not running"):
        api.exec_container("gone", runtime.run_root, ["true"])


def test_stop_with_a_term_trap_is_fast(runtime: Runtime) -> None:
    runtime.start("trap", ["sh", "-c", "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done"])
    # start returns at exec, before the shell has set its trap, and pid 1 ignores an unhandled TERM:
    # "ready" is printed once the trap is in place
    wait_for(lambda: _stdout(runtime, "trap") == "ready\n", timeout=30, what="the trap's readiness line")
    grace = 30.0
    start = time.monotonic()
    assert api.stop_container("trap", runtime.run_root, timeout=grace) == 0
    assert time.monotonic() - start < grace / 3  # the trap ended it, well before the grace period's SIGKILL
    assert _stdout(runtime, "trap") == "ready\nbye\n"


def test_kill_and_delete(runtime: Runtime) -> None:
    runtime.start("killme", ["sleep", "60"])
    with pytest.raises(RuntimeFailure, match="is running"):
        api.delete_container("killme", runtime.run_root)
    api.kill_container("killme", runtime.run_root, signal.SIGKILL)
    assert runtime.wait_stopped("killme").exit_code == 137
    api.kill_container("killme", runtime.run_root, signal.SIGKILL)  # no-op once stopped
    api.delete_container("killme", runtime.run_root)
    assert api.container_state("killme", runtime.run_root) is None


def test_cleanup_mounts_are_detached_after_exit(runtime: Runtime) -> None:
    target = runtime.tmp / "overlay-standin"
    target.mkdir()
    sc.mount("tmpfs", target, "tmpfs", 0, "size=1m")
    try:
        runtime.start("cleanup", ["sleep", "60"], cleanup_mounts=[target])
        assert os.path.ismount(target)
        api.stop_container("cleanup", runtime.run_root, signal.SIGKILL, timeout=1)
        assert not os.path.ismount(target)
    finally:
        if os.path.ismount(target):
            sc.umount2(target, sc.MNT_DETACH)


def test_oci_create_start_state_delete(runtime: Runtime) -> None:
    bundle = runtime.bundle("oci", ["sh", "-c", "echo started; sleep 60"])
    runtime.track("oci")
    created = api.create("oci", bundle, runtime.run_root, runtime.log("oci"))
    assert created.status == "created" and created.pid > 0
    doc = api.state("oci", runtime.run_root)
    assert {k: doc[k] for k in ("ociVersion", "id", "status", "bundle")} == {
        "ociVersion": "1.0.2", "id": "oci", "status": "created", "bundle": str(bundle),
    }  # fmt: skip
    assert runtime.log_entries("oci") == []
    running = api.start("oci", runtime.run_root)
    assert running.status == "running" and running.pid == created.pid
    wait_for(lambda: _stdout(runtime, "oci") == "started\n", timeout=30, what="the container's first line")
    api.kill("oci", runtime.run_root, signal.SIGKILL)
    assert runtime.wait_stopped("oci").exit_code == 137
    assert _stdout(runtime, "oci") == "started\n"
    api.delete("oci", runtime.run_root)


def test_delete_of_a_created_container_kills_it(runtime: Runtime) -> None:
    bundle = runtime.bundle("oci2", ["true"])
    runtime.track("oci2")
    created = api.create("oci2", bundle, runtime.run_root, runtime.log("oci2"))
    api.delete("oci2", runtime.run_root)
    assert not Path(f"/proc/{created.pid}").exists() or api.container_state("oci2", runtime.run_root) is None


def test_exec_interactive_and_from_a_threaded_caller(runtime: Runtime, capfd: pytest.CaptureFixture[str]) -> None:
    import threading

    runtime.start("inter", ["sleep", "60"], hostname="inter")
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)  # setns(mnt) refuses threaded callers: we fork first
    worker.start()
    try:
        assert api.exec_interactive("inter", runtime.run_root, ["sh", "-c", "hostname; exit 4"]) == 4
        assert api.exec_container("inter", runtime.run_root, ["hostname"]).stdout == b"inter\n"
    finally:
        stop.set()
        worker.join()
    assert capfd.readouterr().out == "inter\n"
    with pytest.raises(ContainerStartError, match='exec: "nosuch"'):
        api.exec_interactive("inter", runtime.run_root, ["nosuch"])
    api.stop_container("inter", runtime.run_root, signal.SIGKILL)


def test_exec_with_a_terminal(runtime: Runtime) -> None:
    """``exec -t``: the program's stdio is a pty that is its controlling terminal."""
    runtime.start("tty", ["sleep", "60"])
    code = textwrap.dedent(f"""\
        import sys
        from pathlib import Path
        from composer.runtime import api
        sys.exit(api.exec_interactive("tty", Path({str(runtime.run_root)!r}), ["sh", "-c", "tty; test -t 0 && echo interactive; exit 3"], tty=True))
        """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stdout.decode().replace("\r", "").split()
    assert lines[0].startswith("/dev/pts/") or lines[0] == "not", lines
    assert "interactive" in lines
    assert api.stop_container("tty", runtime.run_root, timeout=0.2) == 137


def test_terminal_container_logs_and_attach(builtin_runtime: Runtime) -> None:
    """``tty: true``: a pty as stdio, its output logged as stdout, input typed through the attach socket."""
    import socket as sockets

    rt = builtin_runtime

    def terminal(spec: dict[str, Any]) -> None:
        spec["process"]["terminal"] = True

    rt.start("term", ["sh", "-c", "test -t 0 && echo is-a-tty; read line; echo got:$line"], edit=terminal)
    record_sock = rt.run_root / "term" / "attach.sock"
    client = sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM)
    client.settimeout(30)
    client.connect(str(record_sock))
    client.sendall(b"hello\n")
    seen = b""
    deadline = time.monotonic() + 30
    while b"got:hello" not in seen and time.monotonic() < deadline:
        chunk = client.recv(4096)
        if not chunk:
            break
        seen += chunk
    client.close()
    assert b"got:hello" in seen, seen
    assert rt.wait_stopped("term").exit_code == 0
    logged = rt.stdout("term").replace("\r", "")
    assert "is-a-tty\n" in logged and "got:hello\n" in logged
