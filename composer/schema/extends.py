"""``extends``: a service built on another one, in the same file or another.

The base service is resolved first (recursively), then the extending service
is merged onto it with the rules of ``merge.py``. Cycles are errors naming
the chain.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from composer.errors import ConfigError
from composer.schema.merge import merge
from composer.schema.tags import strip_tags

LoadFile = Callable[[Path, Path], dict[str, Any]]


def resolve_extends(
    services: dict[str, Any],
    path: Path,
    load_file: LoadFile,
    source: str,
    tagged: Callable[[], bool] = lambda: True,
    raw: bool = False,
) -> dict[str, Any]:
    """``tagged()``: a file read so far used ``!reset``/``!override`` (else no stripping)."""
    resolver = _Resolver(load_file, source, tagged)
    resolver.raw = raw
    return {name: resolver.service(name, services, path, ()) for name in services}


class _Resolver:
    def __init__(self, load_file: LoadFile, source: str, tagged: Callable[[], bool]) -> None:
        self.tagged = False
        self.files_tagged = tagged
        self.load_file = load_file
        self.source = source
        self.files: dict[Path, dict[str, Any]] = {}
        self.raw = False  # Docker's raw model (merge.py's ``raw``)

    def service(
        self,
        name: str,
        services: dict[str, Any],
        path: Path,
        chain: tuple[tuple[Path, str], ...],
    ) -> dict[str, Any]:
        spec = services[name]
        extends = spec.get("extends") if isinstance(spec, dict) else None
        if not extends:
            plain: dict[str, Any] = spec
            return plain
        here = (path, name)
        if here in chain:
            names = " -> ".join(n for _, n in (*chain, here))
            raise ConfigError(f"{self.source}: services.{name}.extends: extends cycle: {names}")
        base_name = extends["service"]
        if extends.get("file"):
            base_path = Path(extends["file"])
            base_services = self._file(base_path).get("services") or {}
        else:
            base_path, base_services = path, services
        if base_name not in base_services:
            where = f" in {extends['file']}" if extends.get("file") else ""
            raise ConfigError(
                f'{self.source}: services.{name}.extends: service "{base_name}" not found{where}'
            )
        base = self.service(base_name, base_services, base_path, (*chain, here))
        local = {k: v for k, v in spec.items() if k != "extends"}
        base = {k: v for k, v in base.items() if k != "extends"}
        tagged = self.tagged or self.files_tagged()
        merged = merge(strip_tags(base) if tagged else base, local, f"services.{name}", self.raw)
        result: dict[str, Any] = strip_tags(merged) if tagged else merged
        return result

    def _file(self, path: Path) -> dict[str, Any]:
        if path not in self.files:
            self.files[path] = self.load_file(path, path.parent)
        return self.files[path]
