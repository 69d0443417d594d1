"""What a container sees through the embedded DNS server.

The monitor's DNS server asks ``lookup(records, running, client_ip, name)``
for every query. The asking container is found by its address; only running
containers sharing one of its networks answer, by:

- service name and network ``aliases`` (each attachment's ``aliases``),
- container name, ``hostname``, short id (12 hex),
- ``<name>.<network>`` for any of the above (Docker answers those too),
- the asking container's ``links`` aliases (``links: [db:database]``).

Several replicas give several addresses (the server rotates them). A bare
name (no dot) nobody answers to is unknown (NXDOMAIN): it can only be a
container's name, and sending it upstream would leak it. Other names are
forwarded: the answer is an empty :class:`Forward`
carrying the asking container's ``dns`` servers (empty: the server's defaults,
the host's resolvers). The view follows the records and the running set the
monitor passes, so it changes as soon as the monitor rescans.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from composer.runtime.net.dns import Forward


def _client(records: Mapping[str, dict[str, Any]], client_ip: str) -> dict[str, Any] | None:
    for rec in records.values():
        if any(a.get("ip") == client_ip for a in rec.get("networks", {}).values()):
            return rec
    return None


def _names(rec: dict[str, Any], cid: str, att: dict[str, Any]) -> set[str]:
    names = {rec.get("name", "").lower(), rec.get("hostname", "").lower(), cid[:12]}
    names.update(a.lower() for a in att.get("aliases", []))
    names.discard("")
    return names


def lookup(records: Mapping[str, dict[str, Any]], running: Set[str], client_ip: str, name: str) -> list[str]:
    client = _client(records, client_ip)
    if client is None:
        return Forward()
    client_nets = client.get("networks", {})
    first_att: dict[str, Any] = next(iter(client_nets.values()), {})
    wanted = {name}
    for target, alias in first_att.get("links", []):
        if alias.lower() == name:
            wanted.add(str(target).lower())
    answers: list[str] = []
    for cid in sorted(running):
        rec = records.get(cid)
        if rec is None:
            continue
        for net, att in rec.get("networks", {}).items():
            if net not in client_nets:
                continue
            names = _names(rec, cid, att)
            hit = bool(wanted & names) or any(name == f"{n}.{net.lower()}" for n in names)
            if hit and att["ip"] not in answers:
                answers.append(att["ip"])
    if answers or "." not in name:
        return answers  # a bare name is a container's or nobody's: never sent upstream
    return Forward(first_att.get("dns", []))
