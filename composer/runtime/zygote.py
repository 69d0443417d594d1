"""A small process, forked before the CLI's heavy imports, that forks the shims for it.

A shim forked from the CLI (``forkshim``) costs in proportion to the CLI's
size, ~100 MB once pydantic, anyio and a project are loaded: the fork copies
its page tables (``copy_page_range``), every page the shim, its init or the
CLI then writes is copied (``do_wp_page``: a Python process writes refcounts
all over its heap), and the init's exec tears the copy down again
(``exit_mmap``): 20-40 ms of CPU per container, and the CLI pays the part of
it that happens in its own address space for every container after each fork.
A zygote forked while the CLI is still the bare interpreter (``start``, from
``cli.entry``) imports only the runtime (~15 MB) and serves fork requests on a
socket: ``forkshim.prepared`` and the fork run there, the CLI only sends the
shim's arguments and passes its descriptors (``SCM_RIGHTS``; the child puts
them back at the caller's numbers, so the arguments stay as they are).

    start()                                      fork the zygote (once; the caller must have no threads)
    request(argv, record, directory, keep_fds)   -> True if the zygote forked the shim, False: do it yourself

The zygote leaves the caller's session (no terminal signal reaches it),
ignores SIGCHLD (the kernel reaps its shims: a zombie shim would look alive to
``state.is_alive``) and exits when the caller's end of the socket closes:
the caller's exit or ``kill -9``. The shims it forked live on in their own
sessions, re-parented, as those forked by the caller itself would.
"""

from __future__ import annotations

# Little before the fork (``start``): the zygote imports the rest (pickle, the
# runtime) while the CLI imports the engine, on the other CPU; the CLI needs
# pickle only for an error the zygote sends back.
import _thread
import contextlib
import gc
import os
import signal
import socket
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path
    from types import ModuleType

    from composer.runtime.state import Record

#: the caller's end of the socket; None: no zygote (``request`` says so)
_CONN: socket.socket | None = None
_PID = 0
_LOCK = _thread.allocate_lock()
_MAX_MESSAGE = 1 << 20
_MAX_FDS = 16
_NO_ERROR = b"ok"  # the reply for a shim forked (else: the pickled exception)


def start(*, preload: bool = True) -> int:
    """Fork the zygote if none runs yet; its pid. Call before threads or heavy imports.

    ``preload``: import here, before the fork, what the caller needs for any start
    anyway (the bundle's spec, the backend's check), once rather than in both
    processes (``up``'s many starts). ``run``'s single start gains more from the
    two processes importing in parallel: it passes False.
    """
    global _CONN, _PID
    if _CONN is not None:
        return _PID
    if preload:  # the zygote imports the rest, the shim's, in parallel
        from composer.runtime import api, backends, cgroups, seccomp, spec  # noqa: F401
    ours, theirs = (_above_stdio(s) for s in socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET))
    pid = os.fork()
    if pid == 0:
        ours.close()
        _serve(theirs)
    theirs.close()
    _CONN, _PID = ours, pid
    return pid


def _above_stdio(sock: socket.socket) -> socket.socket:
    """The socket on a descriptor above 2: with the caller's stdin closed (``<&-``) it would be its fd 0."""
    if sock.fileno() > 2:
        return sock
    import fcntl

    fd = fcntl.fcntl(sock.fileno(), fcntl.F_DUPFD_CLOEXEC, 3)
    sock.close()
    return socket.socket(fileno=fd)


def running() -> bool:
    return _CONN is not None


@contextlib.contextmanager
def bypassed() -> Iterator[None]:
    """Fork the shims in the caller meanwhile (benchmarks and tests compare the two ways)."""
    global _CONN
    with _LOCK:
        conn, _CONN = _CONN, None
    try:
        yield
    finally:
        with _LOCK:
            _CONN = conn


def stop() -> None:
    """Close the caller's end: the zygote exits (for tests; the caller's exit does the same)."""
    global _CONN, _PID
    with _LOCK:
        if _CONN is not None:
            _CONN.close()
            _CONN = None
            pid, _PID = _PID, 0
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def request(argv: Sequence[str], record: Record, directory: Path, keep_fds: Sequence[int]) -> bool:
    """Have the zygote fork the shim for ``argv`` (``forkshim.start``'s arguments).

    False if there is no zygote, or it is gone before it got the request: the
    caller forks the shim itself. Raises what ``forkshim.prepared`` or the
    fork raised in the zygote. True once the zygote forked the shim, or if it
    died after taking the request: the shim's report (or its EOF) says how
    the start went.
    """
    global _CONN
    import json

    with _LOCK:
        conn = _CONN
        if conn is None:
            return False
        # JSON, not pickle: the record's fields are plain values, and json is loaded already
        message = json.dumps([list(argv), vars(record), str(directory), list(keep_fds)]).encode()
        try:
            socket.send_fds(conn, [message], list(keep_fds))
        except OSError:
            _CONN = None  # gone: the caller forks from now on
            return False
        try:
            reply = conn.recv(_MAX_MESSAGE)
        except OSError:
            reply = b""
        except BaseException:  # Ctrl-C before the reply: it would be read as the next request's
            _CONN = None
            conn.close()
            raise
        if not reply:
            _CONN = None
            return True
    if reply == _NO_ERROR:
        return True
    import pickle

    error = pickle.loads(reply)
    if error is not None:
        raise error
    return True


# -- the zygote ----------------------------------------------------------------


def _serve(conn: socket.socket) -> NoReturn:
    code = 0
    try:
        from composer.runtime.shim import detach

        detach(conn.fileno())
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        os.chdir("/")
        import pickle

        from composer.runtime import cgroups, forkshim, migration, seccomp

        with contextlib.suppress(Exception):  # looked up once, here, for every shim: ``forkshim.prepared`` does it
            cgroups.hierarchies()
            seccomp.prepare_load()
        gc.freeze()  # nor our collections nor the shims' touch what is here now: fewer pages copied per fork
        while True:
            message, fds, _, _ = socket.recv_fds(conn, _MAX_MESSAGE, _MAX_FDS)
            if not message:
                break
            try:
                error, backend = _fork_shim(forkshim, message, fds)
            finally:
                for fd in fds:
                    os.close(fd)
            conn.send(_NO_ERROR if error is None else pickle.dumps(error))
            if backend == "builtin":
                migration.prime_migration()  # as ``forkshim.start`` does, once the caller has its answer
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _fork_shim(forkshim: ModuleType, message: bytes, fds: list[int]) -> tuple[BaseException | None, str]:
    """Fork one shim; (the error for the caller or None, the backend)."""
    import json
    import pickle
    from pathlib import Path

    from composer.errors import RuntimeFailure
    from composer.runtime.state import Record

    argv, fields, directory, targets = json.loads(message)
    record = Record(**fields)
    if len(fds) != len(targets):
        return RuntimeFailure("zygote: the descriptors for the shim did not arrive"), ""
    try:
        backend: str = forkshim.start(argv, record, Path(directory), targets, prime=False,
                                      child_setup=lambda: _place(fds, targets))
    except Exception as exc:  # the caller raises it
        try:
            pickle.dumps(exc)
        except Exception:
            return RuntimeFailure(f"{type(exc).__name__}: {exc}"), ""
        return exc, ""
    return None, backend


def _place(fds: Sequence[int], targets: Sequence[int]) -> None:
    """In the forked shim: the received descriptors at the caller's numbers (inheritable, as a fork has them)."""
    import fcntl

    floor = max([*targets, *fds, 2]) + 1
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, floor) for fd in fds]  # out of the way of every target
    for fd, target in zip(high, targets, strict=True):
        os.dup2(fd, target, inheritable=False)
        os.close(fd)
