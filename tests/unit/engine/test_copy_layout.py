"""Where ``cp`` puts things: Docker's rules for files, directories, ``/`` and ``/.`` (pure)."""

from __future__ import annotations

import pytest

from composer.engine.copy import Endpoint, _layout, _normalise, split_ref
from composer.errors import ComposerError, NotFoundError


def ep(path: str) -> Endpoint:
    return Endpoint("/root-of-container", _normalise(path), path)


def test_split_ref() -> None:
    assert split_ref("web:/etc/hosts") == ("web", "/etc/hosts")
    assert split_ref("./web:x") == (None, "./web:x")
    assert split_ref("/abs/path") == (None, "/abs/path")
    assert split_ref("plain") == (None, "plain")


def test_normalise_keeps_the_trailing_markers() -> None:
    assert _normalise("/a//b/") == "/a/b/"
    assert _normalise("/a/b/.") == "/a/b/."
    assert _normalise("/a/../b") == "/b"
    assert _normalise("/") == "/"


@pytest.mark.parametrize(("src", "kind", "dest", "dest_kind", "expected"), [
    ("/f", "file", "/d", "dir", ("/d", "f")),                 # into an existing directory
    ("/f", "file", "/new", "missing", ("/", "new")),          # a new name
    ("/f", "file", "/old", "file", ("/", "old")),             # overwrite a file
    ("/t", "dir", "/new", "missing", ("/", "new")),           # a directory onto a new path
    ("/t", "dir", "/d", "dir", ("/d", "t")),                  # a directory into a directory
    ("/t/.", "dir", "/d", "dir", ("/d", None)),               # a directory's contents
    ("/", "dir", "/d", "dir", ("/d", None)),
])
def test_layout(src: str, kind: str, dest: str, dest_kind: str, expected: tuple[str, str | None]) -> None:
    assert _layout(ep(src), kind, ep(dest), {"kind": dest_kind, "parent": True}) == expected


def test_layout_errors() -> None:
    with pytest.raises(ComposerError, match="cannot copy a directory to a file"):
        _layout(ep("/t"), "dir", ep("/f"), {"kind": "file", "parent": True})
    with pytest.raises(NotFoundError, match="destination directory /d/ does not exist"):
        _layout(ep("/f"), "file", ep("/d/"), {"kind": "missing", "parent": True})
    with pytest.raises(NotFoundError, match="no such directory: /no"):
        _layout(ep("/f"), "file", ep("/no/f"), {"kind": "missing", "parent": False})
