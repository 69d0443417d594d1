"""Commands: composer build, pull, push, images, login, logout (the image issue).

Thin: each builds options, calls ``composer.engine.images`` or the registry
client, renders. Build output goes to stderr, prefixed with the service as
``docker compose build`` shows it; images land in the store of ``--root``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated, Any, Optional

import typer

from composer.cli import buildcmd
from composer.cli.buildcmd import docker_config_path, insecure_registries
from composer.cli.buildcmd import report as _report
from composer.cli.buildcmd import selected_services as _services
from composer.cli.context import GlobalOptions


def _opts(ctx: typer.Context) -> GlobalOptions:
    return ctx.obj["options"]  # type: ignore[no-any-return]


def build(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument(help="Services to build")] = None,  # noqa: UP045
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use cache when building the image")] = False,
    pull: Annotated[bool, typer.Option("--pull", help="Always attempt to pull a newer version of the image")] = False,
    build_arg: Annotated[Optional[list[str]], typer.Option("--build-arg", help="Set build-time variables for services")] = None,  # noqa: UP045
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Don't print anything to STDOUT")] = False,
) -> None:
    """Build or rebuild services."""
    buildcmd.run(_opts(ctx), services, no_cache=no_cache, pull=pull, build_arg=build_arg, quiet=quiet)


def pull(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument(help="Services to pull")] = None,  # noqa: UP045
    ignore_pull_failures: Annotated[bool, typer.Option("--ignore-pull-failures", help="Pull what it can and ignores images with pull failures")] = False,
    ignore_buildable: Annotated[bool, typer.Option("--ignore-buildable", help="Ignore images that can be built")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Pull without printing progress information")] = False,
) -> None:
    """Pull service images."""
    from composer.errors import ComposerError
    from composer.image.store import ImageStore

    g = _opts(ctx)
    proj = g.load_project()
    store = ImageStore(g.paths.state_root)
    for name in _services(proj, services):
        svc = proj.services[name]
        if svc.image is None or (ignore_buildable and getattr(svc, "build", None) is not None):
            continue
        if not quiet:
            _report("Image", svc.image, "Pulling")
        try:
            pull_image(store, svc.image)
        except ComposerError as exc:
            if not ignore_pull_failures:
                raise
            typer.echo(f"WARN[0000] {name}: {exc}", err=True)
            continue
        if not quiet:
            _report("Image", svc.image, "Pulled")


def pull_image(store: Any, ref: str) -> Any:
    from composer.image import distribution as registry

    return registry.pull(store, ref, docker_config=docker_config_path(), insecure=insecure_registries())


def push_image(store: Any, ref: str) -> Any:
    from composer.image import distribution as registry

    return registry.push(store, ref, docker_config=docker_config_path(), insecure=insecure_registries())


def push(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument(help="Services to push")] = None,  # noqa: UP045
    ignore_push_failures: Annotated[bool, typer.Option("--ignore-push-failures", help="Push what it can and ignores images with push failures")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Push without printing progress information")] = False,
) -> None:
    """Push service images."""
    from composer.engine.images import image_name
    from composer.errors import ComposerError
    from composer.image.store import ImageStore

    g = _opts(ctx)
    proj = g.load_project()
    store = ImageStore(g.paths.state_root)
    for name in _services(proj, services):
        svc = proj.services[name]
        if svc.image is None and getattr(svc, "build", None) is None:
            continue
        refs = [image_name(proj, svc), *(getattr(getattr(svc, "build", None), "tags", None) or [])]
        for ref in dict.fromkeys(refs):
            if not quiet:
                _report("Image", ref, "Pushing")
            try:
                push_image(store, ref)
            except ComposerError as exc:
                if not ignore_push_failures:
                    raise
                typer.echo(f"WARN[0000] {name}: {exc}", err=True)
                continue
            if not quiet:
                _report("Image", ref, "Pushed")


def images(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument(help="Services")] = None,  # noqa: UP045
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only display IDs")] = False,
    format_: Annotated[str, typer.Option("--format", help="Format the output: table or json")] = "table",
) -> None:
    """List images used by the created containers."""
    import json

    from composer.cli.render import table
    from composer.engine import state
    from composer.engine.humanize import human_size
    from composer.errors import ComposerError
    from composer.image.store import ImageStore

    g = _opts(ctx)
    paths = g.paths
    project = g.project_name_and_services(services or [])
    store = ImageStore(paths.state_root)
    rows: list[dict[str, Any]] = []
    for rec in state.container_records(paths, project):
        if services and rec.get("service") not in services:
            continue
        try:
            image = store.get(rec.get("image_id") or rec.get("image") or "")
        except ComposerError:  # a removed image is shown by its id
            image = None
        repo, tag = _repo_tag(image.refs[0] if image and image.refs else rec.get("image") or "<none>")
        rows.append({"ContainerName": rec.get("name", ""), "Repository": repo, "Tag": tag,
                     "ID": image.id if image else rec.get("image_id", ""), "Size": image.size if image else 0,
                     "Created": image.created if image else datetime.fromtimestamp(0, UTC)})
    if quiet:
        typer.echo("".join(sorted({r["ID"].removeprefix("sha256:")[:12] + "\n" for r in rows})), nl=False)
        return
    if format_ == "json":
        typer.echo(json.dumps([{**r, "Created": r["Created"].isoformat()} for r in rows]))
        return
    body = [[r["ContainerName"], r["Repository"], r["Tag"], r["ID"].removeprefix("sha256:")[:12],
             human_size(r["Size"])] for r in rows]
    typer.echo(table([["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE"], *body]), nl=False)


def _repo_tag(ref: str) -> tuple[str, str]:
    from composer.errors import ImageError
    from composer.image.reference import parse_reference

    try:
        parsed = parse_reference(ref)
    except ImageError:
        return ref, "<none>"
    return parsed.familiar_name, parsed.tag or "<none>"


def login(
    server: Annotated[Optional[str], typer.Argument(metavar="[SERVER]")] = None,  # noqa: UP045
    username: Annotated[Optional[str], typer.Option("--username", "-u", help="Username")] = None,  # noqa: UP045
    password: Annotated[Optional[str], typer.Option("--password", "-p", help="Password")] = None,  # noqa: UP045
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Take the password from stdin")] = False,
) -> None:
    """Log in to a registry (credentials are kept in ~/.docker/config.json)."""
    from composer.errors import ConfigError
    from composer.image import distribution as registry

    if password_stdin:
        if password:
            raise ConfigError("--password and --password-stdin are mutually exclusive")
        password = sys.stdin.readline().rstrip("\n")
    if not username:
        username = typer.prompt("Username")
    if password is None:
        password = typer.prompt("Password", hide_input=True)
    elif not password_stdin:
        typer.echo("WARNING! Using --password via the CLI is insecure. Use --password-stdin.", err=True)
    registry.login(server, username, password, docker_config=docker_config_path(),
                   insecure=insecure_registries())
    typer.echo("Login Succeeded")


def logout(server: Annotated[Optional[str], typer.Argument(metavar="[SERVER]")] = None) -> None:  # noqa: UP045
    """Log out from a registry."""
    from composer.image import distribution as registry

    host, removed = registry.logout(server, docker_config=docker_config_path())
    typer.echo(f"Removing login credentials for {host}" if removed else f"Not logged in to {host}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command()(build)
    app.command()(pull)
    app.command()(push)
    app.command()(images)
    app.command()(login)
    app.command()(logout)
