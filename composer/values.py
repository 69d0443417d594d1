"""``valueclass``: ``dataclasses.dataclass`` for the records on the CLI's hot paths, without its cost.

``dataclasses`` imports ``inspect`` (ast, dis, tokenize: ~20 ms) and
``exec``s generated source for each class's methods (~1 ms a class): 40-50 ms
of ``composer run`` for its ~20 record classes. ``valueclass`` builds the same
methods from closures instead (microseconds a class). What it supports is
what those classes use: fields from annotations, defaults, ``field`` with
``default``, ``default_factory``, ``compare``, ``hash`` and ``repr``;
``frozen`` (the default) and ``order``; ``__eq__``, ``__hash__`` (frozen
classes), ``__repr__``, ``__match_args__``; ``fields`` (names) and
``replace``. Instances keep a ``__dict__`` (``vars`` works, as does pickle).
No ``__post_init__``, ``ClassVar``, ``InitVar`` or inheritance of fields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

_T = TypeVar("_T")
_MISSING: Any = object()


class FrozenError(AttributeError):
    """Assigning to a field of a frozen value (as ``dataclasses.FrozenInstanceError``)."""


class Field:
    __slots__ = ("compare", "default", "default_factory", "hash", "name", "repr")

    def __init__(self, default: Any, default_factory: Any, compare: bool, hash: bool | None,
                 repr: bool) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.hash = hash
        self.repr = repr


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] = _MISSING, compare: bool = True,
          hash: bool | None = None, repr: bool = True) -> Any:
    """As ``dataclasses.field`` (those options only)."""
    return Field(default, default_factory, compare, hash, repr)


@overload
def valueclass(cls: type[_T], /) -> type[_T]: ...


@overload
def valueclass(*, frozen: bool = True, order: bool = False) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def valueclass(cls: type[_T] | None = None, /, *, frozen: bool = True,
          order: bool = False) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """The class, with the methods ``@dataclass(frozen=frozen, order=order)`` would give it."""
    if cls is None:
        return lambda c: _build(c, frozen, order)
    return _build(cls, frozen, order)


def fields(obj: object) -> tuple[Field, ...]:
    """The fields of a value class or instance, in order (``.name``, as ``dataclasses.fields``)."""
    out: tuple[Field, ...] | None = getattr(obj, "__value_fields__", None)
    if out is None:  # a dataclass
        import dataclasses

        return dataclasses.fields(obj)  # type: ignore[arg-type,return-value]
    return out


def replace(obj: _T, /, **changes: Any) -> _T:
    """A copy of the value ``obj`` with ``changes`` (as ``dataclasses.replace``)."""
    if not hasattr(obj, "__value_fields__"):  # a dataclass
        import dataclasses

        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    kwargs = {f.name: getattr(obj, f.name) for f in fields(obj)}
    kwargs.update(changes)
    return type(obj)(**kwargs)


def _build(cls: type[_T], frozen: bool, order: bool) -> type[_T]:
    specs: list[Field] = []
    for name in cls.__dict__.get("__annotations__", {}):  # noqa: RUF063  (inspect: what this module avoids)
        attr = cls.__dict__.get(name, _MISSING)
        spec = attr if isinstance(attr, Field) else Field(attr, _MISSING, True, None, True)
        spec.name = name
        specs.append(spec)
        if isinstance(attr, Field):  # a plain default stays a class attribute, as with dataclasses
            if spec.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, spec.default)
    names = tuple(s.name for s in specs)
    required = frozenset(s.name for s in specs if s.default is _MISSING and s.default_factory is _MISSING)
    defaults = {s.name: s.default for s in specs if s.default is not _MISSING}
    factories = {s.name: s.default_factory for s in specs if s.default_factory is not _MISSING}
    compared = tuple(s.name for s in specs if s.compare)
    hashed = tuple(s.name for s in specs if (s.compare if s.hash is None else s.hash))
    shown = tuple(s.name for s in specs if s.repr)
    qualname = cls.__qualname__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(f"{qualname}() takes {len(names)} positional arguments but {len(args)} were given")
        values = dict(zip(names, args, strict=False))
        for key, item in kwargs.items():
            if key not in names:
                raise TypeError(f"{qualname}() got an unexpected keyword argument {key!r}")
            if key in values:
                raise TypeError(f"{qualname}() got multiple values for argument {key!r}")
            values[key] = item
        if len(values) < len(names):
            missing = [n for n in names if n not in values and n in required]
            if missing:
                raise TypeError(f"{qualname}() missing required arguments: {', '.join(map(repr, missing))}")
            for key, default in defaults.items():
                values.setdefault(key, default)
            for key, factory in factories.items():
                if key not in values:
                    values[key] = factory()
        self.__dict__.update(values)

    def key(self: Any, which: tuple[str, ...]) -> tuple[Any, ...]:
        d = self.__dict__
        return tuple(d[n] for n in which)

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return key(self, compared) == key(other, compared)

    def __repr__(self: Any) -> str:
        return f"{qualname}({', '.join(f'{n}={getattr(self, n)!r}' for n in shown)})"

    methods: dict[str, Any] = {"__init__": __init__, "__eq__": __eq__, "__repr__": __repr__,
                               "__match_args__": names, "__value_fields__": tuple(specs)}
    if frozen:
        def __setattr__(self: Any, name: str, item: Any) -> None:
            raise FrozenError(f"cannot assign to field {name!r}")

        def __delattr__(self: Any, name: str) -> None:
            raise FrozenError(f"cannot delete field {name!r}")

        def __hash__(self: Any) -> int:
            return hash(key(self, hashed))

        methods.update(__setattr__=__setattr__, __delattr__=__delattr__, __hash__=__hash__)
    else:
        methods["__hash__"] = None
    if order:
        def compare(op: Callable[[tuple[Any, ...], tuple[Any, ...]], bool]) -> Callable[[Any, object], Any]:
            def method(self: Any, other: object) -> Any:  # bool or NotImplemented
                if other.__class__ is not self.__class__:
                    return NotImplemented
                return op(key(self, compared), key(other, compared))

            return method

        methods.update(__lt__=compare(tuple.__lt__), __le__=compare(tuple.__le__),
                       __gt__=compare(tuple.__gt__), __ge__=compare(tuple.__ge__))
    for name, method in methods.items():
        if name not in cls.__dict__ or name in ("__hash__", "__match_args__", "__value_fields__"):
            setattr(cls, name, method)
    return cls
