"""Images: a no-change rebuild of samples/build, and layer unpack throughput vs ``tar -x``.

1. Builds ``samples/build/site`` (multi-stage: a generating stage, a final
   ``FROM busybox``) once in a fresh composer root, then rebuilds it N times
   with nothing changed: every step is a cache hit. Timed in-process (the
   library's ``build()``) and as the CLI (``.venv/bin/composer build site``,
   including interpreter start-up; ``config --quiet`` of the same file beside
   it), medians. The package's bytecode is compiled first, as a regular pip
   install does (PYTHONDONTWRITEBYTECODE=1 would otherwise make every run
   compile every module).
2. Makes one layer tar (the busybox rootfs plus generated trees of small and
   large files) and unpacks it N times with composer's safe unpacker and with
   GNU ``tar -x`` (``--same-owner``, as root), alternating, same run, same disk.

    .venv/bin/python bench/bench_image.py [-n 5] [--mb 64] [--rebuild-only]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from composer.image.builder import BuildOptions, build  # noqa: E402
from composer.image.store import ImageStore  # noqa: E402
from composer.image.unpack import rmtree, unpack_layer  # noqa: E402
from tests.helpers import make_busybox_tarball  # noqa: E402


def bench_rebuild(n: int, tmp: Path) -> dict[str, list[float]]:
    root = tmp / "root"
    env = {**os.environ, "COMPOSER_ROOT": str(root)}
    make_busybox_tarball(tmp / "busybox.tar")
    subprocess.run([sys.executable, "-m", "composer", "image", "import", "-c", 'CMD ["sh"]',
                    str(tmp / "busybox.tar"), "busybox:latest"], env=env, check=True, capture_output=True)
    store = ImageStore(root)
    opts = BuildOptions(context=REPO / "samples" / "build" / "site", tags=["bench/site:latest"])
    start = time.perf_counter()
    first = build(store, opts, root / "run")
    cold = time.perf_counter() - start
    out: dict[str, list[float]] = {"cold build (library)": [cold], "rebuild (library)": [],
                                   "rebuild (CLI)": []}
    for _ in range(n):
        lines: list[str] = []
        start = time.perf_counter()
        again = build(store, opts, root / "run", lines.append)
        out["rebuild (library)"].append(time.perf_counter() - start)
        assert again.id == first.id and lines.count("CACHED") == 4, lines
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "composer")], check=True,
                   capture_output=True)
    cli = [str(REPO / ".venv" / "bin" / "composer"), "-f", str(REPO / "samples" / "build" / "compose.yaml")]
    out["config --quiet (CLI)"] = []
    for _ in range(n):  # alternating, so both see the same load
        for name, args in (("rebuild (CLI)", ["build", "site"]), ("config --quiet (CLI)", ["config", "--quiet"])):
            start = time.perf_counter()
            subprocess.run([*cli, *args], env=env, check=True, capture_output=True)
            out[name].append(time.perf_counter() - start)
    return out


def make_layer(path: Path, megabytes: int) -> int:
    """A layer tar of ~``megabytes`` MB: busybox, 2000 small files, a few large ones."""
    make_busybox_tarball(path.with_suffix(".base"))
    rnd = os.urandom(1 << 20)
    with tarfile.open(path, "w") as tar:
        with tarfile.open(path.with_suffix(".base")) as base:
            for member in base:
                tar.addfile(member, base.extractfile(member) if member.isreg() else None)
        for i in range(2000):
            info = tarfile.TarInfo(f"small/{i // 100}/f{i}.txt")
            data = (f"line {i}\n" * 200).encode()
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        for i in range(max(1, megabytes - 4)):
            info = tarfile.TarInfo(f"large/part{i}.bin")
            info.size, info.mode = len(rnd), 0o644
            tar.addfile(info, io.BytesIO(rnd))
    path.with_suffix(".base").unlink()
    return path.stat().st_size


def bench_unpack(n: int, tmp: Path, megabytes: int) -> tuple[int, dict[str, list[float]]]:
    layer = tmp / "layer.tar"
    size = make_layer(layer, megabytes)
    out: dict[str, list[float]] = {"composer unpack_layer": [], "tar -x": []}
    for _ in range(n):
        dest = tmp / "dest"
        dest.mkdir()
        subprocess.run(["sync"], check=False)
        start = time.perf_counter()
        with open(layer, "rb") as fh:
            unpack_layer(fh, dest, str(layer))
        out["composer unpack_layer"].append(time.perf_counter() - start)
        rmtree(dest)
        dest.mkdir()
        subprocess.run(["sync"], check=False)
        start = time.perf_counter()
        subprocess.run(["tar", "-x", "--same-owner", "--xattrs", "-f", str(layer), "-C", str(dest)], check=True)
        out["tar -x"].append(time.perf_counter() - start)
        rmtree(dest)
    return size, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=5)
    parser.add_argument("--mb", type=int, default=64, help="size of the unpack layer in MB")
    parser.add_argument("--rebuild-only", action="store_true", help="skip the unpack benchmark")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="composer-bench-image-"))
    try:
        rebuild = bench_rebuild(args.n, tmp)
        size, unpack = (0, {}) if args.rebuild_only else bench_unpack(args.n, tmp, args.mb)
    finally:
        subprocess.run(["umount", "-R", str(tmp)], capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.2f} at the end")
    print("| samples/build site | median |")
    print("|---|---|")
    for name, values in rebuild.items():
        print(f"| {name} | {statistics.median(values):.3f} s |")
    if not unpack:
        return
    print()
    print(f"| unpack a {size / 1e6:.0f} MB layer (2268 files) | median | throughput |")
    print("|---|---|---|")
    for name, values in unpack.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.3f} s | {size / med / 1e6:.0f} MB/s |")


if __name__ == "__main__":
    main()
