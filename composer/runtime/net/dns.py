"""The embedded DNS server: service names answered per client, on anyio.

Containers find each other by name. The engine runs one ``DnsServer`` (in the
project monitor) listening on each bridge's gateway address, port 53, UDP and
TCP, and points each container's ``resolv.conf`` at its gateway. For every
query the server asks a *resolver*, ``resolver(client_ip, name)``, which
answers with the view of the asking container's networks (service names,
aliases, container names, all replicas); the server only speaks DNS:

- ``A`` (and ``ANY``): every address, rotated one step per query (round robin,
  as Docker does), TTL 600;
- any other type of a known name (``AAAA`` above all): an empty NOERROR
  answer, so musl and busybox resolvers, which ask A and AAAA together, do
  not give up on the name;
- a name the resolver does not know: it returns a :class:`Forward` (an empty
  answer naming upstream servers, or none for the defaults), and the query is
  relayed as is to those servers — by default the host's resolvers, read from
  ``/etc/resolv.conf`` when the server starts — over the client's transport,
  trying each in turn; the upstream's answer goes back unchanged. With no
  upstream (or none answering) the reply is NXDOMAIN (resp. SERVFAIL);
- a plain empty answer: NXDOMAIN.

Listeners come and go with networks: :meth:`DnsServer.add_listener` and
:meth:`DnsServer.remove_listener` work while :meth:`DnsServer.serve` runs, each
listener being its own cancellable task inside the server's task group.
Wire format is dnslib's.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from anyio.abc import Listener, SocketAttribute, SocketStream, TaskGroup, TaskStatus, UDPSocket
from anyio.streams.buffered import BufferedByteReceiveStream
from dnslib import QTYPE, RCODE, RR, A, DNSError, DNSRecord

from composer.errors import NetworkError

log = logging.getLogger(__name__)

Address = tuple[str, int]
#: ``resolver(client_ip, name) -> addresses``; name is lowercased, without the final dot.
#: An empty answer means "unknown name". May be a coroutine function.
Resolver = Callable[[str, str], Sequence[str] | Awaitable[Sequence[str]]]

DEFAULT_TTL = 600
UDP_MAX = 512  # without EDNS0, a UDP answer must fit in 512 bytes (RFC 1035)
TCP_IDLE_TIMEOUT = 10.0
UPSTREAM_TIMEOUT = 2.0


class Forward(list[str]):
    """An empty answer meaning "ask upstream": ``servers`` as ``ip`` or ``ip:port``
    (none: the server's default upstreams)."""

    def __init__(self, servers: Sequence[str] = ()) -> None:
        super().__init__()
        self.servers = tuple(servers)


def parse_server(text: str) -> Address:
    """``1.2.3.4`` or ``1.2.3.4:5353`` (IPv4) as an address; port 53 by default."""
    host, sep, port = text.rpartition(":")
    if sep and host and "." in host and port.isdigit():
        return host, int(port)
    return text, 53


def host_resolvers(path: Path = Path("/etc/resolv.conf")) -> list[Address]:
    """The IPv4 ``nameserver`` lines of a resolv.conf (the host's by default)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver" and ":" not in fields[1]:
            found.append((fields[1], 53))
    return found


@dataclass
class _Listener:
    scope: anyio.CancelScope
    done: anyio.Event = field(default_factory=anyio.Event)


class DnsServer:
    """Answers A queries from a resolver function on any number of addresses."""

    def __init__(self, resolver: Resolver | None = None, ttl: int = DEFAULT_TTL,
                 upstreams: Sequence[Address] | None = None,
                 resolv_conf: Path = Path("/etc/resolv.conf")) -> None:
        self.ttl = ttl
        self._resolver = resolver
        self.upstreams = list(upstreams) if upstreams is not None else host_resolvers(resolv_conf)
        self._tg: TaskGroup | None = None
        self._listeners: dict[Address, _Listener] = {}
        self._rotation: dict[str, int] = {}

    @property
    def listeners(self) -> list[Address]:
        """The addresses served now (with the actual port when 0 was asked)."""
        return sorted(self._listeners)

    async def serve(
        self,
        listen: Sequence[Address],
        resolver: Resolver | None = None,
        *,
        task_status: TaskStatus[list[Address]] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve until cancelled; ``task_status.started`` gets the bound addresses.

        ``resolver`` replaces the one given to the constructor, if any.
        """
        if resolver is not None:
            self._resolver = resolver
        if self._resolver is None:
            raise ValueError("DnsServer.serve needs a resolver")
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                bound = [await self.add_listener(addr) for addr in listen]
                task_status.started(bound)
                await anyio.sleep_forever()
        finally:
            self._tg = None
            self._listeners.clear()

    async def add_listener(self, addr: Address) -> Address:
        """Start answering on ``addr`` (UDP and TCP); returns the bound address.

        Port 0 picks a free port (the same for UDP and TCP). Adding an address
        already served is a no-op. Raises NetworkError if it cannot bind.
        """
        if self._tg is None:
            raise RuntimeError("DnsServer.add_listener called before serve() started")
        if addr in self._listeners:
            return addr
        bound: Address = await self._tg.start(self._run_listener, addr)
        return bound

    async def remove_listener(self, addr: Address) -> None:
        """Stop answering on ``addr`` and wait until its sockets are closed."""
        listener = self._listeners.pop(addr, None)
        if listener is not None:
            listener.scope.cancel()
            await listener.done.wait()

    async def _run_listener(self, addr: Address, *, task_status: TaskStatus[Address]) -> None:
        udp, tcp = await _bind(addr)
        bound = (addr[0], udp.extra(SocketAttribute.local_port))
        listener = _Listener(anyio.CancelScope())
        try:
            with listener.scope:
                async with udp, tcp, anyio.create_task_group() as tg:
                    tg.start_soon(self._serve_udp, udp)
                    tg.start_soon(tcp.serve, self._handle_tcp, tg)
                    self._listeners[bound] = listener
                    task_status.started(bound)
        finally:
            if self._listeners.get(bound) is listener:
                del self._listeners[bound]
            listener.done.set()

    async def _serve_udp(self, udp: UDPSocket) -> None:
        async for packet, (host, port) in udp:
            reply = await self.answer(packet, host, max_size=UDP_MAX, transport="udp")
            if reply is not None:
                with contextlib.suppress(OSError):  # the client went away
                    await udp.sendto(reply, host, port)

    async def _handle_tcp(self, stream: SocketStream) -> None:
        client = stream.extra(SocketAttribute.remote_address)
        client_ip = client[0] if isinstance(client, tuple) else str(client)
        async with stream:
            buffered = BufferedByteReceiveStream(stream)
            with contextlib.suppress(anyio.EndOfStream, anyio.IncompleteRead, OSError):
                while True:
                    with anyio.fail_after(TCP_IDLE_TIMEOUT):
                        size = int.from_bytes(await buffered.receive_exactly(2), "big")
                        packet = await buffered.receive_exactly(size)
                    reply = await self.answer(packet, client_ip, max_size=65535, transport="tcp")
                    if reply is None:
                        return
                    await stream.send(len(reply).to_bytes(2, "big") + reply)

    async def answer(self, packet: bytes, client_ip: str, max_size: int = UDP_MAX,
                     transport: str = "udp") -> bytes | None:
        """The wire answer to one query, or None for garbage not worth a reply."""
        try:
            request = DNSRecord.parse(packet)
        except (DNSError, ValueError, IndexError):
            return None
        reply = request.reply()
        if request.header.qr or request.header.opcode != 0 or len(request.questions) != 1:
            reply.header.rcode = RCODE.NOTIMP if request.header.opcode else RCODE.FORMERR
            return bytes(reply.pack())
        question = request.q
        name = str(question.qname).rstrip(".").lower()
        try:
            result = await self._resolve(client_ip, name)
            if isinstance(result, Forward):
                servers = [parse_server(s) for s in result.servers] or self.upstreams
                if servers:
                    relayed = await self._forward(packet, servers, transport)
                    if relayed is not None:
                        return relayed
                    reply.header.rcode = RCODE.SERVFAIL
                    return bytes(reply.pack())
            addresses = list(result)
        except Exception:
            log.exception("DNS resolver failed for %s from %s", name, client_ip)
            reply.header.rcode = RCODE.SERVFAIL
            return bytes(reply.pack())
        if not addresses:
            reply.header.rcode = RCODE.NXDOMAIN
        elif question.qtype in (QTYPE.A, QTYPE.ANY):
            for address in self._rotate(name, addresses):
                reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(address), ttl=self.ttl))
        return _fit(reply, max_size)

    async def _resolve(self, client_ip: str, name: str) -> Sequence[str]:
        if self._resolver is None:
            raise RuntimeError("DnsServer has no resolver")
        result = self._resolver(client_ip, name)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _forward(self, packet: bytes, servers: Sequence[Address], transport: str) -> bytes | None:
        """The first upstream answer to ``packet``, relayed unchanged (None: nobody answered)."""
        for host, port in servers:
            with contextlib.suppress(OSError, TimeoutError, anyio.EndOfStream, anyio.IncompleteRead,
                                     anyio.BrokenResourceError):
                with anyio.fail_after(UPSTREAM_TIMEOUT):
                    if transport == "tcp":
                        async with await anyio.connect_tcp(host, port) as stream:
                            await stream.send(len(packet).to_bytes(2, "big") + packet)
                            buffered = BufferedByteReceiveStream(stream)
                            size = int.from_bytes(await buffered.receive_exactly(2), "big")
                            return await buffered.receive_exactly(size)
                    async with await anyio.create_connected_udp_socket(host, port) as udp:
                        await udp.send(packet)
                        while True:
                            data = await udp.receive()
                            if data[:2] == packet[:2]:  # same query id
                                return data
        return None

    def _rotate(self, name: str, addresses: list[str]) -> list[str]:
        turn = self._rotation.get(name, 0) % len(addresses)
        self._rotation[name] = turn + 1
        return addresses[turn:] + addresses[:turn]


def _fit(reply: DNSRecord, max_size: int) -> bytes:
    """Pack, dropping answers and setting TC when too big for the transport."""
    packed = bytes(reply.pack())
    while len(packed) > max_size and reply.rr:
        reply.rr.pop()
        reply.header.tc = 1
        packed = bytes(reply.pack())
    return packed


async def _bind(addr: Address) -> tuple[UDPSocket, Listener[SocketStream]]:
    host, port = addr
    try:
        udp = await anyio.create_udp_socket(socket.AF_INET, local_host=host, local_port=port)
    except OSError as exc:
        raise _bind_error(addr, "udp", exc) from exc
    actual = udp.extra(SocketAttribute.local_port)
    try:
        tcp = await anyio.create_tcp_listener(local_host=host, local_port=actual)
    except OSError as exc:
        await udp.aclose()
        raise _bind_error((host, actual), "tcp", exc) from exc
    return udp, tcp


def _bind_error(addr: Address, proto: str, exc: OSError) -> NetworkError:
    reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
    return NetworkError(f"DNS server: cannot listen on {addr[0]}:{addr[1]}/{proto}: {reason}")
