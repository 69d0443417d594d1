"""Bridges and veth pairs, over netlink (``rtnl``).

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

All functions block (briefly: a few netlink round trips each); call them
from a worker thread in async code (``anyio.to_thread.run_sync``).
"""

from __future__ import annotations

import errno
import os
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from composer.errors import NetworkError
from composer.runtime.net import rtnl
from composer.runtime.net.netns import run_in_netns
from composer.runtime.net.rtnl import NetlinkError, Rtnl
from composer.values import valueclass

IFNAMSIZ = 15  # usable characters of an interface name (16 with the NUL)


def _netlink_error(action: str, ifname: str, exc: OSError) -> NetworkError:
    return NetworkError(f"{action} {ifname}: {os.strerror(exc.errno) if exc.errno else exc}")


def _check_name(ifname: str) -> None:
    if not ifname or len(ifname) > IFNAMSIZ or "/" in ifname or ifname.strip() != ifname:
        raise NetworkError(f"invalid interface name {ifname!r} (1 to {IFNAMSIZ} characters)")


def bridge_exists(name: str) -> bool:
    """True when a bridge of that name exists in the host namespace."""
    with Rtnl() as nl:
        link = nl.link(name)
        return link is not None and link.kind == "bridge"


def ensure_bridge(name: str, gateway: IPv4Interface, mtu: int = 1500) -> None:
    """Create (or complete) the bridge ``name`` with address ``gateway``, and up.

    Idempotent: an existing bridge keeps its other addresses; a link of that
    name that is not a bridge is an error.
    """
    _check_name(name)
    with Rtnl() as nl:
        try:
            link = nl.link(name)
            if link is None:
                try:
                    nl.new_link(rtnl.ifinfo() + rtnl.pack_attrs([
                        (rtnl.IFLA_IFNAME, rtnl.name_attr(name)), (rtnl.IFLA_MTU, rtnl.u32(mtu)),
                        (rtnl.IFLA_LINKINFO, [(rtnl.IFLA_INFO_KIND, b"bridge")])]))
                except NetlinkError as exc:
                    if exc.errno != errno.EEXIST:  # created concurrently: fine
                        raise
                link = nl.link(name)
            if link is None or link.kind != "bridge":
                raise NetworkError(f"create bridge {name}: a non-bridge interface has that name")
            if not _mac_is_fixed(name):
                # A bridge whose MAC was never set takes the lowest MAC of its ports, so it
                # changes as containers come and go, and containers whose ARP cache holds the
                # old one lose the gateway (and DNS) for seconds. Docker fixes it the same way.
                nl.set_link(link.index, [(rtnl.IFLA_ADDRESS, rtnl.mac_bytes(random_mac()))])
            have = {(a, plen) for _, a, plen in nl.addresses(link.index)}
            if (gateway.ip, gateway.network.prefixlen) not in have:
                try:
                    nl.add_address(link.index, gateway.ip, gateway.network.prefixlen,
                                   gateway.network.broadcast_address)
                except NetlinkError as exc:
                    if exc.errno != errno.EEXIST:
                        raise
            nl.set_link(link.index, up=True)
        except NetlinkError as exc:
            raise _netlink_error("create bridge", name, exc) from exc


def set_group(name: str, group: int) -> None:
    """Put the interface in an interface group (nftables matches ``iifgroup``/``oifgroup``)."""
    with Rtnl() as nl:
        link = nl.link(name)
        if link is None:
            raise NetworkError(f"set group of {name}: no such interface")
        try:
            nl.set_link(link.index, [(rtnl.IFLA_GROUP, rtnl.u32(group))])
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
    with Rtnl() as nl:
        link = nl.link(name)
        if link is None:
            return
        if link.kind != "bridge":
            raise NetworkError(f"delete bridge {name}: not a bridge")
        try:
            nl.del_link(link.index)
        except NetlinkError as exc:
            if exc.errno != errno.ENODEV:
                raise _netlink_error("delete bridge", name, exc) from exc


@valueclass
class _Peer:
    ifname: str
    address: IPv4Interface
    gateway: IPv4Address | None
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
    with Rtnl() as nl:
        bridge_link = nl.link(bridge)
        if bridge_link is None:
            raise NetworkError(f"connect {host_ifname}: bridge {bridge} does not exist")
        try:
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise NetworkError(f"connect {host_ifname}: {netns_path}: {exc.strerror}") from exc
        try:  # one request: the pair, the peer in the namespace, the host end on the bridge and up
            nl.new_link(_veth_request(host_ifname, container_ifname, fd, mtu, mac, bridge_link.index))
        except NetlinkError as exc:
            raise _netlink_error(
                "create veth", f"{host_ifname} (peer {container_ifname} in {netns_path})", exc
            ) from exc
        finally:
            os.close(fd)
    try:
        run_in_netns(netns_path, _configure_peer, _Peer(container_ifname, address, gateway, mtu))
    except BaseException:
        disconnect(host_ifname)
        raise
    return container_ifname


def _veth_request(host_ifname: str, peer_ifname: str, netns_fd: int, mtu: int, mac: str | None,
                  master: int = 0) -> bytes:
    """RTM_NEWLINK of a veth pair whose peer is born in the namespace ``netns_fd`` (with its
    MAC), and whose host end is born up and enslaved to the bridge of index ``master``."""
    peer_attrs: list[rtnl.Attr] = [(rtnl.IFLA_IFNAME, rtnl.name_attr(peer_ifname)),
                                   (rtnl.IFLA_NET_NS_FD, rtnl.u32(netns_fd)), (rtnl.IFLA_MTU, rtnl.u32(mtu))]
    if mac:
        try:
            raw = rtnl.mac_bytes(mac)
        except ValueError:
            raw = b""
        if len(raw) != 6:
            raise NetworkError(f"set address {mac} on {peer_ifname}: invalid MAC address")
        peer_attrs.append((rtnl.IFLA_ADDRESS, raw))
    peer = rtnl.ifinfo() + rtnl.pack_attrs(peer_attrs)
    host: list[rtnl.Attr] = [
        (rtnl.IFLA_IFNAME, rtnl.name_attr(host_ifname)), (rtnl.IFLA_MTU, rtnl.u32(mtu)),
        (rtnl.IFLA_LINKINFO, [(rtnl.IFLA_INFO_KIND, b"veth"),
                              (rtnl.IFLA_INFO_DATA, [(rtnl.VETH_INFO_PEER, peer)])]),
    ]
    if master:
        host.append((rtnl.IFLA_MASTER, rtnl.u32(master)))
    return rtnl.ifinfo(flags=rtnl.IFF_UP, change=rtnl.IFF_UP) + rtnl.pack_attrs(host)


def _free_ifname() -> str:
    with Rtnl() as nl:
        names = {link.name for link in nl.links()}
    return next(f"eth{n}" for n in range(1000) if f"eth{n}" not in names)


def _configure_peer(peer: _Peer) -> None:
    step = "find"
    with Rtnl() as nl:
        try:
            link = nl.link(peer.ifname)
            if link is None:
                raise NetworkError(f"configure {peer.ifname}: not found in the namespace")
            step = f"add address {peer.address} to"
            nl.add_address(link.index, peer.address.ip, peer.address.network.prefixlen,
                           peer.address.network.broadcast_address)
            step = "bring up"
            nl.set_link(link.index, up=True)
            if peer.gateway is not None:
                step = f"add default route via {peer.gateway} on"
                try:
                    nl.add_default_route(link.index, peer.gateway)
                except NetlinkError as exc:
                    if exc.errno != errno.EEXIST:  # another network already gives the route
                        raise
        except NetlinkError as exc:
            raise _netlink_error(step, peer.ifname, exc) from exc


def disconnect(host_ifname: str) -> None:
    """Delete a veth pair by its host end; a missing one is not an error."""
    with Rtnl() as nl:
        _delete_quietly(nl, host_ifname)


def _delete_quietly(nl: Rtnl, ifname: str) -> None:
    link = nl.link(ifname)
    if link is None:
        return
    try:
        nl.del_link(link.index)
    except NetlinkError as exc:
        if exc.errno != errno.ENODEV:
            raise _netlink_error("delete", ifname, exc) from exc


def list_links(prefix: str) -> list[str]:
    """Names of host interfaces starting with ``prefix``, sorted (for cleanup)."""
    with Rtnl() as nl:
        return sorted(link.name for link in nl.links() if link.name.startswith(prefix))


@valueclass
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
