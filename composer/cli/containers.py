"""Commands: create, restart, kill, pause, unpause, top, port, wait, cp, ls, events, stats (exec, run: ``runexec``).

Thin, like compose.py: each builds options, calls one engine function and
renders its result with Docker Compose's output and exit codes.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any, Optional

import typer

from composer.cli.compose import reporter
from composer.cli.context import GlobalOptions

#: commands whose own arguments may look like options (``exec web sh -c ...``)
PASSTHROUGH = {"allow_interspersed_args": False, "ignore_unknown_options": True}


def _opts(ctx: typer.Context) -> GlobalOptions:
    return ctx.obj["options"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------- create / restart / kill / pause


def create(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument(help="Services to create")] = None,  # noqa: UP045
    build: Annotated[bool, typer.Option("--build", help="Build images before starting containers")] = False,
    no_build: Annotated[bool, typer.Option("--no-build", help="Don't build an image, even if it's policy")] = False,
    force_recreate: Annotated[bool, typer.Option("--force-recreate", help="Recreate containers even if their configuration and image haven't changed")] = False,
    no_recreate: Annotated[bool, typer.Option("--no-recreate", help="If containers already exist, don't recreate them")] = False,
    pull: Annotated[Optional[str], typer.Option("--pull", help='Pull image before running ("always"|"missing"|"never")')] = None,  # noqa: UP045
    remove_orphans: Annotated[bool, typer.Option("--remove-orphans", help="Remove containers for services not defined in the Compose file")] = False,
    scale: Annotated[Optional[list[str]], typer.Option("--scale", help="Scale SERVICE to NUM instances")] = None,  # noqa: UP045
) -> None:
    """Creates containers for a service."""
    import dataclasses

    import anyio

    from composer.cli.up import _parse_scale
    from composer.engine import up as engine
    from composer.errors import ConfigError, ServiceNotFoundError
    from composer.image.store import ImageStore

    if force_recreate and no_recreate:
        raise ConfigError("--force-recreate and --no-recreate are incompatible")
    g = _opts(ctx)
    proj = g.load_project(services or [])
    for s in services or []:
        if s not in proj.services:
            raise ServiceNotFoundError(f"no such service: {s}")
    image_options: dict[str, Any] = {k: v for k, v in (("build", build), ("no_build", no_build), ("pull", pull)) if v}
    image_options.update(g.image_options())
    wanted: dict[str, Any] = {
        "services": services or [], "force_recreate": force_recreate, "no_recreate": no_recreate,
        "remove_orphans": remove_orphans, "no_start": True, "scale": _parse_scale(scale or []),
        "runtime": g.runtime, "image_options": image_options,
        "explicit_name": bool(g.project_name or os.environ.get("COMPOSE_PROJECT_NAME")),
    }
    known = {f.name for f in dataclasses.fields(engine.UpOptions)}
    opts = engine.UpOptions(**{k: v for k, v in wanted.items() if k in known})
    anyio.run(engine.up, g.paths, proj, ImageStore(g.paths.state_root), opts, reporter)


def restart(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument()] = None,  # noqa: UP045
    timeout: Annotated[Optional[float], typer.Option("--timeout", "-t", help="Specify a shutdown timeout in seconds")] = None,  # noqa: UP045
    no_deps: Annotated[bool, typer.Option("--no-deps", help="Don't restart dependent services")] = False,
) -> None:
    """Restart service containers."""
    from composer.engine import control

    g = _opts(ctx)
    name = g.project_name_and_services(services or [])
    control.restart(g.paths, name, services or [], timeout=timeout, no_deps=no_deps, report=reporter)


def kill(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument()] = None,  # noqa: UP045
    signal_: Annotated[str, typer.Option("--signal", "-s", help="SIGNAL to send to the container")] = "SIGKILL",
    remove_orphans: Annotated[bool, typer.Option("--remove-orphans", help="Remove containers for services not defined in the Compose file")] = False,
) -> None:
    """Force stop service containers."""
    from composer.engine import containers, control

    g = _opts(ctx)
    name = g.project_name_and_services(services or [])
    sig = containers.signal_number(signal_)
    if remove_orphans:
        control.remove_orphans(g.paths, name, list(g.load_project().services), report=reporter)
    if not control.kill(g.paths, name, services or [], sig, report=reporter):
        typer.echo("no container to kill", err=True)


def pause(ctx: typer.Context, services: Annotated[Optional[list[str]], typer.Argument()] = None) -> None:  # noqa: UP045
    """Pause services."""
    from composer.engine import control

    g = _opts(ctx)
    control.pause(g.paths, g.project_name_and_services(services or []), services or [], report=reporter)


def unpause(ctx: typer.Context, services: Annotated[Optional[list[str]], typer.Argument()] = None) -> None:  # noqa: UP045
    """Unpause services."""
    from composer.engine import control

    g = _opts(ctx)
    control.pause(g.paths, g.project_name_and_services(services or []), services or [], resume=True,
                  report=reporter)


# ---------------------------------------------------------------- top / port / wait


def top(ctx: typer.Context, services: Annotated[Optional[list[str]], typer.Argument()] = None) -> None:  # noqa: UP045
    """Display the running processes."""
    from composer.cli.render import table
    from composer.engine import containers, control

    g = _opts(ctx)
    name = g.project_name_and_services(services or [])
    blocks = []
    for rec in control.records(g.paths, name, services or []):
        if not containers.is_running(g.paths, rec["id"]):
            continue
        rows = [["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]]
        rows += [[p.uid, str(p.pid), str(p.ppid), str(p.cpu), p.stime, p.tty, p.time, p.cmd]
                 for p in control.processes(g.paths, rec)]
        blocks.append(rec["name"] + "\n" + table(rows))
    typer.echo("\n".join(blocks), nl=False)


def port(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name")],
    private_port: Annotated[int, typer.Argument(help="Private port")],
    protocol: Annotated[str, typer.Option("--protocol", help="tcp or udp")] = "tcp",
    index: Annotated[int, typer.Option("--index", help="Index of the container if the service has several replicas")] = 1,
) -> None:
    """Print the public port for a port binding."""
    from composer.engine import control

    g = _opts(ctx)
    name = g.project_name_and_services([service])
    typer.echo(control.port(g.paths, name, service, private_port, protocol, index))


def wait(
    ctx: typer.Context,
    services: Annotated[list[str], typer.Argument(help="Services to wait for")],
    down_project: Annotated[bool, typer.Option("--down-project", help="Drops project when the first container stops")] = False,
) -> None:
    """Block until the first service container stops."""
    from composer.engine import control
    from composer.engine import project as engine

    g = _opts(ctx)
    name = g.project_name_and_services(services)
    code = control.wait(g.paths, name, services)
    if down_project:
        engine.down(g.paths, name, report=reporter)
    raise typer.Exit(code)


# ---------------------------------------------------------------- cp


def cp(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SRC", help="SERVICE:SRC_PATH or a local path")],
    dest: Annotated[str, typer.Argument(metavar="DEST", help="SERVICE:DEST_PATH or a local path")],
    index: Annotated[int, typer.Option("--index", help="Index of the container if the service has several replicas")] = 1,
    archive: Annotated[bool, typer.Option("--archive", "-a", help="Archive mode (copy all uid/gid information)")] = False,
    follow_link: Annotated[bool, typer.Option("--follow-link", "-L", help="Always follow symbol link in SRC_PATH")] = False,
) -> None:
    """Copy files/folders between a service container and the local filesystem."""
    import contextlib

    from composer.engine import copy, execcmd
    from composer.errors import ConfigError

    g = _opts(ctx)
    (src_svc, src_path), (dest_svc, dest_path) = copy.split_ref(source), copy.split_ref(dest)
    if (src_svc is None) == (dest_svc is None):
        raise ConfigError("copying between services is not supported" if src_svc
                          else "one of SRC and DEST must be SERVICE:PATH")
    service = src_svc or dest_svc or ""
    name = g.project_name_and_services([service])
    rec = execcmd.service_container(g.paths, name, service, index, running=False)
    with contextlib.ExitStack() as stack:
        root, binds = stack.enter_context(copy.container_root(g.paths, rec))

        def end(svc: str | None, path: str, label: str) -> copy.Endpoint:
            if svc is None:
                return copy.Endpoint(None, os.path.join(os.getcwd(), path), label)
            return copy.Endpoint(root, copy.container_path(path), f"{rec['name']}:{copy.container_path(path)}",
                                 binds)

        copy.copy(end(src_svc, src_path, source), end(dest_svc, dest_path, dest),
                  follow_link=follow_link, archive=archive)
    direction = f"{source} to {rec['name']}:{dest_path}" if dest_svc else f"{rec['name']}:{src_path} to {dest}"
    reporter("Container", rec["name"], f"Copied {direction}")


# ---------------------------------------------------------------- ls


def ls(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Show all stopped Compose projects")] = False,
    filter_: Annotated[Optional[str], typer.Option("--filter", help="Filter output based on conditions provided (name=...)")] = None,  # noqa: UP045
    format_: Annotated[str, typer.Option("--format", help="Format the output. Values: [table | json]")] = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only display project names")] = False,
) -> None:
    """List running compose projects."""
    from composer.engine.projects import project_rows
    from composer.errors import ConfigError

    name_filter = None
    if filter_:
        key, _, value = filter_.partition("=")
        if key != "name":
            raise ConfigError(f"invalid filter {key!r}: only name=... is supported")
        name_filter = value
    if format_ not in ("table", "json"):
        raise ConfigError(f"invalid --format {format_!r}: use table or json")
    rows = project_rows(_opts(ctx).paths, all_=all_, name_filter=name_filter)
    if quiet:
        for r in rows:
            typer.echo(r["Name"])
    elif format_ == "json":
        typer.echo(json.dumps(rows, separators=(",", ":")))
    else:
        from composer.cli.render import table

        lines = [["NAME", "STATUS", "CONFIG FILES"]] + [[r["Name"], r["Status"], r["ConfigFiles"]] for r in rows]
        typer.echo(table(lines), nl=False)


# ---------------------------------------------------------------- events / stats


def events(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument()] = None,  # noqa: UP045
    json_: Annotated[bool, typer.Option("--json", help="Output events as a stream of json objects")] = False,
) -> None:
    """Receive real time events from containers."""
    import contextlib

    from composer.engine import events as engine_events

    g = _opts(ctx)
    name = g.project_name_and_services(services or [])
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        for ev in engine_events.watch(g.paths, name, services or []):
            typer.echo(json.dumps(ev.json(), separators=(",", ":")) if json_ else ev.text())
            sys.stdout.flush()


def stats(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument()] = None,  # noqa: UP045
    all_: Annotated[bool, typer.Option("--all", "-a", help="Show all containers (default shows just running)")] = False,
    format_: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Disable streaming stats and only pull the first result")] = False,
    no_trunc: Annotated[bool, typer.Option("--no-trunc", help="Do not truncate output")] = False,
) -> None:
    """Display a live stream of container(s) resource usage statistics."""
    import contextlib

    from composer.engine import control
    from composer.engine import stats as engine_stats
    from composer.errors import ConfigError

    if format_ not in ("table", "json"):
        raise ConfigError(f"invalid --format {format_!r}: use table or json")
    g = _opts(ctx)
    name = g.project_name_and_services(services or [])
    tty = sys.stdout.isatty()
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        while True:
            rows = engine_stats.collect(g.paths, control.records(g.paths, name, services or []))
            if not no_stream and tty:
                sys.stdout.write("\x1b[2J\x1b[H")
            _print_stats(rows, format_, no_trunc)
            if no_stream:
                return


def _print_stats(rows: list[Any], format_: str, no_trunc: bool) -> None:
    from composer.engine.humanize import human_size
    from composer.engine.stats import binary_size

    def fields(r: Any) -> dict[str, str]:
        return {
            "BlockIO": f"{human_size(r.blk_read)} / {human_size(r.blk_write)}",
            "CPUPerc": f"{r.cpu_percent:.2f}%",
            "Container": r.id if no_trunc else r.id[:12],
            "ID": r.id if no_trunc else r.id[:12],
            "MemPerc": f"{r.mem_percent:.2f}%",
            "MemUsage": f"{binary_size(r.mem_usage)} / {binary_size(r.mem_limit)}",
            "Name": r.name,
            "NetIO": f"{human_size(r.net_rx)} / {human_size(r.net_tx)}",
            "PIDs": str(r.pids),
        }

    if format_ == "json":
        for r in rows:
            typer.echo(json.dumps(fields(r), separators=(",", ":")))
        sys.stdout.flush()
        return
    from composer.cli.render import table

    head = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]
    keys = ["ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs"]
    typer.echo(table([head] + [[fields(r)[k] for k in keys] for r in rows]), nl=False)
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    from composer.cli.runexec import exec_, run

    app.command("exec", context_settings=PASSTHROUGH)(exec_)
    app.command(context_settings=PASSTHROUGH)(run)
    app.command()(create)
    app.command()(restart)
    app.command()(kill)
    app.command()(pause)
    app.command()(unpause)
    app.command()(top)
    app.command()(port)
    app.command()(wait)
    app.command()(cp)
    app.command()(ls)
    app.command()(events)
    app.command()(stats)
