"""Wall and CPU time of ``composer run --rm svc true`` on a one-service busybox stack.

Runs it N times (after one warm-up run, which creates the project network)
in a fresh composer root and prints the median and minimum wall time and the
median CPU time (user + system of the CLI and every process it waited for)
as a Markdown table for bench/RESULTS.md, with the load average, since wall
time on a shared machine follows its load. With ``--podman``, also times
``podman run --rm localhost/localbusybox:latest true``, each sample right
after composer's (the same noise), when podman is on PATH, has that image
(nothing is pulled: no traffic leaves the machine) and runs it; otherwise it
says why it skipped podman. ``--podman-arg`` adds options; on this project's
VM podman needs ``--runtime=runc`` (crun refuses hybrid cgroups) and ulimits
within the hard limits (``--ulimit=nofile=1024:1024 --ulimit=nproc=1024:1024``).

    .venv/bin/python bench/bench_run.py [-n 10] [--podman [--podman-arg=...]]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMPOSE = """services:
  svc:
    image: busybox:latest
    command: ["sleep", "1000"]
"""
PODMAN_IMAGE = "localhost/localbusybox:latest"


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of it and the children it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench(n: int, podman: list[str] | None) -> dict[str, list[tuple[float, float]]]:
    """Samples of composer and, if ``podman`` (its command) is given, podman, taken in turn (same noise)."""
    root = Path(tempfile.mkdtemp(prefix="composer-bench-run-"))
    work = Path(tempfile.mkdtemp(prefix="composer-bench-run-proj-"))
    (work / "compose.yaml").write_text(COMPOSE)
    # bytecode written by the warm-up: with PYTHONDONTWRITEBYTECODE set, each run would compile every module
    # edited since its last .pyc (10+ ms apiece), which no installed composer does
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "COMPOSER_ROOT": str(root)}
    if Path(sys.executable).with_name("composer").exists():  # the image script's composer: this interpreter's
        env.setdefault("COMPOSER", str(Path(sys.executable).with_name("composer")))
    composer = [sys.executable, "-m", "composer", "-f", str(work / "compose.yaml"), "-p", "benchrun"]
    subprocess.run(["bash", str(REPO / "scripts" / "make-busybox-image.sh")], env=env, check=True,
                   capture_output=True)
    ours = [*composer, "run", "--rm", "svc", "true"]
    out: dict[str, list[tuple[float, float]]] = {"composer run --rm svc true": []}
    if podman is not None:
        out[" ".join(["podman", *podman[1:]])] = []
    try:
        timed(ours, env)  # warm-up: the network, the page cache
        for _ in range(n):
            out["composer run --rm svc true"].append(timed(ours, env))
            if podman is not None:
                out[" ".join(["podman", *podman[1:]])].append(timed(podman))
        return out
    finally:
        subprocess.run([*composer, "down", "-v"], env=env, capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def podman_command(extra: list[str]) -> list[str] | str:
    """The podman command to time, warmed up, or why podman is skipped."""
    podman = shutil.which("podman")
    if podman is None:
        return "podman is not on PATH"
    if subprocess.run([podman, "image", "exists", PODMAN_IMAGE], capture_output=True, check=False).returncode:
        return f"podman has no image {PODMAN_IMAGE} (not pulled: no registry traffic)"
    cmd = [podman, "run", "--rm", *extra, PODMAN_IMAGE, "true"]
    warm = subprocess.run(cmd, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if warm.returncode:
        return f"{' '.join(cmd)} failed ({warm.returncode}): {warm.stderr.strip().splitlines()[-1:]}"
    return cmd


def row(tool: str, samples: list[tuple[float, float]]) -> str:
    walls = [w for w, _ in samples]
    cpus = [c for _, c in samples]
    return (f"| {tool} | {statistics.median(walls):.3f} | {min(walls):.3f} | "
            f"{statistics.median(cpus):.3f} |")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=10)
    parser.add_argument("--podman", action="store_true", help="also time podman run --rm, side by side")
    parser.add_argument("--podman-arg", action="append", default=[],
                        help="an option for podman run (e.g. --podman-arg=--ulimit=nofile=1024:1024)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    podman = podman_command(args.podman_arg) if args.podman else None
    if isinstance(podman, str):
        print(f"podman skipped: {podman}", file=sys.stderr)
        podman = None
    results = bench(args.n, podman)
    load_after = os.getloadavg()[0]
    print(f"run --rm, {args.n} runs, {time.strftime('%Y-%m-%d %H:%M')}, {os.uname().nodename}, "
          f"{os.cpu_count()} CPUs, load average {load_before:.1f} -> {load_after:.1f}")
    print("| command | median wall (s) | min wall (s) | median CPU (s) |")
    print("|---|---|---|---|")
    for tool, samples in results.items():
        print(row(tool, samples))
    if len(results) == 2:
        ours, theirs = (statistics.median(w for w, _ in s) for s in results.values())
        print(f"\npodman / composer, median wall: {theirs / ours:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
