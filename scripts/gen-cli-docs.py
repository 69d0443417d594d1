#!/usr/bin/env python3
"""Write docs/cli.md from the CLI itself: every command, argument and option.

    .venv/bin/python scripts/gen-cli-docs.py            # rewrite docs/cli.md
    .venv/bin/python scripts/gen-cli-docs.py --check    # exit 1 if docs/cli.md is stale
    .venv/bin/python scripts/gen-cli-docs.py -o FILE    # write elsewhere

The reference part is generated from the typer/click app (commands in the
order the app registers them, sub-groups such as ``image`` after them). The
section "Deliberate differences from Docker Compose" is written by hand: it
is everything in the existing file from its heading on, and it is kept as it
is when the file is regenerated (the text below is only the first version).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DIFFERENCES_HEADING = "## Deliberate differences from Docker Compose"

DEFAULT_DIFFERENCES = f"""{DIFFERENCES_HEADING}

Hand-written; `scripts/gen-cli-docs.py` keeps this section as it is.

- **No daemon, no attach stream.** `run` (without `-d`) prints the one-off
  container's stdout and stderr as its program writes them and exits with its
  exit code, but does not connect your stdin to it: the program sees an empty
  stdin. `-i` is accepted for compatibility and does nothing. Ctrl-C is
  passed on to the container's process (a second Ctrl-C kills it).
- **`run` never restarts**: a one-off container gets `restart: no` whatever
  the service says; it is named `<project>-<service>-run-<12 hex>` and carries
  `com.docker.compose.oneoff=True` and `com.docker.compose.slug`, as in
  Docker Compose. Without `--use-aliases` it answers on the project networks
  only by its container name.
- **`exec -d`** starts the process and returns at once, without checking that
  the program exists (Docker reports "executable file not found" even then).
  `exec --privileged` is accepted: exec'd processes already run with the
  container's full set of root capabilities.
- **TTY**: `exec` gives the program a pseudo-terminal of its own when your stdin
  is a terminal (`-T` disables it), but the terminal is not in the container's
  `/dev/pts`, so `tty` inside prints "not a tty" (`[ -t 0 ]` holds). `run` has
  no terminal yet.
- **`cp`** works through a `chroot` into the container's root filesystem
  (so symlinks in the container cannot point at the host). For a *stopped*
  container its image, writable layer, volumes and bind mounts are visible, its
  tmpfs mounts are not. Copying between two containers and `-` (tar on
  stdin/stdout) are not supported.
- **`events`** are derived by polling container states every 0.2 s (there is
  no daemon event bus): `create`, `start`, `die` (with `exitCode`),
  `destroy`, `health_status: …`, `pause`, `unpause`. Attributes are `image`,
  `name` (and `exitCode`), not every label.
- **`stats`** takes CPU, memory and pids from the container's cgroup (from /proc
  over its processes when the runtime has no cgroup for it), network bytes from
  its namespace's counters and BLOCK I/O from the bytes its processes read and
  wrote; MEM LIMIT is the host's memory unless the service sets a limit.
- **`top`** shows the `ps -ef` columns for the container's processes; `C` is the
  average CPU use since the process started.
- **`pause` / `unpause`** freeze and thaw the container's cgroup; with a runtime
  that cannot (no cgroup for the container) they fail with a one-line error.
- **`wait`** exits with the exit code of the first of the services' containers to
  stop (a container that has already stopped counts at once), printing nothing.
- **`ls`** finds projects from the containers composer keeps under its state root
  (`--root`); a project without containers is not listed. `--filter` accepts
  `name=…` (a substring) only.
- **Exit codes**: an invalid compose file or invalid options exit 15 (as
  `docker compose` does for an invalid file); other errors exit 1; `exec`/`run`
  exit with the program's code, 126 when it cannot be executed and 127 when it
  is not found.
"""


def _command(app: Any) -> Any:
    import typer.main

    from composer.cli import main

    main._register()
    return typer.main.get_command(app)


def _type_name(param: Any) -> str:
    """TEXT, INTEGER, FLOAT, PATH: the value's type, as click names it."""
    import typing

    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", str)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args:
        annotation = args[0]
    name = getattr(annotation, "__name__", str(annotation))
    return {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "Path": "PATH", "bool": "BOOLEAN"}.get(
        name, name.upper())


def _option_row(param: Any) -> str:
    names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
    meta = ""
    if not param.is_flag and not param.count:
        meta = f" {param.metavar or _type_name(param)}"
        if param.multiple:
            meta += " (repeatable)"
    default = ""
    if param.default not in (None, False, (), []) and not param.is_flag and param.show_default is not False:
        default = f" (default: `{param.default}`)"
    env = f" [env: `{param.envvar}`]" if param.envvar else ""
    helptext = (param.help or "").replace("|", "\\|").replace("\n", " ")
    return f"| {names}{meta} | {helptext}{default}{env} |"


def _section(cmd: Any, path: list[str], level: int) -> list[str]:
    from typer import core
    from typer._click import Context

    name = " ".join(path)
    lines = [f"{'#' * level} `{name}`", ""]
    if cmd.help:
        lines += [cmd.help.strip().split("\n\n")[0], ""]
    ctx = Context(cmd, info_name=name)
    usage = cmd.get_usage(ctx).replace("Usage: ", "").strip()
    usage = re.sub(r"\{([^{}\s]+)\}", lambda m: m.group(1).upper(), " ".join(usage.split()))
    usage = re.sub(r"\[(\w+)\]\.\.\.", lambda m: f"[{m.group(1).upper()}...]", usage)
    lines += ["```", usage, "```", ""]
    args = [p for p in cmd.params if isinstance(p, core.TyperArgument)]
    opts = [p for p in cmd.params if isinstance(p, core.TyperOption) and not p.hidden and p.name != "help"]
    if args:
        lines += ["Arguments: " + ", ".join(
            f"`{(a.metavar or a.name).upper()}`{'…' if a.nargs == -1 else ''}"
            f"{'' if a.required else ' (optional)'}" for a in args), ""]
    if opts:
        lines += ["| option | description |", "|---|---|", *(_option_row(o) for o in opts), ""]
    return lines


def generate(previous: str | None) -> str:
    from typer._click import Context
    from typer.core import TyperGroup

    from composer.cli.main import app

    root = _command(app)
    out = [
        "# composer command-line reference",
        "",
        "Generated from the CLI by `scripts/gen-cli-docs.py`; do not edit by hand above the",
        "section on differences (run the script after changing a command or a flag).",
        "",
    ]
    out += _section(root, ["composer"], 2)
    ctx = Context(root, info_name="composer")
    names = root.list_commands(ctx)
    groups = [n for n in names if isinstance(root.get_command(ctx, n), TyperGroup)]
    out += ["Commands: " + ", ".join(f"[`{n}`](#composer-{n})" for n in names), ""]
    for name in [n for n in names if n not in groups] + groups:
        cmd = root.get_command(ctx, name)
        out += _section(cmd, ["composer", name], 2)
        if isinstance(cmd, TyperGroup):
            sub_ctx = Context(cmd, info_name=name, parent=ctx)
            for sub in cmd.list_commands(sub_ctx):
                out += _section(cmd.get_command(sub_ctx, sub), ["composer", name, sub], 3)
    differences = DEFAULT_DIFFERENCES
    if previous and DIFFERENCES_HEADING in previous:
        differences = previous[previous.index(DIFFERENCES_HEADING):]
    return "\n".join(out).rstrip() + "\n\n" + differences.rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=REPO / "docs" / "cli.md")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date")
    args = parser.parse_args(argv)
    previous = args.output.read_text() if args.output.exists() else None
    text = generate(previous)
    if args.check:
        if text != previous:
            print(f"{args.output} is out of date: run scripts/gen-cli-docs.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
