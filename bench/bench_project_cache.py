"""The project cache (composer/schema/cache.py): four commands with it off and on.

With a snapshot of the package, in a fresh composer root (busybox imported, no registry), times as the CLI,
N samples each, cache off (``COMPOSER_NO_PROJECT_CACHE=1``) and on taken in
turn so both see the same load:

* ``composer config -q`` on samples/quickstart (always loads fresh: a reference),
* ``composer build site`` in samples/build with nothing changed (after one build),
* ``composer run --rm svc true`` on a one-service busybox project (bench_run.py's),
* ``composer up -d`` on samples/quickstart with nothing changed (after one ``up -d``).

Prints a Markdown table (medians, seconds; wall and CPU of the CLI and its children) for
bench/RESULTS.md.

    .venv/bin/python bench/bench_project_cache.py [-n 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMPOSE = 'services:\n  svc:\n    image: busybox:latest\n    command: ["sleep", "1000"]\n'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and what it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=10)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="composer-bench-cache-"))
    work = Path(tempfile.mkdtemp(prefix="composer-bench-cache-proj-"))
    (work / "compose.yaml").write_text(COMPOSE)
    tag = f"benchcache{os.getpid()}"
    # a snapshot of the package: an edit of composer/schema during the run would make every entry stale
    shutil.copytree(REPO / "composer", work / "src" / "composer", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "COMPOSER_ROOT": str(root), "COMPOSER_OFFLINE": "1", "QUICKSTART_PORT": str(free_port()),
           "PYTHONPATH": str(work / "src")}
    env.pop("COMPOSER_NO_PROJECT_CACHE", None)
    composer = [sys.executable, "-m", "composer"]
    quickstart, build = REPO / "samples" / "quickstart", REPO / "samples" / "build"
    commands = {
        "config -q (quickstart)": ([*composer, "-p", f"{tag}qs", "config", "-q"], quickstart),
        "build site, no change (samples/build)": ([*composer, "build", "site"], build),
        "run --rm svc true": ([*composer, "-f", str(work / "compose.yaml"), "-p", f"{tag}run", "run", "--rm",
                               "svc", "true"], work),
        "up -d, no change (quickstart)": ([*composer, "-p", f"{tag}qs", "up", "-d"], quickstart),
    }
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(work / "src" / "composer")], check=True)
    subprocess.run(["bash", str(REPO / "scripts" / "make-busybox-image.sh")], env=env, check=True,
                   capture_output=True)
    off = {**env, "COMPOSER_NO_PROJECT_CACHE": "1"}
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {name: {"off": [], "on": []} for name in commands}
    load_before = os.getloadavg()[0]
    try:
        for cmd, cwd in commands.values():
            timed(cmd, cwd, env)  # warm-up: the first build/up, the network, the cache entry
        for _ in range(args.n):
            for name, (cmd, cwd) in commands.items():
                samples[name]["off"].append(timed(cmd, cwd, off))
                samples[name]["on"].append(timed(cmd, cwd, env))
    finally:
        for project, cwd in ((f"{tag}qs", quickstart), (f"{tag}run", work)):
            subprocess.run([*composer, "-p", project, "down", "-v"], cwd=cwd, env=env, capture_output=True,
                           check=False, timeout=120)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()[0]
    print(f"project cache, {args.n} runs each, {time.strftime('%Y-%m-%d %H:%M')}, {os.uname().nodename}, "
          f"{os.cpu_count()} CPUs, load average {load_before:.1f} -> {load_after:.1f}")
    print("| command | wall, off | wall, on | off / on | CPU, off | CPU, on | off / on |")
    print("|---|---|---|---|---|---|---|")
    for name, s in samples.items():
        cells = []
        for i in (0, 1):
            a, b = (statistics.median(x[i] for x in s[mode]) for mode in ("off", "on"))
            cells.append(f"{a:.3f} | {b:.3f} | {a / b:.2f}x")
        print(f"| {name} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
