"""``composer runtime ...``: runc's verbs, arguments and outputs on the built-in runtime."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.integration.runtime.harness import Runtime

pytestmark = pytest.mark.root


def _cli(rt: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "composer", "runtime", "--root", str(rt.run_root), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def test_create_start_state_exec_ps_kill_delete(builtin_runtime: Runtime) -> None:
    rt = builtin_runtime
    bundle = rt.bundle("c1", ["sleep", "30"])
    rt.track("c1")
    pid_file = rt.tmp / "pid"
    assert _cli(rt, "create", "--bundle", str(bundle), "--pid-file", str(pid_file), "c1").returncode == 0
    doc = json.loads(_cli(rt, "state", "c1").stdout)
    assert doc == {"ociVersion": "1.0.2", "id": "c1", "status": "created", "pid": int(pid_file.read_text()),
                   "bundle": str(bundle), "annotations": {}}  # fmt: skip
    assert _cli(rt, "start", "c1").returncode == 0
    assert json.loads(_cli(rt, "state", "c1").stdout)["status"] == "running"
    listing = _cli(rt, "list").stdout.splitlines()
    assert listing[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert listing[1].split()[:3] == ["c1", str(doc["pid"]), "running"]
    assert json.loads(_cli(rt, "ps", "--format", "json", "c1").stdout) == [doc["pid"]]
    res = _cli(rt, "exec", "c1", "sh", "-c", "hostname; exit 4")
    assert (res.returncode, res.stdout) == (4, "box\n")
    assert _cli(rt, "kill", "c1", "KILL").returncode == 0
    rt.wait_stopped("c1")
    assert json.loads(_cli(rt, "state", "c1").stdout)["status"] == "stopped"
    assert _cli(rt, "delete", "c1").returncode == 0
    gone = _cli(rt, "state", "c1")
    assert (gone.returncode, gone.stderr.strip()) == (1, "container c1 does not exist")


def test_run_in_the_foreground_exits_with_the_code(builtin_runtime: Runtime) -> None:
    rt = builtin_runtime
    bundle = rt.bundle("r1", ["sh", "-c", "echo out; echo err >&2; exit 3"])
    rt.track("r1")
    res = _cli(rt, "run", "--bundle", str(bundle), "r1")
    assert (res.returncode, res.stdout, res.stderr) == (3, "out\n", "err\n")
    assert _cli(rt, "list", "-q").stdout == ""
