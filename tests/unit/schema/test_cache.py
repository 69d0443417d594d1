"""The project cache (composer/schema/cache.py): hits, every kind of miss, safety."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from composer.schema import ProjectOptions, load_project
from composer.schema import cache as cache_mod
from composer.schema.cache import json_dump, load_project_cached, prune
from composer.schema.lite import Record, real
from composer.schema.model import Project
from composer.schema.render import render

COMPOSE = """\
services:
  app:
    image: busybox:1
    environment:
      FROM_DOTENV: ${DOTENV_VALUE:-unset}
      FROM_SHELL: ${SHELL_VALUE:-unset}
    env_file:
      - app.env
      - path: optional.env
        required: false
  tool:
    image: busybox:latest
    profiles: [tools]
"""

@dataclasses.dataclass
class Setup:
    project: Path
    cache: Path
    loads: list[ProjectOptions]

    def write(self, name: str, text: str) -> Path:
        path = self.project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def options(self, environ: dict[str, str] | None = None, **kw: object) -> ProjectOptions:
        return ProjectOptions(working_dir=self.project, environ=dict(environ or {}), **kw)  # type: ignore[arg-type]

    def load(self, environ: dict[str, str] | None = None, **kw: object) -> tuple[Project, bool]:
        """(the project, whether it came from the cache)."""
        before = len(self.loads)
        project = load_project_cached(self.options(environ, **kw), self.cache)
        return project, len(self.loads) == before


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    monkeypatch.delenv(cache_mod.DISABLE_ENV, raising=False)
    s = Setup(tmp_path / "proj", tmp_path / "root" / "cache" / "projects", [])
    s.project.mkdir()
    s.write("compose.yaml", COMPOSE)
    s.write(".env", "DOTENV_VALUE=one\n")
    s.write("app.env", "A=1\n")
    real = cache_mod._load

    def counting(options: ProjectOptions) -> Project:
        s.loads.append(options)
        return real(options)

    monkeypatch.setattr(cache_mod, "_load", counting)
    yield s


def rendered(project: Project) -> str:
    return render(real(project), "json")  # a hit's records: render reads the models' field metadata


def test_hit_after_load_equals_fresh_load(setup: Setup) -> None:
    first, hit = setup.load()
    assert not hit
    second, hit = setup.load()
    assert hit
    fresh = load_project(setup.options())
    assert isinstance(first, Project) and isinstance(second, Record)
    assert rendered(second) == rendered(fresh) == rendered(first)
    assert real(second) == fresh
    assert second.model_dump(mode="json") == fresh.model_dump(mode="json")
    assert second.services["app"].environment["A"] == "1"
    assert second.services["app"].environment["FROM_DOTENV"] == "one"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("compose.yaml", COMPOSE.replace("busybox:1", "busybox:2")),  # same size: the racy-file digest
        (".env", "DOTENV_VALUE=two\n"),
        ("app.env", "A=2\n"),
        ("optional.env", "B=1\n"),  # was absent
        ("compose.override.yaml", "services:\n  app:\n    image: busybox:3\n"),  # was absent
    ],
)
def test_editing_or_creating_a_file_is_a_miss(setup: Setup, name: str, text: str) -> None:
    setup.load()
    setup.write(name, text)
    project, hit = setup.load()
    assert not hit
    assert rendered(project) == rendered(load_project(setup.options()))
    _, hit = setup.load()
    assert hit


def test_extends_and_include_targets_are_watched(setup: Setup) -> None:
    setup.write("compose.yaml", """\
        include:
          - inc/compose.yaml
        services:
          app:
            extends: {file: base.yaml, service: base}
        """)
    setup.write("base.yaml", "services:\n  base:\n    image: busybox:1\n")
    setup.write("inc/compose.yaml", "services:\n  other:\n    image: busybox:1\n")
    assert not setup.load()[1]
    assert setup.load()[1]
    setup.write("base.yaml", "services:\n  base:\n    image: busybox:2\n")
    project, hit = setup.load()
    assert not hit and project.services["app"].image == "busybox:2"
    setup.write("inc/compose.yaml", "services:\n  other:\n    image: busybox:2\n")
    project, hit = setup.load()
    assert not hit and project.services["other"].image == "busybox:2"
    setup.write("inc/.env", "X=1\n")  # the include's default .env, absent until now
    assert not setup.load()[1]


def test_environment_profiles_and_options_are_in_the_key(setup: Setup) -> None:
    setup.load()
    project, hit = setup.load({"SHELL_VALUE": "shell"})
    assert not hit and project.services["app"].environment["FROM_SHELL"] == "shell"
    project, hit = setup.load(profiles=("tools",))
    assert not hit and "tool" in project.services
    assert not setup.load(services=("tool",))[1]
    assert not setup.load(project_name="other")[1]
    assert setup.load()[1]
    assert setup.load({"SHELL_VALUE": "shell"})[1]


def test_warnings_are_kept_on_a_hit(setup: Setup) -> None:
    setup.write("compose.yaml", 'version: "3"\nservices:\n  app:\n    image: busybox:${UNSET_VAR}\n')
    first, _ = setup.load()
    second, hit = setup.load()
    assert hit and second.warnings == first.warnings
    assert any("`version` is obsolete" in w for w in second.warnings)
    assert any("UNSET_VAR" in w for w in second.warnings)


def test_corrupt_entry_is_a_miss_and_is_replaced(setup: Setup) -> None:
    setup.load()
    (entry,) = setup.cache.iterdir()
    entry.write_bytes(entry.read_bytes()[:40] + b"garbage")
    project, hit = setup.load()
    assert not hit and rendered(project) == rendered(load_project(setup.options()))
    assert setup.load()[1]
    entry.write_bytes(b"not a pickle")
    assert not setup.load()[1]


def test_errors_are_not_cached(setup: Setup) -> None:
    setup.write("compose.yaml", "services: [")
    for _ in range(2):
        with pytest.raises(Exception, match=r"compose\.yaml"):
            setup.load()
    assert not setup.cache.exists() or not any(setup.cache.iterdir())


def test_disabled_by_environment(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache_mod.DISABLE_ENV, "1")
    setup.load()
    assert not setup.load()[1]
    assert not setup.cache.exists()


def test_writable_by_others_is_not_trusted(setup: Setup) -> None:
    setup.load()
    setup.cache.chmod(0o777)
    assert not setup.load()[1]
    setup.cache.chmod(0o700)
    assert setup.load()[1]


def test_unwritable_cache_does_not_fail(setup: Setup, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    setup.cache = tmp_path / "file" / "projects"
    assert setup.load()[0].services["app"].image == "busybox:1"


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    for i in range(6):
        (tmp_path / f"e{i}").write_text("")
        os.utime(tmp_path / f"e{i}", (1000 + i, 1000 + i))
    (tmp_path / ".old.tmp").write_text("")
    os.utime(tmp_path / ".old.tmp", (1000, 1000))
    prune(tmp_path, keep=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e2", "e3", "e4", "e5"]


def test_json_dump_matches_model_dump(setup: Setup) -> None:
    project, _ = setup.load(profiles=("tools",))
    cached, hit = setup.load(profiles=("tools",))
    assert hit
    exclude = {"depends_on", "profiles"}
    for name, service in project.services.items():
        assert json_dump(service, exclude) == service.model_dump(mode="json", exclude=exclude)
        assert json_dump(cached.services[name], exclude) == service.model_dump(mode="json", exclude=exclude)
    assert json_dump(project) == json_dump(cached) == project.model_dump(mode="json")


def test_lite_false_gives_the_models(setup: Setup) -> None:
    first, _ = setup.load()
    project = load_project_cached(setup.options(), setup.cache, lite=False)
    assert len(setup.loads) == 1  # a hit
    assert isinstance(project, Project) and not isinstance(project, Record)
    assert project == first
    assert rendered(project) == rendered(first)


def test_a_hit_imports_no_pydantic_and_skips_the_loader(setup: Setup) -> None:
    """In a new process: unpickling and reading the project import neither pydantic nor the loader.

    With ``lite=False`` the models are built without validation: no pydantic schema.
    """
    first, _ = setup.load()
    from composer.schema.hash import service_config_hash

    expected = service_config_hash(first.services["app"])
    probe = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from composer.schema.cache import json_dump, load_project_cached
        from composer.schema.options import ProjectOptions
        from composer.schema.hash import service_config_hash
        from composer.planner.graph import start_order
        options = ProjectOptions(working_dir=Path({str(setup.project)!r}), environ={{}})
        p = load_project_cached(options, Path({str(setup.cache)!r}))
        assert service_config_hash(p.services["app"]) == {expected!r}
        json_dump(p.services["app"])
        start_order(p)
        for name in ("pydantic", "composer.schema.model", "composer.schema.loader", "yaml"):
            assert name not in sys.modules, name
        from composer.schema import model
        from pydantic._internal._mock_val_ser import MockValSer
        m = load_project_cached(options, Path({str(setup.cache)!r}), lite=False)
        assert isinstance(m, model.Project) and isinstance(m.services["app"], model.Service)
        for cls in (model.Project, model.Service):
            assert isinstance(cls.__dict__.get("__pydantic_validator__"), MockValSer), cls
            assert isinstance(cls.__dict__.get("__pydantic_serializer__"), MockValSer), cls
        print("ok", p.services["app"].image)
    """)
    env = {k: v for k, v in os.environ.items() if k != cache_mod.DISABLE_ENV}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env,
                         cwd=os.getcwd(), check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok busybox:1"


def test_racy_file_edited_within_one_timestamp_tick(setup: Setup) -> None:
    """Same size, same inode, same mtime (a write in the same tick): the digest of a recent file tells."""
    path = setup.project / "compose.yaml"
    setup.load()
    st = path.stat()
    path.write_text(COMPOSE.replace("busybox:1", "busybox:2"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    project, hit = setup.load()
    assert not hit and project.services["app"].image == "busybox:2"
