"""Compose networks on the host: records, subnets, bridges, addresses.

One Linux bridge per Compose network (``br-<id12>``, as Docker names them),
a subnet for each from the private pools that skips what the host already
routes and what other networks hold, and one address per attached container,
kept in the container's record until it is removed. Allocation happens under
one host-wide lock so two projects never get the same subnet.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import secrets
from collections.abc import Iterator
from typing import Any

from composer.engine import state
from composer.engine.state import Paths
from composer.errors import NetworkError


@contextlib.contextmanager
def ipam_lock(paths: Paths) -> Iterator[None]:
    paths.locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.locks / "_ipam.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def get_network(paths: Paths, name: str) -> dict[str, Any] | None:
    rec = state.read_json(paths.networks / f"{name}.json")
    return rec if isinstance(rec, dict) else None


def ensure_network(
    paths: Paths, name: str, labels: dict[str, str], *, internal: bool = False,
    subnet: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """The network's record, creating record and bridge when missing; True if created."""
    from composer.runtime.net import ipam, links

    with ipam_lock(paths):
        rec = get_network(paths, name)
        created = False
        if rec is None:
            used = [ipaddress.IPv4Network(r["subnet"]) for r in state.network_records(paths)]
            net = ipaddress.IPv4Network(subnet) if subnet else ipam.pick_subnet([*ipam.host_networks(), *used])
            gateway = ipam.gateway_of(net)
            net_id = secrets.token_hex(32)
            rec = {
                "name": name,
                "id": net_id,
                "bridge": f"br-{net_id[:12]}",
                "subnet": str(net),
                "gateway": str(gateway),
                "labels": labels,
                "internal": internal,
                "driver": "bridge",
            }
            state.save_network(paths, rec)
            created = True
        gw = ipaddress.IPv4Interface(f"{rec['gateway']}/{ipaddress.IPv4Network(rec['subnet']).prefixlen}")
        links.ensure_bridge(rec["bridge"], gw)
    return rec, created


def remove_network(paths: Paths, name: str) -> bool:
    """Delete the bridge and the record; refuses while a container is attached."""
    from composer.runtime.net import links

    with ipam_lock(paths):
        rec = get_network(paths, name)
        if rec is None:
            return False
        users = [c["name"] for c in state.container_records(paths) if name in c.get("networks", {})]
        if users:
            raise NetworkError(
                f"error while removing network: network {name} has active endpoints "
                f"({', '.join(users)})"
            )
        links.delete_bridge(rec["bridge"])
        with contextlib.suppress(FileNotFoundError):
            (paths.networks / f"{name}.json").unlink()
    return True


def allocate_address(paths: Paths, network: dict[str, Any], taken: set[str]) -> str:
    """The lowest free address of the network (caller holds ``ipam_lock``)."""
    from composer.runtime.net import ipam

    used = set(taken)
    for rec in state.container_records(paths):
        att = rec.get("networks", {}).get(network["name"])
        if att and att.get("ip"):
            used.add(att["ip"])
    subnet = ipaddress.IPv4Network(network["subnet"])
    addr = ipam.allocate_address(subnet, [ipaddress.IPv4Address(a) for a in used],
                                 ipaddress.IPv4Address(network["gateway"]))
    return str(addr)
