"""Terminals and caller stdio (``runtime.console``) on host ptys: fd passing, window size, the shim's argument."""

from __future__ import annotations

import os
import socket

from composer.runtime import console


def test_stdio_round_trips_through_the_shim_argument() -> None:
    stdio = console.Stdio(stdin=5, stdout=6, attach=9, rows=24, cols=80)
    assert stdio.to_arg() == "stdin=5,stdout=6,attach=9,rows=24,cols=80"
    assert console.Stdio.from_arg(stdio.to_arg()) == stdio
    assert console.Stdio.from_arg(None) == console.Stdio() and console.Stdio().to_arg() == ""
    assert stdio.fds() == (5, 6, 9)


def test_moved_descriptors_are_above_stdio_and_the_same_files() -> None:
    r, w = os.pipe()
    moved = console.Stdio(stdin=r, stdout=w).moved()
    try:
        assert moved.stdin is not None and moved.stdout is not None
        assert min(moved.fds()) > 2 and not set(moved.fds()) & {r, w}
        os.write(moved.stdout, b"x")
        assert os.read(r, 1) == b"x"
    finally:
        moved.close()
        os.close(r)
        os.close(w)


def test_a_master_crosses_a_socket_and_keeps_its_window_size() -> None:
    master, slave = os.openpty()
    ours, theirs = socket.socketpair()
    try:
        console.set_size(slave, 33, 101)
        console.send_fd(theirs, master)
        theirs.close()
        received = console.recv_fd(ours, timeout=5)
        assert received is not None
        try:
            assert console.get_size(received) == (33, 101)
            console.copy_size(slave, received)
            assert not os.get_inheritable(received)
        finally:
            os.close(received)
        assert console.recv_fd(ours, timeout=5) is None  # the peer is gone: no fd, no hang
    finally:
        ours.close()
        os.close(master)
        os.close(slave)


def test_get_size_of_what_is_not_a_terminal() -> None:
    r, w = os.pipe()
    try:
        assert console.get_size(r) is None
    finally:
        os.close(r)
        os.close(w)
