"""Differential tests: ``config`` output equals Docker Compose's, file by file.

For every case of ``cases.py``: composer's ``config --format json`` equals the
stored expected output (``expected/<case>.json``, produced by Docker Compose
v2.40.3 with the case directory written as ``$CASE``), validates against the
official ``compose-spec.json``, and — where the reference binary is present —
equals what the binary prints now, in JSON and YAML. Invalid files must be
refused by both. ``COMPOSER_REGEN=1`` rewrites the expected files from the
reference.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from composer.errors import ComposerError
from tests.schema.cases import CASES, INVALID, STRICTER
from tests.schema.cases_ext import RAW_ONLY
from tests.schema.conftest import materialize
from tests.schema.harness import (
    composer_config,
    composer_error,
    composer_listing,
    composer_raw,
    composer_unnormalized,
    composer_variables,
    reference_config,
)

EXPECTED = Path(__file__).with_name("expected")
SPEC = Path("/work/shared/spec/compose-spec.json")
_HERE = Path(__file__).resolve().parents[2]
if not SPEC.is_file():  # the repo's copy when the shared tree is absent
    SPEC = _HERE / "docs" / "compose-spec.json"


# Docker's own output breaks the spec here; composer prints what Docker prints.
NOT_SPEC_VALID = {
    "misc-objects": "blkio devices print as Path/Rate (Go struct without json tags)",
    "models": "a service's short-form models print as {name: null}",
    "stack-lowlevel": "blkio devices print as Path/Rate",
    "stack-models": "a service's short-form models print as {name: null}",
    "variables": "a service's short-form models print as {name: null}",
}


def _placeholder(text: str, directory: Path) -> str:
    return text.replace(str(directory), "$CASE").replace(str(directory.parent), "$ROOT")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC.is_file():
        pytest.skip(f"compose-spec.json not found at {SPEC}")
    loaded: dict[str, Any] = json.loads(SPEC.read_text())
    return loaded


@pytest.mark.parametrize("name", sorted(CASES))
def test_expected_canonical_form(name: str, tmp_path: Path, spec: dict[str, Any]) -> None:
    case = CASES[name]
    directory = materialize(tmp_path, name, case)
    mine = composer_config(directory, case.env, case.args, "json")
    if name not in NOT_SPEC_VALID:
        jsonschema.Draft7Validator(spec).validate(json.loads(mine))
    expected = EXPECTED / f"{name}.json"
    if os.environ.get("COMPOSER_REGEN"):
        pytest.skip("regenerating expected files (see test_reference_json)")
    assert expected.is_file(), f"missing {expected}: run with COMPOSER_REGEN=1 and the reference"
    assert _placeholder(mine, directory) == expected.read_text()


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_reference(name: str, fmt: str, tmp_path: Path, reference: Path) -> None:
    case = CASES[name]
    directory = materialize(tmp_path, name, case)
    ref = reference_config(reference, directory, case.env, case.args, fmt)
    assert ref.returncode == 0, ref.stderr
    if fmt == "json" and os.environ.get("COMPOSER_REGEN"):
        EXPECTED.mkdir(exist_ok=True)
        (EXPECTED / f"{name}.json").write_text(_placeholder(ref.stdout, directory))
    mine = composer_config(directory, case.env, case.args, fmt)
    assert mine == ref.stdout


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_refused_by_both(name: str, tmp_path: Path, reference: Path) -> None:
    directory = materialize(tmp_path, name, INVALID[name])
    env = {"COMPOSE_PROJECT_NAME": "x"} if name != "bad-project-name" else {}
    ref = reference_config(reference, directory, env, (), "json")
    assert ref.returncode == 1, f"the reference accepted it:\n{ref.stdout}"
    message = composer_error(directory, env)
    assert message, "composer accepted a file Docker Compose refuses"
    assert "\n" not in message


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_refused(name: str, tmp_path: Path) -> None:
    directory = materialize(tmp_path, name, INVALID[name])
    env = {"COMPOSE_PROJECT_NAME": "x"} if name != "bad-project-name" else {}
    message = composer_error(directory, env)
    assert message, "composer accepted an invalid file"


@pytest.mark.parametrize("name", sorted(STRICTER))
def test_stricter_than_docker(name: str, tmp_path: Path, reference: Path) -> None:
    """Documented differences: Docker's ``config`` accepts these, composer refuses them."""
    directory = materialize(tmp_path, name, STRICTER[name])
    env = {"COMPOSE_PROJECT_NAME": "x"}
    assert reference_config(reference, directory, env, (), "json").returncode == 0
    assert composer_error(directory, env)


LISTING_CASES = ["depends-on", "networks", "volumes-short", "profiles", "include", "misc-objects", "extends"]
LISTINGS = ["--services", "--volumes", "--networks", "--images", "--profiles"]


@pytest.mark.parametrize("name", LISTING_CASES)
def test_listings(name: str, tmp_path: Path, reference: Path) -> None:
    """``--services`` etc. list what Docker lists; Docker's order is Go map order (random)."""
    case = CASES[name]
    directory = materialize(tmp_path, name, case)
    for flag in LISTINGS:
        ref = reference_config(reference, directory, case.env, case.args, "json", flag)
        mine = composer_listing(directory, case.env, case.args, flag)
        assert sorted(mine.splitlines()) == sorted(ref.stdout.splitlines()), flag


@pytest.mark.parametrize("name", sorted(CASES))
def test_hash(name: str, tmp_path: Path, reference: Path) -> None:
    """``config --hash "*"`` prints Docker's ServiceHash of every service."""
    case = CASES[name]
    directory = materialize(tmp_path, name, case)
    ref = reference_config(reference, directory, case.env, case.args, "json", "--hash", "*")
    assert ref.returncode == 0, ref.stderr
    assert composer_listing(directory, case.env, case.args, "--hash") == ref.stdout


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_no_interpolate(name: str, fmt: str, tmp_path: Path, reference: Path) -> None:
    """``config --no-interpolate`` prints Docker's raw model (or fails where Docker fails)."""
    case = CASES[name]
    directory = materialize(tmp_path, name, case)
    ref = reference_config(reference, directory, case.env, case.args, fmt, "--no-interpolate")
    if ref.returncode:
        with pytest.raises(ComposerError):
            composer_raw(directory, case.env, case.args, fmt)
        return
    assert composer_raw(directory, case.env, case.args, fmt) == ref.stdout


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_no_normalize(name: str, fmt: str, tmp_path: Path, reference: Path) -> None:
    """``config --no-normalize``: no default network, resource names, ``dockerfile`` or implicit dependencies."""
    case = CASES[name]
    directory = materialize(tmp_path, name, case)
    ref = reference_config(reference, directory, case.env, case.args, fmt, "--no-normalize")
    if ref.returncode:  # a service naming ``default`` without declaring it
        with pytest.raises(ComposerError):
            composer_unnormalized(directory, case.env, case.args, fmt)
        return
    assert composer_unnormalized(directory, case.env, case.args, fmt) == ref.stdout
    ref = reference_config(reference, directory, case.env, case.args, fmt, "--no-normalize", "--no-interpolate")
    if ref.returncode:  # JSON of +Inf
        with pytest.raises(ComposerError):
            composer_raw(directory, case.env, case.args, fmt, normalize=False)
        return
    assert composer_raw(directory, case.env, case.args, fmt, normalize=False) == ref.stdout


@pytest.mark.parametrize("name", sorted(RAW_ONLY))
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_raw_only(name: str, fmt: str, tmp_path: Path, reference: Path) -> None:
    """Values Docker checks only when decoding: refused by ``config``, printed by ``--no-interpolate``."""
    case = RAW_ONLY[name]
    directory = materialize(tmp_path, name, case)
    assert reference_config(reference, directory, case.env, case.args, fmt).returncode == 1
    with pytest.raises(ComposerError):
        composer_config(directory, case.env, case.args, fmt)
    ref = reference_config(reference, directory, case.env, case.args, fmt, "--no-interpolate")
    assert ref.returncode == 0, ref.stderr
    assert composer_raw(directory, case.env, case.args, fmt) == ref.stdout


@pytest.mark.parametrize("name", ["dotenv", "env-file-option", "project-name", "compose-env-files", "stack-traefik"])
def test_environment(name: str, tmp_path: Path, reference: Path) -> None:
    """``config --environment``: the interpolation environment as Docker prints it."""
    from composer import values
    from composer.cli.config import environment_text
    from composer.schema import load_project
    from tests.schema.harness import _options, reference_environ

    case = CASES[name]
    directory = materialize(tmp_path, name, case)
    ref = reference_config(reference, directory, case.env, case.args, None, "--environment")
    assert ref.returncode == 0, ref.stderr
    options = values.replace(_options(directory, case.env, case.args), environ=reference_environ(directory, case.env))
    assert environment_text(load_project(options), directory) == ref.stdout


@pytest.mark.parametrize("name", sorted(CASES))
def test_deprecation_warnings(name: str, tmp_path: Path, reference: Path) -> None:
    """Docker's ``external.name is deprecated`` warnings (it repeats them; composer prints each once)."""
    import re

    from composer.schema import load_project
    from tests.schema.harness import _options

    case = CASES[name]
    directory = materialize(tmp_path, name, case)
    ref = reference_config(reference, directory, case.env, case.args, "json")
    theirs = {m for m in re.findall(r'msg="([^"]*)"', ref.stderr) if "deprecated" in m}
    mine = {w for w in load_project(_options(directory, case.env, case.args)).warnings if "deprecated" in w}
    assert mine == theirs


VARIABLE_CASES = ["stack-traefik", "stack-gitlab", "raw-variables", "variables"]


@pytest.mark.parametrize("name", VARIABLE_CASES)
def test_variables(name: str, tmp_path: Path, reference: Path) -> None:
    """``config --variables``: Docker's table (its row order is random), JSON and YAML."""
    case = CASES[name]
    directory = materialize(tmp_path, name, case)
    ref = reference_config(reference, directory, case.env, case.args, "json", "--variables")
    assert ref.returncode == 0, ref.stderr
    assert json.loads(composer_variables(directory, case.env, case.args, "json")) == json.loads(ref.stdout)
    table = reference_config(reference, directory, case.env, case.args, None, "--variables").stdout.splitlines()
    mine = composer_variables(directory, case.env, case.args, None).splitlines()
    assert mine[0] == table[0] and sorted(mine[1:]) == sorted(table[1:])
    ref = reference_config(reference, directory, case.env, case.args, "yaml", "--variables")
    assert composer_variables(directory, case.env, case.args, "yaml") == ref.stdout


@pytest.mark.parametrize("name", ["models", "stack-models", "ext-deep"])
def test_models_listing(name: str, tmp_path: Path, reference: Path) -> None:
    case = CASES[name]
    directory = materialize(tmp_path, name, case)
    ref = reference_config(reference, directory, case.env, case.args, "json", "--models")
    assert composer_listing(directory, case.env, case.args, "--models").splitlines() == sorted(ref.stdout.splitlines())


@pytest.mark.parametrize("name", ["stack-include-extends", "include", "extends", "build-merge", "volumes-short-options"])
def test_no_path_resolution(name: str, tmp_path: Path, reference: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--no-path-resolution``: paths as written, those of other files rebased onto the project directory."""
    from composer import values
    from composer.schema import load_project
    from composer.schema.render import render
    from tests.schema.harness import _options

    case = CASES[name]
    directory = materialize(tmp_path, name, case)
    ref = reference_config(reference, directory, case.env, case.args, "yaml", "--no-path-resolution")
    assert ref.returncode == 0, ref.stderr
    monkeypatch.chdir(directory)  # env files stay relative: read from the working directory, as Docker
    options = values.replace(_options(directory, case.env, case.args), resolve_paths=False)
    assert render(load_project(options), "yaml") == ref.stdout
