"""The ``composer`` command line: global options, sub-apps, one error boundary.

Every ComposerError is caught here, once, printed as one line on stderr, and
mapped to its exit code; nothing below prints tracebacks at users.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

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


def _register() -> None:
    from composer.cli import build, compose, config, containers, network, runtime
    from composer.cli.image import image_app

    for module in (compose, containers, config, build, network, runtime):
        module.register(app)
    app.add_typer(image_app, name="image", help="Manage images")


def main(argv: list[str] | None = None) -> None:
    from composer.errors import ComposerError

    _register()
    try:
        app(args=argv, standalone_mode=True)
    except ComposerError as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
