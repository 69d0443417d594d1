"""Compose networks on the host: records, subnets, bridges, addresses, NAT tables.

One Linux bridge per Compose network (``br-<id12>``, as Docker names them, or
``driver_opts: com.docker.network.bridge.name``), a subnet for each (``ipam``
or the first pool subnet that overlaps nothing the host routes and no other
network of this root), and one address per attached container, kept in the
container's record until it is removed. Allocation happens under one
root-wide lock, so two projects never get the same subnet.

Each network also owns one nftables table (``runtime.net.nat``) named after
the root and the network id, ``composer_<root tag>_<id12>``: published-port
DNAT, loopback SNAT, isolation, and (opt-in) masquerading. Removing the
network removes its table; tables of this root whose network record is gone
(a run killed in between) are reclaimed by the next ``up`` or ``down``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.engine import state
from composer.engine.state import Paths
from composer.errors import ConfigError, NetworkError, NotFoundError, UnsupportedError

if TYPE_CHECKING:
    from composer.schema.model import Project

OPT_MTU = "com.docker.network.driver.mtu"
OPT_BRIDGE_NAME = "com.docker.network.bridge.name"
OPT_MASQUERADE = "com.docker.network.bridge.enable_ip_masquerade"
COMPOSE_VERSION = "2.40.3"


@contextlib.contextmanager
def ipam_lock(paths: Paths) -> Iterator[None]:
    paths.locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.locks / "_ipam.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def root_tag(paths: Paths) -> str:
    """8 hex characters naming this state root in host-wide objects (nft tables)."""
    return hashlib.sha256(str(paths.state_root.resolve()).encode()).hexdigest()[:8]


def table_name(paths: Paths, net_id: str) -> str:
    return f"composer_{root_tag(paths)}_{net_id[:12]}"


def get_network(paths: Paths, name: str) -> dict[str, Any] | None:
    rec = state.read_json(paths.networks / f"{name}.json")
    return rec if isinstance(rec, dict) else None


def find_network(paths: Paths, ref: str) -> dict[str, Any]:
    """A network by name, full id or id prefix; NotFoundError otherwise."""
    rec = get_network(paths, ref)
    if rec is not None:
        return rec
    matches = [r for r in state.network_records(paths) if ref and r.get("id", "").startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    raise NotFoundError(f"network {ref} not found")


def _ipam_config(decl: Any) -> dict[str, Any]:
    """subnet, ip_range, gateway, aux_addresses of a model Network, whatever its shape."""
    out: dict[str, Any] = {}
    ipam = getattr(decl, "ipam", None)
    configs = getattr(ipam, "config", None) if ipam is not None else None
    if isinstance(ipam, Mapping):
        configs = ipam.get("config")
    if configs:
        first = configs[0]
        for key in ("subnet", "ip_range", "gateway", "aux_addresses"):
            value = first.get(key) if isinstance(first, Mapping) else getattr(first, key, None)
            if value:
                out[key] = value
    for key in ("subnet", "ip_range", "gateway", "aux_addresses"):
        value = getattr(decl, key, None)
        if value and key not in out:
            out[key] = value
    return out


def ensure_project_network(paths: Paths, project: Project, key: str, *, outbound: bool = False,
                           sync: bool = True) -> tuple[dict[str, Any], bool]:
    """The record of ``project.networks[key]``, creating it (bridge, table) when missing."""
    decl = project.networks[key]
    if decl.external:
        rec = get_network(paths, decl.name)
        if rec is None:
            raise ConfigError(f"network {decl.name} declared as external, but could not be found")
        return rec, False
    driver = getattr(decl, "driver", None) or "bridge"
    if driver not in ("bridge", "default"):
        raise UnsupportedError(f"networks.{key}.driver: driver {driver!r} is not supported by composer (bridge only)")
    labels = {
        **dict(getattr(decl, "labels", {}) or {}),
        "com.docker.compose.network": key,
        "com.docker.compose.project": project.name,
        "com.docker.compose.version": COMPOSE_VERSION,
    }
    opts = {str(k): str(v) for k, v in (getattr(decl, "driver_opts", None) or {}).items()}
    return ensure_network(paths, decl.name, labels, internal=bool(getattr(decl, "internal", False)),
                          where=f"networks.{key}", driver_opts=opts, outbound=outbound, sync=sync,
                          **_ipam_config(decl))


def ensure_network(
    paths: Paths, name: str, labels: dict[str, str], *, internal: bool = False,
    subnet: str | None = None, gateway: str | None = None, ip_range: str | None = None,
    aux_addresses: Mapping[str, str] | None = None, driver_opts: Mapping[str, str] | None = None,
    outbound: bool = False, where: str | None = None, sync: bool = True,
) -> tuple[dict[str, Any], bool]:
    """The network's record, creating record, bridge and table when missing; True if created.

    ``sync=False``: the record is not fsynced (``up`` flushes the state root at its end).
    """
    from composer.runtime.net import ipam, links

    with ipam_lock(paths):
        _reclaim_locked(paths)
        rec = get_network(paths, name)
        created = False
        if rec is None:
            rec = _new_record(paths, name, labels, internal, subnet, gateway, ip_range,
                              dict(aux_addresses or {}), dict(driver_opts or {}), outbound,
                              where or f"network {name}", ipam.host_networks)
            state.save_network(paths, rec, sync=sync)
            created = True
        gw = ipaddress.IPv4Interface(f"{rec['gateway']}/{ipaddress.IPv4Network(rec['subnet']).prefixlen}")
        links.ensure_bridge(rec["bridge"], gw, mtu=int(rec.get("mtu") or 1500))
        _ensure_table(paths, rec)
    return rec, created


def _new_record(paths: Paths, name: str, labels: dict[str, str], internal: bool, subnet: str | None,
                gateway: str | None, ip_range: str | None, aux: dict[str, str], opts: dict[str, str],
                outbound: bool, where: str, host_networks: Any) -> dict[str, Any]:
    from composer.runtime.net import ipam

    others = state.network_records(paths)
    used = [ipaddress.IPv4Network(r["subnet"]) for r in others]
    if subnet:
        net = _parse_net(subnet, f"{where}.ipam.config[0].subnet")
        clash = next((r for r in others if ipaddress.IPv4Network(r["subnet"]).overlaps(net)), None)
        if clash is not None:
            raise NetworkError(f"{where}: subnet {net} overlaps network {clash['name']} ({clash['subnet']})")
    else:
        net = ipam.pick_subnet([*host_networks(), *used])
    gw = _parse_ip(gateway, f"{where}.ipam.config[0].gateway") if gateway else ipam.gateway_of(net)
    if gw not in net:
        raise ConfigError(f"{where}.ipam.config[0].gateway: {gw} is not in subnet {net}")
    if ip_range:
        rng = _parse_net(ip_range, f"{where}.ipam.config[0].ip_range")
        if not rng.subnet_of(net):
            raise ConfigError(f"{where}.ipam.config[0].ip_range: {rng} is not within subnet {net}")
    for host, addr in aux.items():
        if _parse_ip(addr, f"{where}.ipam.config[0].aux_addresses.{host}") not in net:
            raise ConfigError(f"{where}.ipam.config[0].aux_addresses.{host}: {addr} is not in subnet {net}")
    mtu = opts.get(OPT_MTU)
    if mtu is not None and (not mtu.isdigit() or not 68 <= int(mtu) <= 65535):
        raise ConfigError(f"{where}.driver_opts.{OPT_MTU}: invalid MTU {mtu!r} (68 to 65535)")
    net_id = os.urandom(32).hex()  # as secrets.token_hex(32), without its imports
    bridge = opts.get(OPT_BRIDGE_NAME) or f"br-{net_id[:12]}"
    if len(bridge) > 15 or any(r.get("bridge") == bridge for r in others):
        raise ConfigError(f"{where}.driver_opts.{OPT_BRIDGE_NAME}: bridge name {bridge!r} is too long or in use")
    return {
        "name": name,
        "id": net_id,
        "created": _now(),
        "bridge": bridge,
        "subnet": str(net),
        "gateway": str(gw),
        "ip_range": ip_range,
        "aux_addresses": aux,
        "labels": labels,
        "internal": internal,
        "driver": "bridge",
        "options": opts,
        "mtu": int(mtu) if mtu else 1500,
        "outbound": (outbound or opts.get(OPT_MASQUERADE, "").lower() == "true") and not internal,
        "table": table_name(paths, net_id),
    }


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_net(text: str, where: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise ConfigError(f"{where}: invalid IPv4 subnet {text!r} ({exc})") from exc


def _parse_ip(text: str, where: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: invalid IPv4 address {text!r}") from exc


def _ensure_table(paths: Paths, rec: dict[str, Any]) -> None:
    """Kernel NAT and isolation for the network; without nftables, the proxy does it all."""
    from composer.runtime.net import nat

    if not rec.get("table") or not nat.available():
        return
    nat.set_route_localnet(rec["bridge"])
    if rec.get("outbound"):
        nat.enable_forwarding()  # opt-in only (COMPOSER_OUTBOUND=1 or enable_ip_masquerade: "true")
    nat.ensure_table(nat.TableSpec(rec["table"], rec["bridge"], rec["subnet"], rec["gateway"],
                                   internal=bool(rec.get("internal")), outbound=bool(rec.get("outbound"))))


def reclaim(paths: Paths) -> list[str]:
    """Delete this root's nft tables whose network is gone; returns what was removed."""
    with ipam_lock(paths):
        return _reclaim_locked(paths)


def _reclaim_locked(paths: Paths) -> list[str]:
    from composer.runtime.net import nat

    if not nat.available():
        return []
    known = {r.get("table") for r in state.network_records(paths)}
    stale = [t for t in nat.list_tables(f"composer_{root_tag(paths)}_") if t not in known]
    for table in stale:
        nat.delete_table(table)
    return stale


def users(paths: Paths, name: str) -> list[str]:
    return sorted(c["name"] for c in state.container_records(paths) if name in c.get("networks", {}))


def remove_network(paths: Paths, name: str) -> bool:
    """Delete the bridge, the nft table and the record; refuses while a container is attached."""
    from composer.runtime.net import links, nat

    with ipam_lock(paths):
        rec = get_network(paths, name)
        if rec is None:
            return False
        attached = users(paths, name)
        if attached:
            raise NetworkError(
                f"error while removing network: network {name} has active endpoints ({', '.join(attached)})"
            )
        links.delete_bridge(rec["bridge"])
        if rec.get("table") and nat.available():
            nat.delete_table(rec["table"])
        with contextlib.suppress(FileNotFoundError):
            (paths.networks / f"{name}.json").unlink()
        _reclaim_locked(paths)
    return True


#: container.json path -> (its identity, (container name, {network: address})). A record is
#: only ever replaced by a rename, so inode, mtime and size say whether it changed: IPAM, which
#: runs under ``ipam_lock`` once per container created, parses only the records that did.
#: (A container's attachments are fixed when it is created, so even an inode reused within
#: one mtime tick could not make an entry wrong.)
_ATTACHMENTS: dict[str, tuple[tuple[int, int, int], tuple[str, dict[str, str]]]] = {}


def attachments(paths: Paths) -> list[tuple[str, dict[str, str]]]:
    """(name, {network: address}) of every container of the root."""
    out = []
    try:
        entries = list(os.scandir(paths.containers))
    except FileNotFoundError:
        return []
    for entry in entries:
        path = os.path.join(entry.path, "container.json")
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = _ATTACHMENTS.get(path)
        if cached is None or cached[0] != key:
            rec = state.read_json(Path(entry.path, "container.json")) or {}
            nets = {net: att["ip"] for net, att in (rec.get("networks") or {}).items() if att and att.get("ip")}
            cached = _ATTACHMENTS[path] = (key, (str(rec.get("name", "")), nets))
        out.append(cached[1])
    return out


def allocate_address(paths: Paths, network: dict[str, Any], taken: set[str]) -> str:
    """The lowest free address of the network (within ``ip_range``); caller holds ``ipam_lock``."""
    from composer.runtime.net import ipam

    used = set(taken) | set((network.get("aux_addresses") or {}).values())
    for _, nets in attachments(paths):
        if network["name"] in nets:
            used.add(nets[network["name"]])
    subnet = ipaddress.IPv4Network(network["subnet"])
    pool = ipaddress.IPv4Network(network["ip_range"]) if network.get("ip_range") else subnet
    reserved = [ipaddress.IPv4Address(a) for a in used]
    reserved += [subnet.network_address, subnet.broadcast_address]
    addr = ipam.allocate_address(pool, reserved, ipaddress.IPv4Address(network["gateway"]))
    return str(addr)


def address_in_use(paths: Paths, network: dict[str, Any], ip: str, taken: set[str]) -> str | None:
    """Who holds ``ip`` on the network ("gateway", a container name, ...), or None."""
    if ip == network["gateway"]:
        return "the gateway"
    if ip in taken:
        return "another attachment of this container"
    if ip in (network.get("aux_addresses") or {}).values():
        return "an aux_address"
    for name, nets in attachments(paths):
        if nets.get(network["name"]) == ip:
            return f"container {name}"
    return None


# ---- the `composer network` commands ------------------------------------------


def create_network(paths: Paths, name: str, *, labels: Mapping[str, str] | None = None,
                   internal: bool = False, subnet: str | None = None, gateway: str | None = None,
                   ip_range: str | None = None, driver: str = "bridge",
                   driver_opts: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``composer network create``: a new network, an error if the name is taken."""
    if driver not in ("bridge", "default"):
        raise UnsupportedError(f"network driver {driver!r} is not supported by composer (bridge only)")
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"invalid network name {name!r}")
    if get_network(paths, name) is not None:
        raise NetworkError(f"network with name {name} already exists")
    rec, _ = ensure_network(paths, name, dict(labels or {}), internal=internal, subnet=subnet,
                            gateway=gateway, ip_range=ip_range, driver_opts=driver_opts)
    return rec


def prune_networks(paths: Paths) -> list[str]:
    """Remove every network no container is attached to; their names."""
    removed = []
    for rec in state.network_records(paths):
        if not users(paths, rec["name"]) and remove_network(paths, rec["name"]):
            removed.append(rec["name"])
    reclaim(paths)
    return removed


def inspect_network(paths: Paths, rec: dict[str, Any]) -> dict[str, Any]:
    """The record in ``docker network inspect``'s shape."""
    prefix = ipaddress.IPv4Network(rec["subnet"]).prefixlen
    containers = {}
    for c in state.container_records(paths):
        att = c.get("networks", {}).get(rec["name"])
        if att:
            containers[c["id"]] = {
                "Name": c["name"], "EndpointID": "", "MacAddress": att.get("mac") or "",
                "IPv4Address": f"{att['ip']}/{prefix}", "IPv6Address": "",
            }
    config: dict[str, Any] = {"Subnet": rec["subnet"], "Gateway": rec["gateway"]}
    if rec.get("ip_range"):
        config["IPRange"] = rec["ip_range"]
    if rec.get("aux_addresses"):
        config["AuxiliaryAddresses"] = rec["aux_addresses"]
    return {
        "Name": rec["name"], "Id": rec["id"], "Created": rec.get("created", ""), "Scope": "local",
        "Driver": rec.get("driver", "bridge"), "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": None, "Config": [config]},
        "Internal": bool(rec.get("internal")), "Attachable": False, "Ingress": False,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": containers,
        "Options": {OPT_BRIDGE_NAME: rec["bridge"], **(rec.get("options") or {})},
        "Labels": rec.get("labels", {}),
    }
