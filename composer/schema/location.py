"""Where a value sits: the file it came from and its key path, for error messages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    """A file (as shown to the user) and a dotted key path inside it."""

    source: str
    path: str = ""

    def child(self, key: str) -> Loc:
        return Loc(self.source, f"{self.path}.{key}" if self.path else key)

    def item(self, index: int) -> Loc:
        return Loc(self.source, f"{self.path}[{index}]")

    @property
    def where(self) -> str:
        """``path`` or ``(root)`` for the top level, as Docker's validator says."""
        return self.path or "(root)"

    def __str__(self) -> str:
        return f"{self.source}: {self.where}"
