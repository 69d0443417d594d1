"""Published ports: a userland proxy from a host address to a container, on anyio.

``ports: ["8080:80"]`` means: accept on the host's port 8080 and relay to the
container's address, port 80. Docker does it with iptables DNAT plus a
``docker-proxy`` process for what DNAT cannot catch (loopback); composer
never touches the host firewall, so the proxy does all of it: it listens on
the host address, and for each client connects to the container and copies
bytes both ways, passing a half-close on (so request/response protocols that
shut down writing still work), and closing both sides at the end.

UDP is relayed per client: each client address gets its own connected socket
to the container, forgotten after ``UDP_IDLE_TIMEOUT`` seconds without traffic
(Docker's proxy uses 90 s).

A port already taken is reported as Docker reports it, naming the holder when
this host shows it: ``Bind for 0.0.0.0:8080 failed: port is already allocated
(held by pid 1234 nginx)``. The holder is found from ``/proc/net/{tcp,udp}{,6}``
(the socket inode of the listener) and ``/proc/*/fd`` (who has that inode
open), best effort: sockets of other namespaces and processes we cannot read
are not found, and the message then just omits the holder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import sys
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import Literal

import anyio
from anyio.abc import ByteStream, ConnectedUDPSocket, SocketAttribute, TaskStatus

from composer.errors import NetworkError, PortInUseError

CONNECT_TIMEOUT = 10.0
UDP_IDLE_TIMEOUT = 90.0
_BUFSIZE = 65536
_TCP_LISTEN = "0A"
_UDP_UNCONNECTED = "07"


async def forward_tcp(
    host_ip: str,
    host_port: int,
    target_ip: str,
    target_port: int,
    *,
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Relay TCP connections on ``host_ip:host_port`` to ``target_ip:target_port``.

    Runs until cancelled. ``task_status.started`` gets the bound port (the
    chosen one when ``host_port`` is 0). Raises PortInUseError if the port is taken.
    """
    try:
        listener = await anyio.create_tcp_listener(local_host=host_ip, local_port=host_port)
    except OSError as exc:
        raise bind_error(host_ip, host_port, "tcp", exc) from exc

    async def relay(client: ByteStream) -> None:
        async with client:
            try:
                with anyio.fail_after(CONNECT_TIMEOUT):
                    upstream = await anyio.connect_tcp(target_ip, target_port)
            except (OSError, TimeoutError):
                return  # the client sees a closed connection, as with docker-proxy
            async with upstream, anyio.create_task_group() as tg:
                tg.start_soon(_pipe, client, upstream)
                tg.start_soon(_pipe, upstream, client)

    async with listener:
        task_status.started(listener.extra(SocketAttribute.local_port))
        await listener.serve(relay)


async def _pipe(source: ByteStream, sink: ByteStream) -> None:
    """Copy until EOF, then half-close the sink; on a reset, stop quietly."""
    with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError,
                             anyio.ClosedResourceError, OSError):
        while True:
            await sink.send(await source.receive(_BUFSIZE))
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        await sink.send_eof()


async def forward_udp(
    host_ip: str,
    host_port: int,
    target_ip: str,
    target_port: int,
    *,
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Relay UDP datagrams on ``host_ip:host_port`` to ``target_ip:target_port`` and back."""
    try:
        front = await anyio.create_udp_socket(_family(host_ip), local_host=host_ip, local_port=host_port)
    except OSError as exc:
        raise bind_error(host_ip, host_port, "udp", exc) from exc
    clients: dict[tuple[str, int], ConnectedUDPSocket] = {}

    async def back_channel(client: tuple[str, int], conn: ConnectedUDPSocket) -> None:
        try:
            async with conn:
                while True:
                    with anyio.move_on_after(UDP_IDLE_TIMEOUT) as idle:
                        data = await conn.receive()
                    if idle.cancelled_caught:
                        return
                    await front.sendto(data, *client)
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # e.g. ECONNREFUSED from an ICMP port unreachable
        finally:
            clients.pop(client, None)

    async with front, anyio.create_task_group() as tg:
        task_status.started(front.extra(SocketAttribute.local_port))
        async for data, client in front:
            conn = clients.get(client)
            if conn is None:
                try:
                    conn = await anyio.create_connected_udp_socket(target_ip, target_port)
                except OSError:
                    continue
                clients[client] = conn
                tg.start_soon(back_channel, client, conn)
            with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await conn.send(data)


def _family(host_ip: str) -> Literal[socket.AddressFamily.AF_INET, socket.AddressFamily.AF_INET6]:
    return socket.AF_INET6 if ":" in host_ip else socket.AF_INET


def check_port_free(host_ip: str, port: int, proto: str = "tcp") -> None:
    """Raise PortInUseError now if ``host_ip:port/proto`` cannot be bound.

    For failing early, before any container starts; the proxy itself still
    reports a port taken in between.
    """
    family = _family(host_ip)
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(family, kind) as sock:
        if proto == "tcp":  # as the proxy's listener, so TIME_WAIT leftovers do not count
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host_ip, port))
        except OSError as exc:
            raise bind_error(host_ip, port, proto, exc) from exc


def bind_error(host_ip: str, port: int, proto: str, exc: OSError) -> NetworkError:
    """Docker's wording for a failed bind, with the holder of the port when known."""
    shown = f"[{host_ip}]:{port}" if ":" in host_ip else f"{host_ip}:{port}"
    if exc.errno == errno.EADDRINUSE:
        holder = port_holder(host_ip, port, proto)
        suffix = f" (held by pid {holder[0]} {holder[1]})" if holder else ""
        return PortInUseError(f"Bind for {shown} failed: port is already allocated{suffix}")
    reason = (exc.strerror or str(exc)).lower()
    return NetworkError(f"Bind for {shown} failed: {reason}")


def port_holder(host_ip: str, port: int, proto: str = "tcp") -> tuple[int, str] | None:
    """(pid, command name) of a process holding ``port`` bound, or None if not found."""
    inodes = _socket_inodes(host_ip, port, proto)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for pid_dir in sorted(Path("/proc").iterdir(), key=lambda p: p.name):
        if not pid_dir.name.isdigit():
            continue
        try:
            with os.scandir(pid_dir / "fd") as fds:
                if any(_readlink(fd.path) in wanted for fd in fds):
                    return int(pid_dir.name), (pid_dir / "comm").read_text().strip()
        except OSError:
            continue  # gone, or not ours to read
    return None


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:  # the fd was closed meanwhile
        return ""


def _socket_inodes(host_ip: str, port: int, proto: str) -> set[str]:
    state = _TCP_LISTEN if proto == "tcp" else _UDP_UNCONNECTED
    wanted_ip = ip_address(host_ip)
    found: set[str] = set()
    for table in (f"/proc/net/{proto}", f"/proc/net/{proto}6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != state:
                continue
            raw_ip, raw_port = fields[1].split(":")
            if int(raw_port, 16) != port:
                continue
            bound = _decode_ip(raw_ip)
            if bound.is_unspecified or wanted_ip.is_unspecified or bound == wanted_ip:
                found.add(fields[9])
    return found


def _decode_ip(raw: str) -> IPv4Address | IPv6Address:
    """An address as /proc/net/* prints it: 32-bit words, each in host byte order."""
    data = bytes.fromhex(raw)
    if sys.byteorder == "little":
        data = b"".join(data[i : i + 4][::-1] for i in range(0, len(data), 4))
    address = ip_address(data)
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
