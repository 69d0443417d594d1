"""Plain, frozen records that mirror the pydantic model: a project-cache hit imports no pydantic.

Unpickling a ``Project`` of ``composer.schema.model`` imports pydantic and
builds the model classes (~0.15 s of every command that reads the Compose
model). The project cache (``cache.py``) stores its "lite" form instead: the
same tree with every model replaced by a ``Record`` of a class of the same
name, built here on demand from the field names the cache entry carries (no
pydantic, no copy of ``model.py`` to keep in step).

A record has the model's attributes with the same values (dicts, lists,
tuples, ``Path``, nested records) and what composer uses of pydantic's API:
``model_copy(update=...)``, ``model_dump(mode=..., exclude=...)``,
``model_fields_set``, equality and hash (those of a frozen model) and a repr.
Setting an attribute raises. ``real`` turns a tree of records back into the
pydantic models (``model_construct``, no validation) for the code that needs
the models' field metadata (``render.py``).

The values live in the instance ``__dict__`` (as pydantic's do): attribute
access is a plain dict lookup, and unpickling fills the dicts in C without
calling any Python code per record. The class travels in the pickle as
``_record_class(name, fields, dumped)`` once per class (``copyreg``).
"""

from __future__ import annotations

import copyreg
import operator
from collections.abc import Collection, Mapping
from pathlib import PurePath
from typing import Any, ClassVar

# Keys of a record's ``__dict__`` beside its fields.
FIELDS_SET = "model_fields_set"  # pydantic's ``model_fields_set`` (the fields given explicitly)
CONFIG_HASH = "_config_hash"  # a cached service's config hash (``hash.py``); dropped by ``model_copy``

Spec = tuple[str, tuple[str, ...], tuple[str, ...]]  # (class name, fields, fields model_dump prints)


class _RecordType(type):
    """The metaclass of records: pickled as the spec they are built from, not by reference."""


class Record(metaclass=_RecordType):
    """One model instance, frozen; subclasses per model name come from ``_record_class``."""

    __lite_fields__: ClassVar[tuple[str, ...]] = ()
    __lite_dumped__: ClassVar[tuple[str, ...]] = ()
    __lite_values__: ClassVar[operator.itemgetter[Any]]  # the field values, as pydantic's __eq__/__hash__
    model_fields_set: frozenset[str]

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        get = self.__lite_values__
        return bool(get(self.__dict__) == get(other.__dict__))

    def __hash__(self) -> int:  # a frozen model's: unhashable as soon as a field holds a dict or list
        return hash(self.__lite_values__(self.__dict__))

    def __repr__(self) -> str:
        d = self.__dict__
        return f"{type(self).__name__}({', '.join(f'{name}={d[name]!r}' for name in self.__lite_fields__)})"

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Any:
        """A shallow copy with ``update`` applied unvalidated, as pydantic's ``model_copy``."""
        new = object.__new__(type(self))
        d = new.__dict__
        d.update(self.__dict__)
        if deep:
            import copy

            d.update(copy.deepcopy({name: d[name] for name in self.__lite_fields__}))
        if update:
            d.pop(CONFIG_HASH, None)
            d.update(update)
            d[FIELDS_SET] = d[FIELDS_SET] | frozenset(update)
        return new

    def model_dump(self, *, mode: str = "python", include: Collection[str] | None = None,
                   exclude: Collection[str] | None = None, **options: Any) -> Any:
        """``model_dump`` for ``mode`` and sets of top-level ``include``/``exclude`` names.

        Other options, and values this walk does not know, go to the model's (``real``).
        """
        names = _names(exclude)
        wanted = None if include is None else _names(include)
        if options or names is None or (include is not None and wanted is None) or mode not in ("python", "json"):
            return real(self).model_dump(mode=mode, include=include, exclude=exclude, **options)
        convert = _json if mode == "json" else _python
        d = self.__dict__
        try:
            return {name: convert(d[name]) for name in self.__lite_dumped__
                    if name not in names and (wanted is None or name in wanted)}
        except TypeError:  # a value this walk does not know: pydantic's rules
            return real(self).model_dump(mode=mode, include=include, exclude=exclude)


def _names(names: Collection[str] | None) -> Collection[str] | None:
    """Top-level names of an ``include``/``exclude``; None when it goes deeper (left to pydantic)."""
    if names is None:
        return ()
    if isinstance(names, Mapping):
        return names.keys() if all(v is True for v in names.values()) else None
    return names


_CLASSES: dict[Spec, type[Record]] = {}


def _record_class(name: str, fields: tuple[str, ...], dumped: tuple[str, ...]) -> type[Record]:
    """The record class of model ``name`` with these fields (one per spec and process)."""
    spec = (name, fields, dumped)
    cls = _CLASSES.get(spec)
    if cls is None:
        namespace = {
            "__slots__": (),  # instances keep Record's __dict__ only
            "__module__": __name__,
            "__qualname__": name,
            "__lite_fields__": fields,
            "__lite_dumped__": dumped,
            "__lite_values__": operator.itemgetter(*fields),
        }
        made: Any = _RecordType(name, (Record,), namespace)
        cls = _CLASSES[spec] = made
    return cls


def _reduce_class(cls: Any) -> tuple[Any, ...]:
    if cls is Record:
        return (_base, ())
    return (_record_class, (cls.__name__, cls.__lite_fields__, cls.__lite_dumped__))


def _base() -> type[Record]:
    return Record


copyreg.pickle(_RecordType, _reduce_class)


# ---- model ↔ record -------------------------------------------------------------


def from_model(value: Any) -> Any:
    """The lite form of ``value``: every pydantic model in it becomes a record (containers are copied)."""
    return _Converter().convert(value)


class _Converter:
    def __init__(self) -> None:
        self.classes: dict[type, type[Record]] = {}
        self.sets: dict[frozenset[str], frozenset[str]] = {}  # shared: pickled once

    def convert(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.convert(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.convert(v) for v in value)
        model_cls = type(value)
        if hasattr(model_cls, "model_fields") and hasattr(value, "__pydantic_fields_set__"):
            cls = self.classes.get(model_cls)
            if cls is None:
                fields = model_cls.model_fields
                cls = self.classes[model_cls] = _record_class(
                    model_cls.__name__,
                    tuple(fields),
                    tuple(n for n, info in fields.items() if info.exclude is not True),
                )
            record = object.__new__(cls)
            d = record.__dict__
            src = value.__dict__
            for name in cls.__lite_fields__:
                d[name] = self.convert(src[name])
            fields_set = frozenset(value.__pydantic_fields_set__)
            d[FIELDS_SET] = self.sets.setdefault(fields_set, fields_set)
            return record
        return value


def real(value: Any) -> Any:
    """``value`` with every record replaced by its pydantic model (``model_construct``: no validation)."""
    if isinstance(value, Record):
        from composer.schema import model

        cls = getattr(model, type(value).__name__)
        d = value.__dict__
        fields = {name: real(d[name]) for name in value.__lite_fields__}
        return cls.model_construct(_fields_set=set(d[FIELDS_SET]), **fields)
    if isinstance(value, dict):
        return {k: real(v) for k, v in value.items()}
    if isinstance(value, list):
        return [real(v) for v in value]
    if isinstance(value, tuple):
        return tuple(real(v) for v in value)
    return value


# ---- model_dump ------------------------------------------------------------------

_SCALARS = (str, int, float, bool, type(None))


def _python(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, dict):
        return {k: _python(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_python(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_python(v) for v in value)
    if isinstance(value, PurePath):
        return value
    if hasattr(value, "model_dump"):  # a record, or a model put in by ``model_copy``
        return value.model_dump()
    raise TypeError(type(value).__name__)


def _json(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, dict):
        return {_key(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(type(value).__name__)


def _key(key: Any) -> Any:
    if isinstance(key, str):
        return key
    raise TypeError("non-string key")
