"""Finding compose files and reading them as YAML.

The YAML dialect is YAML 1.2's core schema as go-yaml reads it, not PyYAML's
1.1 defaults (``yaml12``): ``restart: no`` must stay the string ``"no"``, and
an unquoted date is refused outside extensions, as Docker refuses it. Duplicate keys are an error (go-yaml refuses them), and aliases are
bounded so a "billion laughs" document cannot exhaust memory when later steps
walk (and so expand) the tree.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from composer.errors import ConfigError
from composer.schema import yaml12
from composer.schema.cache import record
from composer.schema.tags import RESET, Override, Reset

DEFAULT_FILENAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")

# Real compose files have a few thousand nodes; this bounds alias expansion.
MAX_NODES = 200_000

_RESOLVED: dict[str, str] = {}  # plain scalar -> tag: the same few values recur in big files


class _Loader(yaml.SafeLoader):
    """SafeLoader resolving plain scalars as go-yaml v3 does (``yaml12``), no duplicate keys."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit == (True, False):
            tag = _RESOLVED.get(value)
            if tag is None:
                tag = yaml12.resolve(value)[0]
                if len(_RESOLVED) < 50_000:
                    _RESOLVED[value] = tag
            return tag
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f'mapping key "{key}" already defined at line {seen[key] + 1}',
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _reset(loader: yaml.SafeLoader, node: yaml.Node) -> Reset:
    loader.tags_seen = True  # type: ignore[attr-defined]
    return RESET


def _override(loader: yaml.SafeLoader, node: yaml.Node) -> Override:
    loader.tags_seen = True  # type: ignore[attr-defined]
    if isinstance(node, yaml.MappingNode):
        return Override(loader.construct_mapping(node, deep=True))
    if isinstance(node, yaml.SequenceNode):
        return Override(loader.construct_sequence(node, deep=True))
    return Override(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("!reset", _reset)
_Loader.add_constructor("!override", _override)



def _construct_go(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """Numbers, timestamps and ``<<`` as a value, with go-yaml's rules."""
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    tag, value = yaml12.resolve(text)
    if isinstance(value, yaml12.YamlTime):
        loader.times_seen = True  # type: ignore[attr-defined]
        value = dataclasses.replace(value, where=f"{node.start_mark.line + 1}:{node.start_mark.column + 1}")
    if tag == node.tag or node.tag == yaml12.MERGE:
        return value
    if node.tag == yaml12.FLOAT and tag == yaml12.INT:  # !!float 1
        return float(value)  # type: ignore[arg-type]
    raise yaml.constructor.ConstructorError(None, None, f"cannot read {text!r} as {node.tag}", node.start_mark)


for _tag in (yaml12.INT, yaml12.FLOAT, yaml12.TIMESTAMP, yaml12.MERGE):
    _Loader.add_constructor(_tag, _construct_go)

Loader: type[_Loader] = _Loader
if yaml.__with_libyaml__:  # libyaml's scanner and parser: ~10x faster on large files

    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    class _FastLoader(CParser, _Loader):  # type: ignore[misc]
        """libyaml parsing with ``_Loader``'s resolvers and constructors."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    Loader = _FastLoader


def find_compose_file(directory: Path) -> Path:
    """The first default compose file name present in ``directory``."""
    for name in DEFAULT_FILENAMES:
        candidate = directory / name
        record(candidate)
        if candidate.is_file():
            return candidate
    raise ConfigError("no configuration file provided: not found")


def display_name(path: Path, working_dir: Path) -> str:
    """The path as the user would type it: relative to their cwd when inside it."""
    try:
        return str(path.relative_to(working_dir))
    except ValueError:
        return str(path)


def read_compose_text(path: Path, source: str) -> str:
    record(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{source}: no such file or directory") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{source}: is a directory, not a compose file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from exc


def read_compose_file(path: Path, source: str) -> dict[str, Any]:
    """Parse one file; the top level must be a mapping."""
    return parse_yaml(read_compose_text(path, source), source)


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    """Parse compose YAML text; errors name the source and the line."""
    return parse_yaml_tagged(text, source)[0]


def parse_yaml_tagged(text: str, source: str) -> tuple[dict[str, Any], bool]:
    """``parse_yaml``, and whether the text used ``!reset``/``!override`` tags."""
    loader = Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        raise ConfigError(f"{where}: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    finally:
        loader.dispose()
    if data is None:
        raise ConfigError(f"{source}: empty compose file")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: top-level object must be a mapping")
    if "*" in text:  # without aliases the tree is no bigger than the text
        _check_size(data, source)
    if getattr(loader, "times_seen", False):
        data = _times(data, source, "", False)
    return data, bool(getattr(loader, "tags_seen", False))


# mappings whose keys are data, not attributes: an ``x-`` key there is no extension
_FREE_MAPS = frozenset(
    {"labels", "environment", "annotations", "sysctls", "args", "driver_opts", "options",
     "extra_hosts", "storage_opt", "log_opt", "aux_addresses", "additional_contexts"}
)


def _times(value: Any, source: str, path: str, extension: bool) -> Any:
    """Timestamps: kept as Go prints them in extensions, refused elsewhere (as Docker)."""
    if isinstance(value, yaml12.YamlTime):
        if extension:
            return yaml12.GoTime(value.go)
        raise ConfigError(
            f"{source}:{value.where}: {path}: {value.text} is read as a YAML timestamp, not a string; quote it"
        )
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, yaml12.YamlTime):
                raise ConfigError(
                    f"{source}:{key.where}: {path or 'top level'}: key {key.text} is a YAML timestamp, not a string; quote it"
                )
            sub = f"{path}.{key}" if path else str(key)
            own = str(key).startswith("x-") and path.rpartition(".")[2] not in _FREE_MAPS
            out[key] = _times(item, source, sub, extension or own)
        return out
    if isinstance(value, list):
        return [_times(item, source, f"{path}[{i}]", extension) for i, item in enumerate(value)]
    if isinstance(value, Override):
        return Override(_times(value.value, source, path, extension))
    return value


def _check_size(data: object, source: str) -> None:
    """Count nodes as a walk would see them (aliases expanded), up to MAX_NODES."""
    stack: list[object] = [data]
    count = 0
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ConfigError(
                f"{source}: document too large after expanding aliases (over {MAX_NODES} nodes)"
            )
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
