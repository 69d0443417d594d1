"""`up -d` / `down` of an N-service busybox stack, and `ps` with M running containers.

Side by side in one run with Docker Compose v2 and podman-compose when they
are installed and their engines answer (see ../shared/reference-engines/;
bench_peers.py sets them up and tears them down): each iteration runs every
tool in turn, so they share the machine's noise. A peer that is missing is
skipped with the reason printed. The peers get the same generated file with
``image: localhost/localbusybox:latest`` and ``pull_policy: never``; composer
uses its own ``busybox:latest`` (scripts/make-busybox-image.sh) in a fresh
temporary root. Prints Markdown rows for bench/RESULTS.md, with the load
average before and after. Traffic stays on loopback; every container is removed.

    .venv/bin/python bench/bench_stack.py [--services 20] [--ps-containers 100] [-n 3]
                                          [--tools composer,docker,podman]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.helpers import cleanup_root  # noqa: E402  (kill, unmount, remove what a root holds)

COMPOSER = str(REPO / ".venv" / "bin" / "composer")
STATE = Path(os.environ.get("REF_ENGINES_STATE", "/var/tmp/reference-engines"))
REF = Path(os.environ.get("REF_ENGINES", REPO.parent / "shared" / "reference-engines"))
DOCKER_COMPOSE = str(STATE / "tools" / "docker-compose-v2")
PODMAN_COMPOSE = str(STATE / "venv" / "bin" / "podman-compose")
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
PEER_IMAGE = "localhost/localbusybox:latest"
PROJECT = "benchstack"
CMD_TIMEOUT = 300.0


@dataclass
class Tool:
    name: str
    cmd: list[str]
    env: dict[str, str]
    image: str
    workdir: Path
    times: dict[str, list[float]] = field(default_factory=dict)

    def run(self, *args: str, op: str | None = None) -> None:
        start = time.perf_counter()
        proc = subprocess.run([*self.cmd, "-p", PROJECT, *args], env=self.env, cwd=self.workdir,
                              capture_output=True, timeout=CMD_TIMEOUT, check=False)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise RuntimeError(f"{self.name} {' '.join(args)} failed ({proc.returncode}): {tail[0]}")
        if op:
            self.times.setdefault(op, []).append(elapsed)


def stack(n: int, image: str) -> str:
    lines = ["services:"]
    for i in range(n):
        lines += [f"  s{i:03d}:", f"    image: {image}", "    pull_policy: never",
                  "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 100000 & wait\"]"]
    return "\n".join(lines) + "\n"


def _ok(argv: list[str], env: dict[str, str] | None = None) -> bool:
    try:
        return subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def docker_tool(work: Path) -> Tool | str:
    """Docker Compose v2, or why it is skipped."""
    if not Path(DOCKER_COMPOSE).exists():
        return f"{DOCKER_COMPOSE} not found (run ../shared/reference-engines/setup-docker.sh)"
    if not _ok([DOCKER, "info"]):
        return "dockerd does not answer `docker info`"
    if not _ok([DOCKER, "image", "inspect", PEER_IMAGE]):
        return f"docker has no image {PEER_IMAGE} (setup-docker.sh imports it)"
    return Tool("docker compose v2", [DOCKER_COMPOSE], dict(os.environ), PEER_IMAGE, work / "docker")


def podman_tool(work: Path) -> Tool | str:
    """podman-compose, or why it is skipped."""
    if not Path(PODMAN_COMPOSE).exists():
        return f"{PODMAN_COMPOSE} not found (run ../shared/reference-engines/setup-podman.sh)"
    if shutil.which("podman") is None:
        return "no podman on PATH"
    env = dict(os.environ)
    conf = REF / "podman"
    if (conf / "containers.conf").exists():  # what podman/env.sh exports
        env |= {"CONTAINERS_CONF": str(conf / "containers.conf"),
                "CONTAINERS_REGISTRIES_CONF": str(conf / "registries.conf")}
    if not _ok(["podman", "image", "exists", PEER_IMAGE], env):
        return f"podman has no image {PEER_IMAGE} (setup-podman.sh imports it)"
    return Tool("podman-compose", [PODMAN_COMPOSE], env, PEER_IMAGE, work / "podman")


def composer_tool(work: Path, roots: list[Path]) -> Tool:
    root = Path(tempfile.mkdtemp(prefix="composer-bench-"))
    roots.append(root)
    env = {**os.environ, "COMPOSER_ROOT": str(root)}
    subprocess.run(["bash", str(REPO / "scripts" / "make-busybox-image.sh")], env=env, check=True,
                   capture_output=True)
    return Tool("composer", [COMPOSER], env, "busybox:latest", work / "composer")


def tools(work: Path, wanted: set[str], roots: list[Path]) -> list[Tool]:
    found: list[Tool] = []
    if "composer" in wanted:
        found.append(composer_tool(work, roots))
    for key, make in (("docker", docker_tool), ("podman", podman_tool)):
        if key not in wanted:
            continue
        tool = make(work)
        if isinstance(tool, str):
            print(f"skipping {key}: {tool}", file=sys.stderr)
        else:
            found.append(tool)
    for tool in found:
        tool.workdir.mkdir(parents=True)
    return found


def _drop(found: list[Tool], tool: Tool, exc: Exception) -> None:
    """A peer that fails is left out of the rest of the run (composer failing ends it)."""
    if tool.name == "composer":
        raise exc
    print(f"skipping {tool.name}: {exc}", file=sys.stderr)
    found.remove(tool)
    subprocess.run([*tool.cmd, "-p", PROJECT, "down", "-t", "1"], env=tool.env, cwd=tool.workdir,
                   capture_output=True, check=False, timeout=CMD_TIMEOUT)


def measure(found: list[Tool], services: int, ps_containers: int, n: int) -> None:
    for tool in found:
        (tool.workdir / "compose.yaml").write_text(stack(services, tool.image))
    for i in range(n):  # round-robin, the first tool rotating: the tools share the noise
        for tool in found[i % len(found):] + found[:i % len(found)]:
            try:
                tool.run("up", "-d", op="up")
                tool.run("down", "-t", "1", op="down")
            except RuntimeError as exc:
                _drop(found, tool, exc)
    for tool in list(found):
        if ps_containers:
            (tool.workdir / "compose.yaml").write_text(stack(ps_containers, tool.image))
            try:
                tool.run("up", "-d")
                for _ in range(5):
                    tool.run("ps", op="ps")
                tool.run("down", "-t", "1")
            except RuntimeError as exc:
                _drop(found, tool, exc)
                continue
        for _ in range(11):
            start = time.perf_counter()
            subprocess.run([*tool.cmd, "version"], env=tool.env, cwd=tool.workdir, capture_output=True,
                           check=False)
            tool.times.setdefault("version", []).append(time.perf_counter() - start)


def report(found: list[Tool], args: argparse.Namespace, load: tuple[float, float]) -> None:
    def med(tool: Tool, op: str, digits: int) -> str:
        values = tool.times.get(op)
        return f"{statistics.median(values):.{digits}f}" if values else ""

    print(f"{args.services}-service stack, ps with {args.ps_containers} running, medians of {args.n} (s), "
          f"{time.strftime('%Y-%m-%d %H:%M')}, {os.uname().nodename}, load average {load[0]:.1f} before, "
          f"{load[1]:.1f} after")
    print(f"| tool | up -d ({args.services}) | down ({args.services}) | ps ({args.ps_containers} running) "
          "| version | up -d vs composer |")
    print("|---|---|---|---|---|---|")
    base = found[0].times.get("up") if found and found[0].name == "composer" else None
    for tool in found:
        ratio = ""
        if base and tool.times.get("up"):
            ratio = f"{statistics.median(tool.times['up']) / statistics.median(base):.1f}x"
        print(f"| {tool.name} | {med(tool, 'up', 2)} | {med(tool, 'down', 2)} | {med(tool, 'ps', 3)} "
              f"| {med(tool, 'version', 3)} | {ratio} |")
    for tool in found:
        print(f"{tool.name}: up -d runs {', '.join(f'{t:.2f}' for t in tool.times.get('up', []))}",
              file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--ps-containers", type=int, default=100, help="0: skip the ps measurement")
    parser.add_argument("-n", type=int, default=3)
    parser.add_argument("--tools", default="composer,docker,podman",
                        help="comma-separated subset of composer,docker,podman")
    args = parser.parse_args()
    wanted = {t.strip() for t in args.tools.split(",") if t.strip()}
    unknown = wanted - {"composer", "docker", "podman"}
    if unknown:
        parser.error(f"unknown tools: {', '.join(sorted(unknown))}")
    work = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    roots: list[Path] = []
    load_before = os.getloadavg()[0]
    found: list[Tool] = []
    try:
        found = tools(work, wanted, roots)
        measure(found, args.services, args.ps_containers, args.n)
    except (RuntimeError, subprocess.SubprocessError) as exc:
        print(f"bench_stack: {exc}", file=sys.stderr)
        return 1
    finally:
        for tool in found:
            if (tool.workdir / "compose.yaml").exists():
                subprocess.run([*tool.cmd, "-p", PROJECT, "down", "-t", "1"], env=tool.env, cwd=tool.workdir,
                               capture_output=True, check=False, timeout=CMD_TIMEOUT)
        shutil.rmtree(work, ignore_errors=True)
        for root in roots:
            cleanup_root(root)
    report(found, args, (load_before, os.getloadavg()[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
