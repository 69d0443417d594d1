"""What ``composer build`` does, without typer or click.

Shared by the typer command (``build.py``) and the fast path in ``entry.py``,
which runs a plain ``composer build [SERVICE...]`` without importing typer
(~0.1 s of start-up: typer, its click, one pydantic adapter per option).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from composer.cli.context import GlobalOptions


def docker_config_path() -> Path:
    """``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json`` (Docker's lookup)."""
    base = os.environ.get("DOCKER_CONFIG")
    return (Path(base) if base else Path.home() / ".docker") / "config.json"


def insecure_registries() -> list[str]:
    """Registries reached over plain HTTP besides loopback: ``COMPOSER_INSECURE_REGISTRIES=a:5000,b``."""
    return [r.strip() for r in os.environ.get("COMPOSER_INSECURE_REGISTRIES", "").split(",") if r.strip()]


def report(kind: str, name: str, status: str) -> None:
    mark = "✔" if status in ("Built", "Pulled", "Pushed") else "⠿"
    print(f" {mark} {kind} {name}  {status}", file=sys.stderr, flush=True)


def log(service: str, line: str) -> None:
    print(f"[{service}] {line}", file=sys.stderr, flush=True)


def selected_services(proj: Any, names: list[str] | None) -> list[str]:
    """``names`` (each must exist), else every service, sorted."""
    from composer.errors import ServiceNotFoundError

    for name in names or []:
        if name not in proj.services:
            raise ServiceNotFoundError(f"no such service: {name}")
    return list(names) if names else sorted(proj.services)


def build_args(items: list[str] | None) -> dict[str, str]:
    """``--build-arg KEY=VALUE``; a bare ``KEY`` takes the environment's value, or is dropped."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            env = os.environ.get(key)
            if env is None:
                continue
            value = env
        out[key] = value
    return out


def run(g: GlobalOptions, services: list[str] | None, *, no_cache: bool = False, pull: bool = False,
        build_arg: list[str] | None = None, quiet: bool = False) -> None:
    """Build the services that have a ``build`` section (all of them when none are named)."""
    from composer.engine import images
    from composer.image.store import ImageStore

    proj = g.load_project()
    names = [n for n in selected_services(proj, services) if getattr(proj.services[n], "build", None) is not None]
    paths = g.paths
    images.build_services(
        proj, names, ImageStore(paths.state_root), paths.run_root, None if quiet else report,
        None if quiet else log, no_cache=no_cache, pull=pull, build_args=build_args(build_arg),
        docker_config=docker_config_path(), allow_pull=True,
    )


# The fast path's parser: every flag of ``composer build``; anything else (help,
# an unknown flag) goes to the full CLI, which also prints the errors.
_FLAGS = {"--no-cache": "no_cache", "--pull": "pull", "--quiet": "quiet", "-q": "quiet"}


def parse(args: list[str]) -> dict[str, Any] | None:
    """``composer build``'s arguments as ``run``'s keywords, or None when the full parser is needed."""
    out: dict[str, Any] = {"services": [], "build_arg": []}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in _FLAGS:
            out[_FLAGS[arg]] = True
        elif arg.startswith("--build-arg="):
            out["build_arg"].append(arg.partition("=")[2])
        elif arg == "--build-arg" and i + 1 < len(args):
            out["build_arg"].append(args[i + 1])
            i += 1
        elif arg.startswith("-"):
            return None
        else:
            out["services"].append(arg)
        i += 1
    out["services"] = out["services"] or None
    out["build_arg"] = out["build_arg"] or None
    return out
