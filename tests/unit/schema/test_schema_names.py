from __future__ import annotations

from pathlib import Path

import pytest

from composer.errors import ConfigError
from composer.schema import ProjectOptions, load_project, normalize_project_name

INVALID = (
    'invalid project name "{}": must consist only of lowercase alphanumeric characters, '
    "hyphens, and underscores as well as start with a letter or number"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("My.App", "myapp"), ("_x-Y_", "x-y_"), ("a b", "ab"), ("--9z", "9z"), ("ok_1", "ok_1")],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize_project_name(raw) == expected


def _project(tmp_path: Path, dirname: str, text: str, **options: object) -> str:
    directory = tmp_path / dirname
    directory.mkdir()
    (directory / "compose.yaml").write_text(text)
    environ = options.pop("environ", {})
    opts = ProjectOptions(working_dir=directory, environ=environ, **options)  # type: ignore[arg-type]
    return load_project(opts).name


SERVICES = "services:\n  web:\n    image: a\n"


def test_precedence(tmp_path: Path) -> None:
    named = "name: fromfile\n" + SERVICES
    assert _project(tmp_path, "A1", SERVICES) == "a1"
    assert _project(tmp_path, "d2", named) == "fromfile"
    env = {"COMPOSE_PROJECT_NAME": "fromenv"}
    assert _project(tmp_path, "d3", named, environ=env) == "fromenv"
    assert _project(tmp_path, "d4", named, environ=env, project_name="flag") == "flag"


def test_name_is_interpolated_and_dotenv_sets_it(tmp_path: Path) -> None:
    assert _project(tmp_path, "d1", "name: x-${S}\n" + SERVICES, environ={"S": "y"}) == "x-y"
    (tmp_path / "d2").mkdir()
    (tmp_path / "d2" / ".env").write_text("COMPOSE_PROJECT_NAME=dot\n")
    (tmp_path / "d2" / "compose.yaml").write_text(SERVICES)
    assert load_project(ProjectOptions(working_dir=tmp_path / "d2", environ={})).name == "dot"


@pytest.mark.parametrize("bad", ["Bad", "_x", "a.b"])
def test_invalid_explicit_name(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError) as err:
        _project(tmp_path, "d", SERVICES, project_name=bad)
    assert str(err.value) == INVALID.format(bad)


def test_name_in_file_is_normalised(tmp_path: Path) -> None:
    """As Docker Compose: ``name:`` of the file is normalised, -p is checked."""
    assert _project(tmp_path, "d", "name: My App\n" + SERVICES) == "myapp"


def test_project_directory_option(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "c.yaml").write_text(
        "services:\n  web:\n    image: a\n    volumes: ['./d:/d']\n"
    )
    (tmp_path / "other").mkdir()
    project = load_project(
        ProjectOptions(
            working_dir=tmp_path,
            environ={},
            files=[Path("files/c.yaml")],
            project_directory=Path("other"),
        )
    )
    assert project.name == "other"
    assert project.services["web"].volumes[0].source == str(tmp_path / "other" / "d")
