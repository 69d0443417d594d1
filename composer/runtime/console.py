"""Terminals and caller stdio of containers: ptys in the container's devpts, fd passing, relays.

A pty for a container (``process.terminal``) or for ``exec -t`` is opened
*inside* the container's mount namespace, on the container's own devpts
instance (``/dev/pts/ptmx``), as runc's console does: the program's terminal
is ``/dev/pts/N`` as the container sees it, owned by the program's user.
Only the master crosses over to the host side, as SCM_RIGHTS on a unix
socket (runc's ``--console-socket``): the container init sends it to its
shim, the exec joiner to the ``exec`` caller.

``Stdio`` is what a caller hands ``api.start_container`` so that the
container talks to *it* (``composer run``), not only to its log: an fd the
container reads as its stdin, fds the shim copies the container's stdout and
stderr to (besides the log), and, for a terminal container, a connected
socket that the shim treats as an attach client from the first byte, after
sending it the pty master (one ``M`` byte carrying the fd) so that the caller
can type into it and set its window size. It reaches the shim as one
command-line argument (``Stdio.to_arg``) plus the descriptors themselves.

``relay`` is the caller's side of a terminal: raw mode on its own terminal,
keys to the pty, output to fd 1, and the window size following its terminal
(TIOCSWINSZ at once and on every SIGWINCH).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import selectors
import signal
import socket
import struct
import termios
from collections.abc import Iterator

from composer.errors import ComposerError
from composer.values import fields, valueclass

PTMX = "/dev/pts/ptmx"
TIOCGPTN = 0x80045430  # unsigned int: the pty's number in its devpts
TIOCSPTLCK = 0x40045431  # int: (un)lock the slave
MASTER_TAG = b"M"
RECEIVE_TIMEOUT = 10.0


@valueclass
class Stdio:
    """The caller's descriptors for a container (see the module docstring); None: not given."""

    stdin: int | None = None
    stdout: int | None = None
    stderr: int | None = None
    attach: int | None = None
    rows: int = 0
    cols: int = 0

    def fds(self) -> tuple[int, ...]:
        return tuple(fd for fd in (self.stdin, self.stdout, self.stderr, self.attach) if fd is not None)

    def to_arg(self) -> str:
        """``stdin=5,stdout=6,...``: the non-empty fields, for the shim's ``--stdio``."""
        return ",".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self) if getattr(self, f.name))

    @classmethod
    def from_arg(cls, text: str | None) -> Stdio:
        if not text:
            return cls()
        values: dict[str, int] = {}
        for item in text.split(","):
            key, _, value = item.partition("=")
            values[key] = int(value)
        return cls(**values)  # type: ignore[arg-type]

    def moved(self) -> Stdio:
        """The same descriptors duplicated above stdio (CLOEXEC), so a shim's /dev/null on 0-2 spares them."""

        def dup(fd: int | None) -> int | None:
            return None if fd is None else fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)

        return Stdio(dup(self.stdin), dup(self.stdout), dup(self.stderr), dup(self.attach), self.rows, self.cols)

    def close(self) -> None:
        for fd in self.fds():
            with contextlib.suppress(OSError):
                os.close(fd)


# -- inside the container ---------------------------------------------------------


def open_pty(uid: int = 0, rows: int = 0, cols: int = 0) -> tuple[int, int]:
    """(master, slave) of a new pty on the devpts at /dev/pts of the current mount namespace."""
    try:
        master = os.open(PTMX, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise ComposerError(f"terminal: open {PTMX}: {exc.strerror} (a terminal needs devpts on /dev/pts)") from exc
    try:
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
        number = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0" * 4))[0]
        slave = os.open(f"/dev/pts/{number}", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        os.close(master)
        raise ComposerError(f"terminal: open the slave of {PTMX}: {exc.strerror}") from exc
    with contextlib.suppress(OSError):
        if uid:
            os.fchown(slave, uid, -1)  # the program's own terminal, as Docker's
        if rows and cols:
            set_size(slave, rows, cols)
    return master, slave


def init_console(sock: int, uid: int, rows: int = 0, cols: int = 0) -> None:
    """The container init's terminal: a pty in its devpts as stdio and controlling tty; the master goes to ``sock``."""
    master, slave = open_pty(uid, rows, cols)
    with socket.socket(fileno=sock) as channel:
        send_fd(channel, master)
    os.close(master)
    make_controlling(slave)


def make_controlling(slave: int) -> None:
    """Start a session whose controlling terminal is ``slave``, and make it fds 0, 1 and 2."""
    with contextlib.suppress(PermissionError):  # already a session leader
        os.setsid()
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    if slave > 2:
        os.close(slave)


# -- passing the master ----------------------------------------------------------


def send_fd(channel: socket.socket, fd: int) -> None:
    socket.send_fds(channel, [MASTER_TAG], [fd])


def recv_fd(channel: socket.socket, timeout: float = RECEIVE_TIMEOUT) -> int | None:
    """The fd sent with ``send_fd``; None if the peer closed (it failed) or took too long."""
    channel.settimeout(timeout)
    try:
        _, fds, _, _ = socket.recv_fds(channel, 1, 4)
    except OSError:
        return None
    for extra in fds[1:]:
        os.close(extra)
    if not fds:
        return None
    os.set_inheritable(fds[0], False)
    return fds[0]


# -- window size --------------------------------------------------------------------


def get_size(fd: int) -> tuple[int, int] | None:
    """(rows, cols) of the terminal on ``fd``, or None if it is not one."""
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    return rows, cols


def set_size(fd: int, rows: int, cols: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def copy_size(source: int, target: int) -> None:
    size = get_size(source)
    if size is not None and all(size):
        set_size(target, *size)


# -- the caller's side ------------------------------------------------------------------


@contextlib.contextmanager
def raw_terminal(fd: int = 0) -> Iterator[None]:
    """``fd`` in raw mode for the duration, if it is a terminal; restored whatever happens."""
    import tty

    saved = None
    with contextlib.suppress(termios.error):
        if os.isatty(fd):
            saved = termios.tcgetattr(fd)
            tty.setraw(fd, termios.TCSANOW)  # keys typed ahead are kept
    try:
        yield
    finally:
        if saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def following_size(master: int, terminal: int = 0) -> Iterator[None]:
    """The pty ``master`` gets ``terminal``'s window size now and on every SIGWINCH."""
    copy_size(terminal, master)
    try:
        old = signal.signal(signal.SIGWINCH, lambda _sig, _frame: copy_size(terminal, master))
    except ValueError:  # not the main thread: no handler, the size was copied once
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, old)


def relay(source: int, sink: int, master: int, stdin: int = 0, stdout: int = 1) -> None:
    """Keys from ``stdin`` to ``sink``, output from ``source`` to ``stdout``, until ``source`` ends.

    ``master`` is the pty whose size follows ``stdin``'s terminal. At EOF on
    ``stdin`` the program keeps its terminal; only ``source`` ending (the pty
    hung up, or the shim closed the attach connection) ends the relay.
    """
    with raw_terminal(stdin), following_size(master, stdin), selectors.DefaultSelector() as sel:
        sel.register(source, selectors.EVENT_READ)
        with contextlib.suppress(ValueError, OSError):
            sel.register(stdin, selectors.EVENT_READ)
        while True:
            for key, _ in sel.select():
                try:
                    data = os.read(key.fd, 65536)
                except OSError:  # EIO: every holder of the pty's slave side is gone
                    data = b""
                if key.fd == source:
                    if not data:
                        return
                    _write_all(stdout, data)
                elif data:
                    _write_all(sink, data)
                else:
                    sel.unregister(stdin)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    with contextlib.suppress(OSError):
        while view:
            view = view[os.write(fd, view) :]


# -- the shim's side ---------------------------------------------------------------------

#: ``"true"``: the container gets a stdin pipe its shim keeps open (``stdin_open: true`` without a tty)
STDIN_OPEN_ANNOTATION = "org.composer.stdin-open"


class ShimIO:
    """A container's stdio as its shim sets it up: pipes, or the console socket; the caller's ``Stdio``.

    Before the fork: ``out_w``/``err_w``/``stdin``/``console`` are the child's
    ends (``InitPipes``); after it, ``forked`` closes them, and ``streams``
    gives what to read (for a terminal, the master the init sends), ``tees``
    the caller's fds to copy each stream to, ``input`` where attach clients'
    bytes go, and ``first_client`` the caller's own attach connection.
    """

    def __init__(self, stdio: Stdio, terminal: bool, stdin_open: bool) -> None:
        self.stdio = stdio
        self.size = (stdio.rows, stdio.cols)
        self.channel: socket.socket | None = None
        self.console: int | None = None
        self.stdin: int | None = stdio.stdin
        self.input: int | None = None
        self.tees: dict[int, int] = {}
        self.out_r: int | None = None
        self.err_r: int | None = None
        if terminal:
            self.channel, theirs = socket.socketpair()
            self.console = theirs.detach()
            self.out_w = self.err_w = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)  # until the console
            self.stdin = None
            self.theirs = [self.out_w, self.console]
        else:
            self.out_r, self.out_w = os.pipe()
            self.err_r, self.err_w = os.pipe()
            if self.stdin is None and stdin_open:
                self.stdin, self.input = os.pipe()  # held open here: the program never sees EOF
            self.theirs = [fd for fd in (self.out_w, self.err_w, self.stdin) if fd is not None]
        self.terminal = terminal
        self.attachable = terminal or self.input is not None

    def forked(self) -> None:
        """Close the child's ends; from now on a write to a gone reader fails instead of killing the shim."""
        for fd in self.theirs:
            os.close(fd)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    def streams(self) -> tuple[int, int | None]:
        """(stdout, stderr) to read; a terminal has only the pty (an empty pipe if the init sent none)."""
        if self.channel is not None:
            master = recv_fd(self.channel)
            self.channel.close()
            if master is None:
                self.out_r, dead = os.pipe()
                os.close(dead)
            else:
                self.out_r = self.input = master
        for fd, tee in ((self.out_r, self.stdio.stdout), (self.err_r, self.stdio.stderr)):
            if fd is not None and tee is not None:
                self.tees[fd] = tee
        assert self.out_r is not None
        return self.out_r, self.err_r

    def first_client(self) -> socket.socket | None:
        """The caller's attach connection, once it has the pty master (terminal containers only)."""
        if self.stdio.attach is None:
            return None
        client = socket.socket(fileno=self.stdio.attach)
        if not self.terminal or self.input is None:
            client.close()
            return None
        with contextlib.suppress(OSError):
            send_fd(client, self.input)
        return client

    def tee(self, fd: int, data: bytes) -> None:
        """Copy output to the caller's fd for it; a caller that went away is dropped."""
        target = self.tees.get(fd)
        if target is None:
            return
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(target, view) :]
        except OSError:
            del self.tees[fd]
