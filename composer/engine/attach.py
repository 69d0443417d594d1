"""A container's place on its networks: addresses, aliases, and the files that say so.

``plan_attachments`` (at create time, under the IPAM lock) decides, for each
network the service joins, in ``priority`` order: the address (the static
``ipv4_address``, checked, or the lowest free one), the names the container
answers to there (service name, ``aliases``), the MAC address, and which
network gives the default route (highest ``gw_priority`` among non-internal
networks; an internal network never does). What the DNS view needs about the
container itself (``links``, ``dns`` servers) rides along in each attachment.

``network_files`` writes /etc/hosts (with ``extra_hosts``, ``host-gateway``
being the gateway of the first network), /etc/hostname and /etc/resolv.conf
(the embedded DNS server on the gateway, ``dns_search``, ``dns_opt``) and
returns the bind mounts that put them in place, as Docker does.

``connect`` and ``disconnect`` wire and unwire a container at start and stop;
``network_mode`` (none, host, service:NAME, container:NAME) decides whether the
container owns a namespace at all.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.engine import bundle, networks, state
from composer.engine.state import Paths
from composer.errors import ConfigError, ContainerStartError, NetworkError

if TYPE_CHECKING:
    from composer.schema.model import Project, Service


def network_mode(service: Service) -> str | None:
    """None for bridge networking, else ``none``, ``host``, ``service:X`` or ``container:X``."""
    mode = getattr(service, "network_mode", None)
    if not mode or mode == "bridge":
        return None
    if mode in ("none", "host") or mode.startswith(("service:", "container:")):
        return str(mode)
    raise ConfigError(f"services.{service.name}.network_mode: unsupported network mode {mode!r}")


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _ordered(service: Service) -> list[tuple[str, Any]]:
    """The service's networks, highest ``priority`` first (file order among equals)."""
    items = list(service.networks.items())
    return sorted(items, key=lambda kv: -int(getattr(kv[1], "priority", 0) or 0))


def _links(service: Service) -> list[list[str]]:
    out = []
    for link in _list(getattr(service, "links", None)):
        target, _, alias = link.partition(":")
        out.append([target, alias or target])
    return out


def plan_attachments(paths: Paths, project: Project, service: Service) -> dict[str, dict[str, Any]]:
    """One attachment per network, in priority order (the caller holds ``ipam_lock``)."""
    if network_mode(service) is not None:
        return {}
    nets: dict[str, dict[str, Any]] = {}
    taken: set[str] = set()
    common = {"links": _links(service), "dns": _list(getattr(service, "dns", None))}
    for index, (key, opts) in enumerate(_ordered(service)):
        decl = project.networks.get(key)
        if decl is None:
            raise ConfigError(f"services.{service.name}.networks: network {key} is not declared")
        net = networks.get_network(paths, decl.name)
        if net is None:
            raise ConfigError(f"network {decl.name} not found")
        where = f"services.{service.name}.networks.{key}"
        static = getattr(opts, "ipv4_address", None) if opts is not None else None
        ip = _static_ip(paths, net, static, taken, where) if static else networks.allocate_address(paths, net, taken)
        taken.add(ip)
        mac = getattr(opts, "mac_address", None) if opts is not None else None
        if mac is None and index == 0:
            mac = getattr(service, "mac_address", None)
        nets[net["name"]] = {
            "ip": ip,
            "aliases": [service.name, *(getattr(opts, "aliases", None) or [])],
            "gateway": net["gateway"],
            "key": key,
            "mac": mac,
            "internal": bool(net.get("internal")),
            "gw_priority": int(getattr(opts, "gw_priority", 0) or 0) if opts is not None else 0,
            "table": net.get("table"),
            **common,
        }
    _choose_default_route(nets)
    return nets


def _static_ip(paths: Paths, net: dict[str, Any], static: str, taken: set[str], where: str) -> str:
    try:
        ip = ipaddress.IPv4Address(static)
    except ValueError as exc:
        raise ConfigError(f"{where}.ipv4_address: invalid IPv4 address {static!r}") from exc
    if ip not in ipaddress.IPv4Network(net["subnet"]):
        raise ConfigError(f"{where}.ipv4_address: {ip} is not in the subnet {net['subnet']} of network {net['name']}")
    holder = networks.address_in_use(paths, net, str(ip), taken)
    if holder is not None:
        raise NetworkError(f"{where}.ipv4_address: address {ip} is already in use by {holder}")
    return str(ip)


def _choose_default_route(nets: dict[str, dict[str, Any]]) -> None:
    candidates = [(-att["gw_priority"], i, name) for i, (name, att) in enumerate(nets.items())
                  if not att["internal"]]
    chosen = min(candidates)[2] if candidates else None
    for name, att in nets.items():
        att["default_route"] = name == chosen


# ---- files -------------------------------------------------------------------


def extra_hosts(service: Service, gateway: str | None) -> list[tuple[str, list[str]]]:
    """``extra_hosts`` as (address, [name]) lines; ``host-gateway`` is the network's gateway."""
    raw = getattr(service, "extra_hosts", None) or []
    pairs: list[tuple[str, str]] = []
    if isinstance(raw, Mapping):
        for host, value in raw.items():
            pairs += [(str(host), str(v)) for v in _list(value)]
    else:
        for item in raw:
            sep = "=" if "=" in item else ":"
            host, _, addr = str(item).partition(sep)
            pairs.append((host.strip(), addr.strip().strip("[]")))
    out = []
    for host, addr in pairs:
        if addr == "host-gateway":
            if gateway is None:
                raise ConfigError(f"services.{service.name}.extra_hosts: host-gateway needs a network")
            addr = gateway
        out.append((addr, [host]))
    return out


def resolv_conf(nameservers: Sequence[str], search: Sequence[str], options: Sequence[str]) -> str:
    lines = ["# Generated by composer: the project's embedded DNS server"]
    lines += [f"nameserver {ns}" for ns in nameservers]
    if search:
        lines.append("search " + " ".join(search))
    opts = list(options)
    if not any(o.startswith("ndots:") for o in opts):
        opts.append("ndots:0")
    lines.append("options " + " ".join(opts))
    return "\n".join(lines) + "\n"


def network_files(cdir: Path, hostname: str, nets: dict[str, dict[str, Any]], service: Service) -> list[dict[str, Any]]:
    """Write hosts, hostname and resolv.conf for the container; the bind mounts for them."""
    from composer.runtime.net import files

    mode = network_mode(service)
    if mode is not None and mode.startswith(("service:", "container:")):
        peer = _peer_dir(cdir, mode)
        if peer is not None:  # share the files of the namespace's owner, as Docker does
            cdir = peer
    elif mode == "host":
        for name in ("hosts", "resolv.conf"):
            src = Path("/etc") / name
            (cdir / name).write_text(src.read_text() if src.is_file() else "")
        (cdir / "hostname").write_text(hostname + "\n")
    else:
        first = next(iter(nets.values()), None)
        gateway = first["gateway"] if first else None
        # a new container's directory: nothing reads these yet, so no atomic replace (or fsync) is needed
        (cdir / "hosts").write_text(files.hosts_content(hostname, extra_hosts(service, gateway),
                                                        first["ip"] if first else None))
        (cdir / "hostname").write_text(hostname + "\n")
        servers = [gateway] if gateway else _list(getattr(service, "dns", None))
        (cdir / "resolv.conf").write_text(resolv_conf(
            servers, _list(getattr(service, "dns_search", None)), _list(getattr(service, "dns_opt", None))))
    return [
        bundle.bind_mount(cdir / "hosts", "/etc/hosts"),
        bundle.bind_mount(cdir / "hostname", "/etc/hostname"),
        bundle.bind_mount(cdir / "resolv.conf", "/etc/resolv.conf"),
    ]


def _own_record(cdir: Path) -> dict[str, Any] | None:
    try:
        rec = json.loads((cdir / "container.json").read_text())
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def _peer_dir(cdir: Path, mode: str) -> Path | None:
    own = _own_record(cdir)
    paths = Paths(cdir.parent.parent, cdir.parent.parent / "run")
    peer = _peer_record(paths, own.get("project") if own else None, mode)
    return paths.container_dir(peer["id"]) if peer else None


def _peer_record(paths: Paths, project: str | None, mode: str) -> dict[str, Any] | None:
    kind, _, name = mode.partition(":")
    recs = state.container_records(paths, project if kind == "service" else None)
    if kind == "service":
        found = sorted((r for r in recs if r.get("service") == name and not r.get("oneoff")),
                       key=lambda r: r.get("number", 0))
    else:
        found = [r for r in recs if r["name"] == name or r["id"].startswith(name)]
    return found[0] if found else None


def netns_path(paths: Paths, project: Project, service: Service, cid: str) -> Path | None:
    """The namespace the container joins: its own, a peer's, or None (the host's)."""
    mode = network_mode(service)
    if mode is None or mode == "none":
        return paths.netns_path(cid)
    if mode == "host":
        return None
    peer = _peer_record(paths, project.name, mode)
    if peer is None:
        raise ConfigError(f"services.{service.name}.network_mode: {mode}: no such container")
    return paths.netns_path(peer["id"])


# ---- start / stop --------------------------------------------------------------


def owns_netns(record: dict[str, Any]) -> bool:
    return record.get("network_mode") in (None, "none", "bridge")


def connect(paths: Paths, record: dict[str, Any]) -> Path | None:
    """Create the container's namespace and wire its networks; returns the namespace
    path it owns, or None when it shares one (host, service:, container:)."""
    from composer.engine.containers import veth_name
    from composer.runtime.net import links, netns

    if not owns_netns(record):
        mode = str(record.get("network_mode"))
        if mode.startswith(("service:", "container:")):
            peer = _peer_record(paths, record.get("project"), mode)
            if peer is None or not netns.is_netns(paths.netns_path(peer["id"])):
                raise ContainerStartError(f"cannot join network of {mode}: it is not running")
        return None
    cid = record["id"]
    ns_path = paths.netns_path(cid)
    netns.create_netns(ns_path)
    for index, (net_name, att) in enumerate(record.get("networks", {}).items()):
        net = networks.get_network(paths, net_name)
        if net is None:
            raise ContainerStartError(f"network {net_name} not found")
        prefix = ipaddress.IPv4Network(net["subnet"]).prefixlen
        route = att.get("default_route", index == 0) and not net.get("internal")
        links.connect(
            ns_path, net["bridge"], veth_name(cid, net_name),
            ipaddress.IPv4Interface(f"{att['ip']}/{prefix}"),
            ipaddress.IPv4Address(net["gateway"]) if route else None,
            f"eth{index}", mac=att.get("mac"), mtu=int(net.get("mtu") or 1500),
        )
    return ns_path


def disconnect(paths: Paths, record: dict[str, Any], *, veths: bool = True) -> None:
    """Undo :func:`connect`: the veths and the namespace the container owns.

    Deleting a veth costs the kernel a network synchronisation each (10-60 ms
    here, one at a time under the RTNL lock). With ``veths=False`` a container
    that owns its namespace only unmounts it: once its last process is gone the
    kernel destroys the namespace, and the pairs with it, in its own batched
    clean-up. For ``down`` of containers whose networks go too: until then the
    host ends stay on the bridge, whose deletion detaches them.
    """
    import contextlib

    from composer.engine.containers import veth_name
    from composer.runtime.net import links, netns

    for net in record.get("networks", {}) if veths or not owns_netns(record) else ():
        with contextlib.suppress(Exception):
            links.disconnect(veth_name(record["id"], net))
    if owns_netns(record):
        netns.delete_netns(paths.netns_path(record["id"]))
