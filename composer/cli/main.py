"""The ``composer`` command line: global options, sub-apps, one error boundary.

Every ComposerError is caught here, once, printed as one line on stderr, and
mapped to its exit code; nothing below prints tracebacks at users.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.models import TyperInfo

from composer.cli.context import GlobalOptions

app = typer.Typer(
    name="composer",
    help="Docker Compose, in Python, without Docker: define and run multi-container applications.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def global_options(
    ctx: typer.Context,
    file: Annotated[Optional[list[Path]], typer.Option("--file", "-f", help="Compose configuration files")] = None,  # noqa: UP045
    project_name: Annotated[Optional[str], typer.Option("--project-name", "-p", help="Project name")] = None,  # noqa: UP045
    project_directory: Annotated[Optional[Path], typer.Option("--project-directory", help="Alternate working directory")] = None,  # noqa: UP045
    root: Annotated[Optional[Path], typer.Option("--root", envvar="COMPOSER_ROOT", help="State root (default /var/lib/composer, run state in /run/composer)")] = None,  # noqa: UP045
    profile: Annotated[Optional[list[str]], typer.Option("--profile", help="Enable a profile")] = None,  # noqa: UP045
    runtime: Annotated[Optional[str], typer.Option("--runtime", envvar="COMPOSER_RUNTIME", help="OCI runtime backend: builtin (default), crun or runc")] = None,  # noqa: UP045
    parallel: Annotated[int, typer.Option("--parallel", envvar="COMPOSE_PARALLEL_LIMIT", help="Control max parallelism, -1 for unlimited")] = -1,
    env_file: Annotated[Optional[list[Path]], typer.Option("--env-file", help="Specify an alternate environment file")] = None,  # noqa: UP045
    ansi: Annotated[str, typer.Option("--ansi", envvar="COMPOSE_ANSI", help='Control when to print ANSI control characters ("never"|"always"|"auto")')] = "auto",
    progress: Annotated[str, typer.Option("--progress", envvar="COMPOSE_PROGRESS", help='Set type of progress output ("auto"|"tty"|"plain"|"json"|"quiet")')] = "auto",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Execute command in dry run mode")] = False,
) -> None:
    from composer.cli import progress as progress_view
    from composer.errors import ConfigError

    if ansi not in ("never", "always", "auto"):
        raise ConfigError(f'invalid --ansi {ansi!r}: "never", "always" or "auto"')
    if progress not in ("auto", "tty", "plain", "json", "quiet"):
        raise ConfigError(f'invalid --progress {progress!r}: "auto", "tty", "plain", "json" or "quiet"')
    progress_view.configure(progress, ansi)
    opts = GlobalOptions(
        files=[f.absolute() for f in file or []],
        project_name=project_name,
        project_directory=project_directory.absolute() if project_directory else None,
        root=root,
        profiles=list(profile or []) or [p for p in os.environ.get("COMPOSE_PROFILES", "").split(",") if p],
        runtime=runtime,
        parallel=parallel if parallel > 0 else 64,
        env_files=[f.absolute() for f in env_file or []],
        ansi=ansi,
        dry_run=dry_run,
    )
    paths = opts.paths
    ctx.obj = {"options": opts, "state_root": paths.state_root, "run_root": paths.run_root}


# The module that registers each command. ``composer CMD`` imports and registers
# only CMD: typer inspects the signature of every registered command (and builds
# a pydantic adapter per parameter) before it runs one. Order = ``--help`` order.
_MODULES = ("compose", "containers", "config", "build", "network", "runtime", "image")
COMMANDS: dict[str, str] = {
    **dict.fromkeys(("up", "down", "ps", "logs", "start", "stop", "rm", "version"), "compose"),
    **dict.fromkeys(("exec", "run", "create", "restart", "kill", "pause", "unpause", "top", "port",
                     "wait", "cp", "ls", "events", "stats"), "containers"),
    "config": "config",
    **dict.fromkeys(("build", "pull", "push", "images", "login", "logout"), "build"),
    "network": "network",
    "runtime": "runtime",
    "image": "image",
}
_registered: set[str] = set()


def module_commands(module: str) -> typer.Typer:
    """A scratch app holding the commands and command groups of one ``composer.cli`` module."""
    import importlib

    scratch = typer.Typer()
    if module == "image":
        from composer.cli.image import image_app

        scratch.add_typer(image_app, name="image", help="Manage images")
    else:
        importlib.import_module(f"composer.cli.{module}").register(scratch)
    return scratch


def command_names(scratch: typer.Typer) -> list[str]:
    """The command and group names of a scratch app, in registration order."""
    return [name for name, _ in _named(scratch)]


def _named(scratch: typer.Typer) -> list[tuple[str, Any]]:
    from typer.main import get_command_name

    commands = [(c.name or get_command_name(getattr(c.callback, "__name__", "")), c) for c in scratch.registered_commands]
    groups = [(g.name or str(getattr(g.typer_instance, "info", g).name), g) for g in scratch.registered_groups]
    return commands + groups


def _register(command: str | None = None) -> None:
    """Add the commands to the app: all of them, or only ``command`` when it is a known one."""
    modules = (COMMANDS[command],) if command in COMMANDS else _MODULES
    for module in modules:
        for name, info in _named(module_commands(module)):
            if name in _registered or (command in COMMANDS and name != command):
                continue
            _registered.add(name)
            if isinstance(info, TyperInfo):
                app.registered_groups.append(info)
            else:
                app.registered_commands.append(info)


def main(argv: list[str] | None = None) -> None:
    from composer.cli.entry import command_name
    from composer.errors import ComposerError

    args = sys.argv[1:] if argv is None else argv
    _register(None if os.environ.get("_COMPOSER_COMPLETE") else command_name(args))
    try:
        app(args=argv, standalone_mode=True)
    except ComposerError as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
