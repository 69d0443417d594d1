"""Finding a ``depends_on`` cycle, in a stable order, without networkx.

Kept in the schema (pure Python, no import cost) so ``load_project`` can refuse
cycles; the planner reuses it so both report the same cycle.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping


def find_cycle(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A shortest cycle through the smallest node that is on any cycle, or None.

    ``edges`` maps a node to the nodes it points to (a service to its
    dependencies). The cycle starts at its smallest node and follows edges.
    """
    graph = {node: sorted(set(targets)) for node, targets in edges.items()}
    for start in sorted(graph):
        path = _path_back(graph, start)
        if path is not None:
            return path
    return None


def _path_back(graph: Mapping[str, list[str]], start: str) -> list[str] | None:
    """The shortest path start -> ... -> start (BFS, neighbours in sorted order)."""
    parent: dict[str, str] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for nxt in graph.get(node, []):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return path[::-1]
            if nxt not in seen:
                seen.add(nxt)
                parent[nxt] = node
                queue.append(nxt)
    return None
