from __future__ import annotations

import pytest

from composer.errors import InterpolationError
from composer.schema.interpolate import Interpolator
from composer.schema.location import Loc

ENV = {"SET": "value", "EMPTY": ""}
LOC = Loc("compose.yaml", "services.web.image")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("$SET", "value"),
        ("${SET}", "value"),
        ("a-${SET}-b", "a-value-b"),
        ("$$SET", "$SET"),
        ("$$", "$"),
        ("${UNSET:-dflt}", "dflt"),
        ("${EMPTY:-dflt}", "dflt"),
        ("${EMPTY-dflt}", ""),
        ("${UNSET-dflt}", "dflt"),
        ("${SET:-dflt}", "value"),
        ("${UNSET:-${SET}}", "value"),
        ("${UNSET:-a${UNSET2:-b}c}", "abc"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${SET:?boom}", "value"),
        ("${EMPTY?boom}", ""),
        ("$1 and $ alone", "$1 and $ alone"),
        ("${UNSET:-}", ""),
    ],
)
def test_forms(text: str, expected: str) -> None:
    assert Interpolator(ENV).string(text, LOC) == expected


def test_unset_plain_warns() -> None:
    interp = Interpolator(ENV)
    assert interp.string("${UNSET}$UNSET", LOC) == ""
    assert interp.warnings == ['The "UNSET" variable is not set. Defaulting to a blank string.']


@pytest.mark.parametrize("text", ["${VAR", "${}", "${VAR!}", "${1A}", "${VAR:x}"])
def test_malformed(text: str) -> None:
    with pytest.raises(InterpolationError) as err:
        Interpolator(ENV).string(text, LOC)
    assert str(err.value) == (
        f'compose.yaml: services.web.image: invalid interpolation format "{text}": '
        "you may need to escape any $ with another $"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${UNSET:?set it}", "required variable UNSET is missing a value: set it"),
        ("${EMPTY:?set it}", "required variable EMPTY is missing a value: set it"),
        ("${UNSET?}", "required variable UNSET is missing a value"),
    ],
)
def test_required(text: str, message: str) -> None:
    with pytest.raises(InterpolationError) as err:
        Interpolator(ENV).string(text, LOC)
    assert str(err.value) == f"compose.yaml: services.web.image: {message}"


def test_tree_interpolates_values_not_keys() -> None:
    tree = {"$SET": ["$SET", {"k": "${SET}", "n": 1}]}
    assert Interpolator(ENV).tree(tree, Loc("c.yaml")) == {"$SET": ["value", {"k": "value", "n": 1}]}


def test_tree_error_names_list_path(load) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InterpolationError) as err:
        load("services:\n  web:\n    image: a\n    ports: ['${P']\n")
    assert str(err.value) == (
        'compose.yaml:4:13: services.web.ports[0]: invalid interpolation format "${P": '
        "you may need to escape any $ with another $"
    )


def test_dotenv_and_os_env(load, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / ".env").write_text(
        "# comment\nexport TAG=1.0\nOTHER='lit $x'\nQ=\"a\\nb\"\nU=plain # comment\n"
    )
    project = load(
        """
        services:
          web:
            image: img:${TAG}
            environment:
              - O=${OTHER}
              - Q=${Q}
              - U=${U}
              - W=${WIN}
        """,
        environ={"WIN": "os"},
    )
    assert project.services["web"].image == "img:1.0"
    assert project.services["web"].environment == {"O": "lit $x", "Q": "a\nb", "U": "plain", "W": "os"}
    assert project.environment["TAG"] == "1.0"
    project = load("services:\n  web:\n    image: img:${TAG}\n", environ={"TAG": "2"})
    assert project.services["web"].image == "img:2"
