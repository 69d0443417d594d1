"""Kernel NAT and filtering for one bridge network, in one nftables table.

Each network gets its own table (``ip`` family), named by the caller, holding
everything composer asks of netfilter for that bridge, so deleting the table
removes exactly what was added and nothing of anybody else's:

- ``output`` (nat): connections the host itself opens to a published port —
  on loopback or on any of its addresses — are DNAT'ed to the container, in
  the kernel, from two maps filled per published port (``any_<proto>`` keyed
  by port for ``0.0.0.0``, ``pub_<proto>`` keyed by address and port);
- ``prerouting`` (nat): the same DNAT for packets from other hosts, only when
  the host already forwards (``net.ipv4.ip_forward`` = 1): without forwarding
  the DNAT'ed packet would be dropped, and the userland proxy that holds the
  port serves those clients instead;
- ``postrouting`` (nat): loopback clients are SNAT'ed to the gateway (the
  container could not answer 127.0.0.1), and, only when outbound NAT was asked
  for, masquerading of the subnet towards other interfaces;
- ``forward`` (filter): isolation. Nothing crosses from this bridge to another
  composer bridge (interface group ``BRIDGE_GROUP``, set on each) or back; an internal network forwards nothing in or out;
- ``input`` (filter, internal networks only): containers reach nothing of the
  host but the DNS server on their gateway (and answer what the host opened).
- ``guard`` (filter, prerouting raw): loopback DNAT needs ``route_localnet`` on
  the bridge, which would also let a container reach services bound to the
  host's 127.0.0.1 (CVE-2020-8558): packets from the bridge to 127.0.0.0/8
  are dropped.

The ``nft`` command is driven with scripts on stdin; each script is one
transaction. When ``nft`` is missing or refuses (no nf_tables in the kernel),
:func:`available` is False and the engine relies on the userland proxy alone.
All functions block (a subprocess): call them from a worker thread.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from composer.errors import NetworkError

NFT_TIMEOUT = 10.0
#: the interface group of every composer bridge, so isolation rules can name "any other network"
BRIDGE_GROUP = 4242


@dataclass(frozen=True)
class TableSpec:
    """What the table of one network must do."""

    table: str
    bridge: str
    subnet: str
    gateway: str
    internal: bool = False
    outbound: bool = False  # masquerade the subnet to other interfaces (opt-in)


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """True when ``nft`` exists and the kernel accepts nf_tables commands (asked once a process)."""
    if shutil.which("nft") is None:
        return False
    try:
        proc = subprocess.run(["nft", "list", "tables"], capture_output=True, timeout=NFT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def forwarding_enabled() -> bool:
    try:
        return Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1"
    except OSError:
        return False


def enable_forwarding() -> None:
    """Turn on IPv4 forwarding in the caller's namespace (outbound NAT only)."""
    _write_sysctl(Path("/proc/sys/net/ipv4/ip_forward"), "1")


def set_route_localnet(bridge: str) -> None:
    """Allow loopback-sourced (SNAT'ed) traffic on this bridge only."""
    _write_sysctl(Path(f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet"), "1")


def _write_sysctl(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as exc:
        raise NetworkError(f"cannot set {path}: {exc.strerror or exc}") from exc


def _q(name: str) -> str:
    return '"' + name.replace('"', "") + '"'


def table_script(spec: TableSpec, forwarding: bool) -> str:
    """The nft transaction that creates the table, or rewrites its chains keeping its maps."""
    t, br, gw, sub = spec.table, _q(spec.bridge), spec.gateway, spec.subnet
    lines = [f"table ip {t} {{"]
    for proto in ("tcp", "udp"):
        lines.append(f"  map pub_{proto} {{ type ipv4_addr . inet_service : ipv4_addr . inet_service; }}")
        lines.append(f"  map any_{proto} {{ type inet_service : ipv4_addr . inet_service; }}")
    lines += [
        "  chain guard { type filter hook prerouting priority -300; policy accept; }",
        "  chain prerouting { type nat hook prerouting priority -100; policy accept; }",
        "  chain output { type nat hook output priority -100; policy accept; }",
        "  chain postrouting { type nat hook postrouting priority 100; policy accept; }",
        "  chain forward { type filter hook forward priority 0; policy accept; }",
        "  chain input { type filter hook input priority 0; policy accept; }",
        "}",
    ]
    for chain in ("guard", "prerouting", "output", "postrouting", "forward", "input"):
        lines.append(f"flush chain ip {t} {chain}")
    lines.append(f"add rule ip {t} guard iifname {br} ip daddr 127.0.0.0/8 drop")
    dnat = []
    for proto in ("tcp", "udp"):
        dnat.append(f"fib daddr type local dnat ip to {proto} dport map @any_{proto}")
        dnat.append(f"dnat ip to ip daddr . {proto} dport map @pub_{proto}")
    for rule in dnat:
        lines.append(f"add rule ip {t} output {rule}")
        if forwarding:
            lines.append(f"add rule ip {t} prerouting {rule}")
    lines.append(f"add rule ip {t} postrouting oifname {br} ip saddr 127.0.0.0/8 snat ip to {gw}")
    if forwarding:  # hairpin: a container reaching a published port of its own network
        lines.append(f"add rule ip {t} postrouting oifname {br} ip saddr {sub} ct status dnat snat ip to {gw}")
    if spec.outbound and not spec.internal:
        lines.append(f"add rule ip {t} postrouting ip saddr {sub} oifname != {br} masquerade")
    if spec.internal:
        lines.append(f"add rule ip {t} forward iifname {br} oifname != {br} drop")
        lines.append(f"add rule ip {t} forward oifname {br} iifname != {br} drop")
        # the host itself is "out" too: only DNS on the gateway and answers to the host
        lines.append(f"add rule ip {t} input iifname {br} ct state established,related accept")
        lines.append(f"add rule ip {t} input iifname {br} ip daddr {gw} udp dport 53 accept")
        lines.append(f"add rule ip {t} input iifname {br} ip daddr {gw} tcp dport 53 accept")
        lines.append(f"add rule ip {t} input iifname {br} drop")
    else:
        lines.append(f"add rule ip {t} forward iifname {br} oifname != {br} oifgroup {BRIDGE_GROUP} drop")
        lines.append(f"add rule ip {t} forward oifname {br} iifname != {br} iifgroup {BRIDGE_GROUP} drop")
    return "\n".join(lines) + "\n"


def ensure_table(spec: TableSpec) -> None:
    """Create or refresh the network's table (published-port maps are kept)."""
    from composer.runtime.net import links

    links.set_group(spec.bridge, BRIDGE_GROUP)
    _nft(table_script(spec, forwarding_enabled()), f"set up NAT for bridge {spec.bridge}")


def delete_table(table: str) -> None:
    """Delete the table; a missing one is not an error."""
    _nft(f"table ip {table} {{}}\ndelete table ip {table}\n", f"delete nftables table {table}")


def list_tables(prefix: str) -> list[str]:
    """Names of ``ip`` tables starting with ``prefix`` (for reclaiming leftovers)."""
    proc = _run(["nft", "list", "tables", "ip"], "")
    if proc.returncode != 0:
        return []
    names = [line.split()[-1] for line in proc.stdout.splitlines() if line.startswith("table ip ")]
    return sorted(n for n in names if n.startswith(prefix))


def _element(host_ip: str, host_port: int, target_ip: str, target_port: int) -> tuple[str, str]:
    unspecified = host_ip in ("", "0.0.0.0")
    key = str(host_port) if unspecified else f"{host_ip} . {host_port}"
    return key, f"{target_ip} . {target_port}"


def _map(host_ip: str, proto: str) -> str:
    return f"any_{proto}" if host_ip in ("", "0.0.0.0") else f"pub_{proto}"


def publish(table: str, proto: str, host_ip: str, host_port: int, target_ip: str, target_port: int) -> None:
    """DNAT ``host_ip:host_port/proto`` to the target (replacing a stale entry)."""
    key, value = _element(host_ip, host_port, target_ip, target_port)
    m = _map(host_ip, proto)
    _run(["nft", "-f", "-"], f"delete element ip {table} {m} {{ {key} }}\n")  # a stale one, if any
    _nft(f"add element ip {table} {m} {{ {key} : {value} }}\n", f"publish {host_ip}:{host_port}/{proto}")


def unpublish(table: str, proto: str, host_ip: str, host_port: int) -> None:
    """Remove a published port's DNAT; a missing entry or table is not an error."""
    key, _ = _element(host_ip, host_port, "0.0.0.0", 0)
    _run(["nft", "-f", "-"], f"delete element ip {table} {_map(host_ip, proto)} {{ {key} }}\n")


def _run(argv: list[str], script: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, input=script, capture_output=True, text=True,
                              timeout=NFT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


def _nft(script: str, action: str) -> None:
    proc = _run(["nft", "-f", "-"], script)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["nft failed"])[0]
        raise NetworkError(f"{action}: nft: {first}")
