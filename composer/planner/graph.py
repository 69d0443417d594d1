"""The ``depends_on`` graph of a project and the orders derived from it.

Edges point from a dependent to its dependency (``web -> db`` when web
depends on db). Orders are deterministic: among services whose dependencies
are satisfied, the lexicographically smallest comes first.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from composer.errors import DependencyCycleError, ServiceNotFoundError
from composer.schema.cycles import find_cycle as _find_cycle

if TYPE_CHECKING:
    import networkx as nx  # costly to import (~0.3 s): only dependency_graph() loads it

    # pydantic: a project-cache hit gives records of the same shape (schema/lite.py)
    from composer.schema.model import Project


def implied_dependencies(service: Any) -> list[str]:
    """Services this one needs started first, as compose-go derives them.

    ``depends_on``, ``links`` (``svc`` or ``svc:alias``), ``network_mode:
    service:X``, ``volumes_from: X`` (not ``container:X``), ``pid``/``ipc:
    service:X``.
    """
    deps = list(service.depends_on)
    for link in getattr(service, "links", None) or []:
        deps.append(str(link).split(":", 1)[0])
    for attr in ("network_mode", "pid", "ipc"):
        value = getattr(service, attr, None)
        if isinstance(value, str) and value.startswith("service:"):
            deps.append(value.split(":", 1)[1])
    for source in getattr(service, "volumes_from", None) or []:
        text = str(source)
        if not text.startswith("container:"):
            deps.append(text.split(":", 1)[0])
    return list(dict.fromkeys(deps))


def dependency_graph(project: Project) -> nx.DiGraph:
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(project.services)
    for name, service in project.services.items():
        graph.add_edges_from((name, dep) for dep in implied_dependencies(service) if dep in project.services)
    return graph


def find_cycle(project: Project) -> list[str] | None:
    """A cycle starting at its smallest service (``[a, b]`` for a -> b -> a), or None."""
    return _find_cycle({name: implied_dependencies(s) for name, s in project.services.items()})


def select_services(project: Project, names: Sequence[str], with_deps: bool = True) -> list[str]:
    """The named services (all when ``names`` is empty), plus their dependencies, in start order."""
    _check_names(project, names)
    if not names:
        return start_order(project)
    selected = _closure(project, names) if with_deps else set(names)
    return _ordered(project, selected)


def start_order(project: Project, names: Sequence[str] | None = None) -> list[str]:
    """Dependencies first; ``names`` selects services and adds their dependencies."""
    _check_names(project, names or ())
    selected = _closure(project, names) if names else set(project.services)
    return _ordered(project, selected)


def stop_order(project: Project, names: Sequence[str] | None = None) -> list[str]:
    """Dependents first; ``names`` restricts to those services (no dependencies added)."""
    _check_names(project, names or ())
    selected = set(names) if names else set(project.services)
    return list(reversed(_ordered(project, selected)))


def _check_names(project: Project, names: Sequence[str]) -> None:
    for name in names:
        if name not in project.services:
            raise ServiceNotFoundError(f"no such service: {name}")


def _closure(project: Project, names: Sequence[str]) -> set[str]:
    deps = _edges(project)
    selected: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in selected:
            selected.add(name)
            todo += deps[name]
    return selected


def _edges(project: Project) -> dict[str, list[str]]:
    return {name: [d for d in implied_dependencies(s) if d in project.services]
            for name, s in project.services.items()}


def _ordered(project: Project, selected: set[str]) -> list[str]:
    """Lexicographic topological order of ``selected``, dependencies first."""
    cycle = find_cycle(project)
    if cycle is not None:
        raise DependencyCycleError(cycle)
    deps = {name: {d for d in ds if d in selected} for name, ds in _edges(project).items() if name in selected}
    dependents: dict[str, list[str]] = {name: [] for name in deps}
    for name, ds in deps.items():
        for d in ds:
            dependents[d].append(name)
    waiting = {name: len(ds) for name, ds in deps.items()}
    ready = [name for name, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        for other in dependents[name]:
            waiting[other] -= 1
            if waiting[other] == 0:
                heapq.heappush(ready, other)
    return order
