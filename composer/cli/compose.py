"""The Compose commands: up, down, ps, logs, start, stop, rm, version.

Thin by design (STYLE.md): each command builds options, calls one library
function, renders the result. Read-only commands (ps, logs) avoid importing
the Compose model and the planner.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated, Any, Optional

import typer

from composer.cli.context import GlobalOptions
from composer.cli.upcmd import prefixer


def _opts(ctx: typer.Context) -> GlobalOptions:
    return ctx.obj["options"]  # type: ignore[no-any-return]


def reporter(kind: str, name: str, status: str) -> None:
    """Progress events of every command go through --progress's renderer."""
    from composer.cli import progress

    progress.report(kind, name, status)


def _print_lines(lines: Any, names: list[str], *, color: bool, no_prefix: bool = False,
                 timestamps: bool = False) -> None:
    prefix = prefixer(names, color)
    out = sys.stdout
    for ln in lines:
        text = ln.text if ln.text.endswith("\n") else ln.text + "\n"
        stamp = f"{ln.time} " if timestamps else ""
        out.write(("" if no_prefix else prefix(ln.container)) + stamp + text)
        out.flush()


def down(
    ctx: typer.Context,
    volumes: Annotated[bool, typer.Option("--volumes", "-v", help="Remove named volumes declared in the \"volumes\" section of the Compose file and anonymous volumes attached to containers")] = False,
    timeout: Annotated[Optional[float], typer.Option("--timeout", "-t", help="Specify a shutdown timeout in seconds")] = None,  # noqa: UP045
    remove_orphans: Annotated[bool, typer.Option("--remove-orphans", help="Remove containers for services not defined in the Compose file")] = False,
    rmi: Annotated[Optional[str], typer.Option("--rmi", help='Remove images used by services. "local" remove only images that don\'t have a custom tag ("local"|"all")')] = None,  # noqa: UP045
) -> None:
    """Stop and remove containers, networks."""
    from composer.engine import project as engine
    from composer.errors import ConfigError

    if rmi not in (None, "local", "all"):
        raise ConfigError(f'invalid --rmi {rmi!r}: "local" or "all"')
    g = _opts(ctx)
    name, services = g._light()
    paths = g.paths
    if g.dry_run:
        _dry_run_down(paths, name, volumes)
        return
    images = engine.down(paths, name, remove_volumes=volumes, timeout=timeout, services_in_file=services,
                         remove_orphans=remove_orphans, remove_images=rmi, report=reporter)
    if images:
        from composer.errors import NotFoundError
        from composer.image.store import ImageStore

        store = ImageStore(paths.state_root)
        for ref in images:
            try:
                store.remove(ref)
                reporter("Image", ref, "Removed")
            except NotFoundError:
                pass


def _dry_run_down(paths: Any, name: str, volumes: bool) -> None:
    from composer.engine import state
    from composer.engine import volumes as engine_volumes

    for rec in state.container_records(paths, name):
        typer.echo(f" DRY-RUN MODE -  Container {rec['name']}  Stop and remove", err=True)
    for net in state.network_records(paths):
        if net.get("labels", {}).get("com.docker.compose.project") == name:
            typer.echo(f" DRY-RUN MODE -  Network {net['name']}  Remove", err=True)
    if volumes:
        for vol in engine_volumes.volume_records(paths, name):
            typer.echo(f" DRY-RUN MODE -  Volume {vol['name']}  Remove", err=True)


def ps(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument()] = None,  # noqa: UP045
    all_: Annotated[bool, typer.Option("--all", "-a", help="Show all stopped containers")] = False,
    format_: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only display IDs")] = False,
    services_only: Annotated[bool, typer.Option("--services", help="Display services")] = False,
    status: Annotated[Optional[list[str]], typer.Option("--status", help="Filter services by status: created, restarting, running, removing, paused, exited, dead")] = None,  # noqa: UP045
    filter_: Annotated[Optional[str], typer.Option("--filter", help="Filter services by a property (status=running)")] = None,  # noqa: UP045
) -> None:
    """List containers."""
    from composer.cli.psview import render_ps

    render_ps(_opts(ctx), services or [], all_=all_, format_=format_, quiet=quiet,
              services_only=services_only, status=status or [], filter_=filter_)


def logs(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument()] = None,  # noqa: UP045
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Follow log output")] = False,
    tail: Annotated[str, typer.Option("--tail", "-n", help="Number of lines to show from the end of the logs for each container")] = "all",
    timestamps: Annotated[bool, typer.Option("--timestamps", "-t", help="Show timestamps")] = False,
    since: Annotated[Optional[str], typer.Option("--since", help="Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")] = None,  # noqa: UP045
    until: Annotated[Optional[str], typer.Option("--until", help="Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")] = None,  # noqa: UP045
    index: Annotated[Optional[int], typer.Option("--index", help="index of the container if service has multiple replicas")] = None,  # noqa: UP045
    no_color: Annotated[bool, typer.Option("--no-color", help="Produce monochrome output")] = False,
    no_prefix: Annotated[bool, typer.Option("--no-log-prefix", help="Don't print prefix in logs")] = False,
) -> None:
    """View output from containers."""
    from composer.engine import containers, state
    from composer.engine import logs as enginelogs
    from composer.errors import ConfigError

    g = _opts(ctx)
    name = g.project_name_and_services(services or [])
    paths = g.paths
    recs = [r for r in state.container_records(paths, name) if not services or r["service"] in services]
    if any(containers.is_running(paths, r["id"]) for r in recs):
        from composer.engine import monitor_client

        monitor_client.adopt(paths, name)  # take the project over again if its monitor died
    if index is not None:
        recs = [r for r in recs if r["number"] == index]
    if tail != "all" and not tail.lstrip("-").isdigit():
        raise ConfigError(f"invalid --tail value {tail!r}: a number or 'all'")
    n = None if tail == "all" or int(tail) < 0 else int(tail)
    window = enginelogs.TimeWindow.parse(since, until)
    color = g.use_color(no_color)
    names = [r["name"] for r in recs]
    lines, offsets = enginelogs.snapshot(paths, recs, n, window)
    _print_lines(lines, names, color=color, no_prefix=no_prefix, timestamps=timestamps)
    if follow:
        stream = enginelogs.follow(paths, recs, offsets, lambda cid: containers.active(paths, cid))
        with contextlib.suppress(KeyboardInterrupt):
            _print_lines((ln for ln in stream if window.contains(ln.time)), names, color=color,
                         no_prefix=no_prefix, timestamps=timestamps)


def start(ctx: typer.Context, services: Annotated[Optional[list[str]], typer.Argument()] = None) -> None:  # noqa: UP045
    """Start existing containers."""
    from composer.engine import project as engine

    g = _opts(ctx)
    engine.start(g.paths, g.project_name_and_services(services or []), services or [], reporter)


def stop(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument()] = None,  # noqa: UP045
    timeout: Annotated[Optional[float], typer.Option("--timeout", "-t", help="Shutdown timeout in seconds")] = None,  # noqa: UP045
) -> None:
    """Stop running containers without removing them."""
    from composer.engine import project as engine

    g = _opts(ctx)
    engine.stop(g.paths, g.project_name_and_services(services or []), services or [], timeout, reporter)


def rm(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument()] = None,  # noqa: UP045
    force: Annotated[bool, typer.Option("--force", "-f", help="Don't ask to confirm removal")] = False,
    stop_: Annotated[bool, typer.Option("--stop", "-s", help="Stop the containers, if required, before removing")] = False,
    volumes: Annotated[bool, typer.Option("--volumes", "-v", help="Remove anonymous volumes attached to containers")] = False,
) -> None:
    """Remove stopped service containers."""
    from composer.engine import project as engine

    g = _opts(ctx)
    removed = engine.rm(g.paths, g.project_name_and_services(services or []), services or [],
                        stop_first=stop_, remove_volumes=volumes, report=reporter)
    if not removed:
        typer.echo("No stopped containers", err=True)


def version(short: Annotated[bool, typer.Option("--short", help="Shows only the version number")] = False) -> None:
    """Show the composer version."""
    from composer import __version__

    typer.echo(__version__ if short else f"composer version v{__version__}")


def register(app: typer.Typer) -> None:
    from composer.cli import up

    up.register(app)
    app.command()(down)
    app.command()(ps)
    app.command()(logs)
    app.command()(start)
    app.command()(stop)
    app.command()(rm)
    app.command()(version)
