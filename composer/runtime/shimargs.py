"""The shim's command line: ``ShimArgs`` and ``parse_args`` (the options ``runtime.api`` passes)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from composer.runtime import backends

if TYPE_CHECKING:
    import argparse

    from composer.runtime import cgroups
    from composer.runtime.spec import Spec
    from composer.runtime.state import Record


class ShimArgs:
    """The shim's command line (``parse_args``), plus what ``forkshim.prepared`` made for it."""

    def __init__(self) -> None:
        self.id = ""
        self.bundle = ""
        self.root = ""
        self.log = ""
        self.sync_fd: int | None = None
        self.exec_fifo: str | None = None
        self.cleanup_mount: list[str] | None = None
        self.stdio: str | None = None
        self.backend = "builtin"
        self.record: Record | None = None
        self.spec: Spec | None = None
        self.cgroup: cgroups.Cgroup | None = None
        self.program: bytes | None = None


#: option -> attribute, for ``parse_args``'s fast path (the options ``api`` passes, each with a value)
_OPTIONS = {"--id": "id", "--bundle": "bundle", "--root": "root", "--log": "log", "--sync-fd": "sync_fd",
            "--exec-fifo": "exec_fifo", "--cleanup-mount": "cleanup_mount", "--stdio": "stdio",
            "--backend": "backend"}


def parse_args(argv: Sequence[str] | None) -> ShimArgs:
    """The arguments; those ``api`` passes without argparse (~4 ms of imports on a container start)."""
    if argv is not None and len(argv) % 2 == 0:
        out = ShimArgs()
        seen: set[str] = set()
        for option, value in zip(argv[::2], argv[1::2], strict=True):
            name = _OPTIONS.get(option)
            if name is None or value.startswith("-"):
                break
            if name == "cleanup_mount":
                out.cleanup_mount = [*(out.cleanup_mount or []), value]
            elif name == "sync_fd":
                if not value.isdigit():
                    break
                out.sync_fd = int(value)
            else:
                setattr(out, name, value)
            seen.add(name)
        else:
            if {"id", "bundle", "root", "log"} <= seen and out.backend in backends.KNOWN:
                return out
    return _parser().parse_args(argv, namespace=ShimArgs())


@functools.cache
def _parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(prog="composer.runtime.shim")
    parser.add_argument("--id", required=True)
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--root", required=True, help="the runtime's state directory")
    parser.add_argument("--log", required=True, help="json-file log to append to")
    parser.add_argument("--sync-fd", type=int, help="pipe to report the start on")
    parser.add_argument("--exec-fifo", help="wait for `start` on this fifo before exec")
    parser.add_argument("--cleanup-mount", action="append", help="detach after exit")
    parser.add_argument("--stdio", help="the caller's descriptors (console.Stdio.to_arg)")
    parser.add_argument("--backend", default="builtin", choices=backends.KNOWN, help="OCI runtime to use")
    return parser
