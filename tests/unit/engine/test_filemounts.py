"""Secrets, configs and volumes_from as mounts: targets, modes, errors (no containers)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from composer.engine import filemounts, hooks, state
from composer.engine.state import Paths
from composer.errors import ConfigError
from composer.schema.model import FileObject, FileReference, Project, Service, ServiceHook


def _project(service: Service, **kwargs: Any) -> Project:
    return Project(name="p", working_dir=Path("/"), config_files=(), services={service.name: service}, **kwargs)


def test_targets_and_defaults(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("file")
    svc = Service(name="svc", image="busybox", secrets=[
        FileReference(source="a"), FileReference(source="b", target="named"),
        FileReference(source="c", target="/abs/c", mode=0o400, uid="10", gid="20"),
    ], configs=[FileReference(source="cfg"), FileReference(source="cfg", target="rel/x")])
    project = _project(svc, environment={"E": "from-env"}, secrets={
        "a": FileObject(name="p_a", file=str(tmp_path / "f")),
        "b": FileObject(name="p_b", environment="E"),
        "c": FileObject(name="p_c", environment="E"),
    }, configs={"cfg": FileObject(name="p_cfg", content="cfg-text")})
    files = filemounts.plan_files(project, svc)
    assert [(f.kind, f.target) for f in files] == [
        ("secret", "/run/secrets/a"), ("secret", "/run/secrets/named"), ("secret", "/abs/c"),
        ("config", "/cfg"), ("config", "/rel/x"),
    ]
    assert files[0].source == tmp_path / "f" and files[0].content is None
    assert files[1].content == b"from-env" and (files[1].mode, files[1].uid, files[1].gid) == (0o444, 0, 0)
    assert (files[2].mode, files[2].uid, files[2].gid) == (0o400, 10, 20)
    assert files[3].content == b"cfg-text"


def test_written_files_are_private_and_mounted_read_only(tmp_path: Path) -> None:
    svc = Service(name="svc", image="busybox", secrets=[FileReference(source="b", mode=0o440, uid="7", gid="8")])
    project = _project(svc, environment={"E": "v"}, secrets={"b": FileObject(name="p_b", environment="E")})
    mounts = filemounts.write_files(tmp_path, filemounts.plan_files(project, svc))
    assert len(mounts) == 1
    assert mounts[0]["destination"] == "/run/secrets/b" and "ro" in mounts[0]["options"]
    source = Path(mounts[0]["source"])
    assert source.parent == tmp_path / "files" and source.read_text() == "v"
    st = os.stat(source)
    if os.geteuid() == 0:
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o440, 7, 8)
    assert stat.S_IMODE(os.stat(source.parent).st_mode) == 0o700


@pytest.mark.parametrize(("secret", "env", "message"), [
    (FileObject(name="x", external=True), {}, "unsupported external secret x"),
    (FileObject(name="p_s", environment="NOPE"), {}, 'environment variable "NOPE" required by file "p_s" is not set'),
    (FileObject(name="p_s", file="/nonexistent/file"), {},
     'invalid mount config for type "bind": bind source path does not exist: /nonexistent/file'),
])
def test_errors(secret: FileObject, env: dict[str, str], message: str) -> None:
    svc = Service(name="svc", image="busybox", secrets=[FileReference(source="s")])
    with pytest.raises(ConfigError) as info:
        filemounts.plan_files(_project(svc, environment=env, secrets={"s": secret}), svc)
    assert str(info.value) == message


def test_uid_must_be_a_number() -> None:
    svc = Service(name="svc", image="busybox", configs=[FileReference(source="c", uid="root")])
    project = _project(svc, configs={"c": FileObject(name="p_c", content="x")})
    with pytest.raises(ConfigError, match="uid 'root' must be a number"):
        filemounts.plan_files(project, svc)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("uid", "99999999999", "service 'svc': secrets: secret 's': uid '99999999999' is out of range (0 to 4294967294)"),
    ("uid", "-1", "service 'svc': secrets: secret 's': uid '-1' is out of range (0 to 4294967294)"),
    ("gid", "4294967295", "service 'svc': secrets: secret 's': gid '4294967295' is out of range (0 to 4294967294)"),
    ("mode", 0o17777, "service 'svc': secrets: secret 's': mode 0o17777 is not a file mode (0 to 0o7777)"),
])
def test_ids_and_mode_in_range(key: str, value: Any, message: str) -> None:
    svc = Service(name="svc", image="busybox", secrets=[FileReference(source="s", **{key: value})])
    project = _project(svc, environment={"E": "v"}, secrets={"s": FileObject(name="p_s", environment="E")})
    with pytest.raises(ConfigError) as info:
        filemounts.plan_files(project, svc)
    assert str(info.value) == message


def test_largest_id_accepted() -> None:
    svc = Service(name="svc", image="busybox", secrets=[FileReference(source="s", uid="4294967294", gid="0")])
    project = _project(svc, environment={"E": "v"}, secrets={"s": FileObject(name="p_s", environment="E")})
    assert filemounts.plan_files(project, svc)[0].uid == 2**32 - 2


def test_volume_targets_win_and_empty_configs_are_skipped() -> None:
    svc = Service(name="svc", image="busybox",
                  secrets=[FileReference(source="s"), FileReference(source="t", target="/data/t")],
                  configs=[FileReference(source="empty"), FileReference(source="c", target="/run/secrets/s"),
                           FileReference(source="e", target="/e")])
    project = _project(svc, environment={"E": "v", "BLANK": ""}, secrets={
        "s": FileObject(name="p_s", environment="E"), "t": FileObject(name="p_t", environment="E"),
    }, configs={"empty": FileObject(name="p_empty", content=""), "c": FileObject(name="p_c", content="x"),
                "e": FileObject(name="p_e", environment="BLANK")})
    taken = {"/data/t"}
    files = filemounts.plan_files(project, svc, taken)
    # the volume keeps /data/t, the secret keeps /run/secrets/s, the empty configs are not written
    assert [(f.kind, f.name, f.target) for f in files] == [("secret", "s", "/run/secrets/s")]
    assert taken == {"/data/t", "/run/secrets/s"}


def test_warnings_for_file_backed_with_uid_gid_mode(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    svc = Service(name="svc", image="busybox",
                  secrets=[FileReference(source="f", mode=0o400), FileReference(source="f", target="g", uid="1"),
                           FileReference(source="env", uid="1")],
                  configs=[FileReference(source="f", gid="2"), FileReference(source="f", target="/plain")])
    project = _project(svc, environment={"E": "v"},
                       secrets={"f": FileObject(name="p_f", file=str(tmp_path / "f")),
                                "env": FileObject(name="p_env", environment="E")},
                       configs={"f": FileObject(name="p_f", file=str(tmp_path / "f"))})
    assert filemounts.warnings(project, svc) == [
        "secrets `uid`, `gid` and `mode` are not supported, they will be ignored",
        "config `uid`, `gid` and `mode` are not supported, they will be ignored",
    ]
    plain = Service(name="svc", image="busybox", secrets=[FileReference(source="f")])
    assert filemounts.warnings(project, plain) == []


def _container(paths: Paths, cid: str, service: str, number: int, mounts: list[dict[str, Any]],
               name: str | None = None) -> None:
    cdir = paths.container_dir(cid)
    cdir.mkdir(parents=True)
    state.save_container(paths, {"id": cid, "name": name or f"p-{service}-{number}", "project": "p",
                                 "service": service, "number": number})
    state.write_json(cdir / "config.json", {"mounts": mounts})


def test_volumes_from(tmp_path: Path) -> None:
    paths = Paths.from_root(tmp_path)
    own = str(paths.container_dir("a1") / "hosts")
    _container(paths, "a1", "data", 1, [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/etc/hosts", "type": "bind", "source": own, "options": ["rbind", "rprivate", "ro"]},
        {"destination": "/vol", "type": "bind", "source": "/v", "options": ["rbind", "rprivate"]},
        {"destination": "/ro", "type": "bind", "source": "/r", "options": ["rbind", "rprivate", "ro"]},
        {"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": []},
    ])
    _container(paths, "a2", "data", 2, [{"destination": "/other", "type": "bind", "source": "/o", "options": []}])
    _container(paths, "b1", "x", 1, [{"destination": "/b", "type": "bind", "source": "/bb", "options": []}],
               name="standalone")

    def mounts(*entries: str, taken: frozenset[str] = frozenset()) -> list[tuple[str, str, bool]]:
        svc = Service(name="svc", image="busybox", volumes_from=list(entries))
        out = filemounts.volumes_from(paths, _project(svc), svc, set(taken))
        return [(m["destination"], m["source"], "ro" in m["options"]) for m in out]

    assert mounts("data") == [("/vol", "/v", False), ("/ro", "/r", True)]
    assert mounts("data:ro") == [("/vol", "/v", True), ("/ro", "/r", True)]
    # ``:rw`` never widens: a read-only mount of the source stays read-only (moby daemon/volumes.go)
    assert mounts("data:rw") == [("/vol", "/v", False), ("/ro", "/r", True)]
    assert mounts("data", taken=frozenset({"/vol"})) == [("/ro", "/r", True)]
    assert mounts("container:standalone:ro") == [("/b", "/bb", True)]
    with pytest.raises(ConfigError, match="no such container: gone"):
        mounts("container:gone")
    with pytest.raises(ConfigError, match="service 'nothing' has no container"):
        mounts("nothing")


def test_hooks_in_the_record() -> None:
    svc = Service(name="svc", image="busybox", pre_stop=[ServiceHook(command=["true"], user="root")])
    assert hooks.record_hooks(svc) == {"pre_stop": [
        {"command": ["true"], "user": "root", "privileged": False, "working_dir": None, "environment": {}}]}
    assert hooks.record_hooks(Service(name="svc", image="busybox")) == {}


@pytest.mark.parametrize("command", ["start", "restart"])
def test_a_failing_hook_still_notifies_the_monitor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   command: str) -> None:
    from composer.engine import containers, control, monitor_client
    from composer.engine import project as engine
    from composer.errors import ComposerError

    paths = Paths.from_root(tmp_path)
    _container(paths, "c1", "svc", 1, [])
    notified: list[str] = []
    monkeypatch.setattr(containers, "is_running", lambda paths, cid: command == "restart")
    monkeypatch.setattr(containers, "start", lambda paths, rec, **kw: rec)
    monkeypatch.setattr(containers, "stop", lambda *a, **kw: 0)
    monkeypatch.setattr(monitor_client, "ensure_monitor", lambda paths, project: None)
    monkeypatch.setattr(monitor_client, "notify", lambda paths, project: notified.append(project))

    def failing(paths: Paths, rec: dict[str, Any], kind: str, report: Any = None) -> None:
        if kind == hooks.POST_START:
            raise ComposerError("svc hook exited with status 3")

    monkeypatch.setattr(hooks, "run", failing)
    with pytest.raises(ComposerError, match="hook exited"):
        if command == "start":
            engine.start(paths, "p", [])
        else:
            control.restart(paths, "p", [])
    assert notified == ["p"]  # the started container is watched all the same


def test_rootfs_tables_are_read_inside_the_rootfs(tmp_path: Path) -> None:
    from composer.engine.execcmd import MAX_TABLE, read_rootfs_table

    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    host = tmp_path / "host-passwd"
    host.write_text("host:x:0:0::/:/bin/sh\n")
    (root / "etc" / "passwd").symlink_to(host)  # absolute: resolved inside the rootfs, where it is not
    assert read_rootfs_table(str(root), "etc/passwd") == ""
    (root / "etc" / "real").write_text("c:x:1:1::/:/bin/sh\n")
    (root / "etc" / "group").symlink_to("/etc/real")
    assert read_rootfs_table(str(root), "etc/group") == "c:x:1:1::/:/bin/sh\n"
    os.mkfifo(root / "fifo")
    (root / "etc" / "passwd").unlink()
    (root / "etc" / "passwd").symlink_to("/fifo")
    with pytest.raises(ConfigError, match=r"^cannot read /etc/passwd in the container: not a regular file$"):
        read_rootfs_table(str(root), "etc/passwd")  # at once: no blocking open
    (root / "etc" / "passwd").unlink()
    (root / "etc" / "passwd").write_bytes(b"x" * (MAX_TABLE + 1))
    with pytest.raises(ConfigError, match="larger than 1048576 bytes"):
        read_rootfs_table(str(root), "etc/passwd")
    assert read_rootfs_table(str(root), "etc/shadow") == ""
