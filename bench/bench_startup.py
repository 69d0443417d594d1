"""CLI start-up: ``composer version`` against ``python -c pass`` (issue #7).

Both run by the interpreter the venv's ``composer`` script names, alternating
(so both see the same load), 20 times each; medians, the ratio, and the load
average. ``--pip-wrapper`` times the console script pip generates as well
(it imports ``re``; scripts/setup.sh replaces it with a three-line one).

    .venv/bin/python bench/bench_startup.py [-n 20] [--pip-wrapper]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMPOSER = REPO / ".venv" / "bin" / "composer"
PIP_WRAPPER = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from composer.cli.entry import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def interpreter() -> str:
    """The ``#!`` interpreter of the venv's composer script (what ``composer`` really runs)."""
    first = COMPOSER.read_text().splitlines()[0]
    return first[2:].strip() if first.startswith("#!") else sys.executable


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--pip-wrapper", action="store_true", help="also time pip's generated console script")
    args = parser.parse_args()
    python = interpreter()
    cmds = {"composer version": [str(COMPOSER), "version"], "python -c pass": [python, "-c", "pass"]}
    with tempfile.TemporaryDirectory() as tmp:
        if args.pip_wrapper:
            wrapper = Path(tmp) / "composer"
            wrapper.write_text(PIP_WRAPPER.format(python=python))
            wrapper.chmod(0o755)
            cmds["composer version (pip's console script)"] = [str(wrapper), "version"]
        times: dict[str, list[float]] = {name: [] for name in cmds}
        load = os.getloadavg()[0]
        for _ in range(args.n):
            for name, cmd in cmds.items():
                times[name].append(timed(cmd))
    base = statistics.median(times["python -c pass"])
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, load average {load:.2f} → {os.getloadavg()[0]:.2f}, "
          f"medians of {args.n}, {python}")
    print("| command | median | vs python -c pass |")
    print("|---|---|---|")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"| {name} | {med * 1000:.1f} ms | {med / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
