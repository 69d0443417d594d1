"""Networking end to end: isolation, discovery, published ports, cleanup — real traffic.

Every claim is checked with connections from inside containers (busybox
``wget``, ``nslookup``, ``nc``) or from the host to published ports. Traffic
stays on loopback and on the bridges the test created; forwarding to upstream
resolvers is exercised only against a fake DNS server on a loopback address.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest

from tests import helpers
from tests.helpers import wait_for

pytestmark = pytest.mark.root

TRAP = "trap 'exit 0' TERM; "
HTTPD = f"{TRAP}echo $$SVC > /tmp/index.html; httpd -f -p 80 -h /tmp & wait"
# the names a busybox nslookup answered, sorted, space separated
RES = "res() { nslookup $1 2>/dev/null | awk '/^Name:/{f=1} f&&/^Address/{print $NF}' | sort | tr '\\n' ' '; }; "
GET = "get() { timeout 2 wget -q -O- http://$1/ 2>/dev/null || echo -; }; "


def _wired() -> bool:
    from composer.engine import containers, up

    return "attach.connect" in inspect.getsource(containers) and "ensure_project_network" in inspect.getsource(up)


@pytest.fixture(autouse=True)
def _engine_and_tables(composer_root: Path) -> Iterator[None]:
    """Skip until the engine calls the networking hooks; drop this root's nft tables after."""
    if not _wired():
        pytest.skip("engine does not call attach.connect / ensure_project_network yet (notes/net-requests.md)")
    yield
    tag = hashlib.sha256(str(composer_root.resolve()).encode()).hexdigest()[:8]
    out = subprocess.run(["nft", "list", "tables", "ip"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        if line.startswith(f"table ip composer_{tag}_"):
            subprocess.run(["nft", "delete", "table", "ip", line.split()[-1]], capture_output=True, check=False)


def _free_subnet() -> IPv4Network:
    return helpers.free_subnet()


def _free_port(proto: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, proto) as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


def _records(root: Path) -> dict[str, dict[str, Any]]:
    recs = {}
    for f in (root / "containers").glob("*/container.json"):
        rec = json.loads(f.read_text())
        recs[rec["name"]] = rec
    return recs


def _ip(root: Path, name: str, network: str) -> str:
    return str(_records(root)[name]["networks"][network]["ip"])


def _http(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:  # loopback or our bridges only
            return str(r.read().decode().strip())
    except OSError:
        return "-"


def _serving(root: Path, names: list[str]) -> None:
    """Wait (bounded) until each named container's httpd answers the host on its first address.

    ``up -d`` returns once the programs are started, not once they listen.
    """
    for name in names:
        ip = next(iter(_records(root)[name]["networks"].values()))["ip"]
        wait_for(lambda ip=ip: _http(f"http://{ip}/") != "-", timeout=30, what=f"{name}'s httpd on {ip}")


def _sh(run: Any, base: list[str], service: str, script: str, index: int = 1) -> str:
    proc = run(*base, "exec", "--index", str(index), service, "sh", "-c", RES + GET + script, timeout=60)
    return str(proc.stdout)


def _nets(root: Path) -> tuple[list[str], list[str]]:
    recs = [json.loads(n.read_text()) for n in sorted((root / "networks").glob("*.json"))]
    return [r["subnet"] for r in recs], [r["bridge"] for r in recs]


def _leftovers(root: Path, project: str, subnets: list[str], bridges: list[str]) -> list[str]:
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True, check=True).stdout
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True).stdout
    left = [b for b in bridges if f" {b}:" in links]
    # by device: once freed, a subnet may at once be taken by a parallel test's root
    left += [f"route {s} dev {b}" for s, b in zip(subnets, bridges, strict=True) if f"{s} dev {b} " in routes]
    left += [t for t in tables.split() if t.startswith(f"composer_{tag}_")]
    netns_dir = root / "run" / "netns"
    left += [str(p) for p in netns_dir.iterdir()] if netns_dir.exists() else []
    left += [n for n in _records(root) if n.startswith(project)]
    return left


def test_stack_isolation_discovery_and_published_port(run: Any, composer_root: Path, tmp_path: Path,
                                                      project_name: str) -> None:
    db_net = _free_subnet()
    db_ip = str(db_net.network_address + 10)
    port = _free_port()
    f = tmp_path / "compose.yaml"
    f.write_text(f"""
services:
  proxy:
    image: busybox
    environment: {{SVC: proxy}}
    command: ["sh", "-c", "{HTTPD}"]
    networks: [frontend, backend]
    ports: ["{port}:80"]
  web:
    image: busybox
    environment: {{SVC: web}}
    command: ["sh", "-c", "{HTTPD}"]
    networks:
      frontend:
        aliases: [www]
  api:
    image: busybox
    environment: {{SVC: api}}
    command: ["sh", "-c", "{HTTPD}"]
    deploy: {{replicas: 2}}
    networks:
      backend:
        aliases: [apis]
      db: {{}}
  db:
    image: busybox
    environment: {{SVC: db}}
    hostname: dbhost
    command: ["sh", "-c", "{HTTPD}"]
    networks:
      db:
        ipv4_address: {db_ip}
networks:
  frontend: {{}}
  backend: {{}}
  db:
    internal: true
    ipam:
      config: [{{subnet: "{db_net}"}}]
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")
    p = project_name
    _serving(composer_root, [f"{p}-{s}" for s in ("proxy-1", "web-1", "api-1", "api-2", "db-1")])
    recs = _records(composer_root)
    api_ips = sorted(recs[f"{p}-api-{n}"]["networks"][f"{p}_backend"]["ip"] for n in (1, 2))
    proxy_backend = _ip(composer_root, f"{p}-proxy-1", f"{p}_backend")
    front_gw = recs[f"{p}-proxy-1"]["networks"][f"{p}_frontend"]["gateway"]
    db_gw = str(db_net.network_address + 1)

    # frontend only: sees proxy and its own alias, nothing of backend or db
    out = _sh(run, base, "web", f"""
echo "proxy=$(res proxy)"; echo "www=$(get www)"; echo "get-proxy=$(get proxy)"
echo "api=$(res api)"; echo "apis=$(res apis)"; echo "db=$(res db)"
(echo "api-ip=$(get {api_ips[0]})") & (echo "db-ip=$(get {db_ip})") & wait
""")
    assert "www=web" in out and "get-proxy=proxy" in out
    assert "api=\n" in out and "apis=\n" in out and "db=\n" in out
    assert "api-ip=-" in out and "db-ip=-" in out
    assert out.split("proxy=")[1].split()[0] == _ip(composer_root, f"{p}-proxy-1", f"{p}_frontend")

    # on both: reaches web and every replica of api (by service name and alias), not db
    out = _sh(run, base, "proxy", f"""
echo "api=$(res api)"; echo "apis=$(res apis)"; echo "get-apis=$(get apis)"; echo "get-web=$(get web)"
echo "db=$(res db)"; echo "db-ip=$(get {db_ip})"
""")
    assert f"api={' '.join(api_ips)} " in out and f"apis={' '.join(api_ips)} " in out
    assert "get-apis=api" in out and "get-web=web" in out
    assert "db=\n" in out and "db-ip=-" in out

    # api is on backend and db: reaches db by name, hostname and static address
    out = _sh(run, base, "api", f"""
echo "db=$(res db)"; echo "dbhost=$(res dbhost)"; echo "get-db=$(get db)"; echo "get-ip=$(get {db_ip})"
echo "proxy=$(get proxy)"
""", index=2)
    assert f"db={db_ip} " in out and f"dbhost={db_ip} " in out
    assert "get-db=db" in out and "get-ip=db" in out and "proxy=proxy" in out

    # internal: no default route, no way to the host or the other networks, DNS still works
    out = _sh(run, base, "db", f"""
echo "routes=$(ip route | grep -c default)"; echo "api=$(res api)"
(echo "host=$(get {db_gw}:{port})") & (echo "proxy=$(get {proxy_backend})") & wait
echo "hostname=$(hostname)"; tail -n 1 /etc/hosts; cat /etc/hostname
""")
    assert "routes=0" in out and "host=-" in out and "proxy=-" in out
    db_side = sorted(recs[f"{p}-api-{n}"]["networks"][f"{p}_db"]["ip"] for n in (1, 2))
    assert f"api={' '.join(db_side)} " in out
    assert "hostname=dbhost" in out and f"{db_ip}\tdbhost" in out and out.rstrip().endswith("dbhost")

    # the published port, from the host's loopback and from one of its interface addresses
    assert _http(f"http://127.0.0.1:{port}/") == "proxy"
    assert _http(f"http://{front_gw}:{port}/") == "proxy"
    assert run(*base, "port", "proxy", "80").stdout.strip() == f"0.0.0.0:{port}"

    subnets, bridges = _nets(composer_root)
    run(*base, "down")
    assert _leftovers(composer_root, project_name, subnets, bridges) == []
    assert _http(f"http://127.0.0.1:{port}/") == "-"


PROMPT = 3.0  # seconds: a few rescans, with room for a loaded machine


def _dns_log(root: Path, name: str) -> list[tuple[float, list[str]]]:
    """(time, addresses) lines of a container that prints ``res api`` every 100 ms."""
    import datetime as dt

    rec = _records(root)[name]
    path = root / "containers" / rec["id"] / f"{rec['id']}-json.log"
    out = []
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        stamp = dt.datetime.fromisoformat(entry["time"].replace("Z", "+00:00")[:26] + "+00:00").timestamp()
        out.append((stamp, entry["log"].split()))
    return out


def _first(root: Path, name: str, since: float, want: int, timeout: float = 20.0) -> float:
    """Seconds from ``since`` to the first answer holding ``want`` addresses."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for stamp, addrs in _dns_log(root, name):
            if stamp >= since and len(addrs) == want:
                return stamp - since
        time.sleep(0.1)
    raise AssertionError(f"no answer with {want} addresses since {since}: {_dns_log(root, name)[-40:]}")


def test_answers_follow_scale_and_kill_promptly(run: Any, composer_root: Path, tmp_path: Path,
                                                project_name: str) -> None:
    """The monitor rescans every 0.5 s: answers change within a few seconds (a busy machine), not at the TTL (600 s)."""
    f = tmp_path / "compose.yaml"
    (tmp_path / "watch.sh").write_text(TRAP + RES + "while true; do echo $(res api); sleep 0.1; done & wait\n")
    f.write_text(f"""
services:
  api:
    image: busybox
    command: ["sh", "-c", "{TRAP}sleep 1000 & wait"]
  watcher:
    image: busybox
    command: ["sh", "/watch.sh"]
    volumes: ["./watch.sh:/watch.sh:ro"]
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")
    watcher = f"{project_name}-watcher-1"
    _first(composer_root, watcher, 0, 1)
    run(*base, "up", "-d", "--scale", "api=3")
    since = time.time()  # the new replicas have started when up returns
    assert _first(composer_root, watcher, since, 3) < PROMPT
    # SIGKILL one replica: its address leaves the answers
    victim = _records(composer_root)[f"{project_name}-api-3"]
    state = json.loads((composer_root / "run" / "runtime" / victim["id"] / "state.json").read_text())
    since = time.time()
    os.kill(int(state["pid"]), signal.SIGKILL)
    assert _first(composer_root, watcher, since, 2) < PROMPT
    run(*base, "up", "-d", "--scale", "api=1")
    since = time.time()
    assert _first(composer_root, watcher, since, 1) < PROMPT
    run(*base, "down", "-t", "1")


class _FakeUpstream:
    """A DNS server on a loopback address answering every A query with 10.9.9.9."""

    def __init__(self) -> None:
        from dnslib import QTYPE, RR, A, DNSRecord

        self.address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.address, 53))
        self.sock.settimeout(0.2)
        self.asked: list[str] = []
        self.stop = threading.Event()

        def serve() -> None:
            while not self.stop.is_set():
                try:
                    data, peer = self.sock.recvfrom(512)
                except TimeoutError:
                    continue
                query = DNSRecord.parse(data)
                reply = query.reply()
                self.asked.append(str(query.q.qname))
                if query.q.qtype == QTYPE.A:
                    reply.add_answer(RR(query.q.qname, QTYPE.A, rdata=A("10.9.9.9"), ttl=5))
                self.sock.sendto(reply.pack(), peer)

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def test_dns_options_extra_hosts_links_forwarding_and_network_modes(run: Any, composer_root: Path, tmp_path: Path,
                                                                    project_name: str) -> None:
    upstream = _FakeUpstream()
    subnet = _free_subnet()
    ip_range = next(subnet.subnets(new_prefix=25))
    aux = str(ip_range.network_address + 1)
    try:
        f = tmp_path / "compose.yaml"
        f.write_text(f"""
services:
  a:
    image: busybox
    command: ["sh", "-c", "{TRAP}sleep 1000 & wait"]
    dns: [{upstream.address}]
    dns_search: [example.test]
    dns_opt: ["timeout:1"]
    extra_hosts: ["gw.test:host-gateway", "fixed.test=10.1.2.3"]
    links: ["b:buddy"]
    mac_address: "02:42:ac:11:00:99"
    networks: [n1]
  b:
    image: busybox
    command: ["sh", "-c", "{TRAP}sleep 1000 & wait"]
    networks: [n1]
  c:
    image: busybox
    command: ["sh", "-c", "{TRAP}sleep 1000 & wait"]
    network_mode: "service:a"
  d:
    image: busybox
    command: ["sh", "-c", "{TRAP}sleep 1000 & wait"]
    network_mode: none
  e:
    image: busybox
    command: ["sh", "-c", "{TRAP}sleep 1000 & wait"]
    network_mode: host
networks:
  n1:
    driver_opts: {{com.docker.network.driver.mtu: "1400"}}
    ipam:
      config: [{{subnet: "{subnet}", ip_range: "{ip_range}", aux_addresses: {{reserved: "{aux}"}}}}]
""")
        base = ["-f", str(f), "-p", project_name]
        run(*base, "up", "-d")
        p = project_name
        net = f"{p}_n1"
        a_ip, b_ip = _ip(composer_root, f"{p}-a-1", net), _ip(composer_root, f"{p}-b-1", net)
        gw = str(subnet.network_address + 1)
        assert {a_ip, b_ip} <= {str(h) for h in ip_range.hosts()} and aux not in (a_ip, b_ip)
        out = _sh(run, base, "a", """
cat /etc/resolv.conf; cat /etc/hosts; ip -o link show eth0
echo "buddy=$(res buddy.)"; echo "far=$(res far.example.test.)"; echo "bare=$(res nothere.)"
""")
        assert f"nameserver {gw}\nsearch example.test\noptions timeout:1 ndots:0\n" in out
        assert f"{gw}\tgw.test\n10.1.2.3\tfixed.test\n" in out
        assert "mtu 1400" in out and "02:42:ac:11:00:99" in out
        assert f"buddy={b_ip} " in out and "far=10.9.9.9 " in out
        assert "far.example.test." in upstream.asked
        # a bare name nobody has is not sent upstream (search domains may be, by the client)
        assert "nothere." not in upstream.asked
        # service:a shares a's namespace and its files; none has only loopback
        out_c = _sh(run, base, "c", "ip -o -4 addr show eth0; cat /etc/hosts")
        assert f"inet {a_ip}/" in out_c and f"{a_ip}\t" in out_c
        out_d = _sh(run, base, "d", "ip -o link | wc -l; ip -o link")
        assert out_d.split()[0] == "1" and " lo:" in out_d
        out_e = _sh(run, base, "e", "readlink /proc/self/ns/net")
        assert out_e.strip() == os.readlink("/proc/self/ns/net")  # the host's namespace
        run(*base, "down", "-t", "1")
    finally:
        upstream.close()


def test_published_ports_ranges_udp_random_and_port_in_use(run: Any, composer_root: Path, tmp_path: Path,
                                                            project_name: str) -> None:
    base_port = _free_port()
    while any(_port_taken(base_port + i) for i in range(4)):
        base_port = _free_port()
    udp = _free_port(socket.SOCK_DGRAM)
    f = tmp_path / "compose.yaml"
    f.write_text(f"""
services:
  a:
    image: busybox
    environment: {{SVC: a}}
    command: ["sh", "-c", "{TRAP}echo a > /tmp/index.html; httpd -f -p 80 -h /tmp & wait"]
    ports:
      - "{base_port}-{base_port + 1}:80"
      - "127.0.0.1:{base_port + 2}:80"
      - "80"
      - target: 7
        published: "{udp}"
        protocol: udp
""")
    base = ["-f", str(f), "-p", project_name]
    holder = socket.socket()
    holder.bind(("0.0.0.0", base_port))
    holder.listen()
    try:
        run(*base, "up", "-d")
        _serving(composer_root, [f"{project_name}-a-1"])
        assert _http(f"http://127.0.0.1:{base_port + 1}/") == "a"  # the range's first free port
        assert _http(f"http://127.0.0.1:{base_port + 2}/") == "a"
        random_port = run(*base, "port", "a", "80").stdout.split()
        assert any(_http(f"http://{line}/") == "a" for line in random_port if not line.endswith(f":{base_port + 1}"))
        # busybox has no UDP server: a UDP echo runs in the container's network namespace
        cid = _records(composer_root)[f"{project_name}-a-1"]["id"]
        echo = subprocess.Popen(["nsenter", f"--net={composer_root / 'run' / 'netns' / cid}", sys.executable,
                                 "-c", UDP_ECHO])
        try:
            assert _udp_roundtrip(("127.0.0.1", udp)) == b"ping"
        finally:
            echo.kill()
            echo.wait()
        # a fixed port already held: the error names the port and the process holding it
        g = tmp_path / "taken.yaml"
        g.write_text(f'services:\n  b:\n    image: busybox\n    command: ["sleep", "100"]\n'
                     f'    ports: ["{base_port}:80"]\n')
        proc = run("-f", str(g), "-p", project_name + "b", "up", "-d", check=False)
        assert proc.returncode != 0
        assert (f"Bind for 0.0.0.0:{base_port} failed: port is already allocated (held by pid {os.getpid()} "
                in proc.stderr)
        run("-f", str(g), "-p", project_name + "b", "down", "-t", "0")
        run(*base, "down", "-t", "0")
        assert _http(f"http://127.0.0.1:{base_port + 2}/") == "-"
    finally:
        holder.close()


UDP_ECHO = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7))
s.settimeout(20)
while True:
    data, peer = s.recvfrom(100)
    s.sendto(data, peer)
"""


def _udp_roundtrip(address: tuple[str, int]) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        for _ in range(20):  # until the echo server is up
            s.sendto(b"ping", address)
            with contextlib.suppress(TimeoutError):
                return s.recvfrom(100)[0]
    return b""


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def test_network_commands_and_external_network(run: Any, composer_root: Path, tmp_path: Path,
                                               project_name: str) -> None:
    subnet = _free_subnet()
    name = f"{project_name}-ext"
    net_id = run("network", "create", "--subnet", str(subnet), "--label", "team=net", name).stdout.strip()
    assert len(net_id) == 64
    proc = run("network", "create", name, check=False)
    assert proc.returncode != 0 and f"network with name {name} already exists" in proc.stderr
    assert name in run("network", "ls").stdout
    assert run("network", "ls", "-q").stdout.split().count(net_id[:12]) == 1
    f = tmp_path / "compose.yaml"
    f.write_text(f"""
services:
  a:
    image: busybox
    command: ["sh", "-c", "{TRAP}sleep 1000 & wait"]
    networks: [outside]
networks:
  outside:
    external: true
    name: {name}
""")
    base = ["-f", str(f), "-p", project_name]
    run(*base, "up", "-d")
    info = json.loads(run("network", "inspect", name).stdout)[0]
    assert info["Id"] == net_id and info["Labels"] == {"team": "net"}
    assert info["IPAM"]["Config"][0]["Subnet"] == str(subnet)
    [(_cid, entry)] = info["Containers"].items()
    assert entry["Name"] == f"{project_name}-a-1" and entry["IPv4Address"].startswith(str(subnet.network_address)[:-1])
    proc = run("network", "rm", name, check=False)
    assert proc.returncode != 0 and "has active endpoints" in proc.stderr
    run(*base, "down", "-t", "0")
    assert name in run("network", "ls").stdout  # external: never removed by down
    assert name in run("network", "prune", "-f").stdout
    assert name not in run("network", "ls").stdout
    proc = run("network", "inspect", name, check=False)
    assert proc.returncode != 0 and f"network {name} not found" in proc.stderr


def test_down_reclaims_what_a_killed_up_left(run: Any, composer_root: Path, tmp_path: Path,
                                             project_name: str) -> None:
    f = tmp_path / "compose.yaml"
    services = "".join(f"""
  s{n}:
    image: busybox
    command: ["sh", "-c", "{TRAP}sleep 1000 & wait"]
    networks: [n{n % 3}]
    ports: ["80"]
""" for n in range(6))
    f.write_text(f"services:{services}networks:\n  n0: {{}}\n  n1: {{}}\n  n2: {{}}\n")
    env = {**os.environ, "COMPOSER_ROOT": str(composer_root)}
    proc = subprocess.Popen([sys.executable, "-m", "composer", "-f", str(f), "-p", project_name, "up", "-d"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not list((composer_root / "run" / "netns").glob("*")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(5)
    subnets, bridges = _nets(composer_root)
    assert bridges  # the kill came after the networks were made
    # down removes all of it (the next up taking over is the engine's: notes/net-requests.md #10)
    run("-f", str(f), "-p", project_name, "down", "-t", "0")
    assert _leftovers(composer_root, project_name, subnets, bridges) == []
    assert run("network", "ls", "-q").stdout == ""


def test_outbound_masquerading_inside_a_sandbox_host(composer_root: Path, tmp_path: Path, project_name: str) -> None:
    """composer runs in a namespace of the test's playing "the host"; another plays "the outside"."""
    from composer.runtime.net import netns

    host_ns, outside_ns = tmp_path / "host-ns", tmp_path / "outside-ns"
    netns.create_netns(host_ns)
    netns.create_netns(outside_ns)
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("outside\n")
    far = None
    env = {**os.environ, "COMPOSER_ROOT": str(composer_root)}
    host_forwarding = Path("/proc/sys/net/ipv4/ip_forward").read_text()

    def cli(*args: str, outbound: bool = False) -> subprocess.CompletedProcess[str]:
        extra = {"COMPOSER_OUTBOUND": "1"} if outbound else {}
        return subprocess.run(["nsenter", f"--net={host_ns}", sys.executable, "-m", "composer", *args],
                              env={**env, **extra}, capture_output=True, text=True, timeout=120, check=False)

    def sh(*argv: str) -> None:
        subprocess.run(argv, check=True, capture_output=True, timeout=10)

    try:
        sh("ip", "link", "add", "up0", "netns", str(host_ns), "type", "veth", "peer", "name", "up1",
           "netns", str(outside_ns))
        sh("nsenter", f"--net={host_ns}", "sh", "-c",
           "ip addr add 198.51.100.1/24 dev up0 && ip link set up0 up && ip route add default via 198.51.100.2")
        sh("nsenter", f"--net={outside_ns}", "sh", "-c", "ip addr add 198.51.100.2/24 dev up1 && ip link set up1 up")
        far = subprocess.Popen(["nsenter", f"--net={outside_ns}", "busybox", "httpd", "-f", "-p", "80", "-h",
                                str(www)])
        f = tmp_path / "compose.yaml"
        f.write_text(f"""
services:
  out:
    image: busybox
    command: ["sh", "-c", "{TRAP}sleep 1000 & wait"]
    networks: [masq]
  closed:
    image: busybox
    command: ["sh", "-c", "{TRAP}sleep 1000 & wait"]
networks:
  masq:
    driver_opts: {{com.docker.network.bridge.enable_ip_masquerade: "true"}}
""")
        base = ["-f", str(f), "-p", project_name]
        up = cli(*base, "up", "-d")
        assert up.returncode == 0, up.stderr
        probe = "timeout 2 wget -q -O- http://198.51.100.2/ || echo -"
        # retried: "the outside"'s httpd was started in the background and may not listen yet
        wait_for(lambda: cli(*base, "exec", "out", "sh", "-c", probe).stdout.strip() == "outside", timeout=60,
                 interval=0.2, what="a masqueraded fetch from outside")
        assert cli(*base, "exec", "closed", "sh", "-c", probe).stdout.strip() == "-"  # not opted in
        # the host's own forwarding was never touched
        assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == host_forwarding
        down = cli(*base, "down", "-t", "0")
        assert down.returncode == 0, down.stderr
        tables = subprocess.run(["nsenter", f"--net={host_ns}", "nft", "list", "tables"], capture_output=True,
                                text=True, check=True).stdout
        assert "composer_" not in tables
    finally:
        cli("-f", str(tmp_path / "compose.yaml"), "-p", project_name, "down", "-t", "0")
        if far is not None:
            far.kill()
            far.wait()
        netns.delete_netns(outside_ns)
        netns.delete_netns(host_ns)
