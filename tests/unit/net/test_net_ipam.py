"""IPAM pure logic: Docker's pools in Docker's order, overlaps skipped, lowest free address."""

from ipaddress import IPv4Address, IPv4Network

import pytest

from composer.errors import NetworkError
from composer.runtime.net import ipam


def test_first_pick_is_docker_default_bridge_range() -> None:
    assert ipam.pick_subnet([]) == IPv4Network("172.17.0.0/16")


def test_pick_skips_used_and_overlapping_host_routes() -> None:
    used = [IPv4Network("172.17.0.0/16"), IPv4Network("172.18.5.0/24")]
    assert ipam.pick_subnet(used) == IPv4Network("172.19.0.0/16")


def test_pick_moves_to_192_168_in_slash_20s_after_172_31() -> None:
    used = [IPv4Network("172.16.0.0/12"), IPv4Network("192.168.0.0/24")]
    assert ipam.pick_subnet(used) == IPv4Network("192.168.16.0/20")


def test_pool_order_and_size() -> None:
    subnets = list(ipam.candidate_subnets())
    assert subnets[0] == IPv4Network("172.17.0.0/16")
    assert subnets[14] == IPv4Network("172.31.0.0/16")
    assert subnets[15] == IPv4Network("192.168.0.0/20")
    assert subnets[-1] == IPv4Network("192.168.240.0/20")
    assert len(subnets) == 15 + 16


def test_exhausted_pools_say_so() -> None:
    with pytest.raises(NetworkError, match="non-overlapping IPv4 address pool"):
        ipam.pick_subnet([IPv4Network("0.0.0.0/0")])


def test_gateway_is_first_host() -> None:
    assert ipam.gateway_of(IPv4Network("172.18.0.0/16")) == IPv4Address("172.18.0.1")


def test_allocate_skips_network_gateway_and_used() -> None:
    subnet = IPv4Network("10.9.0.0/29")
    used = [IPv4Address("10.9.0.2"), IPv4Address("10.9.0.4")]
    assert ipam.allocate_address(subnet, used) == IPv4Address("10.9.0.3")


def test_allocate_never_hands_out_broadcast() -> None:
    subnet = IPv4Network("10.9.0.0/30")  # .0 network, .1 gateway, .2 free, .3 broadcast
    assert ipam.allocate_address(subnet, []) == IPv4Address("10.9.0.2")
    with pytest.raises(NetworkError, match=r"^no available IPv4 addresses on network 10.9.0.0/30$"):
        ipam.allocate_address(subnet, [IPv4Address("10.9.0.2")])


def test_allocate_with_explicit_gateway() -> None:
    subnet = IPv4Network("10.9.0.0/24")
    gateway = IPv4Address("10.9.0.254")
    assert ipam.allocate_address(subnet, [], gateway=gateway) == IPv4Address("10.9.0.1")
