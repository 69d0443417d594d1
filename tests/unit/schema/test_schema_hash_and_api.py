from __future__ import annotations

import subprocess
import sys

from composer.schema.hash import service_config_hash
from composer.schema.model import DependsOn, Service


def test_hash_is_stable_and_sensitive() -> None:
    base = Service(name="web", image="a", environment={"A": "1"})
    same = Service(name="web", image="a", environment={"A": "1"})
    assert service_config_hash(base) == service_config_hash(same)
    assert len(service_config_hash(base)) == 64
    changed = base.model_copy(update={"environment": {"A": "2"}})
    assert service_config_hash(changed) != service_config_hash(base)


def test_hash_ignores_dependencies_and_profiles() -> None:
    base = Service(name="web", image="a")
    other = base.model_copy(
        update={"depends_on": {"db": DependsOn()}, "profiles": ["x"], "pull_policy": "always"}
    )
    assert service_config_hash(other) == service_config_hash(base)


def test_importing_the_package_is_cheap() -> None:
    code = (
        "import sys, composer.schema as s; "
        "assert s.ProjectOptions; "
        "print('pydantic' in sys.modules, 'yaml' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_lazy_exports_resolve() -> None:
    import composer.schema as schema

    for name in schema.__all__:
        assert getattr(schema, name) is not None
