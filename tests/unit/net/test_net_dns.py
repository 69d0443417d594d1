"""DNS answers, without sockets: the wire format in and out of DnsServer.answer."""

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from composer.runtime.net.dns import DnsServer

TABLE = {"web": ["172.18.0.2", "172.18.0.3"], "db": ["172.18.0.4"]}
seen: list[tuple[str, str]] = []


def resolver(client: str, name: str) -> list[str]:
    seen.append((client, name))
    return TABLE.get(name, [])


async def ask(server: DnsServer, name: str, qtype: str = "A", max_size: int = 512) -> DNSRecord:
    raw = await server.answer(DNSRecord.question(name, qtype).pack(), "172.18.0.9", max_size)
    assert raw is not None
    return DNSRecord.parse(raw)


def addresses(reply: DNSRecord) -> list[str]:
    return [str(rr.rdata) for rr in reply.rr]


@pytest.mark.anyio
async def test_a_records_round_robin_with_ttl() -> None:
    server = DnsServer(resolver)
    first = await ask(server, "web")
    second = await ask(server, "Web.")
    assert first.header.rcode == RCODE.NOERROR
    assert addresses(first) == ["172.18.0.2", "172.18.0.3"]
    assert addresses(second) == ["172.18.0.3", "172.18.0.2"]
    assert {rr.ttl for rr in first.rr} == {600}
    assert seen[-1] == ("172.18.0.9", "web")


@pytest.mark.anyio
async def test_aaaa_of_known_name_is_empty_noerror() -> None:
    reply = await ask(DnsServer(resolver), "db", "AAAA")
    assert reply.header.rcode == RCODE.NOERROR
    assert reply.rr == []


@pytest.mark.anyio
async def test_unknown_name_is_nxdomain() -> None:
    reply = await ask(DnsServer(resolver), "example.com")
    assert reply.header.rcode == RCODE.NXDOMAIN


@pytest.mark.anyio
async def test_async_resolver_and_failure_is_servfail() -> None:
    async def good(client: str, name: str) -> list[str]:
        return ["10.0.0.7"]

    def bad(client: str, name: str) -> list[str]:
        raise KeyError(name)

    assert addresses(await ask(DnsServer(good), "x")) == ["10.0.0.7"]
    assert (await ask(DnsServer(bad), "x")).header.rcode == RCODE.SERVFAIL


@pytest.mark.anyio
async def test_too_many_replicas_for_udp_sets_truncated() -> None:
    many = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(100)]
    server = DnsServer(lambda client, name: many)
    udp = await ask(server, "svc")
    assert udp.header.tc == 1
    assert 0 < len(udp.rr) < 100
    tcp = await ask(server, "svc", max_size=65535)
    assert tcp.header.tc == 0 and len(tcp.rr) == 100


@pytest.mark.anyio
async def test_garbage_gets_no_answer() -> None:
    assert await DnsServer(resolver).answer(b"\x00\x01", "1.2.3.4") is None


@pytest.mark.anyio
async def test_other_types_of_known_name_are_empty() -> None:
    reply = await ask(DnsServer(resolver), "web", "MX")
    assert reply.header.rcode == RCODE.NOERROR and reply.rr == []
    assert reply.q.qtype == QTYPE.MX
