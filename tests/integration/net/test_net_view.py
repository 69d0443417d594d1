"""The DNS view of a container, upstream forwarding, and the name-resolution files.

Pure logic (``dns_view``, ``attach`` helpers) plus the DNS server's forwarding
against fake upstream servers on loopback: no real resolver is ever asked.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from dnslib import QTYPE, RR, A, DNSRecord

from composer.engine import attach, dns_view
from composer.runtime.net import dns
from composer.runtime.net.dns import DnsServer, Forward, host_resolvers, parse_server


def _rec(name: str, ip: str, net: str = "p_default", aliases: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    att = {"ip": ip, "aliases": list(aliases), **extra}
    return {"name": name, "hostname": f"h-{name}", "networks": {net: att}}


RECORDS = {
    "a" * 64: _rec("p-web-1", "10.0.0.2", aliases=("web",), links=[["api", "backend"]], dns=["10.9.9.9"]),
    "b" * 64: _rec("p-api-1", "10.0.0.3", aliases=("api", "apis")),
    "c" * 64: _rec("p-api-2", "10.0.0.4", aliases=("api", "apis")),
    "d" * 64: _rec("p-db-1", "10.1.0.2", net="p_db", aliases=("db",)),
    "e" * 64: _rec("p-gone-1", "10.0.0.9", aliases=("gone",)),
}
RUNNING = {"a" * 64, "b" * 64, "c" * 64, "d" * 64}


@pytest.mark.parametrize(("name", "expected"), [
    ("api", ["10.0.0.3", "10.0.0.4"]),          # every replica
    ("apis", ["10.0.0.3", "10.0.0.4"]),         # network alias
    ("p-api-2", ["10.0.0.4"]),                  # container name
    ("h-p-api-1", ["10.0.0.3"]),                # hostname
    ("b" * 12, ["10.0.0.3"]),                   # short id
    ("backend", ["10.0.0.3", "10.0.0.4"]),      # the asker's links alias
    ("api.p_default", ["10.0.0.3", "10.0.0.4"]),  # <name>.<network>
    ("db", []),                                 # another network: invisible
    ("gone", []),                               # not running
])
def test_view_of_a_container(name: str, expected: list[str]) -> None:
    answer = dns_view.lookup(RECORDS, RUNNING, "10.0.0.2", name)
    assert list(answer) == expected
    assert not isinstance(answer, Forward)


def test_unknown_dotted_names_are_forwarded_to_the_askers_servers() -> None:
    answer = dns_view.lookup(RECORDS, RUNNING, "10.0.0.2", "example.org")
    assert isinstance(answer, Forward) and answer.servers == ("10.9.9.9",) and not answer
    other = dns_view.lookup(RECORDS, RUNNING, "10.0.0.3", "example.org")
    assert isinstance(other, Forward) and other.servers == ()  # the server's defaults
    assert isinstance(dns_view.lookup(RECORDS, RUNNING, "192.0.2.1", "example.org"), Forward)


def test_links_are_seen_only_by_the_linking_container() -> None:
    assert list(dns_view.lookup(RECORDS, RUNNING, "10.0.0.3", "backend")) == []


def test_extra_hosts_and_resolv_conf() -> None:
    svc = SimpleNamespace(name="s", extra_hosts=["gw.test=host-gateway", "a.test:10.1.2.3", "v6.test=::1"])
    assert attach.extra_hosts(svc, "172.18.0.1") == [  # type: ignore[arg-type]
        ("172.18.0.1", ["gw.test"]), ("10.1.2.3", ["a.test"]), ("::1", ["v6.test"])]
    assert attach.extra_hosts(SimpleNamespace(name="s", extra_hosts={"m.test": ["10.0.0.1", "10.0.0.2"]}),  # type: ignore[arg-type]
                              None) == [("10.0.0.1", ["m.test"]), ("10.0.0.2", ["m.test"])]
    assert attach.resolv_conf(["172.18.0.1"], ["x.test"], ["timeout:1"]).splitlines()[1:] == [
        "nameserver 172.18.0.1", "search x.test", "options timeout:1 ndots:0"]
    assert attach.resolv_conf(["1.1.1.1"], [], ["ndots:3"]).splitlines()[-1] == "options ndots:3"


def test_default_route_prefers_gw_priority_and_never_internal() -> None:
    nets = {"a": {"gw_priority": 0, "internal": True}, "b": {"gw_priority": 0, "internal": False},
            "c": {"gw_priority": 5, "internal": False}}
    attach._choose_default_route(nets)
    assert [n for n, a in nets.items() if a["default_route"]] == ["c"]
    only_internal = {"a": {"gw_priority": 9, "internal": True}}
    attach._choose_default_route(only_internal)
    assert only_internal["a"]["default_route"] is False


def test_host_resolvers_and_server_syntax(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("# x\nnameserver 10.255.255.53\nnameserver fe80::1\nsearch a\nnameserver 127.0.0.53\n")
    assert host_resolvers(conf) == [("10.255.255.53", 53), ("127.0.0.53", 53)]
    assert host_resolvers(tmp_path / "missing") == []
    assert parse_server("10.0.0.1") == ("10.0.0.1", 53)
    assert parse_server("10.0.0.1:5353") == ("10.0.0.1", 5353)


class FakeUpstream:
    """Answers every A query with 10.9.9.9, over UDP and TCP on a loopback port."""

    def __init__(self) -> None:
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.udp.getsockname()[1]
        self.tcp = socket.socket()
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen()
        self.asked: list[tuple[str, str]] = []
        for target in (self._serve_udp, self._serve_tcp):
            threading.Thread(target=target, daemon=True).start()

    def _reply(self, data: bytes, transport: str) -> bytes:
        query = DNSRecord.parse(data)
        self.asked.append((str(query.q.qname), transport))
        reply = query.reply()
        reply.add_answer(RR(query.q.qname, QTYPE.A, rdata=A("10.9.9.9"), ttl=5))
        return bytes(reply.pack())

    def _serve_udp(self) -> None:
        while True:
            try:
                data, peer = self.udp.recvfrom(512)
            except OSError:
                return
            self.udp.sendto(self._reply(data, "udp"), peer)

    def _serve_tcp(self) -> None:
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                size = int.from_bytes(conn.recv(2), "big")
                reply = self._reply(conn.recv(size), "tcp")
                conn.sendall(len(reply).to_bytes(2, "big") + reply)

    def close(self) -> None:
        self.udp.close()
        self.tcp.close()


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_forwarding_to_default_and_per_container_upstreams(upstream: FakeUpstream,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dns, "UPSTREAM_TIMEOUT", 0.3)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # an upstream that never answers
    silent.bind(("127.0.0.1", 0))

    def resolve(client: str, name: str) -> list[str]:
        if name == "local":
            return ["10.0.0.7"]
        if client == "127.0.0.2":
            return Forward([f"127.0.0.1:{silent.getsockname()[1]}", f"127.0.0.1:{upstream.port}"])
        return Forward() if "." in name else []

    server = DnsServer(resolve, upstreams=[("127.0.0.1", upstream.port)])
    q = DNSRecord.question("far.example.test")
    with silent:
        async with anyio.create_task_group() as tg:
            await tg.start(server.serve, [])
            udp = DNSRecord.parse(await server.answer(bytes(q.pack()), "127.0.0.1", transport="udp") or b"")
            tcp = DNSRecord.parse(await server.answer(bytes(q.pack()), "127.0.0.1", transport="tcp") or b"")
            mine = DNSRecord.parse(await server.answer(bytes(q.pack()), "127.0.0.2") or b"")
            bare = DNSRecord.parse(await server.answer(bytes(DNSRecord.question("nope").pack()), "127.0.0.1")
                                   or b"")
            local = DNSRecord.parse(await server.answer(bytes(DNSRecord.question("local").pack()), "127.0.0.1")
                                    or b"")
            tg.cancel_scope.cancel()
    for reply in (udp, tcp, mine):
        assert reply.header.id == q.header.id and str(reply.a.rdata) == "10.9.9.9"
    assert upstream.asked == [("far.example.test.", "udp"), ("far.example.test.", "tcp"),
                              ("far.example.test.", "udp")]
    assert bare.header.rcode == 3 and local.a.rdata == A("10.0.0.7")  # NXDOMAIN, and no forwarding


@pytest.mark.anyio
async def test_no_upstream_answering_is_servfail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dns, "UPSTREAM_TIMEOUT", 0.3)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    with silent:
        server = DnsServer(lambda c, n: Forward(), upstreams=[silent.getsockname()])
        reply = await server.answer(bytes(DNSRecord.question("x.test").pack()), "127.0.0.1")
    assert DNSRecord.parse(reply or b"").header.rcode == 2


def test_view_follows_a_new_running_set() -> None:
    assert list(dns_view.lookup(RECORDS, RUNNING, "10.0.0.2", "gone")) == []
    started = RUNNING | {"e" * 64}
    assert list(dns_view.lookup(RECORDS, started, "10.0.0.2", "gone")) == ["10.0.0.9"]
    stopped = RUNNING - {"c" * 64}
    assert list(dns_view.lookup(RECORDS, stopped, "10.0.0.2", "api")) == ["10.0.0.3"]
