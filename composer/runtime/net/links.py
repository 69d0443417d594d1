"""Bridges and veth pairs, over netlink (pyroute2).

A Compose network is a Linux bridge in the host namespace holding the
gateway address (``172.18.0.1/16``). Each container attached to it gets a veth
pair: the host end is enslaved to the bridge, the peer is created directly in
the container's namespace under its final name (``eth0``), so no interface
named ``eth0`` ever appears on the host and no rename race exists. Deleting
the host end deletes the pair, whatever became of the namespace.

Bridged traffic between two containers on the same bridge never needs
``ip_forward`` (it is layer 2). It does cross netfilter when ``br_netfilter`` is
active (``/proc/sys/net/bridge/bridge-nf-call-iptables`` = 1): then an iptables
``FORWARD`` policy of ``DROP`` (what Docker itself sets) silently drops it. We
never change the host firewall; :func:`bridge_netfilter_state` reports the
situation so the engine can warn. It only sees legacy iptables tables
(``/proc/net/ip_tables_names``); nftables rulesets are not inspected. Traffic
from the host to a container's address is local delivery through the bridge
and is unaffected.

Isolation *between* bridges needs no rule as long as the host does not route
(``net.ipv4.ip_forward`` = 0, which composer changes only when outbound NAT
is asked for): a packet from one bridge's subnet to another's reaches the host
and goes no further. With forwarding on, the network's nftables table
(``nat.py``) drops what would cross between bridges, as Docker's isolation
chains do.

All functions are blocking: call them from a worker thread in async code
(``anyio.to_thread.run_sync``). pyroute2's synchronous API runs its own event
loop and must not be called on a thread that already runs one.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

from composer.errors import NetworkError
from composer.runtime.net.netns import run_in_netns

IFNAMSIZ = 15  # usable characters of an interface name (16 with the NUL)


@contextlib.contextmanager
def _iproute() -> Iterator[Any]:
    from pyroute2 import IPRoute

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:  # pyroute2's sync API would try to run_until_complete on this loop
        raise RuntimeError("links: blocking netlink call on an event loop thread; use a worker")
    ipr = IPRoute()
    try:
        yield ipr
    finally:
        ipr.close()


def _netlink_error(action: str, ifname: str, exc: Exception) -> NetworkError:
    code = getattr(exc, "code", None)
    reason = os.strerror(code) if isinstance(code, int) and code > 0 else str(exc)
    return NetworkError(f"{action} {ifname}: {reason}")


def _check_name(ifname: str) -> None:
    if not ifname or len(ifname) > IFNAMSIZ or "/" in ifname or ifname.strip() != ifname:
        raise NetworkError(f"invalid interface name {ifname!r} (1 to {IFNAMSIZ} characters)")


def _index(ipr: Any, ifname: str) -> int | None:
    found = ipr.link_lookup(ifname=ifname)
    return int(found[0]) if found else None


def _kind(ipr: Any, index: int) -> str | None:
    link = ipr.get_links(index)[0]
    info = link.get_attr("IFLA_LINKINFO")
    return None if info is None else info.get_attr("IFLA_INFO_KIND")


def bridge_exists(name: str) -> bool:
    """True when a bridge of that name exists in the host namespace."""
    with _iproute() as ipr:
        index = _index(ipr, name)
        return index is not None and _kind(ipr, index) == "bridge"


def ensure_bridge(name: str, gateway: IPv4Interface, mtu: int = 1500) -> None:
    """Create (or complete) the bridge ``name`` with address ``gateway``, and up.

    Idempotent: an existing bridge keeps its other addresses; a link of that
    name that is not a bridge is an error.
    """
    _check_name(name)
    from pyroute2 import NetlinkError

    with _iproute() as ipr:
        try:
            index = _index(ipr, name)
            if index is None:
                try:
                    ipr.link("add", ifname=name, kind="bridge", mtu=mtu)
                except NetlinkError as exc:
                    if exc.code != errno.EEXIST:  # created concurrently: fine
                        raise
                index = _index(ipr, name)
            if index is None or _kind(ipr, index) != "bridge":
                raise NetworkError(f"create bridge {name}: a non-bridge interface has that name")
            if not _mac_is_fixed(name):
                # A bridge whose MAC was never set takes the lowest MAC of its ports, so it
                # changes as containers come and go, and containers whose ARP cache holds the
                # old one lose the gateway (and DNS) for seconds. Docker fixes it the same way.
                ipr.link("set", index=index, address=random_mac())
            have = {
                (a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                for a in ipr.get_addr(index=index, family=2)
            }
            if (str(gateway.ip), gateway.network.prefixlen) not in have:
                try:
                    ipr.addr(
                        "add", index=index, address=str(gateway.ip),
                        prefixlen=gateway.network.prefixlen,
                        broadcast=str(gateway.network.broadcast_address),
                    )
                except NetlinkError as exc:
                    if exc.code != errno.EEXIST:
                        raise
            ipr.link("set", index=index, state="up")
        except NetlinkError as exc:
            raise _netlink_error("create bridge", name, exc) from exc


def set_group(name: str, group: int) -> None:
    """Put the interface in an interface group (nftables matches ``iifgroup``/``oifgroup``)."""
    from pyroute2 import NetlinkError

    with _iproute() as ipr:
        index = _index(ipr, name)
        if index is None:
            raise NetworkError(f"set group of {name}: no such interface")
        try:
            ipr.link("set", index=index, group=group)
        except NetlinkError as exc:
            raise _netlink_error("set group of", name, exc) from exc


def random_mac() -> str:
    """A random locally administered unicast MAC address."""
    octets = bytearray(os.urandom(6))
    octets[0] = (octets[0] & 0xFC) | 0x02
    return ":".join(f"{b:02x}" for b in octets)


def _mac_is_fixed(name: str) -> bool:
    try:  # NET_ADDR_SET: the address was set by user space
        return Path(f"/sys/class/net/{name}/addr_assign_type").read_text().strip() == "3"
    except OSError:
        return False


def delete_bridge(name: str) -> None:
    """Delete the bridge; a missing one is not an error. Its veths are released."""
    from pyroute2 import NetlinkError

    with _iproute() as ipr:
        index = _index(ipr, name)
        if index is None:
            return
        if _kind(ipr, index) != "bridge":
            raise NetworkError(f"delete bridge {name}: not a bridge")
        try:
            ipr.link("del", index=index)
        except NetlinkError as exc:
            if exc.code != errno.ENODEV:
                raise _netlink_error("delete bridge", name, exc) from exc


@dataclass(frozen=True)
class _Peer:
    ifname: str
    address: IPv4Interface
    gateway: IPv4Address | None
    mac: str | None
    mtu: int


def connect(
    netns_path: Path,
    bridge: str,
    host_ifname: str,
    address: IPv4Interface,
    gateway: IPv4Address | None,
    container_ifname: str | None = None,
    mac: str | None = None,
    mtu: int = 1500,
) -> str:
    """Wire the namespace at ``netns_path`` to ``bridge`` with a veth pair.

    The host end ``host_ifname`` joins the bridge; the peer is created inside
    the namespace as ``container_ifname`` (default: the first free ``ethN``) with
    ``address`` (and ``mac``), brought up, with a default route via ``gateway``
    when given and none exists yet (the network chosen for the default route
    passes its gateway; others pass None). Returns the name given inside the
    namespace. On failure, nothing is left behind.
    """
    if container_ifname is None:
        container_ifname = run_in_netns(netns_path, _free_ifname)
    for name in (bridge, host_ifname, container_ifname):
        _check_name(name)
    from pyroute2 import NetlinkError

    with _iproute() as ipr:
        bridge_index = _index(ipr, bridge)
        if bridge_index is None:
            raise NetworkError(f"connect {host_ifname}: bridge {bridge} does not exist")
        try:
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise NetworkError(f"connect {host_ifname}: {netns_path}: {exc.strerror}") from exc
        try:
            ipr.link(
                "add", ifname=host_ifname, kind="veth", mtu=mtu,
                peer={"ifname": container_ifname, "net_ns_fd": fd, "mtu": mtu},
            )
        except NetlinkError as exc:
            raise _netlink_error(
                "create veth", f"{host_ifname} (peer {container_ifname} in {netns_path})", exc
            ) from exc
        finally:
            os.close(fd)
        try:
            index = _index(ipr, host_ifname)
            ipr.link("set", index=index, master=bridge_index, state="up")
        except NetlinkError as exc:
            _delete_quietly(ipr, host_ifname)
            raise _netlink_error(f"attach to bridge {bridge}", host_ifname, exc) from exc
    try:
        run_in_netns(netns_path, _configure_peer, _Peer(container_ifname, address, gateway, mac, mtu))
    except BaseException:
        disconnect(host_ifname)
        raise
    return container_ifname


def _free_ifname() -> str:
    with _iproute() as ipr:
        names = {link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
    return next(f"eth{n}" for n in range(1000) if f"eth{n}" not in names)


def _configure_peer(peer: _Peer) -> None:
    from pyroute2 import NetlinkError

    step = "find"
    with _iproute() as ipr:
        try:
            index = _index(ipr, peer.ifname)
            if index is None:
                raise NetworkError(f"configure {peer.ifname}: not found in the namespace")
            if peer.mac:
                step = f"set address {peer.mac} on"
                ipr.link("set", index=index, address=peer.mac)
            step = f"add address {peer.address} to"
            ipr.addr(
                "add", index=index, address=str(peer.address.ip),
                prefixlen=peer.address.network.prefixlen,
                broadcast=str(peer.address.network.broadcast_address),
            )
            step = "bring up"
            ipr.link("set", index=index, state="up")
            if peer.gateway is not None:
                step = f"add default route via {peer.gateway} on"
                try:
                    ipr.route("add", dst="0.0.0.0/0", gateway=str(peer.gateway), oif=index)
                except NetlinkError as exc:
                    if exc.code != errno.EEXIST:  # another network already gives the route
                        raise
        except NetlinkError as exc:
            raise _netlink_error(step, peer.ifname, exc) from exc


def disconnect(host_ifname: str) -> None:
    """Delete a veth pair by its host end; a missing one is not an error."""
    with _iproute() as ipr:
        _delete_quietly(ipr, host_ifname)


def _delete_quietly(ipr: Any, ifname: str) -> None:
    from pyroute2 import NetlinkError

    index = _index(ipr, ifname)
    if index is None:
        return
    try:
        ipr.link("del", index=index)
    except NetlinkError as exc:
        if exc.code != errno.ENODEV:
            raise _netlink_error("delete", ifname, exc) from exc


def list_links(prefix: str) -> list[str]:
    """Names of host interfaces starting with ``prefix``, sorted (for cleanup)."""
    with _iproute() as ipr:
        names = (link.get_attr("IFLA_IFNAME") for link in ipr.get_links())
        return sorted(n for n in names if n and n.startswith(prefix))


@dataclass(frozen=True)
class BridgeNetfilter:
    """Whether bridged frames cross iptables, and what that means here."""

    call_iptables: bool | None  # None: br_netfilter not active
    iptables_loaded: bool  # any iptables table is in use (rules may apply)

    @property
    def may_drop(self) -> bool:
        """Inter-container traffic could be filtered by the host's FORWARD chain."""
        return bool(self.call_iptables) and self.iptables_loaded


def bridge_netfilter_state() -> BridgeNetfilter:
    """Read (never change) the host's bridge-netfilter settings."""
    try:
        raw = Path("/proc/sys/net/bridge/bridge-nf-call-iptables").read_text().strip()
        call: bool | None = raw == "1"
    except OSError:
        call = None
    try:
        loaded = bool(Path("/proc/net/ip_tables_names").read_text().split())
    except OSError:
        loaded = False
    return BridgeNetfilter(call, loaded)
