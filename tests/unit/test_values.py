"""``composer.values.valueclass``: the ``dataclass`` behaviour its record classes rely on."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field

import pytest

from composer import values
from composer.image.reference import parse_reference
from composer.runtime.state import Record


@values.valueclass
class Point:
    x: int
    y: int = 0
    tags: dict[str, str] = values.field(default_factory=dict, hash=False)
    note: str = values.field(default="", compare=False, repr=False)


@values.valueclass(frozen=False)
class Mutable:
    items: list[int] = values.field(default_factory=list)


@values.valueclass(order=True)
class Ordered:
    a: int
    b: str = ""


def test_init_defaults_and_errors() -> None:
    p = Point(1)
    assert (p.x, p.y, p.tags, p.note) == (1, 0, {}, "")
    assert Point(1, 2).y == 2 and Point(x=1, y=3).y == 3
    assert Point(1).tags is not Point(1).tags  # a new dict each time
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, x=2)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Point(1, 2, {}, "", 5)  # type: ignore[call-arg]


def test_eq_hash_repr_frozen() -> None:
    assert Point(1, 2, note="a") == Point(1, 2, note="b")  # compare=False
    assert Point(1, 2) != Point(1, 3)
    assert Point(1, tags={"a": "b"}) != Point(1)
    assert hash(Point(1, 2, {"a": "b"})) == hash(Point(1, 2))  # hash=False
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags={})"
    with pytest.raises(AttributeError):
        Point(1).x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del Point(1).x
    m = Mutable()
    m.items = [1]
    assert m == Mutable([1]) and Mutable.__hash__ is None


def test_order_replace_fields_pickle() -> None:
    assert Ordered(1, "b") < Ordered(2, "a") and sorted([Ordered(2), Ordered(1, "z")])[0] == Ordered(1, "z")
    p = Point(1, 2)
    assert values.replace(p, y=5) == Point(1, 5) and p.y == 2
    assert [f.name for f in values.fields(Point)] == ["x", "y", "tags", "note"]
    assert pickle.loads(pickle.dumps(p)) == p
    assert vars(p) == {"x": 1, "y": 2, "tags": {}, "note": ""}


def test_dataclasses_still_handled() -> None:
    @dataclass(frozen=True)
    class D:
        a: int
        b: list[int] = field(default_factory=list)

    assert values.replace(D(1), a=2) == D(2)
    assert [f.name for f in values.fields(D)] == ["a", "b"]


def test_composer_records() -> None:
    r = Record(id="c", status="created", bundle="/b")
    assert values.replace(r, pid=5).pid == 5 and Record(**vars(r)) == r
    assert parse_reference("busybox") == parse_reference("docker.io/library/busybox:latest")
