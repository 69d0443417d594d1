"""The project cache: an unchanged project is unpickled, not loaded again.

Loading validates every service with pydantic, which first builds the
models' core schemas: ~0.3 s of every command that needs the Compose model.
``load_project_cached`` keeps the loaded ``Project`` in
``<state root>/cache/projects/<key>`` (docs/internals.md, "Project cache").

* The key is the sha256 of everything the loader is given or depends on:
  composer's version, the interpreter, the schema package's source files
  (name, mtime, size), the current directory and every field of the
  ``ProjectOptions`` (files, names, profiles, env files, the environment...).
* The entry lists every path the loader read or checked for existence, with
  its stat signature ``(st_mtime_ns, st_size, st_ino)`` or None when absent,
  recorded by ``record`` (called by ``files.py``, ``dotenv.py``, ``loader.py``)
  while the project loads. A hit needs every signature unchanged.
* A file modified less than ``RACY_NS`` before the entry was written could be
  modified again within the same timestamp tick without its signature
  changing; its sha256 is kept too and compared on every hit (git's "racily
  clean" entries).

* The entry keeps the project's "lite" form (``lite.py``: plain frozen
  records, no pydantic) with each service's config hash, so a hit imports
  neither pydantic nor the model; ``lite=False`` asks for the pydantic models
  (``lite.real``), for code that reads the models' field metadata.

Errors of the cache itself (unreadable, corrupted, foreign-owned) are misses;
``COMPOSER_NO_PROJECT_CACHE=1`` turns it off. Warnings travel inside the
``Project`` (``warnings``), so commands print them on a hit as well.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import pickle
import sys
import time
from collections.abc import Collection
from contextvars import ContextVar
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, BinaryIO

from composer import values
from composer.schema import lite

if TYPE_CHECKING:
    from pydantic import BaseModel

    from composer.schema.model import Project
    from composer.schema.options import ProjectOptions

FORMAT = 2  # bump when the entry layout changes
MAX_ENTRIES = 64
RACY_NS = 3_000_000_000  # covers filesystems with 1 s or 2 s timestamps
DISABLE_ENV = "COMPOSER_NO_PROJECT_CACHE"

Signature = tuple[int, int, int] | None
Record = tuple[str, Signature, str | None]  # (path, signature, sha256 when racy)

_RECORDING: ContextVar[dict[str, Signature] | None] = ContextVar("composer_schema_reads", default=None)


def record(path: str | os.PathLike[str]) -> None:
    """Note that the loader reads ``path`` or checks whether it exists (no-op outside a cached load)."""
    seen = _RECORDING.get()
    if seen is not None:
        name = os.fspath(path)
        if name not in seen:
            seen[name] = signature(name)


def signature(path: str) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "") not in ("1", "true", "yes")


def load_project_cached(options: ProjectOptions, cache_dir: Path, lite: bool = True) -> Project:
    """``load_project(options)``, from ``cache_dir`` when nothing it depends on changed.

    A hit imports neither the loader (yaml, the canonical rules) nor pydantic:
    it returns the project's records (``lite.py``), which read as the models
    do; ``lite=False`` turns them into the pydantic models. A miss returns the
    loaded pydantic ``Project``.
    """
    if not enabled():
        return _load(options)
    try:
        key = cache_key(options)
    except Exception:  # the cache never fails a command
        return _load(options)
    cached = _lookup(cache_dir / key)
    if cached is not None:
        return cached if lite else _real(cached)
    seen: dict[str, Signature] = {}
    token = _RECORDING.set(seen)
    try:
        project = _load(options)
    finally:
        _RECORDING.reset(token)
    with contextlib.suppress(Exception):  # read-only root, full disk, unpicklable value: no entry
        _store(cache_dir, key, seen, project)
    return project


def _load(options: ProjectOptions) -> Project:
    from composer.schema.loader import load_project

    return load_project(options)


def _real(project: Project) -> Project:
    real: Project = lite.real(project)
    return real


def cache_key(options: ProjectOptions) -> str:
    from composer import __version__

    parts: list[Any] = [FORMAT, __version__, sys.version, sys.prefix, _source_fingerprint(), os.getcwd()]
    for f in values.fields(options):
        value = getattr(options, f.name)
        if f.name == "environ":
            value = sorted(value.items())
        parts.append((f.name, value))
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _source_fingerprint() -> list[tuple[str, int, int]]:
    """The schema package's modules: editing the loader invalidates every entry."""
    with os.scandir(os.path.dirname(__file__)) as entries:
        found = [(e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in entries if e.name.endswith(".py")]
    return sorted(found)


def _digest(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return "unreadable"


def _fresh(records: list[Record]) -> bool:
    return all(
        signature(path) == sig and (digest is None or _digest(path) == digest) for path, sig, digest in records
    )


def _trusted(directory: Path) -> bool:
    """Only our own directory, writable by no one else: unpickling runs code."""
    st = os.stat(directory)
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _lookup(entry: Path) -> Project | None:
    try:
        if not _trusted(entry.parent):
            return None
        with open(entry, "rb") as fh:
            return _read_entry(fh, entry)
    except OSError:
        return None


def _read_entry(fh: BinaryIO, entry: Path) -> Project | None:
    """The header (format, records) first: a stale entry does not unpickle the project."""
    try:
        header = pickle.load(fh)
        if header[0] != FORMAT or not _fresh(header[1]):
            return None
        project: Project = pickle.load(fh)
    except Exception:  # corrupted or from an incompatible version: drop it
        _remove(entry)
        return None
    return project


def _store(directory: Path, key: str, seen: dict[str, Signature], project: Project) -> None:
    now = time.time_ns()
    records: list[Record] = [
        (path, sig, _digest(path) if sig is not None and sig[0] >= now - RACY_NS else None)
        for path, sig in seen.items()
    ]
    light = _lite_project(project)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = directory / f".{key}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the environment may hold secrets
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump((FORMAT, records), fh, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(light, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, directory / key)
    except BaseException:
        _remove(tmp)
        raise
    prune(directory)


def _lite_project(project: Project) -> Any:
    """The records of ``project``, each service's with its config hash (``hash.py``)."""
    from composer.schema.hash import service_config_hash

    light = lite.from_model(project)
    for name, service in project.services.items():
        light.services[name].__dict__[lite.CONFIG_HASH] = service_config_hash(service)
    return light


def prune(directory: Path, keep: int = MAX_ENTRIES) -> None:
    """Remove the oldest entries beyond ``keep``, and temporary files left by killed writers."""
    now = time.time()
    entries: list[tuple[float, Path]] = []
    for path in directory.iterdir():
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if path.name.startswith("."):
            if now - mtime > 60:
                _remove(path)
        else:
            entries.append((mtime, path))
    entries.sort()
    for _, path in entries[: max(0, len(entries) - keep)]:
        _remove(path)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


# ---- reading a cached project without building pydantic serializers ----------

_SCALARS = (str, int, float, bool, type(None))


def json_dump(model: BaseModel | lite.Record, exclude: Collection[str] = ()) -> dict[str, Any]:
    """``model.model_dump(mode="json", exclude=exclude)``, without building the model's serializer.

    A record (``lite.py``) dumps itself the same way.

    The first ``model_dump`` of a class builds its pydantic-core schema (~20 ms
    for ``Service``), the cost the cache exists to avoid. Values of a type this
    walk does not know fall back to ``model_dump``.
    """
    if isinstance(model, lite.Record):
        return dict(model.model_dump(mode="json", exclude=exclude))
    try:
        return {name: _plain(getattr(model, name)) for name in _dumped(type(model)) if name not in exclude}
    except TypeError:
        return model.model_dump(mode="json", exclude=set(exclude))


def _plain(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        if isinstance(value, float) and not math.isfinite(value):
            raise TypeError("non-finite float")  # pydantic's rules for them apply
        return value
    if isinstance(value, dict):
        return {_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, lite.Record):
        return value.model_dump(mode="json")
    if hasattr(type(value), "model_fields") and hasattr(value, "__pydantic_fields_set__"):
        return {name: _plain(getattr(value, name)) for name in _dumped(type(value))}
    raise TypeError(type(value).__name__)


_DUMPED: dict[type, tuple[str, ...]] = {}


def _dumped(cls: type) -> tuple[str, ...]:
    """The fields ``model_dump`` prints: all but ``Field(exclude=True)`` ones."""
    names = _DUMPED.get(cls)
    if names is None:
        fields = getattr(cls, "model_fields", {})
        if any(getattr(info, "exclude_if", None) is not None for info in fields.values()):
            raise TypeError("exclude_if")
        names = _DUMPED[cls] = tuple(name for name, info in fields.items() if info.exclude is not True)
    return names


def _key(key: Any) -> Any:
    if isinstance(key, str):
        return key
    raise TypeError("non-string key")
