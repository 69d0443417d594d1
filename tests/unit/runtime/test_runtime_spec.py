"""Pure parts of the built-in runtime: config.json parsing, mount options, paths, logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from composer.runtime import syscalls as sc
from composer.runtime.config import default_spec
from composer.runtime.init import parse_sync
from composer.runtime.jsonlog import MAX_LINE, JsonLog, LineSplitter
from composer.runtime.rootfs import parse_options, secure_join
from composer.runtime.spec import Namespace, SpecError, parse_spec


def _spec(**process: Any) -> dict[str, Any]:
    doc = default_spec(["sh"], ["A=1"], "/", "host", "/run/netns/x")
    doc["process"].update(process)
    return doc


def test_default_spec_round_trips_through_the_parser() -> None:
    spec = parse_spec(default_spec(["sh", "-c", "x"], ["A=1"], "/app", "web", "/run/netns/abc"))
    assert spec.process.args == ("sh", "-c", "x")
    assert spec.process.env[0].startswith("PATH=") and spec.process.env_value("A") == "1"
    assert (spec.process.cwd, spec.hostname, spec.root_path, spec.root_readonly) == ("/app", "web", "rootfs", False)
    assert spec.namespace("network") == Namespace("network", "/run/netns/abc")
    assert [m.destination for m in spec.mounts] == ["/proc", "/dev", "/dev/pts", "/sys", "/dev/mqueue", "/dev/shm"]
    assert "/proc/kcore" in spec.masked_paths and "/proc/sys" in spec.readonly_paths


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"args": []}, "process.args: must name the program to run"),
        ({"terminal": "yes"}, "process.terminal: must be true or false"),
        ({"cwd": "rel"}, "process.cwd: must be an absolute path, not 'rel'"),
        ({"user": {"uid": "0"}}, "process.user.uid: must be an integer"),
    ],
)
def test_bad_process_is_reported_with_its_key_path(change: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(_spec(**change))
    assert str(info.value) == message


def test_a_new_mount_namespace_is_required() -> None:
    doc = _spec()
    doc["linux"]["namespaces"] = [{"type": "pid"}]
    with pytest.raises(SpecError, match="a new mount namespace is required"):
        parse_spec(doc)


def test_mount_options_become_flags_propagation_and_data() -> None:
    opts = parse_options(["rbind", "ro", "nosuid", "rprivate", "mode=755", "size=1m", "tmpcopyup"])
    assert opts.flags == sc.MS_BIND | sc.MS_REC | sc.MS_RDONLY | sc.MS_NOSUID
    assert opts.propagation == (sc.MS_PRIVATE | sc.MS_REC,)
    assert opts.data == "mode=755,size=1m"
    assert parse_options(["ro", "rw", "nodev", "dev"]).flags == 0


def test_secure_join_keeps_symlinks_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "escape").symlink_to("/../../host")
    (root / "rel").symlink_to("../../etc")
    assert secure_join(str(root), "/etc/escape/x") == f"{root}/host/x"
    assert secure_join(str(root), "../../rel/y") == f"{root}/etc/y"
    assert secure_join(str(root), "/a/./b/../c") == f"{root}/a/c"


def test_json_log_lines_and_partial_flush(tmp_path: Path) -> None:
    log = JsonLog(tmp_path / "c.log")
    out = LineSplitter(log, "stdout")
    out.feed(b"hel")
    out.feed(b"lo\nwor")
    out.feed(b"x" * MAX_LINE)
    out.flush()
    log.close()
    entries = [json.loads(line) for line in (tmp_path / "c.log").read_text().splitlines()]
    assert [e["log"] for e in entries] == ["hello\n", "wor" + "x" * (MAX_LINE - 3), "xxx"]
    assert {e["stream"] for e in entries} == {"stdout"}
    assert entries[0]["time"].endswith("Z") and len(entries[0]["time"]) == 30


def test_sync_protocol() -> None:
    assert parse_sync(b"") == (False, None)
    assert parse_sync(b"R\n") == (True, None)
    assert parse_sync(b"R\nE 127 exec: nope\n") == (True, (127, "exec: nope"))
