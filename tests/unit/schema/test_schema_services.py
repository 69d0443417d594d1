from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from composer.schema.model import (
    DependsOn,
    Healthcheck,
    Ipam,
    IpamPool,
    Network,
    ServiceNetwork,
    ServicePort,
    ServiceVolume,
    Volume,
)

Load = Any


def _web(load: Load, body: str, top: str = "", environ: dict[str, str] | None = None) -> Any:
    indented = "".join(f"    {line}\n" for line in textwrap.dedent(body).strip().splitlines())
    project = load(f"services:\n  web:\n    image: a\n{indented}  db:\n    image: b\n{top}", environ)
    return project.services["web"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("8080", ServicePort(target=8080)),
        (8080, ServicePort(target=8080)),
        ("18080:8080", ServicePort(target=8080, published="18080")),
        ("127.0.0.1:18080:8080", ServicePort(target=8080, published="18080", host_ip="127.0.0.1")),
        ("127.0.0.1::8080", ServicePort(target=8080, host_ip="127.0.0.1")),
        ("53:53/udp", ServicePort(target=53, published="53", protocol="udp")),
        ("[::1]:80:8080", ServicePort(target=8080, published="80", host_ip="::1")),
        (
            {"target": 80, "published": 8000, "host_ip": "0.0.0.0", "protocol": "udp", "mode": "host"},
            ServicePort(target=80, published="8000", host_ip="0.0.0.0", protocol="udp", mode="host"),
        ),
    ],
)
def test_ports(load: Load, spec: object, expected: ServicePort) -> None:
    import json

    web = _web(load, f"ports: [{json.dumps(spec)}]")
    assert web.ports == [expected]


def test_volumes_short_and_long(load: Load, tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    web = _web(
        load,
        """
        volumes:
          - data:/data:ro
          - ./rel:/rel
          - /abs:/abs:rw
          - ~/h:/h
          - /anon
          - data:/nc:nocopy
          - type: bind
            source: ./b
            target: /b
            read_only: true
            bind: {create_host_path: true}
          - type: tmpfs
            target: /t
            tmpfs: {size: 64m, mode: 1777}
          - type: volume
            source: data
            target: /v
            volume: {nocopy: true}
        tmpfs: [/run, "/cache:size=64k,mode=0700"]
        """,
        top="volumes:\n  data:\n",
        environ={"HOME": "/home/u"},
    )
    V = ServiceVolume
    assert web.volumes == [
        V(type="volume", source="data", target="/data", read_only=True, blocks=("volume",)),
        V(type="bind", source=str(proj / "rel"), target="/rel", bind_create_host_path=True, blocks=("bind",)),
        V(type="bind", source="/abs", target="/abs", bind_create_host_path=True, blocks=("bind",)),
        V(type="bind", source="/home/u/h", target="/h", bind_create_host_path=True, blocks=("bind",)),
        V(type="volume", source=None, target="/anon", blocks=("volume",)),
        V(type="volume", source="data", target="/nc", volume_nocopy=True, blocks=("volume",)),
        V(type="bind", source=str(proj / "b"), target="/b", read_only=True, bind_create_host_path=True,
          blocks=("bind",)),
        # an integer mode is taken as is, as Docker does (write 01777 or "1777" for octal)
        V(type="tmpfs", target="/t", tmpfs_size=64 * 1024**2, tmpfs_mode=1777, blocks=("tmpfs",)),
        V(type="volume", source="data", target="/v", volume_nocopy=True, blocks=("volume",)),
        V(type="tmpfs", target="/run"),
        V(type="tmpfs", target="/cache", tmpfs_size=65536, tmpfs_mode=0o700),
    ]


def test_option_blocks_are_tracked(load: Load) -> None:
    """A long-syntax mount has the blocks it writes (none: none printed), as Docker."""
    web = _web(
        load,
        """
        volumes:
          - {type: volume, source: data, target: /a}
          - {type: volume, source: data, target: /b, volume: {}}
          - {type: bind, source: /x, target: /c, tmpfs: {size: 1k}}
          - /r
        """,
        top="volumes:\n  data:\n",
    )
    assert [v.blocks for v in web.volumes] == [(), ("volume",), ("tmpfs",), ()]


def test_tmpfs_string(load: Load) -> None:
    assert _web(load, "tmpfs: /run").volumes == [ServiceVolume(type="tmpfs", target="/run")]


def test_command_entrypoint_environment_labels(load: Load) -> None:
    web = _web(
        load,
        """
        command: sh -c 'echo "a b"'
        entrypoint: [/bin/x, "1"]
        environment: [A=b, C, D=, HOME]
        labels: {x: 1, y: true}
        """,
        environ={"HOME": "/h"},
    )
    assert web.command == ["sh", "-c", 'echo "a b"']
    assert web.entrypoint == ["/bin/x", "1"]
    assert web.environment == {"A": "b", "C": None, "D": "", "HOME": "/h"}
    assert web.labels == {"x": "1", "y": "true"}


def test_environment_mapping(load: Load) -> None:
    web = _web(load, "environment: {N: 1, F: 1.5, B: false, U: null, S: s}")
    assert web.environment == {"N": "1", "F": "1.5", "B": "false", "U": None, "S": "s"}


def test_depends_on_forms(load: Load) -> None:
    assert _web(load, "depends_on: [db]").depends_on == {"db": DependsOn()}
    web = _web(
        load,
        "depends_on: {db: {condition: service_healthy, required: false, restart: true}}",
    )
    assert web.depends_on == {
        "db": DependsOn(condition="service_healthy", required=False, restart=True)
    }


def test_healthcheck(load: Load) -> None:
    web = _web(
        load,
        """
        healthcheck:
          test: curl -f localhost
          interval: 1m30s
          timeout: 500ms
          start_period: 2h
          start_interval: 1.5s
          retries: 5
        """,
    )
    assert web.healthcheck == Healthcheck(
        test=["CMD-SHELL", "curl -f localhost"],
        interval=90.0,
        timeout=0.5,
        start_period=7200.0,
        start_interval=1.5,
        retries=5,
    )
    none = _web(load, "healthcheck: {test: [NONE]}").healthcheck
    assert none == Healthcheck(test=["NONE"])  # as Docker: the engine reads NONE
    listed = _web(load, "healthcheck: {test: [CMD, 'true']}").healthcheck
    assert listed.test == ["CMD", "true"]


def test_scalars(load: Load) -> None:
    web = _web(
        load,
        """
        restart: on-failure:3
        stop_grace_period: 1m
        stop_signal: SIGINT
        working_dir: /w
        user: "1000:1000"
        hostname: h
        container_name: c
        expose: [80, "81"]
        tty: true
        stdin_open: true
        init: true
        pull_policy: if_not_present
        x-custom: ignored
        """,
    )
    assert (web.restart, web.stop_grace_period, web.stop_signal) == ("on-failure:3", 60.0, "SIGINT")
    assert (web.working_dir, web.user, web.hostname, web.container_name) == ("/w", "1000:1000", "h", "c")
    assert web.expose == ["80", "81"]
    assert (web.tty, web.stdin_open, web.init, web.pull_policy) == (True, True, True, "missing")
    assert _web(load, "restart: no").restart == "no"


def test_networks_and_volumes_top_level(load: Load) -> None:
    project = load(
        """
        name: p
        services:
          web:
            image: a
            networks:
              front: {aliases: [w], ipv4_address: 10.0.0.5}
              back:
          db:
            image: b
            networks: [back]
          other:
            image: c
        networks:
          front:
            ipam: {config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.1}]}
            internal: true
          back: {name: custom}
          ext: {external: true}
        volumes:
          data:
          named: {name: exact, labels: [a=b]}
          outside: {external: true}
        x-anchor: {}
        """
    )
    assert project.services["web"].networks == {
        "front": ServiceNetwork(aliases=["w"], ipv4_address="10.0.0.5"),
        "back": None,
    }
    assert project.services["other"].networks == {"default": None}
    assert project.networks == {
        "front": Network(
            name="p_front",
            internal=True,
            ipam=Ipam(config=[IpamPool(subnet="10.0.0.0/24", gateway="10.0.0.1")]),
            subnet="10.0.0.0/24",
            gateway="10.0.0.1",
        ),
        "back": Network(name="custom"),
        "ext": Network(name="ext", external=True),
        "default": Network(name="p_default"),
    }
    assert project.volumes == {
        "data": Volume(name="p_data"),
        "named": Volume(name="exact", labels={"a": "b"}),
        "outside": Volume(name="outside", external=True),
    }


def test_profiles(load: Load) -> None:
    text = "services:\n  web:\n    image: a\n  dbg:\n    image: b\n    profiles: [debug]\n"
    assert list(load(text).services) == ["web"]
    assert list(load(text, profiles=["debug"]).services) == ["web", "dbg"]
    assert list(load(text, {"COMPOSE_PROFILES": "debug"}).services) == ["web", "dbg"]


def test_version_warning(load: Load, tmp_path: Path) -> None:
    project = load("version: '3.8'\nservices:\n  web:\n    image: a\n")
    assert project.warnings == (
        f"{tmp_path / 'proj' / 'compose.yaml'}: the attribute `version` is obsolete, it will be ignored, "
        "please remove it to avoid potential confusion",
    )


def test_optional_dependency_on_missing_service_is_dropped(load: Load) -> None:
    project = load(
        "services:\n  web:\n    image: a\n"
        "    depends_on: {gone: {condition: service_started, required: false}}\n"
    )
    assert project.services["web"].depends_on == {}
    assert project.warnings == ('service "web" depends on undefined service "gone", ignored',)
