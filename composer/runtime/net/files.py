"""The name-resolution files of a container: ``/etc/hosts`` and ``/etc/resolv.conf``.

They are written in the container's directory and bind-mounted over the
image's copies, as Docker does. The formats follow Docker's output, so tools
that parse them (and users who read them) see what they expect::

    127.0.0.1	localhost
    ::1	localhost ip6-localhost ip6-loopback
    fe00::0	ip6-localnet
    ff00::0	ip6-mcastprefix
    ff02::1	ip6-allnodes
    ff02::2	ip6-allrouters
    192.168.1.5	db.example          <- extra_hosts entries, in order
    172.18.0.2	3f4e5a6b7c8d        <- the container's own address and hostname

Writes are atomic (temporary file, fsync, rename). A rename replaces the inode,
so rewriting a file already bind-mounted into a running container is not seen
by it; that is for the caller to handle (rewrite before start, or in place).
"""

from __future__ import annotations

import _thread
import contextlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

_HOSTS_HEADER = (
    ("127.0.0.1", ("localhost",)),
    ("::1", ("localhost", "ip6-localhost", "ip6-loopback")),
    ("fe00::0", ("ip6-localnet",)),
    ("ff00::0", ("ip6-mcastprefix",)),
    ("ff02::1", ("ip6-allnodes",)),
    ("ff02::2", ("ip6-allrouters",)),
)


def hosts_content(
    hostname: str,
    entries: Iterable[tuple[str, Sequence[str]]],
    address: str | None = None,
) -> str:
    """The text of ``/etc/hosts``: the standard lines, ``entries``, then ``address hostname``.

    ``address`` is the container's own address on its first network; without
    it (``network_mode: none``) the hostname gets no line, as with Docker.
    """
    lines = [f"{ip}\t{' '.join(names)}" for ip, names in (*_HOSTS_HEADER, *entries)]
    if address is not None and hostname:
        lines.append(f"{address}\t{hostname}")
    return "\n".join(lines) + "\n"


def write_hosts(
    path: Path,
    hostname: str,
    entries: Iterable[tuple[str, Sequence[str]]],
    address: str | None = None,
) -> None:
    """Write ``/etc/hosts`` for a container at ``path`` (see :func:`hosts_content`)."""
    _write_atomic(path, hosts_content(hostname, entries, address))


def resolv_conf_content(
    nameservers: Sequence[str],
    search: Sequence[str] = (),
    options: Sequence[str] = (),
) -> str:
    """The text of ``resolv.conf``: ``nameserver`` lines, then ``search``, then ``options``."""
    lines = [f"nameserver {server}" for server in nameservers]
    if search:
        lines.append("search " + " ".join(search))
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"


def write_resolv_conf(
    path: Path,
    nameservers: Sequence[str],
    search: Sequence[str] = (),
    options: Sequence[str] = (),
) -> None:
    """Write ``resolv.conf`` at ``path``; the engine passes the gateway as nameserver
    and ``options ndots:0`` as Docker does on user-defined networks."""
    _write_atomic(path, resolv_conf_content(nameservers, search, options))


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # this process's and thread's own temporary name (as mkstemp's, without tempfile's import: ~4 ms of ``run``)
    tmp = str(path.parent / f".{path.name}.{os.getpid()}.{_thread.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
