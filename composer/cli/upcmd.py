"""``composer up`` without typer: the command itself, and a parser for the fast path.

Both the typer command (``up.py``) and ``entry``'s fast path call ``run``;
the fast path only when ``parse`` understands every argument (else the full
CLI parses them, prints help, and reports every usage error).

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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from composer.cli.context import GlobalOptions

COLORS = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"]


def echo(message: str, err: bool = False) -> None:
    """``typer.echo``: a line, flushed, with ANSI codes stripped when the stream is not a terminal."""
    stream = sys.stderr if err else sys.stdout
    out = message + "\n"
    try:
        tty = stream.isatty()
    except Exception:
        tty = False
    if not tty and "\x1b" in out:
        import re

        out = re.sub(r"\033\[[;?0-9]*[a-zA-Z]", "", out)  # click's _ansi_re
    stream.write(out)
    stream.flush()


def prefixer(names: list[str], color: bool) -> Any:
    """``name  | `` padded to the longest name, coloured per container when ``color``."""
    width = max((len(n) for n in names), default=0)
    palette = {n: COLORS[i % len(COLORS)] for i, n in enumerate(sorted(names))}

    def prefix(name: str) -> str:
        text = f"{name:<{width}}  | "
        return f"\x1b[{palette.get(name, '0')}m{text}\x1b[0m" if color else text

    return prefix


def parse_scale(values: list[str]) -> dict[str, int]:
    from composer.errors import ConfigError

    out = {}
    for item in values:
        name, sep, num = item.partition("=")
        if not sep or not num.isdigit():
            raise ConfigError(f"invalid --scale {item!r}: expected SERVICE=NUM")
        out[name] = int(num)
    return out


# The fast path's parser: the flags below; anything else (help, another flag,
# a value the full parser might read differently) goes to the full CLI.
_FLAGS = {"-d": "detach", "--detach": "detach", "--wait": "wait", "--build": "build", "--no-build": "no_build",
          "--force-recreate": "force_recreate", "--no-deps": "no_deps", "--remove-orphans": "remove_orphans"}
_TIMEOUT = ("-t", "--timeout")


def _seconds(text: str) -> float | None:
    """A plain decimal number of seconds (as the full CLI's float reads it), else None."""
    digits = text.replace(".", "", 1)
    return float(text) if digits.isascii() and digits.isdigit() else None


def parse(args: list[str]) -> dict[str, Any] | None:
    """``composer up``'s arguments as ``run``'s keywords, or None when the full parser is needed."""
    out: dict[str, Any] = {"services": []}
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if arg in _FLAGS:
            out[_FLAGS[arg]] = True
        elif arg in _TIMEOUT or (name == "--timeout" and eq):
            if not eq:
                if i + 1 >= len(args):
                    return None
                i += 1
                value = args[i]
            seconds = _seconds(value)
            if seconds is None:
                return None
            out["timeout"] = seconds
        elif arg.startswith("-"):
            return None
        else:
            out["services"].append(arg)
        i += 1
    out["services"] = out["services"] or None
    return out


def run(
    g: GlobalOptions, services: list[str] | None = None, *, detach: bool = False, no_deps: bool = False,
    force_recreate: bool = False, no_recreate: bool = False, always_recreate_deps: bool = False,
    remove_orphans: bool = False, renew_anon_volumes: bool = False, no_start: bool = False,
    scale: list[str] | None = None, timeout: float | None = None, wait: bool = False,
    wait_timeout: float | None = None, abort_on_exit: bool = False, abort_on_failure: bool = False,
    exit_code_from: str | None = None, attach: list[str] | None = None, no_attach: list[str] | None = None,
    build: bool = False, no_build: bool = False, pull: str | None = None, no_color: bool = False,
    no_log_prefix: bool = False, timestamps: bool = False,
) -> int:
    """Create and start the containers (then, in the foreground, attach); the exit code."""
    from composer.errors import ConfigError

    if exit_code_from:
        abort_on_exit = True
    if (detach or wait) and (abort_on_exit or abort_on_failure):
        raise ConfigError("--abort-on-container-exit and --detach are incompatible")
    if abort_on_exit and abort_on_failure:
        raise ConfigError("--abort-on-container-exit and --abort-on-container-failure are incompatible")
    if not (g.dry_run or no_start):  # a head start: the monitor starts up while the project loads
        import contextlib

        from composer.engine import monitor_client

        with contextlib.suppress(Exception):  # the engine starts it anyway, and reports what is wrong
            monitor_client.spawn(g.paths, _early_name(g), fork=True)
    proj = g.load_project(services or [])
    for warning in getattr(proj, "warnings", ()):
        echo(f"WARN[0000] {warning}", err=True)
    _warn_not_acted_on(proj)
    if exit_code_from and exit_code_from not in proj.services:
        from composer.errors import ServiceNotFoundError

        raise ServiceNotFoundError(f"no such service: {exit_code_from}")
    from composer.engine import up as engine_up

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
        renew_anon_volumes=renew_anon_volumes, no_start=no_start, scale=parse_scale(scale or []),
        timeout=timeout, runtime=g.runtime, parallel=g.parallel, image_options=image_options,
        explicit_name=bool(g.project_name or os.environ.get("COMPOSE_PROJECT_NAME")),
        outbound=os.environ.get("COMPOSER_OUTBOUND", "") in ("1", "true", "yes"),
    )
    if g.dry_run:
        _dry_run(g, proj, opts)
        return 0
    if detach or wait or no_start:
        _detached(g, proj, opts, wait=wait and not no_start, wait_timeout=wait_timeout)
        return 0
    return _foreground(g, proj, opts, attach=attach, no_attach=no_attach, abort_on_exit=abort_on_exit,
                       abort_on_failure=abort_on_failure, exit_code_from=exit_code_from,
                       color=g.use_color(no_color), no_prefix=no_log_prefix, timestamps=timestamps)


def _early_name(g: GlobalOptions) -> str:
    """The project's name before the model is loaded (LookupError when only the model knows it).

    ``-p`` or ``COMPOSE_PROJECT_NAME`` wins over the file's ``name:``: then the
    file need not be read (``_light`` would parse its YAML for nothing).
    """
    explicit = g.project_name or os.environ.get("COMPOSE_PROJECT_NAME")
    if explicit:
        from composer.schema import normalize_project_name

        return normalize_project_name(explicit)
    return g._light(load=False)[0]


def _detached(g: GlobalOptions, proj: Any, opts: Any, *, wait: bool, wait_timeout: float | None) -> None:
    from composer.cli.progress import report
    from composer.engine import up as engine_up
    from composer.errors import ComposerError
    from composer.image.store import ImageStore

    paths = g.paths
    recs = engine_up.up_sync(paths, proj, ImageStore(paths.state_root), opts, report)
    if wait:
        import anyio

        from composer.engine import waits

        try:
            anyio.run(waits.wait_ready, paths, recs, wait_timeout)
        except TimeoutError:
            raise ComposerError(f"timeout waiting for the project to be running|healthy after {wait_timeout:g}s") from None


def _foreground(g: GlobalOptions, proj: Any, opts: Any, *, attach: list[str] | None,
                no_attach: list[str] | None, **attach_options: Any) -> int:
    from composer.cli.progress import report
    from composer.engine import up as engine_up
    from composer.image.store import ImageStore

    paths = g.paths
    interrupted = threading.Event()
    state: dict[str, Any] = {"services": []}

    def on_sigint(signum: int, frame: Any) -> None:
        from composer.engine import project as engine

        if interrupted.is_set():
            echo("Killing...", err=True)
            engine.kill(paths, proj.name, state["services"])
            return
        interrupted.set()

    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        recs = engine_up.up_sync(paths, proj, ImageStore(paths.state_root), opts, report, cancel=interrupted)
        state["services"] = sorted({r["service"] for r in recs})
        # ``attach: false`` services are not attached unless named by --attach, as Docker Compose
        quiet = {name for name, svc in proj.services.items() if svc.attach is False}
        shown = [r for r in recs if (r["service"] in attach if attach else r["service"] not in quiet)
                 and r["service"] not in (no_attach or [])]
        return attach_and_wait(paths, proj.name, recs, shown, interrupted, opts.timeout, **attach_options)
    finally:
        signal.signal(signal.SIGINT, old)


def _dry_run(g: GlobalOptions, proj: Any, opts: Any) -> None:
    """Print the convergence plan, with its reasons, and change nothing."""
    from composer.engine import up as engine_up
    from composer.errors import NotFoundError
    from composer.image.store import ImageStore
    from composer.planner import graph

    paths = g.paths
    store = ImageStore(paths.state_root)
    names = graph.select_services(proj, list(opts.services), with_deps=not opts.no_deps)
    images = {}
    for name in names:
        try:
            images[name] = store.get(proj.services[name].image or "")
        except NotFoundError:
            echo(f" DRY-RUN MODE -  Image {proj.services[name].image}  Pull or build", err=True)
            return
    for action in engine_up.make_plan(paths, proj, names, images, opts).actions:
        echo(f" DRY-RUN MODE -  {action.reason}", err=True)


def _warn_not_acted_on(proj: Any) -> None:
    try:
        from composer.schema.support import not_acted_on
    except ImportError:
        return
    ignored = not_acted_on(proj)
    if ignored:
        echo("WARN[0000] composer does not act on these attributes yet (they are parsed and "
             "ignored): " + ", ".join(ignored), err=True)


def attach_and_wait(
    paths: Any, project: str, recs: list[dict[str, Any]], shown: list[dict[str, Any]],
    interrupted: threading.Event, timeout: float | None, *, abort_on_exit: bool, abort_on_failure: bool,
    exit_code_from: str | None, color: bool, no_prefix: bool, timestamps: bool,
) -> int:
    """Print logs of ``shown`` until every container is done, an abort, or Ctrl-C; the exit code."""
    from composer.cli.progress import report
    from composer.engine import containers, logs
    from composer.engine import project as engine

    names = [r["name"] for r in recs]
    prefix = prefixer(names, color)
    echo("Attaching to " + ", ".join(r["name"] for r in shown))
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
            echo(("" if no_prefix else prefix(rec["name"])) + f"{rec['name']} exited with code {exit_code}")
            if exit_code_from and rec["service"] == exit_code_from:
                code = exit_code
            if (abort_on_exit or (abort_on_failure and exit_code != 0)) and not interrupted.is_set():
                if not exit_code_from:
                    code = exit_code
                aborting = True
            active = active or containers.active(paths, rec["id"])
        if aborting or interrupted.is_set():
            if aborting:
                echo("Aborting on container exit...", err=True)
            else:
                echo("Gracefully stopping... (press Ctrl+C again to force)", err=True)
            engine.stop(paths, project, sorted({r["service"] for r in recs}), timeout, report)
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
