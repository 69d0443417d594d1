"""``import --change`` lines are Dockerfile instructions applied to the config."""

from __future__ import annotations

from typing import Any

import pytest

from composer.errors import ImageError
from composer.image.changes import apply_changes


def apply(*lines: str) -> dict[str, Any]:
    return apply_changes({}, lines)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('CMD ["sh"]', {"Cmd": ["sh"]}),
        ('cmd ["sh", "-c", "echo hi"]', {"Cmd": ["sh", "-c", "echo hi"]}),
        ("CMD echo $HOME && ls", {"Cmd": ["/bin/sh", "-c", "echo $HOME && ls"]}),
        ("CMD [not json", {"Cmd": ["/bin/sh", "-c", "[not json"]}),
        ('ENTRYPOINT ["/bin/busybox", "httpd"]', {"Entrypoint": ["/bin/busybox", "httpd"]}),
        ("ENTRYPOINT exec top -b", {"Entrypoint": ["/bin/sh", "-c", "exec top -b"]}),
        ("ENV A=1 B=two", {"Env": ["A=1", "B=two"]}),
        ('ENV A="x y" B=\'$Q\' C=a\\ b', {"Env": ["A=x y", "B=$Q", "C=a b"]}),
        ("ENV GREETING hello  big world", {"Env": ["GREETING=hello  big world"]}),
        ("WORKDIR /data", {"WorkingDir": "/data"}),
        ("USER nobody:nogroup", {"User": "nobody:nogroup"}),
        ("EXPOSE 80 53/udp 8000-8001/TCP", {"ExposedPorts": {"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}}}),
        ('LABEL a=b "c d"="e f"', {"Labels": {"a": "b", "c d": "e f"}}),
        ("LABEL legacy value here", {"Labels": {"legacy": "value here"}}),
        ("STOPSIGNAL SIGQUIT", {"StopSignal": "SIGQUIT"}),
        ('VOLUME ["/data", "/logs"]', {"Volumes": {"/data": {}, "/logs": {}}}),
        ("VOLUME /a /b", {"Volumes": {"/a": {}, "/b": {}}}),
    ],
)
def test_change(line: str, expected: dict[str, Any]) -> None:
    assert apply(line) == expected


def test_env_expansion_and_override() -> None:
    config = apply("ENV A=1 P=/bin", "ENV A=2 P=$P:/usr/bin Q=${A} R=${NOPE:-dflt} S=${A:+set}",
                   "WORKDIR /srv/$A", "WORKDIR sub", "LABEL v=$A")
    assert config["Env"] == ["A=2", "P=/bin:/usr/bin", "Q=1", "R=dflt", "S=set"]
    assert config["WorkingDir"] == "/srv/2/sub"
    assert config["Labels"] == {"v": "2"}


def test_does_not_modify_input() -> None:
    base = {"Env": ["A=1"]}
    assert apply_changes(base, ["ENV A=2"]) == {"Env": ["A=2"]}
    assert base == {"Env": ["A=1"]}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("RUN echo hi", "RUN is not a valid change command"),
        ("FROM scratch", "FROM is not a valid change command"),
        ("CMD", "CMD requires at least one argument"),
        ("ENV", "ENV requires at least one argument"),
        ("ENV ONLYKEY", "ENV must have two arguments"),
        ("ENV =x", "ENV names can not be blank"),
        ("USER a b", "USER requires exactly one argument"),
        ("EXPOSE http", "invalid containerPort: http"),
        ("EXPOSE 70000", "invalid containerPort: 70000"),
        ("EXPOSE 80/icmp", "invalid containerPort: 80/icmp"),
        ('ENV A="open', "unexpected end of statement while looking for matching double-quote: A=\"open"),
        ("ENV A=${B", "missing '}' in substitution: A=${B"),
    ],
)
def test_invalid(line: str, message: str) -> None:
    with pytest.raises(ImageError) as info:
        apply(line)
    assert str(info.value) == message
