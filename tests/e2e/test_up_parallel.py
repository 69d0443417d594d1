"""`up -d` and `down` of a wider stack: containers start side by side, DNS is there from the
first process on, and `down` leaves no veth, namespace, mount or monitor behind."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from composer.engine.containers import veth_name

pytestmark = pytest.mark.root

TRAP = "trap 'exit 0' TERM; "


def _stack(n: int) -> str:
    lines = ["services:"]
    for i in range(n):
        lines += [f"  s{i}:", "    image: busybox", f"    command: {json.dumps(['sh', '-c', TRAP + 'sleep 1000 & wait'])}"]
    # resolves peers the moment it starts: the embedded DNS server must already listen
    lines += ["  client:", "    image: busybox", "    depends_on: [s0]",
              "    command: " + json.dumps(["sh", "-c", "nslookup s0 && nslookup s1 && " + TRAP + "sleep 1000 & wait"])]
    return "\n".join(lines) + "\n"


def _links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines()}


def _ours_left(names: set[str]) -> set[str]:
    """Which of ``names`` still exist, after giving the kernel's namespace clean-up 5 s."""
    deadline = time.monotonic() + 5
    left = names & _links()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = names & _links()
    return left


def test_wide_stack_up_then_down_leaves_nothing(run, composer_root: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                project_name: str) -> None:
    (tmp_path / "compose.yaml").write_text(_stack(8))
    base = ["-f", str(tmp_path / "compose.yaml"), "-p", project_name]
    res = run(*base, "up", "-d")
    assert res.stderr.count("Started") == 9, res.stderr
    rows = [json.loads(line) for line in run(*base, "ps", "--format", "json").stdout.splitlines()]
    assert len(rows) == 9 and all(r["State"] == "running" for r in rows), rows  # the client's lookups worked
    records = [json.loads(p.read_text()) for p in (composer_root / "containers").glob("*/container.json")]
    ips = [att["ip"] for r in records for att in r["networks"].values()]
    assert len(set(ips)) == len(ips) == 9  # one address each, allocated side by side
    nets = [json.loads(p.read_text()) for p in (composer_root / "networks").glob("*.json")]
    ours = {veth_name(r["id"], net) for r in records for net in r["networks"]} | {n["bridge"] for n in nets}
    assert ours <= _links()

    res = run(*base, "down", "-t", "1")
    assert res.stderr.count("Removed") == 10, res.stderr  # 9 containers and the network
    assert not list((composer_root / "containers").iterdir())
    netns = composer_root / "run" / "netns"
    assert not netns.exists() or not list(netns.iterdir())
    assert not _ours_left(ours)
    assert not (composer_root / "run" / "monitor" / f"{project_name}.pid").exists()
    with open("/proc/self/mountinfo") as fh:
        assert str(composer_root) not in fh.read()
