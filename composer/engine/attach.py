"""A container's place on its networks: addresses, aliases, and the files that say so.

``plan_attachments`` gives each network the service joins an address (the
static ``ipv4_address`` or the lowest free one) and the names it answers to
there (the service name plus its aliases); the caller holds the IPAM lock.
``network_files`` writes /etc/hosts, /etc/hostname and /etc/resolv.conf for
the container and returns the bind mounts that put them in place, as Docker
does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.engine import bundle, networks
from composer.engine.state import Paths
from composer.errors import ConfigError

if TYPE_CHECKING:
    from composer.schema.model import Project, Service


def plan_attachments(paths: Paths, project: Project, service: Service) -> dict[str, dict[str, Any]]:
    nets: dict[str, dict[str, Any]] = {}
    taken: set[str] = set()
    for key, opts in service.networks.items():
        net = networks.get_network(paths, project.networks[key].name)
        if net is None:
            raise ConfigError(f"network {project.networks[key].name} not found")
        static = opts.ipv4_address if opts is not None else None
        ip = static or networks.allocate_address(paths, net, taken)
        taken.add(ip)
        aliases = [service.name, *(opts.aliases if opts is not None else [])]
        nets[net["name"]] = {"ip": ip, "aliases": aliases, "gateway": net["gateway"], "key": key}
    return nets


def network_files(cdir: Path, hostname: str, nets: dict[str, dict[str, Any]], service: Service) -> list[dict[str, Any]]:
    addresses = [n["ip"] for n in nets.values()]
    (cdir / "hosts").write_text(bundle.hosts_file(hostname, addresses))
    (cdir / "hostname").write_text(hostname + "\n")
    nameservers = [n["gateway"] for n in nets.values()][:1] or ["127.0.0.1"]
    (cdir / "resolv.conf").write_text(bundle.resolv_conf(nameservers))
    return [
        bundle.bind_mount(cdir / "hosts", "/etc/hosts"),
        bundle.bind_mount(cdir / "hostname", "/etc/hostname"),
        bundle.bind_mount(cdir / "resolv.conf", "/etc/resolv.conf"),
    ]
