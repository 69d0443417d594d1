"""extends, include, profiles, env files, the acted-on list and the ``config`` command."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from composer.errors import ConfigError
from composer.schema import ProjectOptions, load_project
from composer.schema.model import Project
from composer.schema.support import ACTED_ON, not_acted_on


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def _load(root: Path, environ: dict[str, str] | None = None, **options: Any) -> Project:
    return load_project(ProjectOptions(working_dir=root, environ=environ or {}, **options))


def test_extends_same_file_recursive_and_other_file(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yaml": """\
                services:
                  base: {image: b, environment: {A: "1"}, volumes: [./x:/x]}
                  mid: {extends: base, environment: {B: "2"}}
                  top: {extends: {service: mid}, environment: {A: over}}
                  far: {extends: {file: lib/lib.yaml, service: lib}}
            """,
            "lib/lib.yaml": "services:\n  lib: {image: l, volumes: [./data:/data]}\n",
        },
    )
    project = _load(tmp_path)
    assert project.services["top"].environment == {"A": "over", "B": "2"}
    assert project.services["top"].image == "b"
    # paths of an extended file are relative to that file
    assert project.services["far"].volumes[0].source == str(tmp_path / "lib" / "data")


def test_extends_cycle(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": "services:\n  a: {image: x, extends: b}\n  b: {image: x, extends: a}\n"})
    with pytest.raises(ConfigError) as err:
        _load(tmp_path)
    assert str(err.value) == "compose.yaml: services.a.extends: extends cycle: a -> b -> a"


def test_include_with_env_file_and_conflict(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yaml": "include:\n  - path: sub/c.yaml\n    env_file: sub/e.env\nservices:\n  web: {image: w}\n",
            "sub/c.yaml": "services:\n  db: {image: 'pg:${TAG}', volumes: [./d:/d]}\n",
            "sub/e.env": "TAG=16\n",
        },
    )
    project = _load(tmp_path)
    assert project.services["db"].image == "pg:16"
    assert project.services["db"].volumes[0].source == str(tmp_path / "sub" / "d")
    (tmp_path / "compose.yaml").write_text("include: [sub/c.yaml]\nservices:\n  db: {image: other}\n")
    with pytest.raises(ConfigError, match=r"services\.db conflicts with imported resource"):
        _load(tmp_path, {"TAG": "1"})


def test_include_cycle(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yaml": "include: [b.yaml]\nservices:\n  a: {image: x}\n",
            "b.yaml": "include: [compose.yaml]\nservices:\n  b: {image: x}\n",
        },
    )
    with pytest.raises(ConfigError, match="include cycle detected"):
        _load(tmp_path)


def test_profiles(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {"compose.yaml": "services:\n  a: {image: x}\n  b: {image: x, profiles: [p]}\n  c: {image: x, profiles: [q]}\n"},
    )
    assert list(_load(tmp_path).services) == ["a"]
    assert list(_load(tmp_path, profiles=("p",)).services) == ["a", "b"]
    assert list(_load(tmp_path, {"COMPOSE_PROFILES": "q,p"}).services) == ["a", "b", "c"]
    assert list(_load(tmp_path, services=("c",)).services) == ["a", "c"]
    assert list(_load(tmp_path).disabled) == ["b", "c"]


def test_env_file_formats(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yaml": """\
                services:
                  web:
                    image: x
                    env_file:
                      - path: raw.env
                        format: raw
                      - path: missing.env
                        required: false
                      - plain.env
            """,
            "raw.env": "R=${NOT_EXPANDED} 'quotes' # kept\n",
            "plain.env": "P=\"multi\nline\"\nQ=${R:-d}\n",
        },
    )
    env = _load(tmp_path).services["web"].environment
    assert env == {"R": "${NOT_EXPANDED} 'quotes' # kept", "P": "multi\nline", "Q": "${NOT_EXPANDED} 'quotes' # kept"}


def test_env_files_option_replaces_dotenv(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yaml": "services:\n  web: {image: '${IMG}:${TAG}'}\n",
            ".env": "IMG=fromdotenv\nTAG=1\n",
            "a.env": "IMG=a\nTAG=a\n",
            "b.env": "TAG=b\n",
        },
    )
    assert _load(tmp_path).services["web"].image == "fromdotenv:1"
    assert _load(tmp_path, env_files=(Path("a.env"), Path("b.env"))).services["web"].image == "a:b"
    assert _load(tmp_path, {"TAG": "sh"}, env_files=(Path("a.env"),)).services["web"].image == "a:sh"


def test_no_interpolate_and_no_path_resolution(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": "services:\n  web: {image: '${IMG}', volumes: [./d:/d]}\n"})
    project = _load(tmp_path, interpolate=False, resolve_paths=False)
    assert project.services["web"].image == "${IMG}"
    assert project.services["web"].volumes[0].source == "./d"


def test_version_warning_and_alias_bomb(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": "version: '3'\nservices:\n  web: {image: x}\n"})
    assert any("`version` is obsolete" in w for w in _load(tmp_path).warnings)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i, name in enumerate("bcdefghij"):
        prev = "abcdefghij"[i]
        bomb += f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    (tmp_path / "compose.yaml").write_text(bomb.replace("a: &a", "x-a: &a") + "services:\n  web: {image: x}\n")
    with pytest.raises(ConfigError, match="document too large after expanding aliases"):
        _load(tmp_path)


def test_not_acted_on(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {"compose.yaml": "services:\n  web: {image: x, cap_add: [A], privileged: false, ports: ['80'], stdin_open: true,"
                         " userns_mode: host}\n"
                         "  db: {image: y, sysctls: {a: 1}, storage_opt: {size: 1G}}\n"},
    )
    assert not_acted_on(_load(tmp_path)) == ["services.db.storage_opt", "services.web.userns_mode"]
    assert "image" in ACTED_ON


def _config(tmp_path: Path, *args: str) -> Any:
    from composer.cli.main import _register, app

    _register()
    return CliRunner().invoke(app, ["--project-directory", str(tmp_path), "-f", str(tmp_path / "compose.yaml"), "config", *args])


def test_config_command_listings(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yaml": """\
                name: demo
                services:
                  web: {image: nginx, volumes: [data:/d], networks: [front], profiles: [p1]}
                  api: {build: .}
                  off: {image: x, profiles: [p2]}
                volumes: {data: {}, unused: {}}
                networks: {front: {}}
            """
        },
    )
    assert _config(tmp_path, "--services").output == "api\n"
    assert _config(tmp_path, "--profiles").output == "p1\np2\n"
    assert _config(tmp_path, "--profile", "p1").exit_code == 2  # a global option, not config's
    assert _config(tmp_path, "--images").output == "demo-api\n"
    assert _config(tmp_path, "--quiet").output == ""
    out = tmp_path / "out.json"
    assert _config(tmp_path, "--format", "json", "-o", str(out)).exit_code == 0
    assert json.loads(out.read_text())["name"] == "demo"
    hashes = _config(tmp_path, "--hash", "*").output.split()
    assert hashes[0] == "api" and len(hashes[1]) == 64
    assert _config(tmp_path, "web").exit_code == 0
    assert "image: nginx" in _config(tmp_path, "web").output


def test_config_no_interpolate_and_hash_errors(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yaml": """\
                name: demo
                services:
                  web: {image: "${IMG:?no}", environment: [A=$$B], mem_limit: 1.5g, profiles: [p]}
            """
        },
    )
    raw = _config(tmp_path, "--no-interpolate")
    assert raw.exit_code == 0
    assert "image: ${IMG:?no}" in raw.output and "- A=$$B" in raw.output and "mem_limit: 1.5g" in raw.output
    assert _config(tmp_path, "--no-interpolate", "--format", "json").output.startswith('{\n  "name": "demo"')
    refused = _config(tmp_path, "--hash", "web")
    assert refused.exit_code != 0


def test_config_environment_and_no_normalize(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "compose.yaml": """\
                name: demo
                services:
                  web: {image: nginx, links: [db], volumes: [data:/d]}
                  db: {image: postgres, build: {context: .}}
                volumes: {data: {external: {name: old}}}
            """,
            ".env": "FOO=bar\n",
        },
    )
    env = _config(tmp_path, "--environment")
    assert env.exit_code == 0
    assert "FOO=bar\n" in env.output and "COMPOSE_PROJECT_NAME=demo\n" in env.output
    lines = [line for line in env.output.splitlines() if "=" in line and not line.startswith("WARN")]
    assert lines == sorted(lines)
    plain = _config(tmp_path, "--no-normalize")
    assert plain.exit_code == 0
    for added in ("demo_default", "dockerfile", "depends_on", "networks:"):
        assert added not in plain.output
    assert "external.name is deprecated" in _config(tmp_path).output  # the runner mixes stderr in
    assert "name: demo" in _config(tmp_path, "--no-normalize", "--no-interpolate").output
