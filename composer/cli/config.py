"""``composer config``: parse, resolve and render the compose model (Docker's format).

Thin body: build ProjectOptions from the global options and this command's
flags, load the project, print ``composer.schema.render``'s text or one of
the listings (``--services``, ``--volumes``...).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from composer import values

if TYPE_CHECKING:
    from composer.schema.model import Project, Service


def config(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument(help="Services to render")] = None,  # noqa: UP045
    format_: Annotated[Optional[str], typer.Option("--format", help="Format the output. Values: [yaml | json]")] = None,  # noqa: UP045
    list_services: Annotated[bool, typer.Option("--services", help="Print the service names, one per line.")] = False,
    list_volumes: Annotated[bool, typer.Option("--volumes", help="Print the volume names, one per line.")] = False,
    list_networks: Annotated[bool, typer.Option("--networks", help="Print the network names, one per line.")] = False,
    list_images: Annotated[bool, typer.Option("--images", help="Print the image names, one per line.")] = False,
    list_profiles: Annotated[bool, typer.Option("--profiles", help="Print the profile names, one per line.")] = False,
    list_models: Annotated[bool, typer.Option("--models", help="Print the model names, one per line.")] = False,
    variables: Annotated[bool, typer.Option("--variables", help="Print model variables and default values.")] = False,
    environment: Annotated[bool, typer.Option("--environment", help="Print environment used for interpolation.")] = False,
    hash_: Annotated[Optional[str], typer.Option("--hash", help='Print the service config hash, one per line ("*" for all).')] = None,  # noqa: UP045
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only validate the configuration, don't print anything.")] = False,
    no_interpolate: Annotated[bool, typer.Option("--no-interpolate", help="Don't interpolate environment variables.")] = False,
    no_normalize: Annotated[bool, typer.Option("--no-normalize", help="Don't normalize compose model.")] = False,
    no_path_resolution: Annotated[bool, typer.Option("--no-path-resolution", help="Don't resolve file paths.")] = False,
    env_file: Annotated[Optional[list[Path]], typer.Option("--env-file", help="Specify an alternate environment file")] = None,  # noqa: UP045
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Save to file (default to stdout)")] = None,  # noqa: UP045
) -> None:
    """Parse, resolve and render compose file in canonical format."""
    from composer.errors import ConfigError
    from composer.schema import load_project

    if format_ not in (None, "yaml", "json"):
        raise ConfigError(f'unsupported format "{format_}": use yaml or json')
    base = ctx.obj["options"].options()
    options = values.replace(
        base,
        interpolate=not no_interpolate,
        resolve_paths=not no_path_resolution,
        env_files=tuple(env_file or ()) or base.env_files,
        services=tuple(services or ()),
    )
    if variables:  # from the files as written
        from composer.schema.rawmodel import load_model
        from composer.schema.variables import extract, render_variables

        raw = load_model(values.replace(options, interpolate=False))
        _write(render_variables(extract(raw), format_), output)
        return
    if no_interpolate and not (list_services or list_volumes or list_networks or list_images
                               or list_profiles or hash_ or quiet):  # fmt: skip
        from composer.schema.rawmodel import load_model, render_model

        warnings: list[str] = []
        model = load_model(options, normalize=not no_normalize, warnings=warnings)
        for warning in warnings:
            typer.echo(f"WARN[0000] {warning}", err=True)
        _write(render_model(model, format_ or "yaml"), output)
        return
    project = load_project(options)
    if services:
        project = _select(project, services)
    for warning in project.warnings:
        typer.echo(f"WARN[0000] {warning}", err=True)
    if quiet:
        return
    text = _listing(project, list_services, list_volumes, list_networks, list_images, list_profiles, hash_, list_models)
    if text is None and environment:
        text = environment_text(project, options.working_dir)
    if text is None:
        from composer.schema.render import render  # not for --quiet: ~10 ms

        written = None
        if no_normalize:  # the merged files before normalisation
            from composer.schema.rawmodel import load_model

            written = load_model(options, normalize=False)
        text = render(project, format_ or "yaml", written=written)
    _write(text, output)


def environment_text(project: Project, working_dir: Path) -> str:
    """``config --environment``: the interpolation environment, sorted ``KEY=VALUE`` lines (as Docker)."""
    env = {"PWD": str(working_dir), **project.environment, "COMPOSE_PROJECT_NAME": project.name}
    return "".join(f"{k}={v}\n" for k, v in sorted(env.items()))


def _write(text: str, output: Path | None) -> None:
    if output is not None:
        output.write_text(text)
    else:
        typer.echo(text, nl=False)


def _select(project: Project, names: list[str]) -> Project:
    from composer.errors import ServiceNotFoundError

    wanted: list[str] = []
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        if name not in project.services:
            raise ServiceNotFoundError(f"no such service: {name}")
        wanted.append(name)
        todo.extend(project.services[name].depends_on)
    return project.model_copy(
        update={"services": {n: s for n, s in project.services.items() if n in wanted}}
    )


def _listing(
    project: Project,
    services: bool,
    volumes: bool,
    networks: bool,
    images: bool,
    profiles: bool,
    hash_: str | None,
    models: bool = False,
) -> str | None:
    from composer.schema.render import used_resources

    lines: list[str] | None = None
    if services:
        lines = _dependency_order(project)
    elif volumes:
        lines = sorted(used_resources(project)["volumes"] & set(project.volumes))
    elif networks:
        lines = sorted(used_resources(project)["networks"] & set(project.networks))
    elif images:
        lines = [s.image or f"{project.name}-{n}" for n, s in sorted(project.services.items())]
    elif profiles:
        found = {p for s in (*project.services.values(), *project.disabled.values()) for p in s.profiles}
        lines = sorted(found)
    elif models:  # the models enabled services use, by their ``model``
        lines = sorted(project.models[k].model for k in used_resources(project)["models"] & set(project.models))
    elif hash_ is not None:
        from composer.schema.hash import service_config_hash

        names = sorted(project.services) if hash_ == "*" else sorted(hash_.split(","))
        lines = [f"{n} {service_config_hash(_service(project, n), env_files=True)}" for n in names]
    if lines is None:
        return None
    return "".join(f"{line}\n" for line in lines)


def _service(project: Project, name: str) -> Service:
    """The enabled service ``name``, else Docker's "no such service" error."""
    from composer.errors import ServiceNotFoundError

    if name in project.services:
        return project.services[name]
    why = "disabled" if name in project.disabled else "not found"
    raise ServiceNotFoundError(f"no such service: {name}: {why}")


def _dependency_order(project: Project) -> list[str]:
    """Services with their dependencies first, else in file order (Docker's is random)."""
    order: list[str] = []

    def visit(name: str, seen: tuple[str, ...]) -> None:
        if name in order or name in seen or name not in project.services:
            return
        for dep in project.services[name].depends_on:
            visit(dep, (*seen, name))
        order.append(name)

    for name in project.services:
        visit(name, ())
    return order


def register(app: typer.Typer) -> None:
    """Add ``config`` to the main app."""
    app.command("config")(config)
