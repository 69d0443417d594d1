from __future__ import annotations

import subprocess
import sys

from composer.schema.hash import service_config_hash
from composer.schema.model import DependsOn, Deploy, EnvFile, Service


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


# Docker Compose v2.40.3's `config --hash` of the same services (checked with the binary)
DOCKER_HASHES = [
    (Service(name="w", image="x"), False, "d5457d0b2799957b606d2ac4ed52d85a1e75799490e56229948300b9a59e8953"),
    (
        Service(name="w", image="x", env_file=[EnvFile(path="/tmp/h3/f.env")], environment={"A": "1"},
                own_environment={}),
        True,
        "496f1be84e6b3b8cbef57496b6681150acf9657643987945a1d295ba7648da7e",
    ),
]


def test_hash_is_dockers() -> None:
    for service, env_files, expected in DOCKER_HASHES:
        assert service_config_hash(service, env_files=env_files) == expected


def test_hash_ignores_scale_and_replicas() -> None:
    base = Service(name="w", image="x", deploy=Deploy())
    scaled = base.model_copy(update={"scale": 3, "deploy": Deploy(replicas=3)})
    assert service_config_hash(scaled) == service_config_hash(base)


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
