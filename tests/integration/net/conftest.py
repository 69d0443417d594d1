"""A lab of uniquely named bridges and namespaces, torn down whatever happens.

Every name carries a random suffix (interface names fit Linux's 15 characters),
subnets are random /24s of 10.0.0.0/8 that overlap nothing on the host, and
traffic only flows between what the test itself created, or to loopback.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import subprocess
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest

from composer.runtime.net import ipam, links, netns

ROOT_REASON = "needs root: creates real network namespaces, bridges and veths"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class NetLab:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.tag = secrets.token_hex(3)  # 6 hex chars
        self.bridges: list[str] = []
        self.namespaces: list[Path] = []
        self.veths: list[str] = []
        self._used = list(ipam.host_networks())

    def subnet(self) -> IPv4Network:
        for _ in range(100):
            candidate = IPv4Network(f"10.{random.randint(100, 250)}.{random.randint(0, 255)}.0/24")
            if not any(candidate.overlaps(u) for u in self._used):
                self._used.append(candidate)
                return candidate
        raise AssertionError("no free test subnet")

    def bridge(self) -> tuple[str, IPv4Network]:
        name = f"ctb{self.tag}{len(self.bridges)}"
        subnet = self.subnet()
        self.bridges.append(name)
        links.ensure_bridge(name, IPv4Interface(f"{ipam.gateway_of(subnet)}/{subnet.prefixlen}"))
        return name, subnet

    def container(self, bridge: str, subnet: IPv4Network, host_number: int) -> tuple[Path, IPv4Address]:
        path = self.tmp / "netns" / f"c{len(self.namespaces)}"
        self.namespaces.append(path)
        netns.create_netns(path)
        veth = f"ctv{self.tag}{len(self.veths)}"
        self.veths.append(veth)
        address = subnet.network_address + host_number
        links.connect(path, bridge, veth, IPv4Interface(f"{address}/{subnet.prefixlen}"),
                      ipam.gateway_of(subnet))
        return path, address

    def teardown(self) -> None:
        for veth in self.veths:
            with contextlib.suppress(Exception):
                links.disconnect(veth)
        for path in self.namespaces:
            with contextlib.suppress(Exception):
                netns.delete_netns(path)
        for bridge in self.bridges:
            with contextlib.suppress(Exception):
                links.delete_bridge(bridge)

    def run(self, path: Path, *argv: str, timeout: float = 5) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace at ``path`` (bounded in time)."""
        return subprocess.run(["nsenter", f"--net={path}", *argv], capture_output=True,
                              text=True, timeout=timeout, check=False)

    def leftovers(self) -> list[str]:
        left = [*links.list_links(f"ctb{self.tag}"), *links.list_links(f"ctv{self.tag}")]
        mounts = Path("/proc/self/mountinfo").read_text()
        left += [str(p) for p in self.namespaces if str(p) in mounts or p.exists()]
        return left


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[NetLab]:
    if os.geteuid() != 0:
        pytest.skip(ROOT_REASON)
    lab = NetLab(tmp_path)
    try:
        yield lab
    finally:
        lab.teardown()
    assert lab.leftovers() == []
