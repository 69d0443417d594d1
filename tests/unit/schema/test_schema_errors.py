from __future__ import annotations

from typing import Any

import pytest

from composer.errors import ConfigError, DependencyCycleError, UnsupportedError

Load = Any


def _error(load: Load, text: str, kind: type[Exception] = ConfigError) -> str:
    with pytest.raises(kind) as err:
        load(text)
    return str(err.value)


def _svc(body: str) -> str:
    return "services:\n  web:\n    image: a\n" + "".join(f"    {ln}\n" for ln in body.splitlines())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_svc("build: ."), "compose.yaml: services.web.build: not supported yet by composer"),
        (_svc("platform: linux/amd64"), "compose.yaml: services.web.platform: not supported yet by composer"),
        ("services: {}\nsecrets: {}\n", "compose.yaml: secrets: not supported yet by composer"),
        ("services: {}\nconfigs: {}\n", "compose.yaml: configs: not supported yet by composer"),
        ("include: [a.yaml]\n", "compose.yaml: include: not supported yet by composer"),
        ("models: {}\n", "compose.yaml: models: not supported yet by composer"),
        (
            _svc("healthcheck: {test: x}\nnetworks: {default: {ipv6_address: '::1'}}"),
            "compose.yaml: services.web.networks.default.ipv6_address: not supported yet by composer",
        ),
        (
            _svc("ports: ['8000-8010:8000-8010']"),
            'compose.yaml: services.web.ports[0]: port ranges ("8000-8010:8000-8010") are not supported yet by composer',
        ),
        (
            _svc("volumes: ['/a:/b:z']"),
            'compose.yaml: services.web.volumes[0]: volume option "z" is not supported yet by composer',
        ),
        (
            "services: {}\nnetworks:\n  n: {driver_opts: {}}\n",
            "compose.yaml: networks.n.driver_opts: not supported yet by composer",
        ),
    ],
)
def test_unsupported(load: Load, text: str, message: str) -> None:
    assert _error(load, text, UnsupportedError) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_svc("imagee: x"), "compose.yaml: services.web Additional property imagee is not allowed"),
        ("servics: {}\n", "compose.yaml: (root) Additional property servics is not allowed"),
        (
            _svc("ports: [{target: 80, publish: 8}]"),
            "compose.yaml: services.web.ports[0] Additional property publish is not allowed",
        ),
        (
            _svc("healthcheck: {tset: x}"),
            "compose.yaml: services.web.healthcheck Additional property tset is not allowed",
        ),
    ],
)
def test_typos(load: Load, text: str, message: str) -> None:
    err = _error(load, text)
    assert err == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "services:\n  api:\n    image: a\n    volumes: ['data:/d']\n",
            'service "api" refers to undefined volume data: invalid compose project',
        ),
        (
            _svc("depends_on: [db]"),
            'service "web" depends on undefined service "db": invalid compose project',
        ),
        (
            _svc("networks: [front]"),
            'service "web" refers to undefined network front: invalid compose project',
        ),
        ("services: {}\n", "no service selected"),
        (_svc("restart: sometimes"), 'compose.yaml: services.web.restart: invalid restart policy "sometimes" (use no, always, on-failure[:N] or unless-stopped)'),
        (_svc("ports: ['80:90:100:1']"), 'compose.yaml: services.web.ports[0]: invalid port "80:90:100:1"'),
        (_svc("ports: ['99999']"), "compose.yaml: services.web.ports[0]: port 99999 out of range 1-65535"),
        (_svc("volumes: ['a:rel']"), 'compose.yaml: services.web.volumes[0]: mount target "rel" must be an absolute path'),
        (_svc("stop_grace_period: 10x"), 'compose.yaml: services.web.stop_grace_period: invalid duration "10x"'),
        (_svc("command: \"echo 'x\""), "compose.yaml: services.web.command: No closing quotation"),
        (_svc("depends_on: {db: {}}"), "compose.yaml: services.web.depends_on.db: condition is required"),
        (_svc("tty: maybe"), "compose.yaml: services.web.tty must be a boolean"),
        ("services:\n  web:\n    image: [a]\n", "compose.yaml: services.web.image must be a string"),
        ("services: [web]\n", "compose.yaml: services must be a mapping"),
    ],
)
def test_config_errors(load: Load, text: str, message: str) -> None:
    assert _error(load, text) == message


def test_cycle_is_refused_at_load(load: Load) -> None:
    text = (
        "services:\n"
        "  c:\n    image: a\n    depends_on: [a]\n"
        "  a:\n    image: a\n    depends_on: [b]\n"
        "  b:\n    image: a\n    depends_on: [c]\n"
    )
    message = _error(load, text, DependencyCycleError)
    assert message == "dependency cycle detected: a -> b -> c -> a"
