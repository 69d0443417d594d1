"""``load_project``: the loading pipeline, one small step per line.

find files → environment (.env / --env-file) → per file: read YAML,
interpolate, canonicalise, include, extends → merge → name the project →
profiles → env_file/label_file/tmpfs → check references and conflicts →
typed model → check for dependency cycles.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from composer.errors import ConfigError, DependencyCycleError
from composer.schema.cache import record
from composer.schema.canonical import Context, canonical_file
from composer.schema.checks import check_project, legacy_external
from composer.schema.cycles import find_cycle
from composer.schema.dotenv import read_dotenv
from composer.schema.extends import resolve_extends
from composer.schema.files import (
    display_name,
    find_compose_file,
    parse_yaml_tagged,
    read_compose_text,
)
from composer.schema.finish import build_project, finish_services
from composer.schema.interpolate import Interpolator
from composer.schema.location import Loc, Marks
from composer.schema.merge import merge_files
from composer.schema.model import Project
from composer.schema.names import resolve_project_name
from composer.schema.options import ProjectOptions
from composer.schema.structs import build_defaults

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
MAX_INCLUDE_DEPTH = 20


def load_project(options: ProjectOptions) -> Project:
    files = config_files(options)
    project_dir = _project_dir(options, files)
    environ = project_environment(options, project_dir)
    loader = _FileLoader(options, environ)
    docs = [loader.load(path, project_dir, ()) for path in files]
    merged = merge_files(docs, strip=loader.tagged)
    build_defaults(merged.get("services"), Context(project_dir, environ, options.resolve_paths))
    name = resolve_project_name(options.project_name, environ, merged.get("name"), project_dir)
    enabled = _profiles(options, environ)
    services, disabled = _apply_profiles(merged.get("services") or {}, enabled, options.services)
    if not services and not merged.get("services"):
        raise ConfigError("no service selected")
    services = finish_services(services, environ, loader.interpolator if options.interpolate else None)
    warnings = check_project(services, disabled, merged, loader.locate)
    project = build_project(merged, services, disabled, name, project_dir, files, environ)
    project = project.model_copy(
        update={"warnings": (*loader.warnings, *loader.interpolator.warnings, *warnings)}
    )
    cycle = find_cycle({n: list(s.depends_on) for n, s in project.services.items()})
    if cycle is not None:
        raise DependencyCycleError(cycle)
    return project


class _FileLoader:
    """Reads, interpolates and canonicalises one file with its includes and extends."""

    def __init__(self, options: ProjectOptions, environ: Mapping[str, str], raw: bool = False) -> None:
        self.options = options
        self.root: Path | None = None  # the directory of the first file loaded: the project's
        self.raw = raw  # Docker's raw model (``config --no-interpolate``, see rawmodel.py)
        self.environ = environ
        self.interpolator = Interpolator(environ)
        self.warnings: list[str] = []
        self.tagged = False  # any !reset/!override seen: tags must be stripped after merges
        # the top-level files and their services' keys, to place errors found after the merge
        self.sources: list[tuple[Loc, dict[str, set[str]]]] = []

    def locate(self, service: str, attr: str) -> str:
        """``file:line:col`` of ``services.<service>.<attr>`` in the last file setting it."""
        for loc, services in reversed(self.sources):
            if attr in services.get(service, ()):
                return loc.child("services").child(service).child(attr).file
        for loc, services in self.sources:
            if service in services:
                return loc.child("services").child(service).file
        return ""

    def load(
        self,
        path: Path,
        base_dir: Path,
        chain: tuple[Path, ...],
        interpolator: Interpolator | None = None,
    ) -> dict[str, Any]:
        interpolator = interpolator or self.interpolator
        if path in chain or len(chain) > MAX_INCLUDE_DEPTH:
            cycle = " -> ".join(str(p) for p in (*chain, path))
            raise ConfigError(f"include cycle detected: {cycle}")
        source = display_name(path, self.options.working_dir)
        text = read_compose_text(path, source)
        loc = Loc(source, marks=Marks(text))
        raw, tagged = parse_yaml_tagged(text, source)
        self.tagged = self.tagged or tagged
        if self.options.interpolate:
            raw = interpolator.tree(raw, loc)
        self.root = self.root or base_dir
        ctx = Context(base_dir, interpolator.environ, self.options.resolve_paths, self.root)
        doc = self.canonical(raw, loc, ctx)
        if doc.pop("version", False):
            warning = f"{path}: {VERSION_WARNING}"  # Docker names the file by its absolute path
            if warning not in self.warnings:
                self.warnings.append(warning)
        self.warnings.extend(w for w in legacy_external(raw) if w not in self.warnings)
        if not chain:
            self.sources.append((loc, {n: set(s) for n, s in (raw.get("services") or {}).items() if isinstance(s, dict)}))
        for include in doc.pop("include", []):
            self._include(doc, include, (*chain, path), source)
        if doc.get("services"):
            doc["services"] = resolve_extends(
                doc["services"],
                path,
                lambda p, d: self.load_plain(p, d, interpolator),
                source,
                lambda: self.tagged,
                self.raw,
            )
        return doc

    def load_plain(self, path: Path, base_dir: Path, interpolator: Interpolator) -> dict[str, Any]:
        """A file named by ``extends.file``: its services only, paths relative to it."""
        source = display_name(path, self.options.working_dir)
        text = read_compose_text(path, source)
        loc = Loc(source, marks=Marks(text))
        raw, tagged = parse_yaml_tagged(text, source)
        self.tagged = self.tagged or tagged
        if self.options.interpolate:
            raw = interpolator.tree(raw, loc)
        return self.canonical(raw, loc, Context(base_dir, interpolator.environ, self.options.resolve_paths, self.root))

    def canonical(self, raw: dict[str, Any], loc: Loc, ctx: Context) -> dict[str, Any]:
        if self.raw:
            from composer.schema.rawmodel import docker_file

            return docker_file(raw, loc, ctx)
        return canonical_file(raw, loc, ctx)

    def _include(self, doc: dict[str, Any], include: dict[str, Any], chain: tuple[Path, ...], source: str) -> None:
        paths = [Path(p) for p in include["path"]]
        base = Path(include.get("project_directory") or paths[0].parent)
        environ = dict(self.environ)
        if include.get("env_file"):
            extra: dict[str, str] = {}
            for env_file in include["env_file"]:
                extra.update(read_dotenv(Path(env_file), {**extra, **self.environ}, required=True))
            environ = {**extra, **self.environ}
        else:
            default_env = base / ".env"
            extra = read_dotenv(default_env, self.environ)
            environ = {**extra, **self.environ}
        interpolator = Interpolator(environ)
        included = merge_files([self.load(p, base, chain, interpolator) for p in paths], self.tagged, self.raw)
        build_defaults(included.get("services"), Context(base, environ, self.options.resolve_paths))
        self.warnings.extend(w for w in interpolator.warnings if w not in self.warnings)
        for section in ("services", "networks", "volumes", "secrets", "configs", "models"):
            for key, value in (included.get(section) or {}).items():
                mine = doc.setdefault(section, {})
                if key in mine and mine[key] != value:
                    raise ConfigError(
                        f"{source}: {section}.{key} conflicts with imported resource from {paths[0]}"
                    )
                mine.setdefault(key, value)


def project_environment(options: ProjectOptions, project_dir: Path) -> dict[str, str]:
    """The shell environment wins over ``--env-file`` files (else COMPOSE_ENV_FILES, else ``.env``)."""
    values: dict[str, str] = {}
    env_files = list(options.env_files)
    if not env_files and options.environ.get("COMPOSE_ENV_FILES"):
        env_files = [Path(p) for p in options.environ["COMPOSE_ENV_FILES"].split(",") if p]
    if env_files:
        for env_file in env_files:
            path = options.working_dir / env_file
            values.update(read_dotenv(path, {**values, **options.environ}, required=True))
    else:
        values = read_dotenv(project_dir / ".env", options.environ)
    return {**values, **options.environ}


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
    for n in OVERRIDE_FILENAMES:
        record(found.parent / n)
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


def _apply_profiles(
    services: dict[str, Any], enabled: set[str], named: tuple[str, ...] | Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Services with no profile always run; others when a profile is enabled or they are named."""
    active: dict[str, Any] = {}
    disabled: dict[str, Any] = {}
    for name, spec in services.items():
        profiles = spec.get("profiles") or []
        if not profiles or "*" in enabled or enabled & set(profiles) or name in named:
            active[name] = spec
        else:
            disabled[name] = spec
    return active, disabled
