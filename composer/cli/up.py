"""``composer up`` for the typer CLI: its options and help; the command is ``upcmd.run``.

The body lives in ``upcmd`` (no typer) so that ``entry``'s fast path runs the
very same code for the invocations it parses itself.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from composer.cli import upcmd
from composer.cli.compose import _opts

_parse_scale = upcmd.parse_scale  # (``create`` parses --scale as ``up`` does)


def up(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument(help="Services to start")] = None,  # noqa: UP045
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Detached mode: run containers in the background")] = False,
    no_deps: Annotated[bool, typer.Option("--no-deps", help="Don't start linked services")] = False,
    force_recreate: Annotated[bool, typer.Option("--force-recreate", help="Recreate containers even if their configuration and image haven't changed")] = False,
    no_recreate: Annotated[bool, typer.Option("--no-recreate", help="If containers already exist, don't recreate them")] = False,
    always_recreate_deps: Annotated[bool, typer.Option("--always-recreate-deps", help="Recreate dependent containers")] = False,
    remove_orphans: Annotated[bool, typer.Option("--remove-orphans", help="Remove containers for services not defined in the Compose file")] = False,
    renew_anon_volumes: Annotated[bool, typer.Option("--renew-anon-volumes", "-V", help="Recreate anonymous volumes instead of retrieving data from the previous containers")] = False,
    no_start: Annotated[bool, typer.Option("--no-start", help="Don't start the services after creating them")] = False,
    scale: Annotated[Optional[list[str]], typer.Option("--scale", help="Scale SERVICE to NUM instances")] = None,  # noqa: UP045
    timeout: Annotated[Optional[float], typer.Option("--timeout", "-t", help="Shutdown timeout in seconds")] = None,  # noqa: UP045
    wait: Annotated[bool, typer.Option("--wait", help="Wait for services to be running|healthy. Implies detached mode")] = False,
    wait_timeout: Annotated[Optional[float], typer.Option("--wait-timeout", help="Maximum duration in seconds to wait for the project to be running|healthy")] = None,  # noqa: UP045
    abort_on_exit: Annotated[bool, typer.Option("--abort-on-container-exit", help="Stops all containers if any container was stopped")] = False,
    abort_on_failure: Annotated[bool, typer.Option("--abort-on-container-failure", help="Stops all containers if any container exited with failure")] = False,
    exit_code_from: Annotated[Optional[str], typer.Option("--exit-code-from", help="Return the exit code of the selected service container")] = None,  # noqa: UP045
    attach: Annotated[Optional[list[str]], typer.Option("--attach", help="Restrict attaching to the specified services")] = None,  # noqa: UP045
    no_attach: Annotated[Optional[list[str]], typer.Option("--no-attach", help="Do not attach (stream logs) to the specified services")] = None,  # noqa: UP045
    build: Annotated[bool, typer.Option("--build", help="Build images before starting containers")] = False,
    no_build: Annotated[bool, typer.Option("--no-build", help="Don't build an image, even if it's policy")] = False,
    pull: Annotated[Optional[str], typer.Option("--pull", help='Pull image before running ("always"|"missing"|"never")')] = None,  # noqa: UP045
    no_color: Annotated[bool, typer.Option("--no-color", help="Produce monochrome output")] = False,
    no_log_prefix: Annotated[bool, typer.Option("--no-log-prefix", help="Don't print prefix in logs")] = False,
    timestamps: Annotated[bool, typer.Option("--timestamps", help="Show timestamps")] = False,
) -> None:
    """Create and start containers."""
    code = upcmd.run(
        _opts(ctx), services, detach=detach, no_deps=no_deps, force_recreate=force_recreate,
        no_recreate=no_recreate, always_recreate_deps=always_recreate_deps, remove_orphans=remove_orphans,
        renew_anon_volumes=renew_anon_volumes, no_start=no_start, scale=scale, timeout=timeout, wait=wait,
        wait_timeout=wait_timeout, abort_on_exit=abort_on_exit, abort_on_failure=abort_on_failure,
        exit_code_from=exit_code_from, attach=attach, no_attach=no_attach, build=build, no_build=no_build,
        pull=pull, no_color=no_color, no_log_prefix=no_log_prefix, timestamps=timestamps,
    )
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command()(up)
