"""composer side by side with Docker Compose v2 and podman-compose, in one run (issues #4, #7).

The same generated N-service busybox stack for each tool; every iteration runs
each operation for every tool in turn, round-robin (the starting tool rotates),
so the tools share the machine's noise:

    up -d, ps (stack running, 3x), run --rm -T s000 true, <engine> run --rm IMAGE true,
    version, down

The peers use ``localhost/localbusybox:latest`` with ``pull_policy: never``;
composer uses its own ``busybox:latest`` (scripts/make-busybox-image.sh) in a
fresh temporary root. The engines come from ../shared/reference-engines/ and
are up only for the measurement window: with ``--engines`` the script runs
setup-docker.sh and setup-podman.sh, the benchmark, then teardown.sh in a
``finally`` (also on SIGTERM/SIGINT/SIGHUP), and checks that the network and
cgroup state is back to the snapshot taken before. dockerd sets the iptables
FORWARD policy to DROP when it turns on ip_forward; with br_netfilter active
that drops bridged traffic of everybody else's containers on this machine, so
the policy is put back to ACCEPT right after dockerd starts (the
anchors_guard table still drops anything forwarded to the uplink).

    .venv/bin/python bench/bench_peers.py --engines [-n 5] [--services 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from composer.runtime.net.nat import BRIDGE_GROUP  # noqa: E402
from tests.helpers import cleanup_root  # noqa: E402  (read-only helper: kill, unmount, rm a root)

COMPOSER = str(REPO / ".venv" / "bin" / "composer")
REF = Path(os.environ.get("REF_ENGINES", REPO.parent / "shared" / "reference-engines"))
STATE = Path(os.environ.get("REF_ENGINES_STATE", "/var/tmp/reference-engines"))
DOCKER = "/usr/bin/docker"  # Debian's 20.10 CLI (/usr/local/bin/docker is a newer one)
DOCKER_COMPOSE = str(STATE / "tools" / "docker-compose-v2")
PODMAN_COMPOSE = str(STATE / "venv" / "bin" / "podman-compose")
PEER_IMAGE = "localhost/localbusybox:latest"
PROJECT = "anchorbench"  # a project teardown.sh knows, so it removes peer leftovers
CMD_TIMEOUT = 300.0
OPS = ("up -d", "ps", "run --rm", "engine run --rm", "version", "down")
PS_REPEAT = 3
MAX_ERRORS = 3  # a tool that fails this often is left out of the rest of the run
SYSCTLS = ("net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding", "net/ipv4/conf/all/route_localnet",
           "net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables")
ENGINE_PROCS = ("dockerd", "containerd", "containerd-shim", "containerd-shi", "conmon", "aardvark-dns",
                "docker-proxy", "netavark")


@dataclass
class Tool:
    name: str
    compose: list[str]
    env: dict[str, str]
    image: str
    engine_run: list[str] | None
    workdir: Path
    times: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return len(self.errors) >= MAX_ERRORS

    def args(self, op: str) -> list[str] | None:
        """The command line of one operation (None: the tool has no such command)."""
        table = {
            "up -d": [*self.compose, "-p", PROJECT, "up", "-d"],
            "ps": [*self.compose, "-p", PROJECT, "ps"],
            "run --rm": [*self.compose, "-p", PROJECT, "run", "--rm", "-T", "s000", "true"],
            "engine run --rm": self.engine_run,
            "version": [*self.compose, "version"],
            "down": [*self.compose, "-p", PROJECT, "down"],
        }
        return table[op]


def stack(n: int, image: str) -> str:
    """The same generated stack as bench_stack.py's."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_stack import stack as generated

    return generated(n, image)


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=CMD_TIMEOUT, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {' | '.join(tail)}")
    return elapsed


def out(cmd: list[str], env: dict[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"<{exc}>"
    return proc.stdout.strip() or proc.stderr.strip()


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(REF / "podman" / "containers.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(REF / "podman" / "registries.conf")}


def make_tools(work: Path, services: int, root: Path) -> list[Tool]:
    cenv = {**os.environ, "COMPOSER_ROOT": str(root)}
    penv = podman_env()
    tools = [
        Tool("composer", [COMPOSER], cenv, "busybox:latest", None, work / "composer"),
        Tool("docker compose v2", [DOCKER_COMPOSE], dict(os.environ), PEER_IMAGE,
             [DOCKER, "run", "--rm", PEER_IMAGE, "true"], work / "docker"),
        Tool("podman-compose", [PODMAN_COMPOSE], penv, PEER_IMAGE,
             ["podman", "run", "--rm", "--pull=never", PEER_IMAGE, "true"], work / "podman"),
    ]
    for tool in tools:
        tool.workdir.mkdir()
        (tool.workdir / "compose.yaml").write_text(stack(services, tool.image))
    return tools


def usable(tool: Tool) -> bool:
    """composer always; a peer when its engine answers and holds the image (nothing is pulled)."""
    if tool.name == "composer":
        return True
    probe = {"docker compose v2": [DOCKER, "image", "inspect", PEER_IMAGE],
             "podman-compose": ["podman", "image", "exists", PEER_IMAGE]}[tool.name]
    found = subprocess.run(probe, env=tool.env, capture_output=True, timeout=60, check=False).returncode == 0
    if not found:
        print(f"  {tool.name}: engine not reachable or no {PEER_IMAGE}: left out", file=sys.stderr)
    return found


def step(tool: Tool, op: str, record: bool) -> None:
    """Run one operation of one tool; a failure takes the tool out of the rest of the run."""
    cmd = tool.args(op)
    if cmd is None or tool.failed:
        return
    repeat = PS_REPEAT if op == "ps" and record else 1
    try:
        for _ in range(repeat):
            elapsed = timed(cmd, tool.env, tool.workdir)
            if record:
                tool.times.setdefault(op, []).append(elapsed)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        tool.errors.append(f"{op}: {exc}")
        print(f"  {tool.name} failed: {tool.errors[-1]}", file=sys.stderr)


def bench(tools: list[Tool], n: int, warmup: int) -> list[float]:
    """Round-robin per operation and iteration; returns the load averages seen."""
    loads = [os.getloadavg()[0]]
    for i in range(warmup + n):
        order = tools[i % len(tools):] + tools[:i % len(tools)]
        record = i >= warmup
        for op in OPS:
            for tool in order:
                step(tool, op, record)
        for tool in tools:  # a failing tool may have left its stack up
            if tool.errors:
                subprocess.run(tool.args("down") or [], env=tool.env, cwd=tool.workdir, capture_output=True,
                               timeout=CMD_TIMEOUT, check=False)
        loads.append(os.getloadavg()[0])
        print(f"  iteration {i + 1}/{warmup + n} done ({'timed' if record else 'warm-up'}), "
              f"load {loads[-1]:.2f}", file=sys.stderr)
    return loads


# ---- the engines' window and the machine state it must leave as it found ---------------------


def nft_tables() -> dict[str, str]:
    """Every nftables table but composer's own (other runs add and drop those meanwhile)."""
    tables = {}
    for line in out(["nft", "list", "tables"]).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "table" and not parts[2].startswith("composer_"):
            tables[f"nft {parts[1]} {parts[2]}"] = out(["nft", "list", "table", parts[1], parts[2]])
    return tables


def net_state() -> dict[str, str]:
    state: dict[str, str] = {}
    for key in SYSCTLS:
        path = Path("/proc/sys") / key
        state[key] = path.read_text().strip() if path.exists() else "absent"
    for prog in ("iptables", "ip6tables"):
        for table in ("filter", "nat"):
            state[f"{prog} -t {table}"] = out([prog, "-t", table, "-S"])
    state.update(nft_tables())
    bridges = out(["ip", "-o", "link", "show", "type", "bridge"]).splitlines()
    state["engine bridges"] = " ".join(sorted(  # composer's own bridges are in group BRIDGE_GROUP
        b.split(": ")[1] for b in bridges if f" group {BRIDGE_GROUP} " not in b
        and b.split(": ")[1].startswith(("docker0", "podman", "cni-podman", "br-"))))
    unified = Path("/sys/fs/cgroup/unified/cgroup.controllers")
    state["cgroup2 controllers"] = unified.read_text().strip() if unified.exists() else "absent"
    state["cgroup v1 hierarchies"] = " ".join(
        f"{f[0]}:{f[1]}" for f in (line.split() for line in Path("/proc/cgroups").read_text().splitlines()[1:]))
    state["engine processes"] = " ".join(sorted(
        p for p in out(["ps", "-eo", "comm="]).splitlines() if p in ENGINE_PROCS))
    return state


def drop_empty_iptables_tables(before: dict[str, str]) -> list[str]:
    """Tables iptables-nft left behind with no rule (teardown flushes, it cannot delete)."""
    dropped = []
    for key in nft_tables().keys() - before.keys():
        _, family, name = key.split()
        if name not in ("filter", "nat", "mangle", "raw", "security"):
            continue
        listing = out(["nft", "-a", "list", "table", family, name]).splitlines()
        rules = [x for x in listing if "# handle" in x and not x.strip().startswith(("chain", "table"))]
        if not rules:
            subprocess.run(["nft", "delete", "table", family, name], capture_output=True, check=False)
            dropped.append(key)
    return dropped


def release_cgroup_controllers(before: dict[str, str]) -> list[str]:
    """Hand back to cgroup2 what setup-podman.sh took out of it, if teardown.sh could not.

    Containers started meanwhile (composer's own tests included) create cgroups in the v1
    hierarchy mounted for crun; teardown.sh unmounts it, but a hierarchy with child cgroups
    survives unmounted and keeps the controller. Mount it once more, remove the empty children,
    unmount: the hierarchy is destroyed and the controller returns to cgroup2.
    """
    wanted = set(before.get("cgroup2 controllers", "").split())
    unified = Path("/sys/fs/cgroup/unified/cgroup.controllers")
    released = []
    for controller in sorted(wanted - set(unified.read_text().split())):
        mnt = Path(tempfile.mkdtemp(prefix=f"peers-{controller}-"))
        if subprocess.run(["mount", "-t", "cgroup", "-o", controller, "cgroup", str(mnt)],
                          capture_output=True, check=False).returncode == 0:
            for child in sorted((p for p in mnt.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                with suppress(OSError):
                    child.rmdir()
            time.sleep(2)  # removed cgroups stay listed as children until released
            subprocess.run(["umount", str(mnt)], capture_output=True, check=False)
        mnt.rmdir()
        for _ in range(20):
            if controller in unified.read_text().split():
                released.append(controller)
                break
            time.sleep(0.5)
    return released


def run_script(script: Path, log: Path) -> None:
    with log.open("a") as fh:
        fh.write(f"=== {time.strftime('%H:%M:%S')} {script}\n")
        fh.flush()
        proc = subprocess.run(["bash", str(script)], stdout=fh, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=900, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{script.name} exited {proc.returncode} (see {log})")


#: teardown.sh deletes every bridge named br-<12 hex>, and composer names its bridges so too: other
#: runs' live composer networks would go. The copy spares them; docker's own br-* are deleted by id.
TEARDOWN_EDITS = (
    ('HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)', f"HERE={REF}"),
    ("^(podman[0-9]+|cni-podman[0-9]+|br-[0-9a-f]{12})$", "^(podman[0-9]+|cni-podman[0-9]+)$"),
)


def safe_teardown(work: Path) -> Path:
    text = (REF / "teardown.sh").read_text()
    for old, new in TEARDOWN_EDITS:
        if old not in text:
            raise RuntimeError(f"teardown.sh changed: cannot find {old!r}; not running it")
        text = text.replace(old, new)
    path = work / "teardown-sparing-composer.sh"
    path.write_text(text)
    return path


def docker_bridges() -> list[str]:
    ids = out([DOCKER, "network", "ls", "-q", "--no-trunc", "--filter", "driver=bridge"]).split()
    return [f"br-{nid[:12]}" for nid in ids if len(nid) == 64]


def forward_policy_accept(log: Path) -> None:
    if "-P FORWARD DROP" in out(["iptables", "-S", "FORWARD"]):
        subprocess.run(["iptables", "-P", "FORWARD", "ACCEPT"], check=False)
        with log.open("a") as fh:
            fh.write("iptables FORWARD policy DROP (set by dockerd) put back to ACCEPT\n")
        print("  dockerd set the FORWARD policy to DROP: put back to ACCEPT", file=sys.stderr)


@contextmanager
def engines(log: Path, work: Path) -> Iterator[dict[str, str]]:
    """Docker and Podman up for the body only; teardown and a state check however it ends."""
    teardown = safe_teardown(work)
    before = net_state()
    for stale in (STATE / "run").glob("baseline.*"):
        stale.unlink()  # re-record the baseline now: the machine may have changed since
    started = time.time()
    try:
        run_script(REF / "setup-docker.sh", log)
        forward_policy_accept(log)
        run_script(REF / "setup-podman.sh", log)
        forward_policy_accept(log)
        yield before
    finally:
        forward_policy_accept(log)
        bridges = docker_bridges()
        try:
            run_script(teardown, log)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"  teardown: {exc}", file=sys.stderr)
        for bridge in bridges:
            subprocess.run(["ip", "link", "delete", bridge], capture_output=True, check=False)
        dropped = drop_empty_iptables_tables(before)
        released = release_cgroup_controllers(before)
        if released:
            print(f"  cgroup controllers handed back to cgroup2 by this script: {released}", file=sys.stderr)
        after = net_state()
        diff = {k: (before.get(k, "absent"), after.get(k, "absent"))
                for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        print(f"  engines up for {time.time() - started:.0f} s; dropped empty tables: {dropped or 'none'}",
              file=sys.stderr)
        for key, (was, now) in sorted(diff.items()):
            print(f"  STATE DIFFERS {key}: before={was!r} after={now!r}", file=sys.stderr)
        if not diff:
            print("  network and cgroup state restored (same as before the window)", file=sys.stderr)


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


# ---- report ---------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    penv = podman_env()
    return {
        "composer": out([COMPOSER, "version"]),
        "docker": out([DOCKER, "version", "--format", "{{.Server.Version}}"]),
        "docker compose": out([DOCKER_COMPOSE, "version", "--short"]),
        "podman": out(["podman", "info", "--format",
                       "{{.Version.Version}} {{.Host.OCIRuntime.Name}} {{.Host.NetworkBackend}}"], penv),
        "podman-compose": (out([PODMAN_COMPOSE, "version"], penv).splitlines() or ["?"])[0],
    }


def report(tools: list[Tool], n: int, services: int, loads: list[float], vers: dict[str, str]) -> str:
    peers = [t for t in tools if t.name != "composer"]
    mine = tools[0]
    lines = [f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, `{os.uname().nodename}`, "
             f"{os.cpu_count()} cores, load average {min(loads):.1f}-{max(loads):.1f} during the run; "
             f"{services}-service stack, medians of {n} interleaved iterations (ps: {n * PS_REPEAT}), seconds.",
             "", "Versions: " + "; ".join(f"{k} {v}" for k, v in vers.items()), ""]
    head = "| operation | composer | " + " | ".join(
        f"{t.name} | composer faster by" for t in peers) + " |"
    lines += [head, "|---" * (2 + 2 * len(peers)) + "|"]
    for op in OPS:
        mine_t = mine.times.get(op)
        row = [op, f"{statistics.median(mine_t):.3f}" if mine_t else "—"]
        for peer in peers:
            theirs = peer.times.get(op)
            row.append(f"{statistics.median(theirs):.3f}" if theirs else "—")
            row.append(f"{statistics.median(theirs) / statistics.median(mine_t):.2f}x"
                       if theirs and mine_t else "—")
        lines.append("| " + " | ".join(row) + " |")
    for tool in tools:
        for error in tool.errors:
            lines.append(f"\n{tool.name} failed: {error}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="timed iterations")
    parser.add_argument("--warmup", type=int, default=1, help="untimed iterations first")
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--engines", action="store_true",
                        help="set the engines up and tear them down around the run")
    parser.add_argument("--json", type=Path, help="also write the raw times here")
    args = parser.parse_args()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _raise_exit)
    work = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    root = Path(tempfile.mkdtemp(prefix="composer-bench-"))
    log = Path(tempfile.gettempdir()) / "bench-peers-engines.log"
    tools = make_tools(work, args.services, root)
    try:
        subprocess.run(["bash", str(REPO / "scripts" / "make-busybox-image.sh")], env=tools[0].env,
                       check=True, capture_output=True, timeout=300)
        with engines(log, work) if args.engines else nullcontext():
            tools = [t for t in tools if usable(t)]
            vers = versions()
            loads = bench(tools, args.n, args.warmup)
            for tool in tools:
                subprocess.run(tool.args("down") or [], env=tool.env, cwd=tool.workdir, capture_output=True,
                               timeout=CMD_TIMEOUT, check=False)
    finally:
        subprocess.run([COMPOSER, "-p", PROJECT, "down"], env=tools[0].env, cwd=tools[0].workdir,
                       capture_output=True, timeout=CMD_TIMEOUT, check=False)
        cleanup_root(root)
        subprocess.run(["rm", "-rf", str(work)], check=False)
    print(report(tools, args.n, args.services, loads, vers))
    if args.json:
        args.json.write_text(json.dumps({t.name: t.times for t in tools} | {"loads": loads, "versions": vers},
                                        indent=1))
    return 1 if any(t.failed for t in tools) else 0


if __name__ == "__main__":
    sys.exit(main())
