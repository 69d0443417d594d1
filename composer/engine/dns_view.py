"""What a container sees through the embedded DNS server.

The monitor's DNS server asks ``lookup(records, running, client_ip, name)``
for every query. The asking container is found by its address; only running
containers sharing one of its networks answer, by:

- service name and network ``aliases`` (each attachment's ``aliases``),
- container name, ``hostname``, short id (12 hex),
- ``<name>.<network>`` for any of the above (Docker answers those too),
- the asking container's ``links`` aliases (``links: [db:database]``, and
  ``external_links``, which ``create`` adds to them: a container name the
  monitor's records hold, so today a container of the same project).

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


class _Index:
    """Names per network and attachments per address, for one (records, running) snapshot."""

    def __init__(self, records: Mapping[str, dict[str, Any]], running: Set[str]) -> None:
        self.clients: dict[str, dict[str, Any]] = {}
        self.names: dict[str, dict[str, list[str]]] = {}  # network -> name -> addresses
        for rec in records.values():
            for att in rec.get("networks", {}).values():
                if att.get("ip"):
                    self.clients.setdefault(att["ip"], rec)
        for cid in sorted(running):
            member = records.get(cid)
            if member is None:
                continue
            for net, att in member.get("networks", {}).items():
                table = self.names.setdefault(net, {})
                for n in _names(member, cid, att):
                    for key in (n, f"{n}.{net.lower()}"):
                        found = table.setdefault(key, [])
                        if att["ip"] not in found:
                            found.append(att["ip"])


# The monitor replaces (never mutates) its records and running set on each scan, so
# the index of the last pair asked about stays valid while both are the same objects.
_last: list[tuple[Mapping[str, dict[str, Any]], Set[str], tuple[int, int], _Index]] = []


def _index(records: Mapping[str, dict[str, Any]], running: Set[str]) -> _Index:
    sizes = (len(records), len(running))  # a cheap guard against in-place changes
    if _last and _last[0][0] is records and _last[0][1] is running and _last[0][2] == sizes:
        return _last[0][3]
    index = _Index(records, running)
    _last[:] = [(records, running, sizes, index)]
    return index


def _names(rec: dict[str, Any], cid: str, att: dict[str, Any]) -> set[str]:
    names = {rec.get("name", "").lower(), rec.get("hostname", "").lower(), cid[:12]}
    names.update(a.lower() for a in att.get("aliases", []))
    names.discard("")
    return names


def lookup(records: Mapping[str, dict[str, Any]], running: Set[str], client_ip: str, name: str) -> list[str]:
    index = _index(records, running)
    client = index.clients.get(client_ip)
    if client is None:
        return Forward()
    client_nets = client.get("networks", {})
    first_att: dict[str, Any] = next(iter(client_nets.values()), {})
    wanted = [name]
    for target, alias in first_att.get("links", []):
        if alias.lower() == name:
            wanted.append(str(target).lower())
    answers: list[str] = []
    for net in client_nets:
        table = index.names.get(net, {})
        for n in wanted:
            for ip in table.get(n, ()):
                if ip not in answers:
                    answers.append(ip)
    if answers or "." not in name:
        return answers  # a bare name is a container's or nobody's: never sent upstream
    return Forward(first_att.get("dns", []))
