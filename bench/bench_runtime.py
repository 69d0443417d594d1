"""The runtime: starting a container in-process vs ``crun run`` / ``runc run`` of the same bundle.

One busybox bundle with Docker's defaults (``runtime.config.default_spec``:
the 14 capabilities, the seccomp profile, masked paths, the device cgroup).
Alternating, same run, medians of N rounds:

- ``builtin start``: ``api.start_container`` from a warm interpreter (the
  engine's path): request -> ``true`` running inside its namespaces (the
  call returns once the program is exec'd);
- ``builtin cycle``: the same, then waiting for the exit to be recorded and
  deleting the container: the whole of what ``crun run`` does;
- ``crun run`` / ``runc run``: the external runtime, to completion (crun with
  ``--cgroup-manager=disabled`` in a mount namespace without the hybrid v2
  tree, as the ``crun`` backend runs it, see ``runtime.backends``);
- ``builtin start, zygote`` (``--zygote``): the same start with the shim forked
  by ``runtime.zygote`` instead of the caller; ``--engine`` first loads what
  ``up`` has loaded when it starts containers (the engine, pydantic, the
  schema), so that the caller's size is the CLI's;
- ``composer run --rm`` end to end (CLI, engine, network, runtime) when
  ``--e2e`` is given, and ``podman run --rm`` when podman is installed.

Every runtime keeps its state (``--root``) on one tmpfs, as ``/run`` is on a
real host; ``--disk-state`` puts it on the temporary directory's file system
instead (ext4 on this project's VMs, where replacing a small file costs 1-2
ms: ext4 starts writing the new data back on the rename). The load average
is printed with the figures: on 2 shared cores it moves them a lot.

    .venv/bin/python bench/bench_runtime.py [-n 20] [--e2e] [--disk-state] [--zygote [--engine]]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from composer.runtime import api, backends, shim  # noqa: E402,F401  (shim: imported as the engine has it)
from composer.runtime.config import default_spec  # noqa: E402

BUSYBOX = Path("/bin/busybox")


def make_bundle(directory: Path) -> Path:
    root = directory / "rootfs"
    (root / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    for applet in ("sh", "true", "sleep"):
        (root / "bin" / applet).symlink_to("busybox")
    for d in ("proc", "sys", "dev", "etc", "tmp"):
        (root / d).mkdir()
    spec = default_spec(["true"], [], "/", "bench", None)
    (directory / "config.json").write_text(json.dumps(spec))
    return directory


def state_dirs(directory: Path, disk: bool) -> Path:
    """Where every runtime keeps its state (``--root``): a tmpfs, as /run is on a real host, unless ``disk``."""
    directory.mkdir()
    if not disk:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "bench-state", str(directory)], check=True)
    return directory


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def builtin_start(bundle: Path, run_root: Path, log: Path, i: int | str) -> float:
    name = f"b{i}"
    took = timed(lambda: api.start_container(name, bundle, run_root, log))
    api.stop_container(name, run_root, 9, 5)
    api.delete_container(name, run_root)
    return took


def builtin_cycle(bundle: Path, run_root: Path, log: Path, i: int) -> float:
    name = f"c{i}"

    def cycle() -> None:
        api.start_container(name, bundle, run_root, log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = api.container_state(name, run_root)
            if state is None or state.status == "stopped":
                break
            time.sleep(0.0005)
        api.delete_container(name, run_root)

    return timed(cycle)


def external_run(backend: str, bundle: Path, state: Path, i: int) -> float:
    exe = backends.binary(backend)
    assert exe is not None
    if backend == "crun":
        h = __import__("composer.runtime.cgroups", fromlist=["hierarchies"]).hierarchies()
        hide = f"umount -l {h.unified} && " if h.unified and h.v1 and h.v2_controllers else ""
        inner = f"{hide}exec {exe} --cgroup-manager=disabled --root {state} run --bundle {bundle} x{i}"
        cmd = ["unshare", "-m", "--propagation", "slave", "sh", "-c", inner]
        # the unshare+sh wrapper is timed separately and subtracted
    else:
        cmd = [exe, "--root", str(state), "run", "--bundle", str(bundle), f"x{i}"]
    proc_time = timed(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return proc_time


def wrapper_cost() -> float:
    return timed(lambda: subprocess.run(["unshare", "-m", "--propagation", "slave", "sh", "-c", "exec true"], check=True))


def e2e(n: int, tmp: Path) -> dict[str, list[float]]:
    from tests.helpers import make_busybox_tarball

    root = tmp / "root"
    env = {**os.environ, "COMPOSER_ROOT": str(root)}
    tar = tmp / "busybox.tar"
    make_busybox_tarball(tar)
    cli = [sys.executable, "-m", "composer"]
    subprocess.run([*cli, "image", "import", "-c", 'CMD ["sh"]', str(tar), "busybox:latest"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    project = tmp / "proj"
    project.mkdir()
    (project / "compose.yaml").write_text("services:\n  svc:\n    image: busybox:latest\n")
    out: dict[str, list[float]] = {"composer run --rm svc true": []}
    podman = shutil.which("podman")
    if podman:
        out["podman run --rm true"] = []
    for _ in range(n):
        out["composer run --rm svc true"].append(timed(lambda: subprocess.run(
            [*cli, "run", "--rm", "svc", "true"], cwd=project, env=env, check=True, capture_output=True)))
        if podman:
            out["podman run --rm true"].append(timed(lambda: subprocess.run(
                [podman, "run", "--rm", "localhost/localbusybox:latest", "true"], check=True, capture_output=True)))
    subprocess.run([*cli, "down"], cwd=project, env=env, capture_output=True)
    return out


def zygote_bypassed(on: bool) -> contextlib.AbstractContextManager[None]:
    """The shim forked by the caller, as without a zygote."""
    if not on:
        return contextlib.nullcontext()
    from composer.runtime import zygote

    return zygote.bypassed()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--e2e", action="store_true", help="also composer run --rm end to end")
    parser.add_argument("--disk-state", action="store_true", help="runtime state on disk, not on a tmpfs")
    parser.add_argument("--zygote", action="store_true", help="also start with the shim forked by the zygote")
    parser.add_argument("--engine", action="store_true", help="load the engine first (the CLI's size)")
    args = parser.parse_args()
    if args.zygote:
        from composer.runtime import zygote

        zygote.start()
    if args.engine:
        import composer.engine.up  # the caller's size: the engine and the models loaded
        import composer.schema.model  # noqa: F401
    tmp = Path(tempfile.mkdtemp(prefix="bench-runtime-"))
    try:
        bundle = make_bundle(tmp / "bundle")
        states = state_dirs(tmp / "state", args.disk_state)
        run_root = states / "run"
        log = tmp / "log.json"
        results: dict[str, list[float]] = {"builtin start": [], "builtin cycle": []}
        present = [b for b in ("crun", "runc") if backends.binary(b)]
        for b in present:
            results[f"{b} run"] = []
        wrap: list[float] = []
        if args.zygote:
            results["builtin start, zygote"] = []
            builtin_start(bundle, run_root, log, "z")
        with zygote_bypassed(args.zygote):
            builtin_start(bundle, run_root, log, -1)  # warm: the engine has these modules loaded
        for i in range(args.n):
            if args.zygote:
                results["builtin start, zygote"].append(builtin_start(bundle, run_root, log, f"z{i}"))
            with zygote_bypassed(args.zygote):
                results["builtin start"].append(builtin_start(bundle, run_root, log, i))
            with zygote_bypassed(args.zygote):
                results["builtin cycle"].append(builtin_cycle(bundle, run_root, log, i))
            for b in present:
                results[f"{b} run"].append(external_run(b, bundle, states / b, i))
            if "crun" in present:
                wrap.append(wrapper_cost())
        if wrap:
            cost = statistics.median(wrap)
            results["crun run"] = [max(0.0, t - cost) for t in results["crun run"]]
        if args.e2e:
            results.update(e2e(max(3, args.n // 4), tmp))
        base = statistics.median(results["crun run"]) if "crun run" in results else None
        print(f"load average {os.getloadavg()[0]:.2f} at the end; state on {'disk' if args.disk_state else 'tmpfs'}")
        print(f"{'what':34} {'median':>9} {'min':>9}  vs crun run")
        for name, values in results.items():
            med = statistics.median(values)
            ratio = f"{med / base:.2f}x" if base else "-"
            print(f"{name:34} {med * 1000:8.1f}ms {min(values) * 1000:8.1f}ms  {ratio}")
        if wrap:
            print(f"(crun figures exclude the unshare+sh wrapper, median {statistics.median(wrap) * 1000:.1f} ms)")
    finally:
        # Every mount under tmp (the state tmpfs, a leftover rootfs), deepest first: tmp itself is no mount point.
        with open("/proc/self/mounts") as fh:
            points = [line.split()[1] for line in fh if line.split()[1].startswith(f"{tmp}/")]
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
