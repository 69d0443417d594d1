"""``composer network ls|inspect|create|rm|prune``: the networks composer created.

Rendered as ``docker network`` renders them. Thin bodies: resolve the root,
call one function of ``composer.engine.networks``, print.
"""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

network_app = typer.Typer(name="network", help="Manage networks", no_args_is_help=True)


def _paths(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from composer.cli.image import state_root_from_ctx
    from composer.engine.state import Paths

    obj = ctx.obj if isinstance(ctx.obj, dict) else {}
    root = state_root_from_ctx(ctx)
    run_root = obj.get("run_root")
    if run_root is None:
        return Paths.from_root(root)
    return Paths(root, run_root)


def _kv(items: list[str] | None, what: str) -> dict[str, str]:
    from composer.errors import ConfigError

    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not key:
            raise ConfigError(f"invalid {what} {item!r}: expected KEY=VALUE")
        out[key] = value if sep else ""
    return out


@network_app.command("ls")
def ls(
    ctx: typer.Context,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only display network IDs")] = False,
    format_: Annotated[str, typer.Option("--format", help="Format output: table or json")] = "table",
    no_trunc: Annotated[bool, typer.Option("--no-trunc", help="Do not truncate the output")] = False,
) -> None:
    """List networks."""
    from composer.cli.render import table
    from composer.engine import state

    recs = state.network_records(_paths(ctx))
    ids = [r["id"] if no_trunc else r["id"][:12] for r in recs]
    if quiet:
        typer.echo("".join(i + "\n" for i in ids), nl=False)
    elif format_ == "json":
        for i, r in zip(ids, recs, strict=True):
            typer.echo(json.dumps({"ID": i, "Name": r["name"], "Driver": r.get("driver", "bridge"),
                                   "Scope": "local", "Internal": str(bool(r.get("internal"))).lower(),
                                   "Labels": ",".join(f"{k}={v}" for k, v in r.get("labels", {}).items())}))
    else:
        rows = [["NETWORK ID", "NAME", "DRIVER", "SCOPE"]]
        rows += [[i, r["name"], r.get("driver", "bridge"), "local"] for i, r in zip(ids, recs, strict=True)]
        typer.echo(table(rows), nl=False)


@network_app.command("inspect")
def inspect(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(metavar="NETWORK...")],
) -> None:
    """Display detailed information on one or more networks."""
    from composer.engine import networks

    paths = _paths(ctx)
    typer.echo(json.dumps([networks.inspect_network(paths, networks.find_network(paths, n)) for n in names],
                          indent=4))


@network_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NETWORK")],
    driver: Annotated[str, typer.Option("--driver", "-d", help="Driver to manage the Network")] = "bridge",
    subnet: Annotated[Optional[str], typer.Option("--subnet", help="Subnet in CIDR format")] = None,  # noqa: UP045
    gateway: Annotated[Optional[str], typer.Option("--gateway", help="IPv4 Gateway for the subnet")] = None,  # noqa: UP045
    ip_range: Annotated[Optional[str], typer.Option("--ip-range", help="Allocate container ip from a sub-range")] = None,  # noqa: UP045
    internal: Annotated[bool, typer.Option("--internal", help="Restrict external access to the network")] = False,
    label: Annotated[Optional[list[str]], typer.Option("--label", help="Set metadata on a network")] = None,  # noqa: UP045
    opt: Annotated[Optional[list[str]], typer.Option("--opt", "-o", help="Set driver specific options")] = None,  # noqa: UP045
) -> None:
    """Create a network."""
    from composer.engine import networks

    rec = networks.create_network(_paths(ctx), name, labels=_kv(label, "label"), internal=internal,
                                  subnet=subnet, gateway=gateway, ip_range=ip_range, driver=driver,
                                  driver_opts=_kv(opt, "option"))
    typer.echo(rec["id"])


@network_app.command("rm")
def rm(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(metavar="NETWORK...")],
) -> None:
    """Remove one or more networks."""
    from composer.engine import networks

    paths = _paths(ctx)
    for ref in names:
        rec = networks.find_network(paths, ref)
        networks.remove_network(paths, rec["name"])
        typer.echo(ref)


@network_app.command("prune")
def prune(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", "-f", help="Do not prompt for confirmation")] = False,
) -> None:
    """Remove all unused networks."""
    from composer.engine import networks

    removed = networks.prune_networks(_paths(ctx))
    if removed:
        typer.echo("Deleted Networks:\n" + "".join(n + "\n" for n in removed), nl=False)


def register(app: typer.Typer) -> None:
    """Add ``composer network`` to the main app."""
    app.add_typer(network_app)
