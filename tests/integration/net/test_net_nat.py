"""Kernel NAT and isolation tables (runtime.net.nat), on real traffic.

Every test runs its scenario in a child process under ``unshare --net``: a
fresh network namespace plays "the host", so forwarding and masquerading are
turned on only there, and everything the test made (bridges, tables, the
"container" and "outside" namespaces) disappears with that process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from composer.runtime.net import nat

pytestmark = pytest.mark.root

PRELUDE = textwrap.dedent("""
    import subprocess, sys, time, socket
    from ipaddress import IPv4Interface, IPv4Address
    from pathlib import Path
    from composer.runtime.net import links, nat, netns

    def sh(cmd, check=True):
        p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10)
        if check and p.returncode:
            raise SystemExit(f"{cmd}: {p.stderr}")
        return p

    tmp = Path(sys.argv[1])
    sh("ip link set lo up")
    links.ensure_bridge("brx", IPv4Interface("10.88.0.1/24"))
    ns = tmp / "c"
    netns.create_netns(ns)
    links.connect(ns, "brx", "vx0", IPv4Interface("10.88.0.2/24"), IPv4Address("10.88.0.1"))
    www = tmp / "www"; www.mkdir(); (www / "index.html").write_text("inside\\n")
    srv = subprocess.Popen(["nsenter", f"--net={ns}", "busybox", "httpd", "-f", "-p", "80", "-h", str(www)])
    procs = [srv]
    def spec(**kw):
        return nat.TableSpec("composer_t_x", "brx", "10.88.0.0/24", "10.88.0.1", **kw)
    def get(url, where=None):
        pre = f"nsenter --net={where} " if where else ""
        return sh(f"{pre}timeout 3 busybox wget -q -O- {url}", check=False).stdout.strip()
    def listening(port, where=None, timeout=20):  # bounded wait for a TCP listener in where's netns (or ours)
        pre = f"nsenter --net={where} " if where else ""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = sh(f"{pre}cat /proc/net/tcp /proc/net/tcp6", check=False).stdout  # busybox httpd: tcp6
            rows = [r.split() for r in text.splitlines() if ":" in r and not r.lstrip().startswith("sl")]
            if any(r[1].endswith(f":{port:04X}") and r[3] == "0A" for r in rows):
                return
            time.sleep(0.05)
        raise SystemExit(f"nothing listens on port {port} after {timeout}s")
""")


def _scenario(tmp_path: Path, body: str) -> str:
    script = tmp_path / "scenario.py"
    script.write_text(PRELUDE + "try:\n    listening(80, ns)\n" + textwrap.indent(textwrap.dedent(body), "    ")
                      + "\nfinally:\n    [p.kill() for p in procs]\n    netns.delete_netns(ns)\n")
    proc = subprocess.run(["unshare", "--net", sys.executable, str(script), str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(autouse=True)
def _needs_nft() -> None:
    if os.geteuid() != 0 or not nat.available():
        pytest.skip("needs root and nftables")


def test_loopback_and_host_addresses_reach_a_published_port_in_the_kernel(tmp_path: Path) -> None:
    out = _scenario(tmp_path, """
        nat.set_route_localnet("brx")
        nat.ensure_table(spec())
        nat.publish("composer_t_x", "tcp", "0.0.0.0", 8080, "10.88.0.2", 80)
        nat.publish("composer_t_x", "tcp", "127.0.0.1", 8081, "10.88.0.2", 80)
        print("any-lo", get("http://127.0.0.1:8080/"))
        print("any-gw", get("http://10.88.0.1:8080/"))
        print("pinned-lo", get("http://127.0.0.1:8081/"))
        print("pinned-gw", get("http://10.88.0.1:8081/") or "-")
        nat.publish("composer_t_x", "tcp", "0.0.0.0", 8080, "10.88.0.9", 80)  # replaces a stale entry
        nat.publish("composer_t_x", "tcp", "0.0.0.0", 8080, "10.88.0.2", 80)
        nat.unpublish("composer_t_x", "tcp", "0.0.0.0", 8080)
        nat.unpublish("composer_t_x", "tcp", "0.0.0.0", 8080)  # twice: no error
        print("after", get("http://127.0.0.1:8080/") or "-")
        nat.ensure_table(spec())  # refreshing keeps the other entries
        print("kept", get("http://127.0.0.1:8081/"))
        # CVE-2020-8558: route_localnet must not open the host's 127.0.0.1 to the bridge
        lo = subprocess.Popen(["busybox", "httpd", "-f", "-p", "127.0.0.1:9999", "-h", str(www)])
        procs.append(lo)
        sh(f"nsenter --net={ns} ip route add 127.0.0.0/8 via 10.88.0.1 dev eth0 onlink", check=False)
        listening(9999)
        print("guard", get("http://127.0.0.1:9999/", ns) or "-")
        print("tables", nat.list_tables("composer_t_"))
        nat.delete_table("composer_t_x")
        nat.delete_table("composer_t_x")
        print("deleted", nat.list_tables("composer_t_"))
    """)
    assert out.splitlines() == [
        "any-lo inside", "any-gw inside", "pinned-lo inside", "pinned-gw -", "after -", "kept inside",
        "guard -", "tables ['composer_t_x']", "deleted []",
    ]


def test_internal_network_reaches_only_dns_on_its_gateway(tmp_path: Path) -> None:
    out = _scenario(tmp_path, """
        host = subprocess.Popen(["busybox", "httpd", "-f", "-p", "10.88.0.1:8000", "-h", str(www)])
        procs.append(host)
        listening(8000)
        print("before", get("http://10.88.0.1:8000/", ns) or "-")
        nat.ensure_table(spec(internal=True))
        print("after", get("http://10.88.0.1:8000/", ns) or "-")
        print("host-to-container", get("http://10.88.0.2/"))
        nft = sh("nft list table ip composer_t_x").stdout
        print("dns-allowed", "udp dport 53 accept" in nft)
    """)
    assert out.splitlines() == ["before inside", "after -", "host-to-container inside", "dns-allowed True"]


def test_outbound_masquerading_only_when_asked_and_bridges_stay_isolated(tmp_path: Path) -> None:
    out = _scenario(tmp_path, """
        # "the outside": another namespace behind a veth, with no route back to 10.88.0.0/24
        out_ns = tmp / "outside"
        netns.create_netns(out_ns)
        links.ensure_bridge("bry", IPv4Interface("10.89.0.1/24"))
        ns2 = tmp / "c2"
        netns.create_netns(ns2)
        links.connect(ns2, "bry", "vy0", IPv4Interface("10.89.0.2/24"), IPv4Address("10.89.0.1"))
        srv2 = subprocess.Popen(["nsenter", f"--net={ns2}", "busybox", "httpd", "-f", "-p", "80", "-h", str(www)])
        procs.append(srv2)
        sh(f"ip link add up0 type veth peer name up1 netns {out_ns}")
        sh("ip addr add 198.51.100.1/24 dev up0 && ip link set up0 up")
        sh(f"nsenter --net={out_ns} sh -c 'ip addr add 198.51.100.2/24 dev up1 && ip link set up1 up'")
        far = subprocess.Popen(["nsenter", f"--net={out_ns}", "busybox", "httpd", "-f", "-p", "80", "-h", str(www)])
        procs.append(far)
        nat.enable_forwarding()  # in this test's namespace only
        listening(80, ns2)
        listening(80, out_ns)
        print("no-nat", get("http://198.51.100.2/", ns) or "-")
        nat.ensure_table(spec(outbound=True))
        nat.ensure_table(nat.TableSpec("composer_t_y", "bry", "10.89.0.0/24", "10.89.0.1"))
        print("nat", get("http://198.51.100.2/", ns) or "-")
        print("cross-bridge", get("http://10.89.0.2/", ns) or "-")
        print("host-to-other", get("http://10.89.0.2/"))
        nat.delete_table("composer_t_y")
        netns.delete_netns(ns2); netns.delete_netns(out_ns)
    """)
    assert out.splitlines() == ["no-nat -", "nat inside", "cross-bridge -", "host-to-other inside"]


def test_table_script_is_one_transaction_per_network() -> None:
    script = nat.table_script(nat.TableSpec("composer_a_b", "br-1", "10.0.0.0/24", "10.0.0.1"), False)
    assert script.startswith("table ip composer_a_b {")
    assert "masquerade" not in script and "prerouting dnat" not in script
    assert "prerouting fib" not in script  # no DNAT from outside unless the host forwards
    forwarding = nat.table_script(nat.TableSpec("composer_a_b", "br-1", "10.0.0.0/24", "10.0.0.1",
                                                outbound=True), True)
    assert "add rule ip composer_a_b prerouting fib daddr type local dnat ip to tcp dport map @any_tcp" in forwarding
    assert 'add rule ip composer_a_b postrouting ip saddr 10.0.0.0/24 oifname != "br-1" masquerade' in forwarding
