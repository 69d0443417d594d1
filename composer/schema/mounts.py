"""Short → long syntax for ``ports``, ``volumes`` and ``tmpfs`` of a service.

Each function returns canonical dicts (the fields of ``ServicePort`` and
``ServiceVolume``). Relative bind sources are resolved against the project
directory and ``~`` against the HOME the caller passed in. The short forms
follow Docker's parsers (``nat.ParsePortSpecs``, ``loader.ParseVolume``):
port ranges expand to one entry per port, sorted as Docker sorts them.
"""

from __future__ import annotations

import os.path
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from composer.errors import ConfigError
from composer.schema.coerce import (
    Unparsed,
    as_bool,
    as_int,
    as_labels,
    as_list,
    as_mapping,
    as_str,
    check_keys,
    extensions,
    keep_extensions,
)
from composer.schema.location import Loc
from composer.schema.units import parse_mode, parse_size

_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")
_PORT_HINT = "expected [[HOST_IP:][HOST_PORT]:]CONTAINER_PORT[/PROTOCOL]"
_PROTOCOLS = ("tcp", "udp", "sctp")

SERVICE_PORT = frozenset(
    {"app_protocol", "host_ip", "mode", "name", "protocol", "published", "target"}
)
SERVICE_VOLUME = frozenset(
    {"bind", "consistency", "image", "read_only", "source", "target", "tmpfs", "type", "volume"}
)
_SUB_KEYS = {
    "bind": frozenset({"create_host_path", "propagation", "recursive", "selinux"}),
    "volume": frozenset({"labels", "nocopy", "subpath"}),
    "tmpfs": frozenset({"mode", "size"}),
    "image": frozenset({"subpath"}),
}
_PROPAGATION = ("rprivate", "private", "rshared", "shared", "rslave", "slave")
_MOUNT_TYPES = ("volume", "bind", "tmpfs", "image", "npipe", "cluster")


# ---- ports -------------------------------------------------------------------


def canonical_ports(value: Any, loc: Loc) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for i, item in enumerate(as_list(value, loc)):
        here = loc.item(i)
        if isinstance(item, dict):
            result.append(_long_port(as_mapping(item, here), here))
        elif isinstance(item, int | str) and not isinstance(item, bool):
            result.extend(short_port(str(item), here))
        else:
            raise ConfigError(f"{here} must be a string, number or mapping")
    return result


def _bad_port(text: str, loc: Loc) -> ConfigError:
    return Unparsed(f"{loc}: invalid port '{text}' — {_PORT_HINT}")


def _port_range(text: str, whole: str, loc: Loc) -> tuple[int, int]:
    match = _RANGE.match(text)
    if match is None:
        raise _bad_port(whole, loc)
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else start
    if end < start or not 0 < start <= 65535 or end > 65535:
        raise Unparsed(f"{loc}: invalid port '{whole}' — port out of range 1-65535")
    return start, end


def short_port(text: str, loc: Loc) -> list[dict[str, Any]]:
    """``[[IP:][HOST]:]CONTAINER[/PROTO]`` with ranges, as Docker expands them."""
    spec, _, protocol = text.partition("/")
    protocol = (protocol or "tcp").lower()
    if protocol not in _PROTOCOLS:
        raise Unparsed(f"{loc}: invalid port '{text}' — unknown protocol '{protocol}'")
    host_ip = ""
    bracketed = spec.startswith("[")
    if bracketed:  # [::1]:8080:80
        end = spec.find("]")
        if end < 0 or spec[end + 1 : end + 2] != ":":
            raise _bad_port(text, loc)
        host_ip, rest = spec[1:end], spec[end + 2 :]
        parts = rest.split(":")
        if len(parts) == 1:
            parts = ["", *parts]
    else:
        parts = spec.split(":")
        if len(parts) == 3:
            host_ip = parts.pop(0)
    if len(parts) > 2 or (":" in host_ip and not bracketed):
        raise _bad_port(text, loc)
    published = parts[0] if len(parts) == 2 else ""
    start, end = _port_range(parts[-1], text, loc)
    targets = list(range(start, end + 1))
    hosts: list[str]
    if published:
        pstart, pend = _port_range(published, text, loc)
        if pend - pstart == end - start:
            hosts = [str(p) for p in range(pstart, pend + 1)]
        elif start == end:
            hosts = [published if pstart != pend else str(pstart)]
        else:
            raise Unparsed(f"{loc}: invalid port '{text}' — host and container port ranges differ in size")
    else:
        hosts = [""] * len(targets)
    pairs = sorted(zip(targets, hosts, strict=True), key=lambda p: f"{p[0]}/{protocol}")
    return [
        _port(target, host or None, host_ip or None, protocol, "ingress", loc)
        for target, host in pairs
    ]


def _long_port(item: dict[str, Any], loc: Loc) -> dict[str, Any]:
    check_keys(item, loc, SERVICE_PORT)
    if "target" not in item:
        raise ConfigError(f"{loc}: target is required")
    target = as_int(item["target"], loc.child("target"))
    published = item.get("published")
    if published is not None:
        if isinstance(published, bool) or not isinstance(published, int | str):
            raise ConfigError(f"{loc.child('published')} must be a string or number")
        published = str(published)
        if published:
            _port_range(published, published, loc.child("published"))
        published = published or None
    port = _port(
        target,
        published,
        as_str(item["host_ip"], loc.child("host_ip")) if item.get("host_ip") is not None else None,
        as_str(item.get("protocol") or "tcp", loc.child("protocol")),
        as_str(item.get("mode") or "ingress", loc.child("mode")),
        loc,
    )
    for key in ("name", "app_protocol"):
        if item.get(key) is not None:
            port[key] = as_str(item[key], loc.child(key))
    return keep_extensions(item, port)


def _port(
    target: int, published: str | None, host_ip: str | None, protocol: str, mode: str, loc: Loc
) -> dict[str, Any]:
    if protocol not in _PROTOCOLS:
        raise Unparsed(f'{loc}: invalid protocol "{protocol}" (use tcp, udp or sctp)')
    if mode not in ("ingress", "host"):
        raise Unparsed(f'{loc}: invalid mode "{mode}" (use ingress or host)')
    if not 0 <= target <= 65535:
        raise Unparsed(f"{loc}: port {target} out of range 1-65535")
    return {
        "target": target,
        "published": published,
        "host_ip": host_ip,
        "protocol": protocol,
        "mode": mode,
    }


# ---- volumes -----------------------------------------------------------------


def canonical_volumes(
    value: Any,
    loc: Loc,
    project_dir: Path,
    environ: Mapping[str, str],
    resolve: bool = True,
    root: Path | None = None,
) -> list[dict[str, Any]]:
    """``root``: with ``resolve`` false, relative sources of a file elsewhere are rebased onto it."""
    result: list[dict[str, Any]] = []
    for i, item in enumerate(as_list(value, loc)):
        here = loc.item(i)
        if isinstance(item, str):
            mount = _short_volume(item, here)
        elif isinstance(item, dict):
            mount = _long_volume(as_mapping(item, here), here)
        else:
            raise ConfigError(f"{here} must be a string or a mapping")
        if mount["type"] == "bind" and resolve:
            mount["source"] = resolve_host_path(mount["source"], here, project_dir, environ)
        elif mount["type"] == "bind" and root is not None:
            mount["source"] = rebase(mount["source"], project_dir, root)
        result.append(mount)
    return result


def _is_path(source: str) -> bool:
    return source.startswith(("/", ".", "~")) or (len(source) > 1 and source[1] == ":")


def _split_volume(text: str) -> list[str]:
    """Split on ``:`` except after a one-letter field (a Windows drive: ``c:/data``), as compose-go."""
    parts, field = [], ""
    for char in text:
        if char == ":" and not (len(field) == 1 and field.isalpha()):
            parts.append(field)
            field = ""
        else:
            field += char
    return [*parts, field]


def _short_volume(text: str, loc: Loc) -> dict[str, Any]:
    parts = _split_volume(text)
    if len(parts) == 1:
        mount = _volume("volume", None, parts[0], loc)
        if len(text) > 2:  # Docker's parser returns early on 1-2 characters: no options block
            mount["blocks"] = ("volume",)
        return mount
    if len(parts) > 3 or not parts[0] or not parts[1]:
        raise ConfigError(
            f"{loc}: invalid volume '{text}' — expected [SOURCE:]TARGET[:MODE]"
        )
    source, target = parts[0], parts[1]
    kind = "bind" if _is_path(source) else "volume"
    mount = _volume(kind, source, target, loc)
    mount["bind_create_host_path"] = kind == "bind"
    blocks = {kind}  # the short syntax fills the bind/volume options block
    for option in parts[2].split(",") if len(parts) == 3 else []:
        if option in ("ro", "rw"):
            mount["read_only"] = option == "ro"
        elif option == "nocopy":  # a volume option, also on a bind mount (as Docker)
            mount["volume_nocopy"] = True
            blocks.add("volume")
        elif option in ("z", "Z"):  # bind options, also on a named volume
            mount["bind_selinux"] = option
            blocks.add("bind")
        elif option in _PROPAGATION:
            mount["bind_propagation"] = option
            blocks.add("bind")
        elif option in ("cached", "delegated", "consistent"):
            pass  # Docker accepts and drops these macOS hints
        else:
            raise ConfigError(f"{loc}: invalid volume '{text}' — unknown mode '{option}'")
    mount["blocks"] = tuple(sorted(blocks))
    return mount


def _long_volume(item: dict[str, Any], loc: Loc) -> dict[str, Any]:
    check_keys(item, loc, SERVICE_VOLUME)
    if "type" not in item:
        raise ConfigError(f"{loc}: type is required")
    kind = as_str(item["type"], loc.child("type"))
    if kind not in _MOUNT_TYPES:
        raise ConfigError(
            f'{loc.child("type")}: invalid mount type "{kind}" (use {", ".join(_MOUNT_TYPES)})'
        )
    if "target" not in item:
        raise ConfigError(f"{loc}: target is required")
    source = item.get("source")
    source = as_str(source, loc.child("source")) if source is not None else None
    if kind in ("bind", "image") and not source:
        raise ConfigError(f"{loc}: source is required for a {kind} mount")
    mount = _volume(kind, source or None, as_str(item["target"], loc.child("target")), loc)
    if "read_only" in item:
        mount["read_only"] = as_bool(item["read_only"], loc.child("read_only"))
    if item.get("consistency") is not None:
        mount["consistency"] = as_str(item["consistency"], loc.child("consistency"))
    blocks = [section for section in _SUB_KEYS if item.get(section) is not None]
    if blocks:
        mount["blocks"] = tuple(blocks)  # printed even when empty, as Docker does
    for section, known in _SUB_KEYS.items():
        if item.get(section) is not None:
            sub = as_mapping(item[section], loc.child(section))
            check_keys(sub, loc.child(section), known)
            _apply_options(mount, section, sub, loc.child(section))
            if extensions(sub):
                mount.setdefault("block_extensions", {})[section] = extensions(sub)
    return keep_extensions(item, mount)


def _apply_options(mount: dict[str, Any], section: str, sub: dict[str, Any], loc: Loc) -> None:
    for key, value in sub.items():
        here = loc.child(key)
        if key == "create_host_path":
            mount["bind_create_host_path"] = as_bool(value, here)
        elif key == "nocopy":
            mount["volume_nocopy"] = as_bool(value, here)
        elif key == "size":
            mount["tmpfs_size"] = parse_size(value, here)
        elif key == "mode":
            mount["tmpfs_mode"] = parse_mode(value, here)
        elif key == "labels":
            mount["volume_labels"] = as_labels(value, here)
        elif key == "propagation":
            text = as_str(value, here)
            if text not in _PROPAGATION:
                raise ConfigError(f'{here}: invalid propagation "{text}" (use {", ".join(_PROPAGATION)})')
            mount["bind_propagation"] = text
        elif key == "selinux":
            text = as_str(value, here)
            if text not in ("z", "Z"):
                raise ConfigError(f'{here}: invalid selinux "{text}" (use z or Z)')
            mount["bind_selinux"] = text
        elif key == "recursive":
            mount["bind_recursive"] = as_str(value, here)
        elif key == "subpath":
            mount[f"{section}_subpath"] = as_str(value, here)


def _volume(kind: str, source: str | None, target: str, loc: Loc) -> dict[str, Any]:
    """A relative target is kept (``a:/x:rprivate`` mounts the Windows path ``a:/x`` at ``rprivate``), as Docker's."""
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


def rebase(path: str, base_dir: Path, root: Path) -> str:
    """A relative path of a file in ``base_dir`` as seen from ``root`` (``--no-path-resolution``)."""
    if base_dir == root or path.startswith(("/", "~")) or "://" in path:
        return path
    return os.path.normpath(os.path.join(os.path.relpath(base_dir, root), path))


def resolve_host_path(
    source: str, loc: Loc, project_dir: Path, environ: Mapping[str, str]
) -> str:
    """``~`` from HOME, relative paths joined to the project directory (and normalised).

    An absolute path is kept as written (``/var/lib/docker/``), as Docker keeps it.
    """
    if source == "~" or source.startswith("~/"):
        home = environ.get("HOME")
        if not home:
            raise ConfigError(f'{loc}: cannot expand "{source}": HOME is not set')
        source = home + source[1:]
    elif source.startswith("~"):
        return source  # ~user: kept as written, as Docker does
    if os.path.isabs(source) or (len(source) > 2 and source[1] == ":" and source[2] in "/\\"):
        return source  # absolute (a Windows drive path too)
    return os.path.normpath(os.path.join(project_dir, source))


# ---- tmpfs -------------------------------------------------------------------


def tmpfs_strings(value: Any, loc: Loc) -> list[str]:
    """The strings as written, their options checked here where the file is known."""
    canonical_tmpfs(value, loc)
    return _strings(value, loc)


def _strings(value: Any, loc: Loc) -> list[str]:
    items = [value] if isinstance(value, str) else as_list(value, loc)
    return [as_str(item, loc if isinstance(value, str) else loc.item(i)) for i, item in enumerate(items)]


def canonical_tmpfs(value: Any, loc: Loc) -> list[dict[str, Any]]:
    """``/run`` or ``/run:size=64k,mode=1777``, one string or a list of them."""
    result: list[dict[str, Any]] = []
    for i, text in enumerate(_strings(value, loc)):
        here = loc if isinstance(value, str) else loc.item(i)
        target, _, options = text.partition(":")
        mount = _volume("tmpfs", None, target, here)
        for option in filter(None, options.split(",")):
            name, _, arg = option.partition("=")
            if name == "size":
                mount["tmpfs_size"] = parse_size(arg, here)
            elif name == "mode":
                mount["tmpfs_mode"] = parse_mode(arg, here)
            # other options (uid, gid, noexec...) are kept in ``tmpfs`` as written
        result.append(mount)
    return result
