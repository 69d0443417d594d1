from __future__ import annotations

from pathlib import Path

import pytest

from composer.errors import ConfigError
from composer.schema import ProjectOptions, find_compose_file, load_project
from composer.schema.files import MAX_NODES, parse_yaml


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (["docker-compose.yaml", "compose.yml"], "compose.yml"),
        (["docker-compose.yml", "docker-compose.yaml"], "docker-compose.yml"),
        (["compose.yaml", "compose.yml"], "compose.yaml"),
        (["docker-compose.yaml"], "docker-compose.yaml"),
    ],
)
def test_find_compose_file_order(tmp_path: Path, present: list[str], expected: str) -> None:
    for name in present:
        (tmp_path / name).write_text("services: {}\n")
    assert find_compose_file(tmp_path) == tmp_path / expected


def test_find_compose_file_none(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        find_compose_file(tmp_path)
    assert str(err.value) == "no configuration file provided: not found"


def test_load_looks_in_parent_and_picks_override(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: a\n")
    (tmp_path / "compose.override.yaml").write_text("services:\n  web:\n    image: b\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    project = load_project(ProjectOptions(working_dir=sub, environ={}))
    assert project.services["web"].image == "b"
    assert project.working_dir == tmp_path
    assert project.config_files == (tmp_path / "compose.yaml", tmp_path / "compose.override.yaml")


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: a: b\n")
    with pytest.raises(ConfigError) as err:
        load_project(ProjectOptions(working_dir=tmp_path, environ={}))
    # libyaml's wording (PyYAML's pure-Python parser says "... allowed here")
    assert str(err.value) in (
        "compose.yaml:3:13: mapping values are not allowed in this context",
        "compose.yaml:3:13: mapping values are not allowed here",
    )


def test_duplicate_key_is_an_error() -> None:
    with pytest.raises(ConfigError) as err:
        parse_yaml("services: {}\nservices: {}\n", "compose.yaml")
    assert str(err.value) == 'compose.yaml:2:1: mapping key "services" already defined at line 1'


def test_top_level_must_be_mapping() -> None:
    with pytest.raises(ConfigError) as err:
        parse_yaml("- a\n", "compose.yaml")
    assert str(err.value) == "compose.yaml: top-level object must be a mapping"


def test_yaml_12_booleans_and_dates() -> None:
    doc = parse_yaml("a: no\nb: yes\nc: true\nx-d: 2024-01-01\n", "c.yaml")
    assert doc == {"a": "no", "b": "yes", "c": True, "x-d": "2024-01-01T00:00:00Z"}
    with pytest.raises(ConfigError) as err:
        parse_yaml("a:\n  d: 2024-01-01\n", "c.yaml")
    assert str(err.value) == "c.yaml:2:6: a.d: 2024-01-01 is read as a YAML timestamp, not a string; quote it"


def test_alias_bomb_is_refused() -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(ConfigError) as err:
        parse_yaml("\n".join(lines) + "\n", "bomb.yaml")
    assert str(err.value) == (
        f"bomb.yaml: document too large after expanding aliases (over {MAX_NODES} nodes)"
    )


def test_multiple_files_merge(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "services:\n  web:\n    image: a\n    ports: ['80']\n    environment: {A: '1', B: '2'}\n"
    )
    (tmp_path / "b.yaml").write_text(
        "services:\n  web:\n    ports: ['81']\n    environment: [B=3]\n    command: x\n"
    )
    project = load_project(
        ProjectOptions(working_dir=tmp_path, environ={}, files=[Path("a.yaml"), Path("b.yaml")])
    )
    web = project.services["web"]
    assert web.image == "a"
    assert [p.target for p in web.ports] == [80, 81]
    assert web.environment == {"A": "1", "B": "3"}
    assert web.command == ["x"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_project(ProjectOptions(working_dir=tmp_path, environ={}, files=[Path("nope.yaml")]))
    assert str(err.value) == "nope.yaml: no such file or directory"
