"""The DNS server and the port proxy, reached from real namespaces over a bridge."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest
from dnslib import RCODE, DNSRecord

from composer.errors import NetworkError, PortInUseError
from composer.runtime.net import netns, ports
from composer.runtime.net.dns import DnsServer

if TYPE_CHECKING:
    from conftest import NetLab

pytestmark = [
    pytest.mark.root,
    pytest.mark.anyio,
    pytest.mark.skipif(shutil.which("busybox") is None or shutil.which("nsenter") is None,
                       reason="needs busybox and nsenter (apt-get install busybox-static util-linux)"),
]


def query(path: Path, name: str, server: str, qtype: str = "A", tcp: bool = False) -> DNSRecord:
    """A DNS query sent from inside the namespace at ``path`` (5 s for the answer: a busy machine is slow)."""
    raw = netns.run_in_netns(
        path, lambda: DNSRecord.question(name, qtype).send(server, 53, tcp=tcp, timeout=5))
    return DNSRecord.parse(raw)


async def test_dns_answers_containers_on_their_gateway(lab: NetLab) -> None:
    bridge, subnet = await anyio.to_thread.run_sync(lab.bridge)
    path, client_ip = await anyio.to_thread.run_sync(lab.container, bridge, subnet, 2)
    other, other_subnet = await anyio.to_thread.run_sync(lab.bridge)
    path2, _ = await anyio.to_thread.run_sync(lab.container, other, other_subnet, 2)
    gateway, gateway2 = str(subnet.network_address + 1), str(other_subnet.network_address + 1)
    asked: list[tuple[str, str]] = []

    def resolver(client: str, name: str) -> list[str]:
        asked.append((client, name))
        return {"web": [str(subnet.network_address + 10), str(subnet.network_address + 11)]}.get(
            name, [])

    server = DnsServer()
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            bound = await tg.start(server.serve, [(gateway, 53)], resolver)
            assert bound == [(gateway, 53)]

            nslookup = await anyio.run_process(
                ["nsenter", f"--net={path}", "busybox", "nslookup", "web", gateway], check=False)
            out = nslookup.stdout.decode()
            assert nslookup.returncode == 0, out + nslookup.stderr.decode()
            assert str(subnet.network_address + 10) in out and str(subnet.network_address + 11) in out
            assert (str(client_ip), "web") in asked

            reply = await anyio.to_thread.run_sync(query, path, "web", gateway, "A", True)
            assert len(reply.rr) == 2  # over TCP too
            reply = await anyio.to_thread.run_sync(query, path, "nothing", gateway)
            assert reply.header.rcode == RCODE.NXDOMAIN

            # a network appears, then goes: its listener follows
            assert await server.add_listener((gateway2, 53)) == (gateway2, 53)
            reply = await anyio.to_thread.run_sync(query, path2, "web", gateway2)
            assert reply.header.rcode == RCODE.NOERROR
            await server.remove_listener((gateway2, 53))
            assert server.listeners == [(gateway, 53)]
            with pytest.raises(OSError):  # refused or timed out: nobody listens
                await anyio.to_thread.run_sync(query, path2, "web", gateway2)
            tg.cancel_scope.cancel()


@pytest.fixture
def echo_in_netns(lab: NetLab) -> Iterator[Callable[[int], tuple[str, int]]]:
    """Start upper-casing TCP and UDP echo servers inside a namespace on a bridge."""
    sockets: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(port: int) -> tuple[str, int]:
        bridge, subnet = lab.bridge()
        path, address = lab.container(bridge, subnet, 2)

        def bind() -> tuple[socket.socket, socket.socket]:
            tcp = socket.create_server((str(address), port))
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((str(address), port))
            return tcp, udp

        tcp, udp = netns.run_in_netns(path, bind)  # sockets stay in the namespace
        tcp.settimeout(10)
        udp.settimeout(10)
        sockets.extend([tcp, udp])

        def serve_tcp() -> None:
            try:
                conn, _ = tcp.accept()
                with conn:
                    data = b""
                    while chunk := conn.recv(4096):  # until the client half-closes
                        data += chunk
                    conn.sendall(data.upper())
            except OSError:
                pass

        def serve_udp() -> None:
            try:
                data, peer = udp.recvfrom(4096)
                udp.sendto(data.upper(), peer)
            except OSError:
                pass

        for fn in (serve_tcp, serve_udp):
            thread = threading.Thread(target=fn, daemon=True)
            thread.start()
            threads.append(thread)
        return str(address), port

    yield start
    for sock in sockets:
        with contextlib.suppress(OSError):  # shutdown wakes a thread blocked in accept/recv
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    for thread in threads:
        thread.join(timeout=5)


async def test_tcp_proxy_from_loopback_to_a_container(
    lab: NetLab, echo_in_netns: Callable[[int], tuple[str, int]]
) -> None:
    target_ip, target_port = await anyio.to_thread.run_sync(echo_in_netns, 8000)
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            port = await tg.start(ports.forward_tcp, "127.0.0.1", 0, target_ip, target_port)
            assert port > 0
            async with await anyio.connect_tcp("127.0.0.1", port) as stream:
                await stream.send(b"hello ")
                await stream.send(b"container")
                await stream.send_eof()
                received = b""
                with pytest.raises(anyio.EndOfStream):
                    while True:
                        received += await stream.receive()
            assert received == b"HELLO CONTAINER"
            tg.cancel_scope.cancel()


async def test_udp_proxy_from_loopback_to_a_container(
    lab: NetLab, echo_in_netns: Callable[[int], tuple[str, int]]
) -> None:
    target_ip, target_port = await anyio.to_thread.run_sync(echo_in_netns, 8001)
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            port = await tg.start(ports.forward_udp, "127.0.0.1", 0, target_ip, target_port)
            async with await anyio.create_connected_udp_socket("127.0.0.1", port) as udp:
                await udp.send(b"ping")
                assert await udp.receive() == b"PING"
            tg.cancel_scope.cancel()


async def test_port_in_use_names_port_and_holder(lab: NetLab) -> None:
    comm = Path("/proc/self/comm").read_text().strip()
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        expected = (f"Bind for 127.0.0.1:{port} failed: port is already allocated "
                    f"(held by pid {os.getpid()} {comm})")
        with pytest.raises(PortInUseError) as err:
            ports.check_port_free("127.0.0.1", port)
        assert str(err.value) == expected
        with pytest.raises(PortInUseError) as err:
            await ports.forward_tcp("127.0.0.1", port, "127.0.0.1", 1)
        assert str(err.value) == expected
        with pytest.raises(PortInUseError) as err:  # a wildcard bind collides too
            ports.check_port_free("0.0.0.0", port)
        assert str(err.value).startswith(f"Bind for 0.0.0.0:{port} failed: port is already allocated")
    ports.check_port_free("127.0.0.1", port)  # free again

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held_udp:
        held_udp.bind(("127.0.0.1", 0))
        port = held_udp.getsockname()[1]
        with pytest.raises(PortInUseError, match=rf"\(held by pid {os.getpid()} "):
            await ports.forward_udp("127.0.0.1", port, "127.0.0.1", 1)

    with pytest.raises(NetworkError, match=r"^Bind for 10\.255\.255\.254:80 failed: "
                       r"cannot assign requested address$"):
        ports.check_port_free("10.255.255.254", 80)
