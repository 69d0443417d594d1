"""Short → long syntax for ``ports``, ``volumes`` and ``tmpfs`` of a service.

Each function returns canonical dicts (the fields of ``ServicePort`` and
``ServiceVolume``). Relative bind sources are resolved against the project
directory and ``~`` against the HOME the caller passed in.
"""

from __future__ import annotations

import os.path
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from composer.errors import ConfigError, UnsupportedError
from composer.schema import keys
from composer.schema.coerce import as_bool, as_int, as_list, as_mapping, as_str, check_keys
from composer.schema.location import Loc
from composer.schema.units import parse_mode, parse_size

_PORT = re.compile(r"^\d+$")


# ---- ports -------------------------------------------------------------------


def canonical_ports(value: Any, loc: Loc) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for i, item in enumerate(as_list(value, loc)):
        here = loc.item(i)
        if isinstance(item, dict):
            result.append(_long_port(as_mapping(item, here), here))
        elif isinstance(item, int | str) and not isinstance(item, bool):
            result.append(_short_port(str(item), here))
        else:
            raise ConfigError(f"{here} must be a string, number or mapping")
    return result


def _short_port(text: str, loc: Loc) -> dict[str, Any]:
    spec, _, protocol = text.partition("/")
    protocol = protocol or "tcp"
    host_ip: str | None = None
    if spec.startswith("["):  # [::1]:8080:80
        end = spec.find("]")
        if end < 0 or spec[end + 1 : end + 2] != ":":
            raise ConfigError(f'{loc}: invalid port "{text}"')
        host_ip, spec = spec[1:end], spec[end + 2 :]
    parts = spec.rsplit(":", 2) if host_ip is None else spec.split(":")
    if host_ip is None and len(parts) == 3:
        host_ip = parts.pop(0)
    if len(parts) > 2 or not parts or (host_ip and ":" in host_ip and not text.startswith("[")):
        raise ConfigError(f'{loc}: invalid port "{text}"')
    published = parts[0] if len(parts) == 2 else ""
    target = parts[-1]
    if "-" in target or "-" in published:
        raise UnsupportedError(f'{loc}: port ranges ("{text}") are not supported yet by composer')
    if not _PORT.match(target) or (published and not _PORT.match(published)):
        raise ConfigError(f'{loc}: invalid port "{text}"')
    return _port(int(target), published or None, host_ip or None, protocol, "ingress", loc)


def _long_port(item: dict[str, Any], loc: Loc) -> dict[str, Any]:
    check_keys(item, loc, keys.SERVICE_PORT, keys.SUPPORTED_SERVICE_PORT)
    if "target" not in item:
        raise ConfigError(f"{loc}: target is required")
    target = as_int(item["target"], loc.child("target"))
    published = item.get("published")
    if published is not None:
        published = str(published) if isinstance(published, int | str) else None
        if published is None or not _PORT.match(published):
            if published and "-" in published:
                raise UnsupportedError(f"{loc.child('published')}: port ranges are not supported yet by composer")
            raise ConfigError(f"{loc.child('published')}: invalid port {item['published']!r}")
    host_ip = item.get("host_ip")
    if host_ip is not None:
        host_ip = as_str(host_ip, loc.child("host_ip"))
    protocol = as_str(item.get("protocol", "tcp"), loc.child("protocol"))
    mode = as_str(item.get("mode", "ingress"), loc.child("mode"))
    return _port(target, published, host_ip, protocol, mode, loc)


def _port(
    target: int, published: str | None, host_ip: str | None, protocol: str, mode: str, loc: Loc
) -> dict[str, Any]:
    if protocol not in ("tcp", "udp"):
        if protocol == "sctp":
            raise UnsupportedError(f"{loc}: protocol sctp is not supported yet by composer")
        raise ConfigError(f'{loc}: invalid protocol "{protocol}" (use tcp or udp)')
    if mode not in ("ingress", "host"):
        raise ConfigError(f'{loc}: invalid mode "{mode}" (use ingress or host)')
    for port in (target, int(published) if published else 1):
        if not 1 <= port <= 65535:
            raise ConfigError(f"{loc}: port {port} out of range 1-65535")
    return {
        "target": target,
        "published": published,
        "host_ip": host_ip,
        "protocol": protocol,
        "mode": mode,
    }


# ---- volumes -----------------------------------------------------------------


def canonical_volumes(
    value: Any, loc: Loc, project_dir: Path, environ: Mapping[str, str]
) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for i, item in enumerate(as_list(value, loc)):
        here = loc.item(i)
        if isinstance(item, str):
            mount = _short_volume(item, here)
        elif isinstance(item, dict):
            mount = _long_volume(as_mapping(item, here), here)
        else:
            raise ConfigError(f"{here} must be a string or a mapping")
        if mount["type"] == "bind":
            mount["source"] = resolve_host_path(mount["source"], here, project_dir, environ)
        result.append(mount)
    return result


def _short_volume(text: str, loc: Loc) -> dict[str, Any]:
    parts = text.split(":")
    if len(parts) == 1:
        return _volume("volume", None, parts[0], loc)
    if len(parts) > 3 or not parts[0] or not parts[1]:
        raise ConfigError(f'{loc}: invalid volume specification "{text}"')
    source, target = parts[0], parts[1]
    kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
    mount = _volume(kind, source, target, loc)
    mount["bind_create_host_path"] = kind == "bind"
    for option in parts[2].split(",") if len(parts) == 3 else []:
        if option in ("ro", "rw"):
            mount["read_only"] = option == "ro"
        elif option == "nocopy" and kind == "volume":
            mount["volume_nocopy"] = True
        else:
            raise UnsupportedError(
                f'{loc}: volume option "{option}" is not supported yet by composer'
            )
    return mount


def _long_volume(item: dict[str, Any], loc: Loc) -> dict[str, Any]:
    check_keys(item, loc, keys.SERVICE_VOLUME, keys.SUPPORTED_SERVICE_VOLUME)
    kind = as_str(item.get("type"), loc.child("type")) if "type" in item else None
    if kind is None:
        raise ConfigError(f"{loc}: type is required")
    if kind not in ("volume", "bind", "tmpfs"):
        if kind in ("cluster", "npipe", "image"):
            raise UnsupportedError(f'{loc.child("type")}: "{kind}" is not supported yet by composer')
        raise ConfigError(f'{loc.child("type")}: invalid mount type "{kind}"')
    if "target" not in item:
        raise ConfigError(f"{loc}: target is required")
    source = item.get("source")
    source = as_str(source, loc.child("source")) if source is not None else None
    if kind == "bind" and not source:
        raise ConfigError(f"{loc}: source is required for a bind mount")
    mount = _volume(kind, source or None, as_str(item["target"], loc.child("target")), loc)
    if "read_only" in item:
        mount["read_only"] = as_bool(item["read_only"], loc.child("read_only"))
    for section, known, supported in (
        ("bind", keys.SERVICE_VOLUME_BIND, keys.SUPPORTED_SERVICE_VOLUME_BIND),
        ("volume", keys.SERVICE_VOLUME_VOLUME, keys.SUPPORTED_SERVICE_VOLUME_VOLUME),
        ("tmpfs", keys.SERVICE_VOLUME_TMPFS, keys.SUPPORTED_SERVICE_VOLUME_TMPFS),
    ):
        if item.get(section) is not None:
            sub = as_mapping(item[section], loc.child(section))
            check_keys(sub, loc.child(section), known, supported)
            _apply_options(mount, section, sub, loc.child(section))
    return mount


def _apply_options(mount: dict[str, Any], section: str, sub: dict[str, Any], loc: Loc) -> None:
    if "create_host_path" in sub:
        mount["bind_create_host_path"] = as_bool(sub["create_host_path"], loc.child("create_host_path"))
    if "nocopy" in sub:
        mount["volume_nocopy"] = as_bool(sub["nocopy"], loc.child("nocopy"))
    if "size" in sub:
        mount["tmpfs_size"] = parse_size(sub["size"], loc.child("size"))
    if "mode" in sub:
        mount["tmpfs_mode"] = parse_mode(sub["mode"], loc.child("mode"))


def _volume(kind: str, source: str | None, target: str, loc: Loc) -> dict[str, Any]:
    if not target.startswith("/"):
        raise ConfigError(f'{loc}: mount target "{target}" must be an absolute path')
    return {
        "type": kind,
        "source": source,
        "target": target,
        "read_only": False,
        "bind_create_host_path": False,
        "tmpfs_size": None,
        "tmpfs_mode": None,
        "volume_nocopy": False,
    }


def resolve_host_path(
    source: str, loc: Loc, project_dir: Path, environ: Mapping[str, str]
) -> str:
    """``~`` from HOME, relative paths from the project directory; normalised, not resolved."""
    if source == "~" or source.startswith("~/"):
        home = environ.get("HOME")
        if not home:
            raise ConfigError(f'{loc}: cannot expand "{source}": HOME is not set')
        source = home + source[1:]
    elif source.startswith("~"):
        raise UnsupportedError(f'{loc}: "{source}": ~user paths are not supported yet by composer')
    return os.path.normpath(os.path.join(project_dir, source))


# ---- tmpfs -------------------------------------------------------------------


def canonical_tmpfs(value: Any, loc: Loc) -> list[dict[str, Any]]:
    """``/run`` or ``/run:size=64k,mode=1777``, one string or a list of them."""
    items = [value] if isinstance(value, str) else as_list(value, loc)
    result: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        here = loc if isinstance(value, str) else loc.item(i)
        target, _, options = as_str(item, here).partition(":")
        mount = _volume("tmpfs", None, target, here)
        for option in filter(None, options.split(",")):
            name, _, arg = option.partition("=")
            if name == "size":
                mount["tmpfs_size"] = parse_size(arg, here)
            elif name == "mode":
                mount["tmpfs_mode"] = parse_mode(arg, here)
            else:
                raise UnsupportedError(
                    f'{here}: tmpfs option "{option}" is not supported yet by composer'
                )
        result.append(mount)
    return result
