"""Loading a large compose file: 1,000 services with ``extends`` and interpolation.

The generated project has 10 base services (in a second file, reached by
``extends: {file: ...}``) and 1,000 services that extend them, each with
``${VAR}`` forms, ports, volumes, environment, labels, healthchecks and
depends_on chains, plus a ``.env`` file. The figure is the median wall time
of ``load_project`` (read, interpolate, canonicalise, extends, merge, checks,
typed model), its CPU time (less sensitive to other load on the machine),
and the time of rendering ``config --format json`` once loaded.

    .venv/bin/python bench/bench_load.py [-n 5] [--services 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from composer.schema import ProjectOptions, load_project
from composer.schema.render import render


def generate(directory: Path, services: int) -> None:
    bases = ["services:"]
    for b in range(10):
        bases += [
            f"  base{b}:",
            "    image: ${REGISTRY:-docker.io}/library/busybox:${TAG}",
            "    environment: {COMMON: '1', LEVEL: '${LEVEL:-info}'}",
            "    labels: [team=core, tier=base]",
            "    healthcheck: {test: [CMD, 'true'], interval: 10s, timeout: 2s, retries: 3}",
            "    volumes: ['./shared:/shared:ro']",
        ]
    (directory / "base.yaml").write_text("\n".join(bases) + "\n")
    lines = ["name: bench", "services:"]
    for i in range(services):
        lines += [
            f"  svc{i}:",
            f"    extends: {{file: base.yaml, service: base{i % 10}}}",
            f"    command: [sh, -c, 'echo ${{GREETING}} {i}']",
            f"    environment: [INDEX={i}, 'URL=http://svc{(i + 1) % services}:8080']",
            f"    ports: ['127.0.0.1:{10000 + i}:8080']",
            f"    volumes: ['data{i % 20}:/data', './conf/{i}:/conf']",
            f"    labels: {{svc.index: '{i}'}}",
            "    networks: [front, back]",
        ]
        if i % 10:
            lines.append(f"    depends_on: [svc{i - 1}]")
    lines += ["networks: {front: {}, back: {internal: true}}", "volumes:"]
    lines += [f"  data{v}: {{}}" for v in range(20)]
    (directory / "compose.yaml").write_text("\n".join(lines) + "\n")
    (directory / ".env").write_text("TAG=1.36\nGREETING=hello\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5)
    parser.add_argument("--services", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "bench"
        directory.mkdir()
        generate(directory, args.services)
        options = ProjectOptions(working_dir=directory, environ={"LEVEL": "debug"})
        loads, cpu, renders = [], [], []
        for _ in range(args.n):
            start, start_cpu = time.perf_counter(), time.process_time()
            project = load_project(options)
            loads.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            start = time.perf_counter()
            render(project, "json")
            renders.append(time.perf_counter() - start)
        assert len(project.services) == args.services
        print(f"services={args.services} runs={args.n}")
        print(f"load_project: median {statistics.median(loads):.3f} s (min {min(loads):.3f}, max {max(loads):.3f})")
        print(f"load_project CPU time: median {statistics.median(cpu):.3f} s (min {min(cpu):.3f})")
        print(f"render json:  median {statistics.median(renders):.3f} s")


if __name__ == "__main__":
    main()
