"""Rendering ``ps``: shared by the full CLI and the fast path (no typer here)."""

from __future__ import annotations

import json
import sys

from composer.cli.context import GlobalOptions
from composer.errors import ConfigError

STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def _trunc(value: str, key: str) -> str:
    if key == "Command" and len(value) > 22:
        return value[:20] + "…\""
    return value


def render_ps(g: GlobalOptions, services: list[str], *, all_: bool = False, format_: str = "table",
              quiet: bool = False, services_only: bool = False, status: list[str] | None = None,
              filter_: str | None = None) -> None:
    from composer.engine import monitor_client
    from composer.engine.ps import container_rows

    wanted = list(status or [])
    if filter_:
        key, _, value = filter_.partition("=")
        if key != "status" or not value:
            raise ConfigError(f"invalid filter {filter_!r}: only status=<state> is supported")
        wanted.append(value)
    for s in wanted:
        if s not in STATUSES:
            raise ConfigError(f"invalid status {s!r}: one of {', '.join(STATUSES)}")
    name = g.project_name_and_services(services)
    paths = g.paths
    rows = container_rows(paths, name, services, all_ or bool(wanted))
    if wanted:
        rows = [r for r in rows if r["State"] in wanted]
    if any(r["State"] == "running" for r in rows):
        monitor_client.adopt(paths, name)
    out = sys.stdout
    if quiet:
        out.write("".join(r["ID"] + "\n" for r in rows))
    elif services_only:
        out.write("".join(s + "\n" for s in dict.fromkeys(r["Service"] for r in rows)))
    elif format_ == "json":
        out.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows))
    elif format_ == "table":
        from composer.cli.render import table

        cols = ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
        keys = ["Name", "Image", "Command", "Service", "RunningFor", "Status", "Ports"]
        out.write(table([cols] + [[_trunc(str(r[k]), k) for k in keys] for r in rows]))
    else:
        raise ConfigError(f"invalid --format {format_!r}: use table or json")
    out.flush()
