"""`up -d` / `down` of an N-service busybox stack, and `ps` with M running containers.

Side by side in one run with Docker Compose v2 and podman-compose when they
are installed and their engines answer (see ../shared/reference-engines/);
composer always runs in a fresh temporary root. Prints Markdown rows for
bench/RESULTS.md. Traffic stays on loopback; every container is removed.

    .venv/bin/python bench/bench_stack.py [--services 20] [--ps-containers 100] [-n 3]
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMPOSER = str(REPO / ".venv" / "bin" / "composer")
DOCKER_COMPOSE = "/var/tmp/reference-engines/tools/docker-compose-v2"
PODMAN_COMPOSE = "/var/tmp/reference-engines/venv/bin/podman-compose"


def stack(n: int, image: str) -> str:
    lines = ["services:"]
    for i in range(n):
        lines += [f"  s{i:03d}:", f"    image: {image}", "    pull_policy: never",
                  "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 100000 & wait\"]"]
    return "\n".join(lines) + "\n"


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


ROOTS: list[Path] = []


def tools(workdir: Path) -> dict[str, tuple[list[str], dict[str, str], str]]:
    root = Path(tempfile.mkdtemp(prefix="composer-bench-"))
    env = {**os.environ, "COMPOSER_ROOT": str(root)}
    subprocess.run(["bash", str(REPO / "scripts" / "make-busybox-image.sh")], env=env, check=True,
                   capture_output=True)
    ROOTS.append(root)
    found = {"composer": ([COMPOSER], env, "busybox:latest")}
    if Path(DOCKER_COMPOSE).exists() and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        found["docker compose v2"] = ([DOCKER_COMPOSE], dict(os.environ), "localhost/localbusybox:latest")
    if Path(PODMAN_COMPOSE).exists() and shutil.which("podman"):
        found["podman-compose"] = ([PODMAN_COMPOSE], dict(os.environ), "localhost/localbusybox:latest")
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--ps-containers", type=int, default=100)
    parser.add_argument("-n", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    rows = []
    for tool, (cmd, env, image) in tools(work).items():
        d = work / tool.replace(" ", "_")
        d.mkdir()
        (d / "compose.yaml").write_text(stack(args.services, image))
        base = [*cmd, "-p", "benchstack"]
        ups, downs = [], []
        try:
            for _ in range(args.n):
                ups.append(timed([*base, "up", "-d"], env, d))
                downs.append(timed([*base, "down", "-t", "1"], env, d))
            (d / "compose.yaml").write_text(stack(args.ps_containers, image))
            timed([*base, "up", "-d"], env, d)
            ps = [timed([*base, "ps"], env, d) for _ in range(5)]
            version = [timed([*cmd, "version"], env, d) for _ in range(11)]
        finally:
            subprocess.run([*base, "down", "-t", "1"], env=env, cwd=d, capture_output=True, check=False)
        rows.append((tool, statistics.median(ups), statistics.median(downs), statistics.median(ps),
                     statistics.median(version)))
    py = [timed([sys.executable, "-c", "pass"], dict(os.environ), work) for _ in range(11)]
    print(f"{args.services}-service stack, ps with {args.ps_containers} running, medians of {args.n} "
          f"(s), {time.strftime('%Y-%m-%d')}, {os.uname().nodename}")
    print(f"| tool | up -d ({args.services}) | down ({args.services}) | ps ({args.ps_containers} running) | version |")
    print("|---|---|---|---|---|")
    for tool, up, down, ps, version in rows:
        print(f"| {tool} | {up:.2f} | {down:.2f} | {ps:.3f} | {version:.3f} |")
    print(f"| python -c pass | | | | {statistics.median(py):.3f} |")
    shutil.rmtree(work, ignore_errors=True)
    for root in ROOTS:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
