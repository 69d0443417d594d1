"""Where a value sits: the file it came from and its key path, for error messages.

``Loc`` prints as ``compose.yaml:12:7: services.web.ports[1]`` when it knows
the file's text (``Marks``): line and column come from the YAML node marks,
found only when an error is being reported (the file is composed again, so
loading pays nothing for it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


class Marks:
    """Line and column of key paths in one YAML text, computed on first use."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._root: Any = None
        self._failed = False

    def position(self, path: str) -> tuple[int, int] | None:
        import yaml

        if self._root is None and not self._failed:
            try:
                from composer.schema.files import Loader

                self._root = yaml.compose(self.text, Loader=Loader)
            except yaml.YAMLError:
                self._failed = True
        node = self._root
        if node is None:
            return None
        mark = node.start_mark
        for index, key in _TOKEN.findall(path):
            found = None
            if index and isinstance(node, yaml.SequenceNode):
                i = int(index)
                found = node.value[i] if i < len(node.value) else None
            elif key and isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                        mark, found = key_node.start_mark, value_node
                        break
            if found is None:
                break
            node = found
            if index:
                mark = node.start_mark
        return mark.line + 1, mark.column + 1


@dataclass(frozen=True)
class Loc:
    """A file (as shown to the user) and a dotted key path inside it."""

    source: str
    path: str = ""
    marks: Marks | None = field(default=None, compare=False, repr=False)

    def child(self, key: str) -> Loc:
        return Loc(self.source, f"{self.path}.{key}" if self.path else key, self.marks)

    def item(self, index: int) -> Loc:
        return Loc(self.source, f"{self.path}[{index}]", self.marks)

    @property
    def where(self) -> str:
        """``path`` or ``(root)`` for the top level, as Docker's validator says."""
        return self.path or "(root)"

    @property
    def file(self) -> str:
        """``compose.yaml:12:7`` (or just the file when the position is unknown)."""
        position = self.marks.position(self.path) if self.marks is not None else None
        return f"{self.source}:{position[0]}:{position[1]}" if position else self.source

    def __str__(self) -> str:
        return f"{self.file}: {self.where}"
