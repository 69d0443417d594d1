"""IP address management: a subnet per network, an address per container.

Subnets come from Docker's default address pools, in Docker's order, so users
see the addresses they are used to::

    172.17.0.0/16 … 172.31.0.0/16   (one /16 each)
    192.168.0.0/16                  (split into /20s: 192.168.0.0/20, 192.168.16.0/20, …)

A candidate is skipped when it overlaps anything the host already routes or
holds an address in (read over netlink, the default route excluded) or a
subnet the caller already uses. Within a subnet the gateway is the first host
address and containers get the lowest free one, never the network, gateway
or broadcast address. Everything but :func:`host_networks` is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from ipaddress import IPv4Address, IPv4Network

from composer.errors import NetworkError

#: (pool, size of the subnets cut from it), as Docker's default-address-pools
DEFAULT_POOLS: tuple[tuple[IPv4Network, int], ...] = (
    *((IPv4Network(f"172.{n}.0.0/16"), 16) for n in range(17, 32)),
    (IPv4Network("192.168.0.0/16"), 20),
)


def candidate_subnets(
    pools: Iterable[tuple[IPv4Network, int]] = DEFAULT_POOLS,
) -> Iterator[IPv4Network]:
    """Every subnet of the pools, in allocation order."""
    for pool, size in pools:
        yield from pool.subnets(new_prefix=size)


def pick_subnet(
    used: Iterable[IPv4Network],
    pools: Iterable[tuple[IPv4Network, int]] = DEFAULT_POOLS,
) -> IPv4Network:
    """The first pool subnet overlapping nothing in ``used``.

    Pass ``[*host_networks(), *subnets_of_existing_networks]`` as ``used``.
    """
    taken = list(used)
    for subnet in candidate_subnets(pools):
        if not any(subnet.overlaps(other) for other in taken):
            return subnet
    raise NetworkError(
        "could not find an available, non-overlapping IPv4 address pool "
        "among the defaults to assign to the network"
    )


def gateway_of(subnet: IPv4Network) -> IPv4Address:
    """The gateway of a subnet: its first host address (172.18.0.1 for 172.18.0.0/16)."""
    if subnet.num_addresses < 4:
        raise NetworkError(f"subnet {subnet} is too small for a gateway and a container")
    return subnet.network_address + 1


def allocate_address(
    subnet: IPv4Network,
    used: Iterable[IPv4Address],
    gateway: IPv4Address | None = None,
) -> IPv4Address:
    """The lowest address of ``subnet`` that is not network, gateway, broadcast or used."""
    reserved = {*used, gateway if gateway is not None else gateway_of(subnet)}
    for address in subnet.hosts():
        if address not in reserved:
            return address
    raise NetworkError(f"no available IPv4 addresses on network {subnet}")


def host_networks() -> list[IPv4Network]:
    """IPv4 networks the host routes or has addresses in, the default route excluded.

    Read from netlink in the caller's network namespace (blocking; call from a
    worker thread in async code). Sorted, without duplicates.
    """
    from composer.runtime.net.rtnl import Rtnl

    found: set[IPv4Network] = set()
    with Rtnl() as nl:
        for dst, plen in nl.routes():  # main table
            if dst is not None and plen > 0:
                found.add(IPv4Network(f"{dst}/{plen}", strict=False))
        for _, ip, plen in nl.addresses():
            if not ip.is_loopback:
                found.add(IPv4Network(f"{ip}/{plen}", strict=False))
    return sorted(found)
