from __future__ import annotations

from typing import Any

import pytest

from composer.errors import ConfigError, DependencyCycleError

Load = Any


def _error(load: Load, text: str, kind: type[Exception] = ConfigError) -> str:
    with pytest.raises(kind) as err:
        load(text)
    return str(err.value)


def _svc(body: str) -> str:
    return "services:\n  web:\n    image: a\n" + "".join(f"    {ln}\n" for ln in body.splitlines())


@pytest.mark.parametrize(
    "text",
    [
        _svc("build: ."),
        _svc("platform: linux/amd64"),
        "services:\n  web: {image: a}\nsecrets: {}\n",
        "services:\n  web: {image: a}\nconfigs: {}\n",
        "services:\n  web: {image: a}\nmodels: {}\n",
        _svc("healthcheck: {test: x}\nnetworks: {default: {ipv6_address: '::1'}}"),
        _svc("ports: ['8000-8010:8000-8010']"),
        _svc("volumes: ['/a:/b:z']"),
        "services:\n  web: {image: a}\nnetworks:\n  n: {driver_opts: {}}\n",
    ],
)
def test_every_spec_key_loads(load: Load, text: str) -> None:
    """What the first cut refused as unsupported now parses (issue #3)."""
    assert load(text).services["web"].image == "a"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_svc("imagee: x"), 'compose.yaml:4:5: services.web Additional property imagee is not allowed'),
        ("servics: {}\n", 'compose.yaml:1:1: (root) Additional property servics is not allowed'),
        (
            _svc("ports: [{target: 80, publish: 8}]"),
            "compose.yaml:4:26: services.web.ports[0] Additional property publish is not allowed",
        ),
        (
            _svc("healthcheck: {tset: x}"),
            "compose.yaml:4:19: services.web.healthcheck Additional property tset is not allowed",
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
            'compose.yaml:4:5: service "api" refers to undefined volume data: invalid compose project',
        ),
        (
            _svc("depends_on: [db]"),
            'compose.yaml:4:5: service "web" depends on undefined service "db": invalid compose project',
        ),
        (
            _svc("networks: [front]"),
            'compose.yaml:4:5: service "web" refers to undefined network front: invalid compose project',
        ),
        ("services: {}\n", "no service selected"),
        (_svc("restart: sometimes"), 'compose.yaml:4:5: services.web.restart: invalid restart policy "sometimes" — expected no, always, on-failure[:N] or unless-stopped'),
        (_svc("ports: ['80:90:100:1']"), "compose.yaml:4:13: services.web.ports[0]: invalid port '80:90:100:1' — expected [[HOST_IP:][HOST_PORT]:]CONTAINER_PORT[/PROTOCOL]"),
        (_svc("ports: ['99999']"), "compose.yaml:4:13: services.web.ports[0]: invalid port '99999' — port out of range 1-65535"),
        (_svc("stop_grace_period: 10x"), 'compose.yaml:4:5: services.web.stop_grace_period: invalid duration "10x"'),
        (_svc("command: \"echo 'x\""), "compose.yaml:4:5: services.web.command: cannot split command \"echo 'x\": No closing quotation"),
        (_svc("tty: maybe"), 'compose.yaml:4:5: services.web.tty must be a boolean'),
        ("services:\n  web:\n    image: [a]\n", 'compose.yaml:3:5: services.web.image must be a string'),
        ("services: [web]\n", 'compose.yaml:1:1: services must be a mapping'),
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
