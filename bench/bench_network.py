"""Networking costs: a 1 GiB TCP transfer through a published port vs direct; DNS queries/s.

Throughput (same run, same container, same sink):

- ``direct``: host → the container's address on its bridge;
- ``published, 127.0.0.1``: host → 127.0.0.1:<published port>, DNAT'ed (and
  SNAT'ed to the gateway) by the network's nftables table;
- ``published, host address``: host → one of its own addresses (the bridge
  gateway) :<published port>, DNAT'ed only;
- ``userland proxy``: host → a ``runtime.net.ports.forward_tcp`` proxy on
  loopback → the container (what clients from other hosts use while the host
  does not forward, and the fallback without nftables).

The sink is a small Python reader run inside the container's network
namespace (busybox has no fast sink). DNS: the embedded ``DnsServer`` with
the real ``dns_view.lookup`` over 60 containers, queried over UDP on loopback
by a client process (sequential, then 16 queries in flight).

    .venv/bin/python bench/bench_network.py [--size-mib 1024] [-n 3] [--queries 20000]

Traffic stays on loopback and on the bridge this script creates.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SINK = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000)); s.listen(8)
buf = bytearray(1 << 20)
while True:
    c, _ = s.accept()
    n = 0
    while True:
        k = c.recv_into(buf)
        if not k:
            break
        n += k
    c.sendall(str(n).encode()); c.close()
"""


def send(address: tuple[str, int], source: Path, size: int) -> float:
    """Seconds to push ``size`` bytes of a (sparse) file with sendfile, until the sink confirms."""
    start = time.perf_counter()
    with socket.create_connection(address, timeout=30) as s, source.open("rb") as f:
        s.sendfile(f, 0, size)
        s.shutdown(socket.SHUT_WR)
        got = int(s.recv(64))
    elapsed = time.perf_counter() - start
    assert got == size, (got, size)
    return elapsed


def composer(root: Path, *args: str) -> str:
    env = {**os.environ, "COMPOSER_ROOT": str(root)}
    return subprocess.run([sys.executable, "-m", "composer", *args], env=env, check=True,
                          capture_output=True, text=True, cwd=root).stdout


def bench_throughput(size_mib: int, runs: int) -> dict[str, list[float]]:
    from tests import helpers

    root = Path(tempfile.mkdtemp(prefix="composer-bench-net-"))
    tarball = root / "busybox.tar"
    helpers.make_busybox_tarball(tarball)
    composer(root, "image", "import", "-c", 'CMD ["sh"]', str(tarball), "busybox:latest")
    with socket.socket() as s, socket.socket() as s2:
        s.bind(("127.0.0.1", 0))
        s2.bind(("0.0.0.0", 0))
        port, port2 = s.getsockname()[1], s2.getsockname()[1]
    (root / "compose.yaml").write_text(
        "services:\n  sink:\n    image: busybox\n"
        "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 100000 & wait\"]\n"
        f"    ports: [\"127.0.0.1:{port}:9000\", \"{port2}:9000\"]\n")
    base = ["-f", str(root / "compose.yaml"), "-p", "benchnet"]
    sink = None
    out: dict[str, list[float]] = {"direct": [], "published, 127.0.0.1 (kernel NAT)": [],
                                   "published, host address (kernel NAT)": [], "userland proxy": []}
    try:
        composer(root, *base, "up", "-d")
        rec = next(json.loads(p.read_text()) for p in (root / "containers").glob("*/container.json"))
        att = next(iter(rec["networks"].values()))
        ip, gateway = att["ip"], att["gateway"]
        sink = subprocess.Popen(["nsenter", f"--net={root / 'run' / 'netns' / rec['id']}", sys.executable,
                                 "-c", SINK])
        proxy_port, _, stop = _start_proxy(ip)
        time.sleep(1.0)
        size = size_mib << 20
        source = root / "zeros"
        with source.open("wb") as zeros:
            zeros.truncate(size)  # sparse: reading it costs no disk
        for _ in range(runs):
            out["direct"].append(send((ip, 9000), source, size))
            out["published, 127.0.0.1 (kernel NAT)"].append(send(("127.0.0.1", port), source, size))
            out["published, host address (kernel NAT)"].append(send((gateway, port2), source, size))
            out["userland proxy"].append(send(("127.0.0.1", proxy_port), source, size))
        stop.set()
    finally:
        if sink is not None:
            sink.kill()
            sink.wait()
        subprocess.run([sys.executable, "-m", "composer", *base, "down", "-t", "0"], capture_output=True,
                       env={**os.environ, "COMPOSER_ROOT": str(root)}, check=False)
        from tests.helpers import cleanup_root

        cleanup_root(root)
        shutil.rmtree(root, ignore_errors=True)
    return out


def _start_proxy(target_ip: str) -> tuple[int, threading.Thread, threading.Event]:
    import anyio

    from composer.runtime.net import ports

    stop = threading.Event()
    bound: list[int] = []
    ready = threading.Event()

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            bound.append(await tg.start(ports.forward_tcp, "127.0.0.1", 0, target_ip, 9000))
            ready.set()
            while not stop.is_set():
                await anyio.sleep(0.1)
            tg.cancel_scope.cancel()

    thread = threading.Thread(target=anyio.run, args=(main,), daemon=True)
    thread.start()
    ready.wait(10)
    return bound[0], thread, stop


CLIENT = """
import socket, sys, time
from dnslib import DNSRecord
port, n, inflight = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
queries = [DNSRecord.question(f"svc{i % 20}", "A") for i in range(64)]
packets = []
for i, q in enumerate(queries):
    q.header.id = i
    packets.append(q.pack())
start = time.perf_counter(); sent = got = 0
while got < n:
    while sent < n and sent - got < inflight:
        s.sendto(packets[sent % 64], ("127.0.0.1", port)); sent += 1
    s.recvfrom(4096); got += 1
print(n / (time.perf_counter() - start))
"""


def bench_dns(queries: int) -> dict[str, float]:
    import anyio

    from composer.engine import dns_view
    from composer.runtime.net.dns import DnsServer

    records = {}
    for i in range(60):
        cid = f"{i:064x}"
        records[cid] = {"name": f"p-svc{i % 20}-{i // 20 + 1}", "hostname": cid[:12],
                        "networks": {"p_default": {"ip": f"10.99.{i // 250}.{i % 250 + 2}",
                                                   "aliases": [f"svc{i % 20}"]}}}
    records["c" * 64] = {"name": "client", "networks": {"p_default": {"ip": "127.0.0.1", "aliases": []}}}
    running = set(records)
    results: dict[str, float] = {}

    async def main() -> None:
        server = DnsServer(lambda ip, name: dns_view.lookup(records, running, ip, name), upstreams=[])
        async with anyio.create_task_group() as tg:
            [(_, port)] = await tg.start(server.serve, [("127.0.0.1", 0)])
            for label, inflight in (("sequential", 1), ("16 in flight", 16)):
                proc = await anyio.run_process([sys.executable, "-c", CLIENT, str(port), str(queries),
                                                str(inflight)])
                results[label] = float(proc.stdout.decode())
            tg.cancel_scope.cancel()

    anyio.run(main)
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("-n", type=int, default=3)
    parser.add_argument("--queries", type=int, default=20000)
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d')}, {os.uname().nodename}, {os.cpu_count()} cpus, "
          f"load {os.getloadavg()[0]:.1f}")
    tp = bench_throughput(args.size_mib, args.n)
    direct = statistics.median(tp["direct"])
    print(f"\n{args.size_mib} MiB TCP transfer, median of {args.n}")
    print("| path | seconds | MiB/s | vs direct |")
    print("|---|---|---|---|")
    for label, times in tp.items():
        t = statistics.median(times)
        print(f"| {label} | {t:.2f} | {args.size_mib / t:.0f} | {direct / t:.0%} |")
    qps = bench_dns(args.queries)
    print(f"\nembedded DNS, {args.queries} A queries of service names (60 containers)")
    print("| client | queries/s |")
    print("|---|---|")
    for label, value in qps.items():
        print(f"| {label} | {value:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
