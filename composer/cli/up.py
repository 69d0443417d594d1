"""``composer up``: create and start, then (in the foreground) attach to the logs.

Foreground mode prints the merged, coloured, prefixed logs of the attached
services, reports each container's exit ("web-1 exited with code 0"), and
ends when no container is left running or about to restart. The first
Ctrl-C stops the stack gracefully, the second kills it.
``--abort-on-container-exit`` / ``--abort-on-container-failure`` /
``--exit-code-from`` stop everything when a container exits.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Annotated, Any, Optional

import typer

from composer.cli.compose import _opts, _prefixer, reporter


def _parse_scale(values: list[str]) -> dict[str, int]:
    from composer.errors import ConfigError

    out = {}
    for item in values:
        name, sep, num = item.partition("=")
        if not sep or not num.isdigit():
            raise ConfigError(f"invalid --scale {item!r}: expected SERVICE=NUM")
        out[name] = int(num)
    return out


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
    import anyio

    from composer.engine import up as engine_up
    from composer.errors import ComposerError, ConfigError
    from composer.image.store import ImageStore

    if exit_code_from:
        abort_on_exit = True
    if (detach or wait) and (abort_on_exit or abort_on_failure):
        raise ConfigError("--abort-on-container-exit and --detach are incompatible")
    if abort_on_exit and abort_on_failure:
        raise ConfigError("--abort-on-container-exit and --abort-on-container-failure are incompatible")
    g = _opts(ctx)
    if not (g.dry_run or no_start):  # a head start: the monitor starts up while the project loads
        import contextlib

        from composer.engine import monitor_client

        with contextlib.suppress(Exception):  # the engine starts it anyway, and reports what is wrong
            monitor_client.spawn(g.paths, g._light(load=False)[0])
    proj = g.load_project(services or [])
    for warning in getattr(proj, "warnings", ()):
        typer.echo(f"WARN[0000] {warning}", err=True)
    _warn_not_acted_on(proj)
    if exit_code_from and exit_code_from not in proj.services:
        from composer.errors import ServiceNotFoundError

        raise ServiceNotFoundError(f"no such service: {exit_code_from}")
    paths = g.paths
    image_options: dict[str, Any] = g.image_options()
    if build:
        image_options["build"] = True
    if no_build:
        image_options["no_build"] = True
    if pull:
        image_options["pull"] = pull
    opts = engine_up.UpOptions(
        services=services or [], no_deps=no_deps, force_recreate=force_recreate, no_recreate=no_recreate,
        always_recreate_deps=always_recreate_deps, remove_orphans=remove_orphans,
        renew_anon_volumes=renew_anon_volumes, no_start=no_start, scale=_parse_scale(scale or []),
        timeout=timeout, runtime=g.runtime, parallel=g.parallel, image_options=image_options,
        explicit_name=bool(g.project_name or os.environ.get("COMPOSE_PROJECT_NAME")),
        outbound=os.environ.get("COMPOSER_OUTBOUND", "") in ("1", "true", "yes"),
    )
    store = ImageStore(paths.state_root)
    if g.dry_run:
        _dry_run(paths, proj, store, opts)
        return
    if detach or wait or no_start:
        recs = anyio.run(engine_up.up, paths, proj, store, opts, reporter)
        if wait and not no_start:
            from composer.engine import waits

            try:
                anyio.run(waits.wait_ready, paths, recs, wait_timeout)
            except TimeoutError:
                raise ComposerError(f"timeout waiting for the project to be running|healthy after {wait_timeout:g}s") from None
        return
    interrupted = threading.Event()
    state: dict[str, Any] = {"services": []}

    def on_sigint(signum: int, frame: Any) -> None:
        from composer.engine import project as engine

        if interrupted.is_set():
            typer.echo("Killing...", err=True)
            engine.kill(paths, proj.name, state["services"])
            return
        interrupted.set()

    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        recs = anyio.run(engine_up.up, paths, proj, store, opts, reporter)
        state["services"] = sorted({r["service"] for r in recs})
        shown = [r for r in recs if (not attach or r["service"] in attach)
                 and r["service"] not in (no_attach or [])]
        code = attach_and_wait(
            paths, proj.name, recs, shown, interrupted, timeout,
            abort_on_exit=abort_on_exit, abort_on_failure=abort_on_failure, exit_code_from=exit_code_from,
            color=g.use_color(no_color), no_prefix=no_log_prefix, timestamps=timestamps,
        )
    finally:
        signal.signal(signal.SIGINT, old)
    if code:
        raise typer.Exit(code)


def _dry_run(paths: Any, proj: Any, store: Any, opts: Any) -> None:
    """Print the convergence plan, with its reasons, and change nothing."""
    from composer.engine import up as engine_up
    from composer.errors import NotFoundError
    from composer.planner import graph

    names = graph.select_services(proj, list(opts.services), with_deps=not opts.no_deps)
    images = {}
    for name in names:
        try:
            images[name] = store.get(proj.services[name].image or "")
        except NotFoundError:
            typer.echo(f" DRY-RUN MODE -  Image {proj.services[name].image}  Pull or build", err=True)
            return
    for action in engine_up.make_plan(paths, proj, names, images, opts).actions:
        typer.echo(f" DRY-RUN MODE -  {action.reason}", err=True)


def _warn_not_acted_on(proj: Any) -> None:
    try:
        from composer.schema.support import not_acted_on
    except ImportError:
        return
    ignored = not_acted_on(proj)
    if ignored:
        typer.echo("WARN[0000] composer does not act on these attributes yet (they are parsed and "
                   "ignored): " + ", ".join(ignored), err=True)


def attach_and_wait(
    paths: Any, project: str, recs: list[dict[str, Any]], shown: list[dict[str, Any]],
    interrupted: threading.Event, timeout: float | None, *, abort_on_exit: bool, abort_on_failure: bool,
    exit_code_from: str | None, color: bool, no_prefix: bool, timestamps: bool,
) -> int:
    """Print logs of ``shown`` until every container is done, an abort, or Ctrl-C; the exit code."""
    from composer.engine import containers, logs
    from composer.engine import project as engine

    names = [r["name"] for r in recs]
    prefix = _prefixer(names, color)
    typer.echo("Attaching to " + ", ".join(r["name"] for r in shown))
    offsets = {r["id"]: 0 for r in shown}
    exited: dict[str, int] = {}
    code = 0
    aborting = False
    while True:
        batch: list[Any] = []
        for rec in shown:
            lines, offsets[rec["id"]] = logs.read_file(logs.log_path(paths, rec), rec, offsets[rec["id"]])
            batch += lines
        batch.sort(key=lambda ln: ln.time)
        for ln in batch:
            text = ln.text if ln.text.endswith("\n") else ln.text + "\n"
            sys.stdout.write(("" if no_prefix else prefix(ln.container)) + (f"{ln.time} " if timestamps else "") + text)
        sys.stdout.flush()
        active = False
        for rec in recs:
            st = containers.runtime_state(paths, rec["id"])
            running = st is not None and st.status == "running"
            if running:
                exited.pop(rec["id"], None)
                active = True
                continue
            if st is None or rec["id"] in exited:
                active = active or containers.active(paths, rec["id"])
                continue
            exit_code = st.exit_code if st.exit_code is not None else -1
            exited[rec["id"]] = exit_code
            typer.echo(("" if no_prefix else prefix(rec["name"])) + f"{rec['name']} exited with code {exit_code}")
            if exit_code_from and rec["service"] == exit_code_from:
                code = exit_code
            if (abort_on_exit or (abort_on_failure and exit_code != 0)) and not interrupted.is_set():
                if not exit_code_from:
                    code = exit_code
                aborting = True
            active = active or containers.active(paths, rec["id"])
        if aborting or interrupted.is_set():
            if aborting:
                typer.echo("Aborting on container exit...", err=True)
            else:
                typer.echo("Gracefully stopping... (press Ctrl+C again to force)", err=True)
            engine.stop(paths, project, sorted({r["service"] for r in recs}), timeout, reporter)
            if exit_code_from:
                for rec in recs:
                    st = containers.runtime_state(paths, rec["id"])
                    if rec["service"] == exit_code_from and st is not None and st.exit_code is not None:
                        code = st.exit_code
            return code if (aborting or exit_code_from) else 0
        if not active and not batch:
            return code
        if not batch:
            time.sleep(0.1)


def register(app: typer.Typer) -> None:
    app.command()(up)
