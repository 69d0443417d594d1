"""What every command needs from the global options: roots, files, the project.

Read-only commands (``ps``, ``logs``) find the project name without building
the Compose model (DESIGN.md: they must start fast), reading only the
top-level ``name`` and the service names of the compose file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.errors import ServiceNotFoundError
from composer.values import field, valueclass

if TYPE_CHECKING:
    from composer.engine.state import Paths
    from composer.schema.model import Project


@valueclass(frozen=False)
class GlobalOptions:
    files: list[Path] = field(default_factory=list)
    project_name: str | None = None
    project_directory: Path | None = None
    root: Path | None = None
    profiles: list[str] = field(default_factory=list)
    runtime: str | None = None
    parallel: int = 8
    env_files: list[Path] = field(default_factory=list)
    ansi: str = "auto"
    dry_run: bool = False

    def image_options(self) -> dict[str, Any]:
        """What every command that may build or pull images passes to ``engine.images``.

        Pulls contact registries: ``COMPOSER_OFFLINE=1`` (set by the test suite)
        turns them off, and a missing image is then ``No such image: REF``.
        """
        import sys

        def log(service: str, line: str) -> None:
            print(f"[{service}] {line}", file=sys.stderr, flush=True)

        return {"allow_pull": os.environ.get("COMPOSER_OFFLINE", "") not in ("1", "true", "yes"), "log": log}

    def use_color(self, no_color: bool = False) -> bool:
        """Colours for log prefixes: --no-color and --ansi, else only on a terminal."""
        import sys

        if no_color or self.ansi == "never":
            return False
        return self.ansi == "always" or sys.stdout.isatty()

    @property
    def paths(self) -> Paths:
        from composer.engine.state import Paths

        return Paths.from_root(self.root)

    def options(self, services: Sequence[str] = ()) -> Any:
        from composer.schema import ProjectOptions

        return ProjectOptions(
            working_dir=Path.cwd(),
            environ=dict(os.environ),
            files=tuple(self.files),
            project_name=self.project_name,
            project_directory=self.project_directory,
            profiles=tuple(self.profiles),
            env_files=tuple(self.env_files),
            services=tuple(services),
        )

    def load_project(self, services: Sequence[str] = (), lite: bool = True) -> Project:
        """The Compose model; naming ``services`` enables their profiles, as Docker Compose does.

        From the project cache it is made of records (``schema/lite.py``, no pydantic);
        ``lite=False`` gives the pydantic models (for their field metadata).
        """
        from composer.schema.cache import load_project_cached

        return load_project_cached(self.options(services), self.paths.state_root / "cache" / "projects", lite=lite)

    def _light(self, load: bool = True) -> tuple[str, list[str] | None]:
        """(project name, service names or None if no file) without the Compose model.

        A ``name:`` that needs interpolation loads the model, or with ``load=False`` raises LookupError.
        """
        from composer.schema import find_compose_file, normalize_project_name

        explicit = self.project_name or os.environ.get("COMPOSE_PROJECT_NAME")
        try:
            files = self.files or [find_compose_file(self.project_directory or Path.cwd())]
        except Exception:
            if explicit:
                return normalize_project_name(explicit), None
            raise
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster
        docs: list[Any] = []
        for f in files:
            try:
                with open(f) as fh:
                    docs.append(yaml.load(fh, Loader=loader) or {})
            except (OSError, yaml.YAMLError):
                docs.append({})
        doc: Any = docs[0] if docs else {}
        services: list[str] = []
        for d in docs:
            if isinstance(d, dict) and isinstance(d.get("services"), dict):
                services += list(d["services"])
        name = explicit
        if not name and isinstance(doc, dict) and isinstance(doc.get("name"), str) and "$" not in doc["name"]:
            name = doc["name"]
        if not name and isinstance(doc, dict) and isinstance(doc.get("name"), str):
            if not load:
                raise LookupError("the project name needs the model")
            return self.load_project().name, services
        if not name:
            base = self.project_directory or Path(files[0]).absolute().parent
            name = Path(base).absolute().name
        return normalize_project_name(name), services

    def project_name_and_services(self, selected: list[str]) -> str:
        name, services = self._light()
        if services is not None:
            for s in selected:
                if s not in services:
                    raise ServiceNotFoundError(f"no such service: {s}")
        return name
