"""``composer runtime create|start|state|kill|delete|run|exec|list|ps``: the OCI runtime command line.

The built-in runtime with runc's verbs, arguments and output, so that OCI
conformance tools and scripts written for runc can drive it:
``composer runtime --root DIR create --bundle B --pid-file F ID`` and so on.
``--root`` is runc's state directory (default: the composer run root's
``runtime/``, where the engine's containers live too). A container's output
goes to ``<root>/<id>/container.log`` (json-file); ``run`` without ``-d``
follows it on the terminal and exits with the container's code, as
``runc run`` does. Thin bodies: each calls one function of
``composer.runtime.api`` and prints its result.
"""

from __future__ import annotations

import json
import signal as signals
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

runtime_app = typer.Typer(name="runtime", help="The built-in OCI runtime, with runc's command line", no_args_is_help=True)

BundleOpt = Annotated[Path, typer.Option("--bundle", "-b", help="path to the root of the bundle directory")]
PidFileOpt = Annotated[Optional[Path], typer.Option("--pid-file", help="file to write the container's pid to")]  # noqa: UP045
ConsoleOpt = Annotated[Optional[str], typer.Option("--console-socket", help="not supported: the built-in runtime has no console socket yet")]  # noqa: UP045


@runtime_app.callback()
def _options(
    ctx: typer.Context,
    root: Annotated[Optional[Path], typer.Option("--root", help="root directory for storage of container state")] = None,  # noqa: UP045
) -> None:
    obj = ctx.obj if isinstance(ctx.obj, dict) else {}
    base = obj.get("run_root")
    default = Path(base) / "runtime" if base is not None else Path("/run/composer/runtime")
    ctx.obj = {**obj, "oci_root": (root or default).absolute()}


def _root(ctx: typer.Context) -> Path:
    return Path(ctx.obj["oci_root"])


def _signal(text: str) -> int:
    from composer.errors import ConfigError

    if text.isdigit():
        return int(text)
    name = text.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    try:
        return int(signals.Signals[name])
    except KeyError:
        raise ConfigError(f"invalid signal {text!r}") from None


def _write_pid(pid_file: Path | None, pid: int) -> None:
    if pid_file is not None:
        tmp = pid_file.with_name(f".{pid_file.name}.tmp")
        tmp.write_text(str(pid))
        tmp.rename(pid_file)


def _no_console(console_socket: str | None) -> None:
    from composer.errors import UnsupportedError

    if console_socket:
        raise UnsupportedError("--console-socket is not supported by the built-in runtime yet")


@runtime_app.command("create")
def create(ctx: typer.Context, container_id: Annotated[str, typer.Argument(metavar="ID")],
           bundle: BundleOpt = Path("."), pid_file: PidFileOpt = None, console_socket: ConsoleOpt = None) -> None:
    """Create a container; its program waits for ``start``."""
    from composer.runtime import api

    _no_console(console_socket)
    state = api.create(container_id, bundle.absolute(), _root(ctx))
    _write_pid(pid_file, state.pid)


@runtime_app.command("start")
def start(ctx: typer.Context, container_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Run the program of a created container."""
    from composer.runtime import api

    api.start(container_id, _root(ctx))


@runtime_app.command("state")
def state(ctx: typer.Context, container_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Print the OCI state of a container as JSON."""
    from composer.runtime import api

    typer.echo(json.dumps(api.state(container_id, _root(ctx)), indent=2))


@runtime_app.command("kill")
def kill(ctx: typer.Context, container_id: Annotated[str, typer.Argument(metavar="ID")],
         signal: Annotated[str, typer.Argument(help="signal name or number")] = "SIGTERM",
         all_processes: Annotated[bool, typer.Option("--all", "-a", help="send to every process of the container")] = False) -> None:
    """Send a signal to the container's init (default SIGTERM)."""
    from composer.runtime import api

    sig = _signal(signal)
    if all_processes:
        for proc in api.container_processes(container_id, _root(ctx)):
            api.signal_process(proc["pid"], sig)
        return
    api.kill(container_id, _root(ctx), sig)


@runtime_app.command("delete")
def delete(ctx: typer.Context, container_id: Annotated[str, typer.Argument(metavar="ID")],
           force: Annotated[bool, typer.Option("--force", "-f", help="kill the container first if it runs")] = False) -> None:
    """Delete a stopped (or, with --force, any) container."""
    from composer.runtime import api

    if force:
        current = api.container_state(container_id, _root(ctx))
        if current is not None and current.status != "stopped":
            api.stop_container(container_id, _root(ctx), signals.SIGKILL, timeout=5)
    api.delete(container_id, _root(ctx))


@runtime_app.command("run")
def run(ctx: typer.Context, container_id: Annotated[str, typer.Argument(metavar="ID")],
        bundle: BundleOpt = Path("."), pid_file: PidFileOpt = None, console_socket: ConsoleOpt = None,
        detach: Annotated[bool, typer.Option("--detach", "-d", help="detach from the container's process")] = False) -> None:
    """Create and start a container; without -d, follow its output and exit with its code."""
    from composer.runtime import api

    _no_console(console_socket)
    root = _root(ctx)
    log = root / container_id / "container.log"
    state = api.start_container(container_id, bundle.absolute(), root, log)
    _write_pid(pid_file, state.pid)
    if detach:
        return
    code = _follow(container_id, root, log)
    api.delete_container(container_id, root)
    raise typer.Exit(code)


def _follow(container_id: str, root: Path, log: Path) -> int:
    """Copy the json-file log to stdout/stderr until the container stops; its exit code."""
    from composer.runtime import api

    offset = 0
    while True:
        current = api.container_state(container_id, root)
        offset = _copy_log(log, offset)
        if current is None or current.status == "stopped":
            _copy_log(log, offset)
            return current.exit_code or 0 if current else 0
        time.sleep(0.02)


def _copy_log(log: Path, offset: int) -> int:
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return offset
    end = data.rfind(b"\n") + 1
    for line in data[:end].splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        stream = sys.stderr if entry.get("stream") == "stderr" else sys.stdout
        stream.write(entry.get("log", ""))
        stream.flush()
    return offset + end


@runtime_app.command("exec", context_settings={"allow_interspersed_args": False})
def exec_(ctx: typer.Context, container_id: Annotated[str, typer.Argument(metavar="ID")],
          command: Annotated[list[str], typer.Argument(help="command and arguments")],
          env: Annotated[Optional[list[str]], typer.Option("--env", "-e", help="set an environment variable")] = None,  # noqa: UP045
          cwd: Annotated[Optional[str], typer.Option("--cwd", help="working directory in the container")] = None,  # noqa: UP045
          user: Annotated[str, typer.Option("--user", "-u", help="UID[:GID]")] = "0:0",
          tty: Annotated[bool, typer.Option("--tty", "-t", help="allocate a pseudo-TTY")] = False) -> None:
    """Run a command in a running container; exits with its code."""
    from composer.errors import ConfigError
    from composer.runtime import api

    uid, _, gid = user.partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        raise ConfigError(f"invalid --user {user!r}: expected UID[:GID]")
    spec_env = None
    if env:
        from composer.runtime.spec import load_spec

        current = api.container_state(container_id, _root(ctx))
        base = list(load_spec(Path(current.bundle)).process.env) if current else []
        spec_env = base + list(env)
    kwargs: dict[str, object] = {"env": spec_env, "cwd": cwd, "uid": int(uid), "gid": int(gid or 0)}
    if tty:
        kwargs["tty"] = True
    raise typer.Exit(api.exec_interactive(container_id, _root(ctx), command, **kwargs))


@runtime_app.command("list")
def list_(ctx: typer.Context,
          fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
          quiet: Annotated[bool, typer.Option("--quiet", "-q", help="display only container IDs")] = False) -> None:
    """List the containers of this root, as runc list does."""
    from composer.errors import ConfigError
    from composer.runtime import api

    items = api.list_containers(_root(ctx))
    if quiet:
        for current, _ in items:
            typer.echo(current.id)
        return
    if fmt == "json":
        docs = [{**current.to_oci(), "created": created, "owner": "root"} for current, created in items]
        typer.echo(json.dumps(docs))
        return
    if fmt != "table":
        raise ConfigError(f"invalid --format {fmt!r}: table or json")
    rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
    for current, created in items:
        doc = current.to_oci()
        rows.append([current.id, str(doc["pid"]), doc["status"], current.bundle, created, "root"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        typer.echo("   ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip())


@runtime_app.command("ps")
def ps(ctx: typer.Context, container_id: Annotated[str, typer.Argument(metavar="ID")],
       fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table") -> None:
    """The processes of a container (json: their host pids, as runc ps)."""
    from composer.runtime import api

    procs = api.container_processes(container_id, _root(ctx))
    if fmt == "json":
        typer.echo(json.dumps([p["pid"] for p in procs]))
        return
    typer.echo("UID        PID    PPID   TIME      CMD")
    for p in procs:
        typer.echo(f"{p['user']:<10} {p['pid']:<6} {p['ppid']:<6} {_clock(p['time']):<9} {p['cmd']}")


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def register(app: typer.Typer) -> None:
    """Add ``composer runtime ...`` to the main app."""
    app.add_typer(runtime_app, name="runtime")
