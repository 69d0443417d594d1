"""The lite project (composer/schema/lite.py): a cache hit's records read as the pydantic models do."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from composer.errors import ComposerError
from composer.schema import cache as cache_mod
from composer.schema.cache import json_dump, load_project_cached
from composer.schema.hash import service_config_hash
from composer.schema.lite import CONFIG_HASH, Record, from_model, real
from composer.schema.model import Project
from tests.schema.cases import CASES
from tests.schema.cases_ext import RAW_ONLY
from tests.schema.conftest import materialize
from tests.schema.harness import _options

REPO = Path(__file__).resolve().parents[3]
SAMPLES = sorted(p.parent.name for p in (REPO / "samples").glob("*/compose.yaml"))
ALL_CASES = {**CASES, **RAW_ONLY}


@pytest.fixture(autouse=True)
def _cache_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cache_mod.DISABLE_ENV, raising=False)


def _hit(options: Any, cache: Path) -> tuple[Project, Project]:
    """(the loaded models, the records of the cache hit that follows)."""
    try:
        first = load_project_cached(options, cache)
    except ComposerError as exc:
        pytest.skip(f"does not load: {exc}")
    second = load_project_cached(options, cache)
    assert isinstance(first, Project) and not isinstance(first, Record)
    assert isinstance(second, Record), "the second load is not a cache hit"
    return first, second


def _unhashable(value: Any) -> str | int:
    try:
        return hash(value)
    except TypeError as exc:
        return str(exc)


def check_same(models: Project, records: Project) -> None:
    assert records.model_dump(mode="json") == models.model_dump(mode="json")
    assert records.model_dump() == models.model_dump()
    assert json_dump(records) == models.model_dump(mode="json")
    assert repr(records) == repr(models)
    assert real(records) == models
    assert records == pickle.loads(pickle.dumps(records))
    assert records.name == models.name and records.working_dir == models.working_dir
    assert records.config_files == models.config_files and records.warnings == models.warnings
    exclude = {"depends_on", "profiles"}
    for name, model in {**models.services, **models.disabled}.items():
        record = records.services.get(name) or records.disabled[name]
        assert type(record).__name__ == "Service"
        assert service_config_hash(record) == service_config_hash(model)
        assert service_config_hash(record, env_files=True) == service_config_hash(model, env_files=True)
        assert json_dump(record, exclude) == model.model_dump(mode="json", exclude=exclude)
        assert set(record.model_fields_set) == model.model_fields_set
        assert record == record.model_copy() == from_model(model)
        include = {"image", "environment", "own_environment", "volumes"}
        assert record.model_dump(mode="json", include=include) == model.model_dump(mode="json", include=include)
        for hook_record, hook_model in zip(record.post_start + record.pre_stop, model.post_start + model.pre_stop,
                                           strict=True):
            fields = {"command", "user", "environment"}
            assert hook_record.model_dump(mode="json", include=fields) == hook_model.model_dump(mode="json",
                                                                                                include=fields)
        nested = {"deploy": {"resources"}, "labels": True}  # deeper than a name: pydantic's (via ``real``)
        assert record.model_dump(exclude=nested) == model.model_dump(exclude=nested)
        assert _unhashable(record) == _unhashable(model)
        for sub_record, sub_model in zip(record.volumes, model.volumes, strict=True):
            assert sub_record == from_model(sub_model) and sub_record != sub_model
            assert sub_record.model_dump() == sub_model.model_dump()
        # a changed copy: no precomputed hash, the model's
        update = {"image": "changed:1", "labels": {**model.labels, "x": "y"}}
        changed_record, changed_model = record.model_copy(update=update), model.model_copy(update=update)
        assert changed_record != record and record.image == model.image
        assert CONFIG_HASH not in changed_record.__dict__
        assert changed_record.model_dump(mode="json") == changed_model.model_dump(mode="json")
        assert set(changed_record.model_fields_set) == changed_model.model_fields_set
        assert service_config_hash(changed_record) == service_config_hash(changed_model)
    for name, record in records.services.items():
        assert record.__dict__.get(CONFIG_HASH) == service_config_hash(models.services[name])


@pytest.mark.parametrize("name", sorted(ALL_CASES))
def test_records_of_every_case_read_as_the_models(name: str, tmp_path: Path) -> None:
    case = ALL_CASES[name]
    directory = materialize(tmp_path, name, case)
    models, records = _hit(_options(directory, case.env, case.args), tmp_path / "cache")
    check_same(models, records)


@pytest.mark.parametrize("name", SAMPLES)
def test_records_of_the_samples_read_as_the_models(name: str, tmp_path: Path) -> None:
    from composer.schema import ProjectOptions

    options = ProjectOptions(working_dir=REPO / "samples" / name, environ={})
    models, records = _hit(options, tmp_path / "cache")
    check_same(models, records)


def test_records_are_frozen_and_copy_as_models(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent("""\
        services:
          app:
            image: busybox
            ports: ["8080:80"]
            deploy: {restart_policy: {condition: on-failure}}
            depends_on: [db]
          db:
            image: busybox
        """))
    from composer.schema import ProjectOptions

    models, records = _hit(ProjectOptions(working_dir=tmp_path, environ={}), tmp_path / "cache")
    app = records.services["app"]
    with pytest.raises(AttributeError):
        app.image = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del app.image  # type: ignore[misc]
    assert app.deploy is not None and app.deploy.restart_policy is not None
    deploy = app.deploy.model_copy(update={"restart_policy": None})
    assert deploy.restart_policy is None and app.deploy.restart_policy.condition == "on-failure"
    assert app.model_copy(update={"deploy": deploy}).deploy == deploy
    assert records.services["db"] != app and app != models.services["app"]  # records equal records only
    assert app.depends_on["db"].condition == "service_started"
    assert app.ports[0].model_dump() == models.services["app"].ports[0].model_dump()
    assert app.model_dump(exclude={"ports", "deploy"}) == models.services["app"].model_dump(exclude={"ports", "deploy"})
    deep = app.model_copy(deep=True)
    assert deep == app and deep.ports is not app.ports
    # a record updated with a model (``run -p``): dumps, hashes and turns real
    from composer.schema.model import ServicePort

    port = ServicePort(target=81, published="8081")
    mixed_record = app.model_copy(update={"ports": [port]})
    mixed_model = models.services["app"].model_copy(update={"ports": [port]})
    assert mixed_record.model_dump(mode="json") == mixed_model.model_dump(mode="json")
    assert json_dump(mixed_record) == mixed_model.model_dump(mode="json")
    assert service_config_hash(mixed_record) == service_config_hash(mixed_model)
    assert real(mixed_record) == mixed_model


PROBE = """
import sys
from pathlib import Path
from composer.cli.context import GlobalOptions

project = GlobalOptions(files=[Path(sys.argv[1])]).load_project()
from composer.engine.up import config_hashes, service_config
from composer.planner.graph import start_order
names = start_order(project)
hashes = config_hashes(project, names)
configs = [service_config(project.services[n]) for n in names]
print(type(project).__module__, "pydantic" in sys.modules, len(hashes))
"""


def test_a_hit_through_the_cli_imports_no_pydantic(tmp_path: Path) -> None:
    compose = tmp_path / "proj" / "compose.yaml"
    compose.parent.mkdir()
    compose.write_text("services:\n  web:\n    image: busybox\n    depends_on: [db]\n  db:\n    image: busybox\n")
    env = {k: v for k, v in os.environ.items() if k != cache_mod.DISABLE_ENV}
    env["COMPOSER_ROOT"] = str(tmp_path / "root")
    runs = [
        subprocess.run([sys.executable, "-c", PROBE, str(compose)], capture_output=True, text=True, env=env,
                       cwd=compose.parent, timeout=60, check=False)
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    assert runs[0].stdout.split() == ["composer.schema.model", "True", "2"]  # the miss: loaded
    assert runs[1].stdout.split() == ["composer.schema.lite", "False", "2"]  # the hit: no pydantic
