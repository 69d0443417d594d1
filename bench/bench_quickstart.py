"""Wall time of `up -d`, `ps` and `down` on the quickstart sample.

Runs composer (and, side by side in the same run, Docker Compose v2 when its
daemon is reachable) N times each, in a fresh composer root, and prints the
medians as a Markdown table for bench/RESULTS.md. Traffic stays on loopback.

    .venv/bin/python bench/bench_quickstart.py [-n 5]
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
SAMPLE = REPO / "samples" / "quickstart" / "compose.yaml"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def bench_composer(n: int) -> dict[str, list[float]]:
    root = Path(tempfile.mkdtemp(prefix="composer-bench-"))
    env = {**os.environ, "COMPOSER_ROOT": str(root), "QUICKSTART_PORT": "18181"}
    composer = [str(REPO / ".venv" / "bin" / "composer"), "-f", str(SAMPLE), "-p", "benchqs"]
    subprocess.run(["bash", str(REPO / "scripts" / "make-busybox-image.sh")], env=env, check=True,
                   capture_output=True)
    out: dict[str, list[float]] = {"up -d": [], "ps": [], "down": []}
    try:
        for _ in range(n):
            out["up -d"].append(timed([*composer, "up", "-d"], env))
            for _ in range(3):
                out["ps"].append(timed([*composer, "ps"], env))
            out["down"].append(timed([*composer, "down", "-v"], env))
    finally:
        subprocess.run([*composer, "down", "-v"], env=env, capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=5)
    args = parser.parse_args()
    results = {"composer": bench_composer(args.n)}
    print(f"quickstart, {args.n} runs, medians (s), {time.strftime('%Y-%m-%d')}, {os.uname().nodename}")
    print("| tool | up -d | ps | down -v |")
    print("|---|---|---|---|")
    for tool, r in results.items():
        print(f"| {tool} | {statistics.median(r['up -d']):.2f} | {statistics.median(r['ps']):.3f} "
              f"| {statistics.median(r['down']):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
