"""Process I/O of containers: stdin of ``run``, terminals of ``run`` and ``exec`` in the container's devpts.

The CLI is driven as a user would: with a pipe as stdin, or on a real
pseudo-terminal (``pty.fork``) whose window size the test sets and changes.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.helpers import PtyStep, on_a_terminal

pytestmark = pytest.mark.root

TRAP = "trap 'exit 0' TERM; "
LONG = f'["sh", "-c", "{TRAP}sleep 1000 & wait"]'
#: (wait for these bytes in the output, then do this with the pty's master)
Step = PtyStep


def _write(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    return ["-f", str(path)]


def _stack(tmp_path: Path, project: str, extra: str = "") -> list[str]:
    return [*_write(tmp_path, f"""
services:
  svc:
    image: busybox
    command: {LONG}
{extra}"""), "-p", project]


def _resize(rows: int, cols: int) -> Callable[[int], None]:
    return lambda fd: fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _type(data: bytes) -> Callable[[int], None]:
    return lambda fd: os.write(fd, data)


def _on_a_terminal(root: Path, args: Sequence[str], steps: Sequence[Step] = (), size: tuple[int, int] = (24, 80),
                   timeout: float = 60) -> tuple[int, str]:
    """Run the CLI on a new pty of ``size``, doing ``steps`` as their cue shows up: (exit code, output)."""
    return on_a_terminal(root, list(args), list(steps), before_exec=lambda: _resize(*size)(0), timeout=timeout)


def _composer(root: Path, *args: str, stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "COMPOSER_ROOT": str(root)}
    return subprocess.run([sys.executable, "-m", "composer", *args], input=stdin, capture_output=True, env=env,
                          timeout=timeout, check=False, stdin=None if stdin is not None else subprocess.DEVNULL)


def test_run_pipes_stdin_and_keeps_stdout_and_stderr_apart(composer_root: Path, tmp_path: Path,
                                                            project_name: str) -> None:
    base = _stack(tmp_path, project_name)
    res = _composer(composer_root, *base, "run", "--rm", "-T", "svc", "cat", stdin=b"hi\n")
    assert (res.returncode, res.stdout) == (0, b"hi\n"), res.stderr
    big = bytes(range(256)) * 2048  # 512 KiB, binary: more than any pipe buffer, through unchanged
    res = _composer(composer_root, *base, "run", "--rm", "-T", "svc", "sh", "-c", "cat; echo done >&2; exit 3",
                    stdin=big)
    assert (res.returncode, res.stdout, res.stderr) == (3, big, b"done\n")
    res = _composer(composer_root, *base, "run", "--rm", "svc", "sh", "-c", "readlink /proc/self/fd/0; [ -t 1 ]")
    assert (res.returncode, res.stdout) == (1, b"/dev/null\n")  # no terminal when the caller has none
    env = {**os.environ, "COMPOSER_ROOT": str(composer_root)}
    closed = subprocess.run(["sh", "-c", 'exec "$0" -m composer "$@" <&-', sys.executable, *base, "run", "--rm",
                             "-T", "svc", "sh", "-c", "cat; echo eof"], capture_output=True, env=env, timeout=60,
                            check=False)
    assert (closed.returncode, closed.stdout) == (0, b"eof\n"), closed.stderr  # no stdin: /dev/null, not a hang
    assert _composer(composer_root, *base, "ps", "-a", "-q").stdout == b""  # --rm removed them all
    cid = _composer(composer_root, *base, "run", "-d", "svc", "sh", "-c", "cat; echo eof").stdout.decode().strip()
    time.sleep(0.5)
    assert _composer(composer_root, *base, "ps", "-q").stdout.decode().split() == [cid]  # -d: stdin stays open


def test_run_on_a_terminal_gets_a_pty_in_its_devpts(composer_root: Path, tmp_path: Path, project_name: str) -> None:
    base = _stack(tmp_path, project_name)
    script = ("tty; readlink /proc/self/fd/0; ls /dev/pts; stty size; "
              "trap 'stty size; exit 4' WINCH; echo READY; read x; echo got:$x; while :; do sleep 0.1; done")
    code, out = _on_a_terminal(composer_root, [*base, "run", "--rm", "svc", "sh", "-c", script],
                               [(b"READY", _type(b"typed\n")), (b"got:typed", _resize(40, 132))], size=(33, 101))
    lines = out.split("\n")
    assert code == 4, out
    assert lines[0] == lines[1] == "/dev/pts/0", out  # the container's own devpts: its first pty
    assert lines[2].split() == ["0", "ptmx"], out  # nothing of the host's ptys in there
    assert lines[3] == "33 101", out  # the caller's window size from the start
    assert "got:typed" in lines and "40 132" in lines, out  # keys typed through; SIGWINCH followed


def test_run_dash_t_on_a_terminal_keeps_pipes(composer_root: Path, tmp_path: Path, project_name: str) -> None:
    base = _stack(tmp_path, project_name)
    code, out = _on_a_terminal(composer_root, [*base, "run", "--rm", "-T", "svc", "sh", "-c",
                                               "[ -t 1 ] || echo not-a-tty; exit 2"])
    assert (code, out.strip()) == (2, "not-a-tty")


def test_exec_terminal_is_in_the_container_devpts(composer_root: Path, tmp_path: Path, project_name: str) -> None:
    base = _stack(tmp_path, project_name)
    res = _composer(composer_root, *base, "up", "-d")
    assert res.returncode == 0, res.stderr
    script = ("t=$(tty); echo $t; [ -e $t ] && echo exists; ls -l /proc/self/fd/0; stty size; "
              "trap 'stty size; exit 6' WINCH; echo READY; while :; do sleep 0.1; done")
    code, out = _on_a_terminal(composer_root, [*base, "exec", "svc", "sh", "-c", script],
                               [(b"READY", _resize(50, 70))], size=(21, 77))
    lines = out.split("\n")
    assert code == 6, out
    assert lines[0].startswith("/dev/pts/") and lines[1] == "exists", out
    assert lines[2].endswith("-> " + lines[0]), out
    assert lines[3] == "21 77" and "50 70" in lines, out
    code, out = _on_a_terminal(composer_root, [*base, "exec", "-u", "nobody", "svc", "sh", "-c", "ls -ln $(tty)"])
    assert code == 0 and out.split()[2] == "65534", out  # the program's own terminal
    code, out = _on_a_terminal(composer_root, [*base, "exec", "svc", "sh", "-c", "echo READY; read x; echo x=$x; exit 9"],
                               [(b"READY", _type(b"abc\n"))])
    assert code == 9 and "x=abc" in out, out


def test_exec_without_a_terminal_forwards_stdin(composer_root: Path, tmp_path: Path, project_name: str) -> None:
    base = _stack(tmp_path, project_name)
    assert _composer(composer_root, *base, "up", "-d").returncode == 0
    res = _composer(composer_root, *base, "exec", "-T", "svc", "sh", "-c", "cat; exit 5", stdin=b"piped\n")
    assert (res.returncode, res.stdout) == (5, b"piped\n")
    res = _composer(composer_root, *base, "exec", "-T", "svc", "sh", "-c", "[ -t 0 ] || [ -t 1 ] || echo pipes")
    assert (res.returncode, res.stdout) == (0, b"pipes\n")


def test_stdin_open_gives_a_stdin_that_stays_open(composer_root: Path, tmp_path: Path, project_name: str) -> None:
    base = [*_write(tmp_path, """
services:
  open:
    image: busybox
    command: ["sh", "-c", "cat; echo eof"]
    stdin_open: true
  closed:
    image: busybox
    command: ["sh", "-c", "cat; echo eof"]
"""), "-p", project_name]
    assert _composer(composer_root, *base, "up", "-d").returncode == 0
    deadline = time.monotonic() + 10
    while b"eof" not in _composer(composer_root, *base, "logs", "closed").stdout:
        assert time.monotonic() < deadline, "closed: cat did not see EOF on /dev/null"
        time.sleep(0.1)
    running = _composer(composer_root, *base, "ps", "--services").stdout.split()
    assert running == [b"open"]  # cat still waits on its stdin pipe
    cid = _composer(composer_root, *base, "ps", "-q", "open").stdout.decode().strip()
    directory = os.open(composer_root / "run" / "runtime" / cid, os.O_PATH)  # its path passes sun_path's 108 bytes
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(f"/proc/self/fd/{directory}/attach.sock")
            client.sendall(b"typed in\n")  # what an attach client sends goes to the stdin pipe
            client.settimeout(10)
            assert client.recv(64) == b"typed in\n"  # and it gets the output
    finally:
        os.close(directory)
    deadline = time.monotonic() + 10
    while b"typed in" not in _composer(composer_root, *base, "logs", "open").stdout:
        assert time.monotonic() < deadline, "open: the attach client's input did not reach cat"
        time.sleep(0.1)


def test_tty_service_has_its_terminal_in_its_devpts(composer_root: Path, tmp_path: Path, project_name: str) -> None:
    base = [*_write(tmp_path, f"""
services:
  term:
    image: busybox
    tty: true
    command: ["sh", "-c", "tty; stty size; {TRAP}sleep 1000 & wait"]
"""), "-p", project_name]
    assert _composer(composer_root, *base, "up", "-d").returncode == 0
    res = _composer(composer_root, *base, "exec", "-T", "term", "sh", "-c", "readlink /proc/1/fd/0; ls /dev/pts")
    assert res.stdout.split() == [b"/dev/pts/0", b"0", b"ptmx"], res.stderr
    deadline = time.monotonic() + 10
    while b"/dev/pts/0\r\n" not in (logs := _composer(composer_root, *base, "logs", "--no-log-prefix", "term").stdout):
        assert time.monotonic() < deadline, logs  # the terminal's output, logged as stdout
        time.sleep(0.1)


def test_run_rm_imports_only_what_its_container_needs(composer_root: Path, tmp_path: Path,
                                                      project_name: str) -> None:
    """A plain ``run --rm`` (no ports: no anyio; the shim's arguments without argparse) imports no more."""
    base = _stack(tmp_path, project_name)
    _composer(composer_root, *base, "run", "--rm", "svc", "true")  # the project cache and the network, once
    env = {**os.environ, "COMPOSER_ROOT": str(composer_root)}
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "composer", *base, "run", "--rm", "svc",
                          "sh", "-c", "exit 5"], capture_output=True, env=env, timeout=60, check=False,
                         stdin=subprocess.DEVNULL)
    assert res.returncode == 5, res.stderr
    loaded = {line.split("|")[-1].strip() for line in res.stderr.decode().splitlines() if "|" in line}
    assert "composer.engine.oneoff" in loaded
    assert not loaded & {"anyio", "argparse", "pydantic", "composer.engine.publish", "composer.image.unpack"}, \
        loaded & {"anyio", "argparse", "pydantic", "composer.engine.publish", "composer.image.unpack"}
    assert not list((composer_root / "containers").iterdir())
