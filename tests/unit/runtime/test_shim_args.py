"""The shim's command line (``shimargs.parse_args``): the options ``api`` passes are read without argparse."""

from __future__ import annotations

import pytest

from composer.runtime import shimargs

BASE = ["--id", "c1", "--bundle", "/b", "--root", "/r", "--log", "/l"]


def _fields(args: shimargs.ShimArgs) -> dict[str, object]:
    return {k: v for k, v in vars(args).items() if k not in ("record", "spec", "cgroup", "program")}


@pytest.mark.parametrize("extra", [
    [],
    ["--sync-fd", "7", "--cleanup-mount", "/a", "--cleanup-mount", "/n", "--stdio", "stdin=5,stdout=6"],
    ["--exec-fifo", "/r/c1/exec.fifo", "--backend", "runc", "--sync-fd", "3"],
    ["--stdio", ""],
])
def test_the_fast_path_reads_what_argparse_reads(extra: list[str]) -> None:
    fast = shimargs.parse_args([*BASE, *extra])
    full = shimargs._parser().parse_args([*BASE, *extra], namespace=shimargs.ShimArgs())
    assert _fields(fast) == _fields(full)
    assert fast.record is None and fast.spec is None and fast.cgroup is None and fast.program is None


@pytest.mark.parametrize("argv", [
    ["--id", "c1", "--bundle", "/b", "--root", "/r"],          # --log missing
    [*BASE, "--sync-fd", "x"],                                  # not a number
    [*BASE, "--backend", "nope"],                               # not a backend
    [*BASE, "--bogus", "1"],                                    # unknown option
])
def test_anything_else_gets_argparse_and_its_error(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        shimargs.parse_args(argv)
