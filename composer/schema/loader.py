"""``load_project``: the loading pipeline, one small step per line.

find files → read .env → per file: read YAML, interpolate, canonicalise →
merge → name the project → apply profiles → check references → typed model →
check for dependency cycles.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from composer.errors import ConfigError, DependencyCycleError
from composer.schema.canonical import Context, canonical_file
from composer.schema.cycles import find_cycle
from composer.schema.dotenv import read_dotenv
from composer.schema.files import display_name, find_compose_file, read_compose_file
from composer.schema.interpolate import Interpolator
from composer.schema.location import Loc
from composer.schema.merge import merge_files
from composer.schema.model import Network, Project, Service, Volume
from composer.schema.names import resolve_project_name
from composer.schema.options import ProjectOptions

OVERRIDE_FILENAMES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)
VERSION_WARNING = (
    "the attribute `version` is obsolete, it will be ignored, "
    "please remove it to avoid potential confusion"
)
_INVALID = "invalid compose project"


def load_project(options: ProjectOptions) -> Project:
    files = config_files(options)
    project_dir = _project_dir(options, files)
    environ = {**read_dotenv(project_dir / ".env"), **options.environ}
    interpolator = Interpolator(environ)
    ctx = Context(project_dir=project_dir, environ=environ)
    docs: list[dict[str, Any]] = []
    warnings: list[str] = []
    for path in files:
        source = display_name(path, options.working_dir)
        doc = canonical_file(
            interpolator.tree(read_compose_file(path, source), Loc(source)), Loc(source), ctx
        )
        if doc.pop("version", False):
            warnings.append(f"{source}: {VERSION_WARNING}")
        docs.append(doc)
    merged = merge_files(docs)
    name = resolve_project_name(options.project_name, environ, merged.get("name"), project_dir)
    services = _apply_profiles(merged.get("services") or {}, _profiles(options, environ))
    warnings.extend(_check_references(services, merged))
    project = _build(merged, services, name, project_dir, files, environ)
    project = project.model_copy(update={"warnings": (*interpolator.warnings, *warnings)})
    cycle = find_cycle({n: list(s.depends_on) for n, s in project.services.items()})
    if cycle is not None:
        raise DependencyCycleError(cycle)
    return project


def config_files(options: ProjectOptions) -> list[Path]:
    """``-f`` files, else COMPOSE_FILE, else the default names (and override file)."""
    if options.files:
        return [options.working_dir / path for path in options.files]
    if options.environ.get("COMPOSE_FILE"):
        separator = options.environ.get("COMPOSE_PATH_SEPARATOR", ":")
        names = [n for n in options.environ["COMPOSE_FILE"].split(separator) if n]
        return [options.working_dir / name for name in names]
    start = options.working_dir / (options.project_directory or ".")
    directory = start
    while True:  # Docker looks in parent directories too
        try:
            found = find_compose_file(directory)
            break
        except ConfigError:
            if directory.parent == directory:
                raise
            directory = directory.parent
    overrides = [found.parent / n for n in OVERRIDE_FILENAMES if (found.parent / n).is_file()]
    return [found, *overrides[:1]]


def _project_dir(options: ProjectOptions, files: list[Path]) -> Path:
    if options.project_directory is not None:
        return options.working_dir / options.project_directory
    return files[0].parent


def _profiles(options: ProjectOptions, environ: Mapping[str, str]) -> set[str]:
    if options.profiles:
        return set(options.profiles)
    return {p.strip() for p in environ.get("COMPOSE_PROFILES", "").split(",") if p.strip()}


def _apply_profiles(services: dict[str, Any], enabled: set[str]) -> dict[str, Any]:
    """Services with no profile always run; others only when one of theirs is enabled."""
    return {
        name: spec
        for name, spec in services.items()
        if not spec.get("profiles") or "*" in enabled or enabled & set(spec["profiles"])
    }


def _check_references(services: dict[str, Any], merged: dict[str, Any]) -> list[str]:
    """Refuse references to undefined services, volumes, networks (Docker's wording).

    An optional dependency (``required: false``) on a missing service is dropped
    with a warning, as Docker Compose does.
    """
    if not services:
        raise ConfigError("no service selected")
    warnings: list[str] = []
    volumes = merged.get("volumes") or {}
    networks = merged.get("networks") or {}
    for name, spec in services.items():
        for dep, cond in list((spec.get("depends_on") or {}).items()):
            if dep in services:
                continue
            if cond.get("required", True):
                raise ConfigError(
                    f'service "{name}" depends on undefined service "{dep}": {_INVALID}'
                )
            del spec["depends_on"][dep]
            warnings.append(f'service "{name}" depends on undefined service "{dep}", ignored')
        for mount in spec.get("volumes") or []:
            if mount["type"] == "volume" and mount["source"] and mount["source"] not in volumes:
                raise ConfigError(
                    f'service "{name}" refers to undefined volume {mount["source"]}: {_INVALID}'
                )
        for net in spec.get("networks") or {"default": None}:
            if net != "default" and net not in networks:
                raise ConfigError(f'service "{name}" refers to undefined network {net}: {_INVALID}')
    return warnings


def _full_name(project: str, key: str, spec: dict[str, Any]) -> str:
    if spec.get("name"):
        return str(spec["name"])
    return key if spec.get("external") else f"{project}_{key}"


def _build(
    merged: dict[str, Any],
    services: dict[str, Any],
    name: str,
    project_dir: Path,
    files: list[Path],
    environ: dict[str, str],
) -> Project:
    declared_networks = dict(merged.get("networks") or {})
    uses_default = any("default" in (s.get("networks") or {"default": None}) for s in services.values())
    if uses_default and "default" not in declared_networks:
        declared_networks["default"] = {}
    try:
        return Project(
            name=name,
            working_dir=project_dir,
            config_files=tuple(files),
            services={n: Service(name=n, **s) for n, s in services.items()},
            networks={
                k: Network(**{**v, "name": _full_name(name, k, v)})
                for k, v in declared_networks.items()
            },
            volumes={
                k: Volume(**{**v, "name": _full_name(name, k, v)})
                for k, v in (merged.get("volumes") or {}).items()
            },
            environment=environ,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise ConfigError(f"invalid compose project: {where}: {error['msg']}") from exc
