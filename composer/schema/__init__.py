"""composer.schema: compose files → a frozen, typed ``Project``.

The pipeline lives in ``loader.py`` (one module per step). This package
re-exports its public names lazily so ``import composer.schema`` stays cheap:
pydantic and yaml load only when a model or the loader is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from composer.schema.options import ProjectOptions

if TYPE_CHECKING:
    from composer.schema.files import find_compose_file
    from composer.schema.loader import load_project
    from composer.schema.model import (
        DependsOn,
        Healthcheck,
        Network,
        Project,
        Service,
        ServiceNetwork,
        ServicePort,
        ServiceVolume,
        Volume,
    )
    from composer.schema.names import normalize_project_name

__all__ = [
    "DependsOn",
    "Healthcheck",
    "Network",
    "Project",
    "ProjectOptions",
    "Service",
    "ServiceNetwork",
    "ServicePort",
    "ServiceVolume",
    "Volume",
    "find_compose_file",
    "load_project",
    "normalize_project_name",
]

_LAZY = {
    "find_compose_file": "composer.schema.files",
    "load_project": "composer.schema.loader",
    "normalize_project_name": "composer.schema.names",
    **{
        name: "composer.schema.model"
        for name in (
            "DependsOn",
            "Healthcheck",
            "Network",
            "Project",
            "Service",
            "ServiceNetwork",
            "ServicePort",
            "ServiceVolume",
            "Volume",
        )
    },
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'composer.schema' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
