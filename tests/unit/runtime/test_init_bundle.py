"""``init: true``: the derived bundle that makes tini pid 1 (``backends.run_bundle``), pure file work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from composer.errors import ContainerStartError
from composer.runtime import backends
from composer.runtime.init import INIT_ANNOTATION

TINI = "/usr/bin/tini-static"


def _bundle(tmp_path: Path, annotations: dict[str, str], **extra: Any) -> Path:
    bundle = tmp_path / "bundle"
    bundle.mkdir(parents=True)
    doc = {
        "ociVersion": "1.0.2",
        "process": {"args": ["sh", "-c", "exit 3"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}},
        "root": {"path": "rootfs"},
        "mounts": [{"destination": "/data", "type": "bind", "source": "data", "options": ["rbind"]},
                   {"destination": "/proc", "type": "proc", "source": "proc"}],
        "annotations": annotations,
        **extra,
    }
    (bundle / "config.json").write_text(json.dumps(doc))
    return bundle


def test_with_init_makes_tini_pid_1_as_docker_does(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, {INIT_ANNOTATION: "true", "keep": "me"})
    doc = backends.with_init(json.loads((bundle / "config.json").read_text()), bundle, TINI)
    assert doc["process"]["args"] == ["/sbin/docker-init", "--", "sh", "-c", "exit 3"]
    assert doc["root"]["path"] == str(bundle / "rootfs")
    assert doc["mounts"][0]["source"] == str(bundle / "data")  # relative to the bundle, which moved
    assert doc["mounts"][1] == {"destination": "/proc", "type": "proc", "source": "proc"}
    assert doc["mounts"][-1] == {"destination": "/sbin/docker-init", "type": "bind", "source": TINI,
                                 "options": ["rbind", "rprivate", "ro"]}
    assert doc["annotations"] == {"keep": "me"}  # the builtin init must not fork a second init


def test_run_bundle_derives_one_only_for_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "tini-static"
    fake.write_text("")
    fake.chmod(0o755)
    monkeypatch.setattr(backends, "TINI_BINARIES", (str(fake),))
    plain = _bundle(tmp_path / "a", {})
    assert backends.run_bundle(plain, tmp_path / "a" / "run", "crun") == plain
    bundle = _bundle(tmp_path / "b", {INIT_ANNOTATION: "true"})
    derived = backends.run_bundle(bundle, tmp_path / "b" / "run", "runc")
    assert derived == tmp_path / "b" / "run" / backends.INIT_BUNDLE
    doc = json.loads((derived / "config.json").read_text())
    assert doc["process"]["args"][:2] == ["/sbin/docker-init", "--"] and doc["root"]["path"] == str(bundle / "rootfs")


def test_without_tini_builtin_falls_back_and_the_others_refuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "TINI_BINARIES", (str(tmp_path / "absent"),))
    bundle = _bundle(tmp_path, {INIT_ANNOTATION: "true"})
    assert backends.run_bundle(bundle, tmp_path / "run", "builtin") == bundle  # init.reaper stands in
    with pytest.raises(ContainerStartError, match=r"init: true on crun needs a static tini .*apt-get install tini"):
        backends.run_bundle(bundle, tmp_path / "run", "crun")


def test_unreadable_configs_are_left_to_load_spec(tmp_path: Path) -> None:
    assert backends.run_bundle(tmp_path, tmp_path / "run", "crun") == tmp_path
    (tmp_path / "config.json").write_text(f'{{"annotations": "{INIT_ANNOTATION}" ')
    assert backends.run_bundle(tmp_path, tmp_path / "run", "crun") == tmp_path
