"""Tables: go-yaml's scalar resolution, Go's float texts and JSON, go-yaml's key order."""

from __future__ import annotations

import math

import pytest

from composer.errors import ConfigError
from composer.schema import yaml12
from composer.schema.gojson import GoKey, go_format_g, go_json, go_json_float
from composer.schema.yamlout import dump_yaml

S, INT, F, B, N, T = (
    yaml12.STR,
    yaml12.INT,
    yaml12.FLOAT,
    yaml12.BOOL,
    yaml12.NULL,
    yaml12.TIMESTAMP,
)

RESOLVE = [
    ("yes", S, "yes"),
    ("no", S, "no"),
    ("on", S, "on"),
    ("off", S, "off"),
    ("y", S, "y"),
    ("true", B, True),
    ("False", B, False),
    ("TRUE", B, True),
    ("tRue", S, "tRue"),
    ("~", N, None),
    ("null", N, None),
    ("", N, None),
    ("Null", N, None),
    ("0755", INT, 493),
    ("0o755", INT, 493),
    ("0O17", INT, 15),
    ("0x1F", INT, 31),
    ("0X1F", INT, 31),
    ("-0x1f", INT, -31),
    ("+0x1f", INT, 31),
    ("0b101", INT, 5),
    ("0B11", INT, 3),
    ("-0o17", INT, -15),
    ("1_000", INT, 1000),
    ("0x_1f", INT, 31),
    ("1__0", INT, 10),
    ("0_755", INT, 493),
    ("+12", INT, 12),
    ("18446744073709551615", INT, 2**64 - 1),
    ("09", F, 9.0),
    ("-09", F, -9.0),
    ("1:20", S, "1:20"),
    ("190:20:30", S, "190:20:30"),
    ("1e3", F, 1000.0),
    (".5", F, 0.5),
    ("5.", F, 5.0),
    ("1_0.5", F, 10.5),
    ("1e400", S, "1e400"),
    ("._5", S, "._5"),
    ("_1", S, "_1"),
    ("+-1", S, "+-1"),
    ("=", S, "="),
    ("<<", yaml12.MERGE, "<<"),
    (".inf", F, math.inf),
    ("-.Inf", F, -math.inf),
    ("+.INF", F, math.inf),
    ("0x", S, "0x"),
    ("08", F, 8.0),
]


@pytest.mark.parametrize(("text", "tag", "value"), RESOLVE)
def test_resolve_like_go_yaml(text: str, tag: str, value: object) -> None:
    assert yaml12.resolve(text) == (tag, value)


def test_resolve_nan() -> None:
    tag, value = yaml12.resolve(".NaN")
    assert tag == F and isinstance(value, float) and math.isnan(value)


TIMES = [
    ("2020-01-01", "2020-01-01T00:00:00Z"),
    ("2020-1-2", "2020-01-02T00:00:00Z"),
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14T21:59:43.1-05:00"),
    ("2001-12-14T21:59:43+00:00", "2001-12-14T21:59:43Z"),
    ("2001-12-14 21:59:43.10", "2001-12-14T21:59:43.1Z"),
    ("2001-12-14  1:2:3.123456789123", "2001-12-14T01:02:03.123456789Z"),
    ("2020-01-01T1:2:3.5Z", "2020-01-01T01:02:03.5Z"),
]
NOT_TIMES = [
    "2020-02-30",
    "2020-13-01",
    "2020-1-1x",
    "20200-01-01",
    "2020-01-01T10:00:00+0100",
    "2020-01-01T10:00:00",
    "2020-01-01 10:00:00Z",
    "2020-01-01T10:00Z",
    "2020-01-01\t10:00:00",
    "2020-01-01T25:00:00Z",
    "2020-01-01T10:00:00z",
    "2001-12-14 21:59:43.10 -5",
]


@pytest.mark.parametrize(("text", "go"), TIMES)
def test_timestamps(text: str, go: str) -> None:
    tag, value = yaml12.resolve(text)
    assert tag == T and isinstance(value, yaml12.YamlTime) and value.go == go


@pytest.mark.parametrize("text", NOT_TIMES)
def test_not_timestamps(text: str) -> None:
    assert yaml12.resolve(text) == (S, text)


FLOATS = [  # value, strconv 'g', encoding/json
    (1e6, "1e+06", "1000000"),
    (1234567.5, "1.2345675e+06", "1234567.5"),
    (1e21, "1e+21", "1e+21"),
    (0.0001, "0.0001", "0.0001"),
    (1e-05, "1e-05", "0.00001"),
    (1e-07, "1e-07", "1e-7"),
    (3.0, "3", "3"),
    (-0.0, "-0", "-0"),
    (0.0, "0", "0"),
    (100000.0, "100000", "100000"),
    (1e20, "1e+20", "100000000000000000000"),
    (2.0**64, "1.8446744073709552e+19", "18446744073709552000"),
]


@pytest.mark.parametrize(("value", "g", "js"), FLOATS)
def test_go_floats(value: float, g: str, js: str) -> None:
    assert go_format_g(value) == g
    assert go_json_float(value) == js


def test_go_json_escapes_and_refuses_infinity() -> None:
    assert go_json({"a": "<&>\u2028", "b": [1, None, True], "c": {}}) == (
        '{"a":"\\u003c\\u0026\\u003e\\u2028","b":[1,null,true],"c":{}}'
    )
    assert go_json({"a": [1]}, indent=2) == '{\n  "a": [\n    1\n  ]\n}'
    assert go_format_g(math.inf) == "+Inf"
    with pytest.raises(ConfigError):
        go_json(math.inf)


def test_go_yaml_key_order() -> None:
    keys = ["V10", "V2", "b", "a1", "a", "V1", "x01", "x1", "1", "10", "9"]
    assert sorted(keys, key=GoKey) == [
        "1",
        "9",
        "10",
        "V1",
        "V2",
        "V10",
        "a",
        "a1",
        "b",
        "x1",
        "x01",
    ]


def test_yaml_output_scalars() -> None:
    text = dump_yaml(
        {
            "f": 1e-07,
            "g": 50.0,
            "i": math.inf,
            "s": "1e400",
            "y": "yes",
            "m": "<<",
            "d": "2020-01-01",
        }
    )
    assert text == 'f: 1e-07\ng: 50\ni: .inf\ns: 1e400\n"y": "yes"\nm: <<\nd: "2020-01-01"\n'
