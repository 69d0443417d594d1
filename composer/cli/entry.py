"""The ``composer`` executable: fast paths for a few commands, else the typer app.

``composer version`` and ``composer ps`` are run many times by scripts and
prompts, a no-change ``composer build`` should answer in well under half a
second, and ``up``, ``run`` should cost little beyond their containers;
importing typer (its click, one pydantic adapter per option) costs ~0.1 s, so
this module answers them with a small hand-written parser when their
arguments are simple, and hands everything else, including help and every
usage error, to the full CLI (``composer.cli.main``), which parses the same flags.

Imports nothing beyond what the interpreter has loaded at start-up (not even
``__future__``): ``composer version`` should cost about ``python -c pass``.
"""

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs ~5 ms (mypy honours the name)
if TYPE_CHECKING:
    from collections.abc import Callable

    from composer.cli.context import GlobalOptions

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


def command_name(argv: list[str]) -> str | None:
    """The subcommand after the global options; None for help or an option this parser does not know."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-"):
            return arg
        name, eq, _ = arg.partition("=")
        if name in _GLOBAL_WITH_VALUE or name in _GLOBAL_IGNORED_WITH_VALUE:
            i += 1 if eq else 2
        elif arg == "--dry-run":
            i += 1
        else:
            return None
    return None


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
    from composer.cli.psview import render_ps

    render_ps(_global_options(opts), services, all_=bool(flags["all"]), format_=str(flags["format"]),
              quiet=bool(flags["quiet"]), services_only=bool(flags["services"]))
    return 0


# What the build fast path passes on; any other global option, or an environment
# variable the full CLI validates, sends ``composer build`` to the full CLI.
_BUILD_GLOBALS = {"file", "project_name", "project_directory", "root", "--profile", "--env-file"}
_FULL_CLI_ENV = ("COMPOSE_ANSI", "COMPOSE_PROGRESS", "_COMPOSER_COMPLETE")


def _build(opts: dict[str, list[str]], args: list[str]) -> int:
    from composer.cli import buildcmd

    kwargs = buildcmd.parse(args)
    if kwargs is None or not set(opts) <= _BUILD_GLOBALS or any(os.environ.get(v) for v in _FULL_CLI_ENV):
        raise _Fallback
    buildcmd.run(_global_options(opts), **kwargs)
    return 0


def _global_options(opts: dict[str, list[str]]) -> "GlobalOptions":
    """GlobalOptions as ``main.global_options`` makes them, from the options ``_split_globals`` found."""
    from pathlib import Path

    from composer.cli.context import GlobalOptions

    root = opts.get("root", [os.environ.get("COMPOSER_ROOT", "")])[-1] or None
    profiles = opts.get("--profile") or [p for p in os.environ.get("COMPOSE_PROFILES", "").split(",") if p]
    return GlobalOptions(
        files=[Path(f).absolute() for f in opts.get("file", [])],
        project_name=opts["project_name"][-1] if "project_name" in opts else None,
        project_directory=Path(opts["project_directory"][-1]).absolute() if "project_directory" in opts else None,
        root=Path(root) if root else None,
        profiles=profiles,
        env_files=[Path(f).absolute() for f in opts.get("--env-file", [])],
    )


def _run(opts: dict[str, list[str]], args: list[str]) -> int:
    """``composer run`` (``runcmd``): typer alone costs about as much as the whole one-off container."""
    from composer.cli import runcmd

    kwargs = runcmd.parse(args)
    if kwargs is None or not set(opts) <= _BUILD_GLOBALS | {"--runtime"} or any(os.environ.get(v) for v in _FULL_CLI_ENV):
        raise _Fallback
    from composer.runtime import zygote

    zygote.start(preload=False)  # the shim forks from a small process while this one imports the engine
    g = _global_options(opts)
    g.runtime = opts.get("--runtime", [os.environ.get("COMPOSER_RUNTIME", "")])[-1] or None
    return runcmd.run(g, **kwargs)


# ``up``'s globals, read as the full CLI's callback reads them (its environment
# variables included); a value it would refuse, or one whose reading is not
# obvious ("+8", an empty --root), sends ``composer up`` to the full CLI.
_UP_GLOBALS = _BUILD_GLOBALS | {"--runtime", "--parallel", "--ansi", "--progress"}
_ANSI = ("never", "always", "auto")
_PROGRESS = ("auto", "tty", "plain", "json", "quiet")


def _up_global(opts: dict[str, list[str]], option: str, env: str, default: str) -> str:
    """The last ``option``, else the variable ``env`` (empty counts as unset, as for click), else ``default``."""
    if option in opts:
        return opts[option][-1]
    return os.environ.get(env) or default


def _up(opts: dict[str, list[str]], args: list[str]) -> int:
    """``composer up`` (``upcmd``): typer's start-up is a tenth of a 20-service ``up -d``."""
    from composer.cli import upcmd

    kwargs = upcmd.parse(args)
    if (kwargs is None or not set(opts) <= _UP_GLOBALS or os.environ.get("_COMPOSER_COMPLETE")
            or any("" in values for values in opts.values())):  # (--root "": the full CLI reads ".")
        raise _Fallback
    ansi = _up_global(opts, "--ansi", "COMPOSE_ANSI", "auto")
    progress = _up_global(opts, "--progress", "COMPOSE_PROGRESS", "auto")
    parallel = _up_global(opts, "--parallel", "COMPOSE_PARALLEL_LIMIT", "-1")
    digits = parallel[1:] if parallel.startswith("-") else parallel
    if ansi not in _ANSI or progress not in _PROGRESS or not (digits.isascii() and digits.isdigit()):
        raise _Fallback
    from composer.cli import progress as progress_view

    progress_view.configure(progress, ansi)
    g = _global_options(opts)
    g.runtime = opts.get("--runtime", [os.environ.get("COMPOSER_RUNTIME", "")])[-1] or None
    g.parallel = int(parallel) if int(parallel) > 0 else 64
    g.ansi = ansi
    try:
        return upcmd.run(g, **kwargs)
    except BrokenPipeError:
        return 1  # the full CLI's end when a reader of its output left (typer: any EPIPE is exit 1)


# Commands answered without typer when their arguments are simple.
_FAST = {"ps": _ps, "build": _build, "run": _run, "up": _up}


def skip_pydantic_plugins() -> None:
    """Tell pydantic there are no plugins, without its search for them.

    composer uses none, and the search (``importlib.metadata``, which imports
    ``email``, ``zipfile`` and ``socket``, then reads every installed package's
    entry points) costs ~20 ms of every command that builds the Compose model.
    Only ``get_plugins`` is imported from this private module (pydantic 2.x).
    """
    stub = type(sys)("pydantic.plugin._loader")
    stub.get_plugins = tuple  # type: ignore[attr-defined]  # () : no plugins
    sys.modules.setdefault("pydantic.plugin._loader", stub)


def main() -> None:
    try:
        _main()
    except BrokenPipeError:  # `composer ps | head`: the reader left; end quietly as a Go CLI does on SIGPIPE
        os._exit(141)


# Commands that start containers: the shims come from ``runtime.zygote`` (``run``'s fast path starts its own).
_ZYGOTE_COMMANDS = ("up", "start", "restart")


def _main() -> None:
    argv = sys.argv[1:]
    skip_pydantic_plugins()
    try:
        opts, rest = _split_globals(argv)
        if rest and rest[0] in _ZYGOTE_COMMANDS and "--dry-run" not in rest:
            from composer.runtime import zygote

            zygote.start()  # before threads and heavy imports: shims fork from a small process
        if rest and rest[0] == "version" and not opts:
            sys.exit(_version(rest[1:]))
        if rest and rest[0] in _FAST:
            _run_fast(_FAST[rest[0]], opts, rest[1:])
    except _Fallback:
        pass
    from composer.cli.main import main as full_main

    try:
        full_main()
    except SystemExit as exc:
        _exit_now(exc.code)
    _exit_now(0)


def _exit_now(code: object) -> None:
    """Exit as ``sys.exit(code)`` would, without the interpreter's teardown.

    Freeing the full CLI's heap (typer, pydantic, the project) module by module
    costs 0.15-0.3 s of CPU after ``up -d`` has done its work. As the normal
    exit does, it waits for the non-daemon threads (a worker pool winding
    down) and runs the atexit handlers; then stdio is flushed and ``os._exit``.
    """
    import threading

    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            status = status or 120  # as the interpreter does when stdout cannot be flushed
    os._exit(status & 0xFF)


def _run_fast(command: "Callable[[dict[str, list[str]], list[str]], int]", opts: dict[str, list[str]],
              args: list[str]) -> None:
    """The full CLI's error boundary (``main.main``) around a fast-path command, then ``_exit_now``."""
    from composer.errors import ComposerError

    try:
        code = command(opts, args)
    except ComposerError as exc:
        print(str(exc), file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        code = 130
    _exit_now(code)  # the teardown of pydantic and the project: ~0.1 s of a no-change build
