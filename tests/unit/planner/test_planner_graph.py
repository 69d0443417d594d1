from __future__ import annotations

from pathlib import Path

import pytest

from composer.errors import DependencyCycleError, ServiceNotFoundError
from composer.planner.graph import (
    dependency_graph,
    find_cycle,
    select_services,
    start_order,
    stop_order,
)
from composer.schema.model import DependsOn, Project, Service


def project(deps: dict[str, list[str]]) -> Project:
    """A project built directly from the model (no file), so cycles can reach the planner."""
    return Project(
        name="p",
        working_dir=Path("/p"),
        config_files=(),
        services={
            name: Service(name=name, image="x", depends_on={d: DependsOn() for d in ds})
            for name, ds in deps.items()
        },
    )


STACK = project(
    {"web": ["api", "cache"], "api": ["db"], "cache": [], "db": [], "worker": ["db"], "adm": []}
)


def test_graph_edges_point_to_dependencies() -> None:
    graph = dependency_graph(STACK)
    assert sorted(graph.edges) == [
        ("api", "db"),
        ("web", "api"),
        ("web", "cache"),
        ("worker", "db"),
    ]
    assert set(graph.nodes) == set(STACK.services)


def test_start_order_is_lexicographic_topological() -> None:
    assert start_order(STACK) == ["adm", "cache", "db", "api", "web", "worker"]


def test_stop_order_is_reverse() -> None:
    assert stop_order(STACK) == ["worker", "web", "api", "db", "cache", "adm"]
    assert stop_order(STACK, ["db", "api"]) == ["api", "db"]


def test_start_order_of_selection_adds_dependencies() -> None:
    assert start_order(STACK, ["web"]) == ["cache", "db", "api", "web"]


def test_select_services() -> None:
    assert select_services(STACK, ["web"]) == ["cache", "db", "api", "web"]
    assert select_services(STACK, ["web"], with_deps=False) == ["web"]
    assert select_services(STACK, ["worker", "adm"]) == ["adm", "db", "worker"]
    assert select_services(STACK, []) == start_order(STACK)


@pytest.mark.parametrize("call", [select_services, start_order, stop_order])
def test_unknown_service(call: object) -> None:
    with pytest.raises(ServiceNotFoundError) as err:
        call(STACK, ["web", "foo"])  # type: ignore[operator]
    assert str(err.value) == "no such service: foo"


def test_no_cycle() -> None:
    assert find_cycle(STACK) is None


@pytest.mark.parametrize(
    ("deps", "cycle"),
    [
        ({"a": ["b"], "b": ["a"]}, ["a", "b"]),
        ({"b": ["a"], "a": ["b"]}, ["a", "b"]),
        ({"z": ["y"], "y": ["x"], "x": ["z"], "w": []}, ["x", "z", "y"]),
        ({"s": ["s"]}, ["s"]),
        ({"a": ["c"], "c": ["d"], "d": ["c"], "b": ["a"]}, ["c", "d"]),
    ],
)
def test_cycles_are_stable(deps: dict[str, list[str]], cycle: list[str]) -> None:
    proj = project(deps)
    assert find_cycle(proj) == cycle
    with pytest.raises(DependencyCycleError) as err:
        start_order(proj)
    assert str(err.value) == "dependency cycle detected: " + " -> ".join([*cycle, cycle[0]])
