"""Pure parts of images for services: pull_policy/build decisions, credentials, build options."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from composer.engine import images
from composer.errors import ConfigError
from composer.image import auth
from composer.image.registry import is_loopback


class _Store:
    def __init__(self, present: set[str]) -> None:
        self.present = present

    def exists(self, ref: str) -> bool:
        return ref in self.present


def _svc(**kw: Any) -> Any:
    base = {"name": "web", "image": None, "build": None, "pull_policy": None}
    base.update(kw)
    return SimpleNamespace(**base)


@pytest.mark.parametrize(("svc", "present", "build", "pull", "expected"), [
    ({"image": "a"}, {"a"}, False, None, "store"),
    ({"image": "a"}, set(), False, None, "pull"),
    ({"image": "a", "pull_policy": "always"}, {"a"}, False, None, "pull"),
    ({"image": "a", "pull_policy": "never"}, set(), False, None, "store"),
    ({"image": "a"}, {"a"}, False, "always", "pull"),
    ({"image": "a", "build": object()}, {"a"}, False, None, "store"),
    ({"image": "a", "build": object()}, set(), False, None, "build"),
    ({"image": "a", "build": object()}, {"a"}, True, None, "build"),
    ({"image": "a", "build": object(), "pull_policy": "build"}, {"a"}, False, None, "build"),
    ({"image": "a", "build": object(), "pull_policy": "always"}, {"a"}, False, None, "pull"),
    ({"image": "a", "build": object()}, {"a"}, False, "always", "store"),
])
def test_decide(svc: dict[str, Any], present: set[str], build: bool, pull: str | None, expected: str) -> None:
    assert images._decide(_svc(**svc), _Store(present), "a", build, pull, False) == expected  # type: ignore[arg-type]


def test_no_build_never_builds() -> None:
    svc = _svc(image="a", build=object())
    assert images._decide(svc, _Store(set()), "a", True, None, True) == "pull"  # type: ignore[arg-type]


def test_bad_pull_policy() -> None:
    with pytest.raises(ConfigError, match=r"services\.web\.pull_policy: invalid value 'sometimes'"):
        images._decide(_svc(image="a", pull_policy="sometimes"), _Store(set()), "a", False, None, False)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="invalid --pull value"):
        images._pull_mode("often")


def test_image_name_and_build_options(tmp_path: Path) -> None:
    build = SimpleNamespace(context="app", dockerfile="Dockerfile.dev", dockerfile_inline=None,
                            args={"A": "1", "FROM_ENV": None}, target="final", labels={"k": "v"}, tags=["x:1"],
                            network="none", shm_size=1 << 20, extra_hosts=["h:1.2.3.4"], no_cache=False, pull=True)
    project = SimpleNamespace(name="proj", working_dir=tmp_path, environment={"FROM_ENV": "env"})
    svc = _svc(name="api", build=build)
    assert images.image_name(project, svc) == "proj-api"  # type: ignore[arg-type]
    opts = images.build_options(project, svc, no_cache=True, build_args={"B": "2"})  # type: ignore[arg-type]
    assert opts.context == tmp_path / "app"
    assert dict(opts.args) == {"A": "1", "FROM_ENV": "env", "B": "2"}
    assert list(opts.tags) == ["proj-api", "x:1"]
    assert (opts.target, opts.network, opts.shm_size, opts.no_cache, opts.pull) == ("final", "none", 1 << 20, True, True)


def test_credentials_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "docker" / "config.json"
    assert auth.credentials(path, "127.0.0.1:5000") is None
    auth.store_credentials(path, "127.0.0.1:5000", "me", "pw:with:colons")
    auth.store_credentials(path, "docker.io", "hub", "secret")
    data = json.loads(path.read_text())
    assert base64.b64decode(data["auths"]["127.0.0.1:5000"]["auth"]) == b"me:pw:with:colons"
    assert "https://index.docker.io/v1/" in data["auths"]
    assert path.stat().st_mode & 0o777 == 0o600
    assert auth.credentials(path, "127.0.0.1:5000") == ("me", "pw:with:colons")
    assert auth.credentials(path, "docker.io") == ("hub", "secret")
    assert auth.remove_credentials(path, "127.0.0.1:5000")
    assert not auth.remove_credentials(path, "127.0.0.1:5000")
    assert auth.credentials(path, "docker.io") == ("hub", "secret")


def test_broken_docker_config(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{nope")
    with pytest.raises(ConfigError, match="cannot read the Docker config file"):
        auth.credentials(path, "x")


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost:5000", True), ("127.0.0.1:5000", True), ("127.1.2.3", True), ("[::1]:5000", True),
    ("registry.example.com", False), ("10.0.0.1:5000", False),
])
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_render_history(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from composer.cli.image import render_history
    from composer.image.model import Image, ImageConfig

    (tmp_path / "l0").mkdir()
    (tmp_path / "l0" / "layer.json").write_text('{"size": 2000000}')
    now = datetime(2026, 1, 2, tzinfo=UTC)
    created = (now - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    image = Image(
        id="sha256:" + "ab" * 32, digest="sha256:" + "cd" * 32, refs=("x:1",), config=ImageConfig(),
        layers=(tmp_path / "l0" / "fs",), diff_ids=("sha256:" + "ef" * 32,), created=now, size=2_000_000,
        architecture="amd64", os="linux",
        raw_config={"history": [{"created": created, "created_by": "COPY a /a"},
                                {"created": created, "created_by": "CMD [\"sh\"]", "empty_layer": True}]},
    )
    out = render_history(image, now, no_trunc=False, quiet=False, format_="table").splitlines()
    assert out[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert out[1].startswith("abababababab") and "CMD [\"sh\"]" in out[1] and "0B" in out[1]
    assert out[2].startswith("<missing>") and "COPY a /a" in out[2] and "2MB" in out[2]
    assert render_history(image, now, False, True, "table") == "abababababab\n<missing>\n"
