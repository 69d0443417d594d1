"""Bridges, veths and namespaces on the real kernel."""

from __future__ import annotations

import os
import shutil
import statistics
import time
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from composer.errors import NetworkError
from composer.runtime.net import links, netns

if TYPE_CHECKING:
    from conftest import NetLab

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(shutil.which("busybox") is None or shutil.which("nsenter") is None,
                       reason="needs busybox and nsenter (apt-get install busybox-static util-linux)"),
]


def ping(lab: NetLab, path: Path, address: IPv4Address, wait: int = 5) -> bool:
    """One echo request; ``wait`` s for its reply (loose for a positive check on a busy machine)."""
    return lab.run(path, "busybox", "ping", "-c1", f"-W{wait}", str(address), timeout=wait + 10).returncode == 0


def test_netns_is_separate_and_has_loopback_up(lab: NetLab) -> None:
    path = lab.tmp / "netns" / "solo"
    lab.namespaces.append(path)
    netns.create_netns(path)
    assert netns.is_netns(path)
    assert netns.run_in_netns(path, os.readlink, "/proc/thread-self/ns/net") != os.readlink(
        "/proc/thread-self/ns/net")
    assert "lo" in lab.run(path, "busybox", "ip", "-o", "link", "show", "up").stdout
    with pytest.raises(NetworkError, match="already exists"):
        netns.create_netns(path)
    netns.delete_netns(path)
    netns.delete_netns(path)  # idempotent
    assert not path.exists()


def test_containers_on_one_bridge_reach_each_other_not_another_bridge(lab: NetLab) -> None:
    bridge, subnet = lab.bridge()
    other_bridge, other_subnet = lab.bridge()
    a, _ = lab.container(bridge, subnet, 2)
    b, b_ip = lab.container(bridge, subnet, 3)
    _, c_ip = lab.container(other_bridge, other_subnet, 2)
    assert links.bridge_exists(bridge)

    assert ping(lab, a, b_ip), "same bridge must be reachable"
    assert ping(lab, b, subnet.network_address + 1), "gateway must be reachable"
    # isolation between bridges holds because the host does not route (ip_forward=0);
    # composer never enables it.
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "0"
    assert not ping(lab, a, c_ip, wait=1), "another bridge must not be reachable"


def test_address_mac_route_inside(lab: NetLab) -> None:
    bridge, subnet = lab.bridge()
    path = lab.tmp / "netns" / "m"
    lab.namespaces.append(path)
    netns.create_netns(path)
    veth = f"ctv{lab.tag}m"
    lab.veths.append(veth)
    address = IPv4Interface(f"{subnet.network_address + 7}/{subnet.prefixlen}")
    links.connect(path, bridge, veth, address, subnet.network_address + 1,
                  mac="02:42:ac:11:00:07", mtu=1400)
    shown = lab.run(path, "busybox", "ip", "addr", "show", "eth0").stdout
    assert str(address) in shown and "02:42:ac:11:00:07" in shown and "mtu 1400" in shown
    route = lab.run(path, "busybox", "ip", "route").stdout
    assert f"default via {subnet.network_address + 1} dev eth0" in route
    assert links.list_links(veth) == [veth]
    links.disconnect(veth)
    links.disconnect(veth)  # idempotent
    assert links.list_links(veth) == []
    assert "eth0" not in lab.run(path, "busybox", "ip", "link").stdout  # the pair went together


def test_failed_connect_names_interface_and_leaves_nothing(lab: NetLab) -> None:
    bridge, subnet = lab.bridge()
    path, _ = lab.container(bridge, subnet, 2)
    veth = f"ctv{lab.tag}x"
    lab.veths.append(veth)
    with pytest.raises(NetworkError, match=rf"^create veth {veth} \(peer eth0 in .*\): File exists$"):
        links.connect(path, bridge, veth, IPv4Interface(f"{subnet.network_address + 9}/24"), None,
                      container_ifname="eth0")
    with pytest.raises(NetworkError, match=rf"^connect {veth}: bridge nobr{lab.tag} does not exist$"):
        links.connect(path, f"nobr{lab.tag}", veth, IPv4Interface("10.1.1.1/24"), None)
    # a failure inside the namespace comes after the pair exists: the pair is removed
    bare = lab.tmp / "netns" / "bare"
    lab.namespaces.append(bare)
    netns.create_netns(bare)
    with pytest.raises(NetworkError, match=r"^add default route via 10\.255\.255\.254 on eth0: "
                       r"Network is unreachable$"):
        links.connect(bare, bridge, veth, IPv4Interface(f"{subnet.network_address + 5}/24"),
                      IPv4Address("10.255.255.254"))
    assert links.list_links(veth) == []


def test_bridge_is_idempotent_and_name_checked(lab: NetLab) -> None:
    bridge, subnet = lab.bridge()
    gateway = IPv4Interface(f"{subnet.network_address + 1}/{subnet.prefixlen}")
    links.ensure_bridge(bridge, gateway)
    with pytest.raises(NetworkError, match="invalid interface name"):
        links.ensure_bridge("x" * 16, gateway)
    links.delete_bridge(bridge)
    links.delete_bridge(bridge)
    assert not links.bridge_exists(bridge)


def test_bridge_netfilter_is_only_read(lab: NetLab) -> None:
    before = Path("/proc/sys/net/bridge/bridge-nf-call-iptables").read_text() if Path(
        "/proc/sys/net/bridge/bridge-nf-call-iptables").exists() else None
    state = links.bridge_netfilter_state()
    assert state.call_iptables == (None if before is None else before.strip() == "1")
    if state.may_drop:
        pytest.skip("br_netfilter and iptables active: inter-container traffic depends on FORWARD")


def test_cost_of_create_netns_and_connect(lab: NetLab) -> None:
    bridge, subnet = lab.bridge()
    costs = []
    for n in range(10):
        start = time.perf_counter()
        lab.container(bridge, subnet, 10 + n)
        costs.append(time.perf_counter() - start)
    assert statistics.median(costs) < 0.5  # measured ~12 ms; generous for loaded CI
