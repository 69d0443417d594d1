"""json-file rotation as Docker's driver does it: max-size, max-file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from composer.runtime.jsonlog import JsonLog, parse_size, rotation_options


def test_parse_size_and_options() -> None:
    assert parse_size("10m") == 10 << 20
    assert parse_size("512k") == 512 << 10
    assert parse_size("100") == 100
    assert rotation_options({"org.composer.log.max-size": "1k", "org.composer.log.max-file": "3"}) == {
        "max_size": 1024, "max_files": 3}
    assert rotation_options({}) == {}
    with pytest.raises(ValueError, match="invalid log max-size"):
        parse_size("lots")


def test_rotates_and_keeps_max_files(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    log = JsonLog(path, max_size=200, max_files=3)
    for i in range(20):
        log.record("stdout", f"line {i:02d}\n".encode())
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["c-json.log", "c-json.log.1", "c-json.log.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 200
    newest = [json.loads(x)["log"] for x in path.read_text().splitlines()]
    assert newest[-1] == "line 19\n"
    oldest = [json.loads(x)["log"] for x in (tmp_path / "c-json.log.2").read_text().splitlines()]
    assert oldest[0] < newest[0]


def test_max_file_one_truncates(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    log = JsonLog(path, max_size=100, max_files=1)
    for i in range(10):
        log.record("stderr", f"message {i}\n".encode())
    log.close()
    assert [p.name for p in tmp_path.iterdir()] == ["c-json.log"]
    assert path.stat().st_size <= 100
