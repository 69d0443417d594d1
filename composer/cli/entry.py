"""The ``composer`` executable: a fast path for read-only commands, else the typer app.

``composer version`` and ``composer ps`` are run many times by scripts and
prompts; importing typer (and, through it, pydantic and click) costs ~150 ms,
so this module answers them with a small hand-written parser when their
arguments are simple, and hands everything else, including every error, to
the full CLI (``composer.cli.main``), which parses the same flags.
"""

from __future__ import annotations

import os
import sys

_GLOBAL_WITH_VALUE = {"-f": "file", "--file": "file", "-p": "project_name", "--project-name": "project_name",
                      "--project-directory": "project_directory", "--root": "root"}
_GLOBAL_IGNORED_WITH_VALUE = {"--profile", "--runtime", "--parallel", "--ansi", "--progress", "--env-file"}


class _Fallback(Exception):
    """The arguments need the full parser."""


def _split_globals(argv: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    opts: dict[str, list[str]] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-"):
            return opts, argv[i:]
        name, eq, value = arg.partition("=")
        if name in _GLOBAL_WITH_VALUE or name in _GLOBAL_IGNORED_WITH_VALUE:
            if not eq:
                if i + 1 >= len(argv):
                    raise _Fallback
                value = argv[i + 1]
                i += 1
            opts.setdefault(_GLOBAL_WITH_VALUE.get(name, name), []).append(value)
            i += 1
            continue
        raise _Fallback
    raise _Fallback


def _version(args: list[str]) -> int:
    from composer import __version__

    if args == ["--short"]:
        print(__version__)
    elif not args:
        print(f"composer version v{__version__}")
    else:
        raise _Fallback
    return 0


def _ps(opts: dict[str, list[str]], args: list[str]) -> int:
    flags = {"all": False, "quiet": False, "services": False, "format": "table"}
    services: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-a", "--all"):
            flags["all"] = True
        elif arg in ("-q", "--quiet"):
            flags["quiet"] = True
        elif arg == "--services":
            flags["services"] = True
        elif arg == "--format" and i + 1 < len(args) and args[i + 1] in ("table", "json"):
            flags["format"] = args[i + 1]
            i += 1
        elif arg.startswith("--format=") and arg.split("=", 1)[1] in ("table", "json"):
            flags["format"] = arg.split("=", 1)[1]
        elif arg.startswith("-"):
            raise _Fallback
        else:
            services.append(arg)
        i += 1
    from pathlib import Path

    from composer.cli.context import GlobalOptions
    from composer.cli.psview import render_ps

    root = opts.get("root", [os.environ.get("COMPOSER_ROOT", "")])[-1] or None
    g = GlobalOptions(
        files=[Path(f).absolute() for f in opts.get("file", [])],
        project_name=opts["project_name"][-1] if "project_name" in opts else None,
        project_directory=Path(opts["project_directory"][-1]).absolute() if "project_directory" in opts else None,
        root=Path(root) if root else None,
    )
    render_ps(g, services, all_=bool(flags["all"]), format_=str(flags["format"]),
              quiet=bool(flags["quiet"]), services_only=bool(flags["services"]))
    return 0


def main() -> None:
    argv = sys.argv[1:]
    try:
        opts, rest = _split_globals(argv)
        if rest and rest[0] == "version" and not opts:
            sys.exit(_version(rest[1:]))
        if rest and rest[0] == "ps":
            from composer.errors import ComposerError

            try:
                sys.exit(_ps(opts, rest[1:]))
            except ComposerError as exc:
                print(str(exc), file=sys.stderr)
                sys.exit(exc.exit_code)
    except _Fallback:
        pass
    from composer.cli.main import main as full_main

    full_main()
