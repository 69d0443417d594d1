"""What a container sees through the embedded DNS server.

The monitor's DNS server asks ``lookup(records, running, client_ip, name)``
for every query: the asking container is found by its address, and only
running containers sharing one of its networks answer, by container name,
hostname, short id and aliases (the service name is an alias on each of its
networks). Several replicas give several addresses; the server rotates them.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any


def lookup(records: Mapping[str, dict[str, Any]], running: Set[str], client_ip: str, name: str) -> list[str]:
    client = next((r for r in records.values()
                   if any(a.get("ip") == client_ip for a in r.get("networks", {}).values())), None)
    if client is None:
        return []
    nets = set(client.get("networks", {}))
    answers: list[str] = []
    for cid in sorted(running):
        rec = records.get(cid)
        if rec is None:
            continue
        for net, att in rec.get("networks", {}).items():
            if net not in nets:
                continue
            names = {rec["name"].lower(), rec.get("hostname", "").lower(), cid[:12],
                     *(a.lower() for a in att.get("aliases", []))}
            if name in names and att["ip"] not in answers:
                answers.append(att["ip"])
    return answers
