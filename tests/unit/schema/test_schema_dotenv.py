from __future__ import annotations

import pytest

from composer.errors import ConfigError
from composer.schema.dotenv import parse_dotenv


def test_forms() -> None:
    text = (
        "A=1\n\n# c\nexport B = two\nC='x # y'\nD=\"q\\\"z\"\nE=\nF=v # trailing\nBARE\nG=a=b\n"
    )
    assert parse_dotenv(text, ".env") == {
        "A": "1",
        "B": "two",
        "C": "x # y",
        "D": 'q"z',
        "E": "",
        "F": "v",
        "G": "a=b",
    }


def test_bad_key() -> None:
    with pytest.raises(ConfigError) as err:
        parse_dotenv("A=1\n1X=2\n", "/p/.env")
    assert str(err.value) == "/p/.env: line 2: invalid variable name '1X'"


def test_unterminated_quote() -> None:
    with pytest.raises(ConfigError) as err:
        parse_dotenv("A='x\n", "/p/.env")
    assert str(err.value) == "/p/.env: line 1: unterminated quoted value"
