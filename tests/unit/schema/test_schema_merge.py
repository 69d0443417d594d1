"""Merge rules as (base, override, expected) triples, on canonical service dicts."""

from __future__ import annotations

from typing import Any

import pytest

from composer.schema.merge import merge_files
from composer.schema.tags import RESET, Override


def _svc(**attrs: Any) -> dict[str, Any]:
    return {"services": {"web": attrs}}


def _port(target: int, published: str | None = None) -> dict[str, Any]:
    return {"target": target, "published": published, "host_ip": None, "protocol": "tcp", "mode": "ingress"}


def _mount(source: str, target: str) -> dict[str, Any]:
    return {"type": "bind", "source": source, "target": target}


TRIPLES = [
    # scalars: the override wins
    (_svc(image="a"), _svc(image="b"), _svc(image="b")),
    # mappings merge key by key
    (_svc(environment={"A": "1", "B": "2"}), _svc(environment={"B": "3", "C": None}),
     _svc(environment={"A": "1", "B": "3", "C": None})),
    (_svc(labels={"a": "1"}), _svc(labels={"b": "2"}), _svc(labels={"a": "1", "b": "2"})),
    (_svc(build={"context": "/a", "args": {"X": "1"}}), _svc(build={"args": {"Y": "2"}}),
     _svc(build={"context": "/a", "args": {"X": "1", "Y": "2"}})),
    # command and entrypoint are replaced, not appended
    (_svc(command=["a", "b"]), _svc(command=["c"]), _svc(command=["c"])),
    (_svc(entrypoint=["sh"]), _svc(entrypoint=[]), _svc(entrypoint=[])),
    (_svc(healthcheck={"test": ["CMD", "a"], "retries": 3}), _svc(healthcheck={"test": ["CMD", "b"]}),
     _svc(healthcheck={"test": ["CMD", "b"], "retries": 3})),
    # ports: appended, identical entries once
    (_svc(ports=[_port(80, "80")]), _svc(ports=[_port(81, "81"), _port(80, "80")]),
     _svc(ports=[_port(80, "80"), _port(81, "81")])),
    # volumes: by target, the override's entry replaces the base's in place
    (_svc(volumes=[_mount("/a", "/x"), _mount("/b", "/y")]), _svc(volumes=[_mount("/c", "/y")]),
     _svc(volumes=[_mount("/a", "/x"), _mount("/c", "/y")])),
    # secrets by target
    (_svc(secrets=[{"source": "a", "target": "/run/secrets/a"}]),
     _svc(secrets=[{"source": "b", "target": "/run/secrets/a"}]),
     _svc(secrets=[{"source": "b", "target": "/run/secrets/a"}])),
    # plain sequences: appended without duplicates
    (_svc(dns=["1.1.1.1"]), _svc(dns=["8.8.8.8", "1.1.1.1"]), _svc(dns=["1.1.1.1", "8.8.8.8"])),
    (_svc(cap_add=["A"]), _svc(cap_add=["B"]), _svc(cap_add=["A", "B"])),
    # depends_on and networks are mappings
    (_svc(depends_on={"db": {"condition": "service_started"}}),
     _svc(depends_on={"db": {"condition": "service_healthy"}, "c": {"condition": "service_started"}}),
     _svc(depends_on={"db": {"condition": "service_healthy"}, "c": {"condition": "service_started"}})),
    (_svc(networks={"a": None}), _svc(networks={"b": {"aliases": ["x"]}}),
     _svc(networks={"a": None, "b": {"aliases": ["x"]}})),
    # logging: options merge with the same driver, are replaced with another
    (_svc(logging={"driver": "syslog", "options": {"a": "1"}}), _svc(logging={"options": {"b": "2"}}),
     _svc(logging={"driver": "syslog", "options": {"a": "1", "b": "2"}})),
    (_svc(logging={"driver": "syslog", "options": {"a": "1"}}), _svc(logging={"driver": "json-file"}),
     _svc(logging={"driver": "json-file"})),
    # ulimits entries are replaced whole
    (_svc(ulimits={"nofile": {"soft": 1, "hard": 2}}), _svc(ulimits={"nofile": {"single": 5}}),
     _svc(ulimits={"nofile": {"single": 5}})),
    # !reset and !override
    (_svc(image="a", ports=[_port(80)]), _svc(ports=RESET), _svc(image="a")),
    (_svc(environment={"A": "1", "B": "2"}), _svc(environment={"B": RESET}), _svc(environment={"A": "1"})),
    (_svc(labels={"a": "1"}), _svc(labels=Override({"b": "2"})), _svc(labels={"b": "2"})),
    (_svc(dns=["1.1.1.1"]), _svc(dns=Override(["8.8.8.8"])), _svc(dns=["8.8.8.8"])),
    # top-level resources merge too
    ({"networks": {"n": {"driver": "bridge"}}}, {"networks": {"n": {"internal": True}}},
     {"networks": {"n": {"driver": "bridge", "internal": True}}}),
    ({"volumes": {"v": {}}, "name": "a"}, {"name": "b"}, {"volumes": {"v": {}}, "name": "b"}),
]  # fmt: skip


@pytest.mark.parametrize(("base", "override", "expected"), TRIPLES)
def test_merge(base: dict[str, Any], override: dict[str, Any], expected: dict[str, Any]) -> None:
    assert merge_files([base, override]) == expected


def test_reset_in_the_first_file_is_dropped() -> None:
    assert merge_files([_svc(image="a", ports=RESET)]) == _svc(image="a")
