"""``mem_swappiness`` and ``oom_kill_disable``: written to cgroup v1's memory files, as runc does.

The engine puts them in config.json (``linux.resources.memory.swappiness`` and
``disableOOMKiller``); every backend writes ``memory.swappiness`` and
``memory.oom_control`` where the memory controller is on v1. cgroup v2 has no
equivalent: there they are ignored, as runc ignores them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from composer.runtime.cgroups import Cgroup, hierarchies
from composer.runtime.spec import SpecError, parse_spec
from composer.runtime.state import read_record

if TYPE_CHECKING:
    from tests.integration.runtime.harness import Runtime

pytestmark = pytest.mark.root

MiB = 1024 * 1024


def _memory(**fields: Any) -> Any:
    def edit(spec: dict[str, Any]) -> None:
        spec["linux"].setdefault("resources", {})["memory"] = {"limit": 64 * MiB, **fields}

    return edit


def _memory_dir(runtime: Runtime, name: str) -> Any:
    record = read_record(runtime.run_root / name)
    assert record is not None and record.cgroup
    return Cgroup(record.cgroup).dir("memory")


def _keyed(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in text.splitlines() if line.strip())}


@pytest.fixture
def v1_memory() -> None:
    if "memory" not in hierarchies().v1:
        pytest.skip("the memory controller is not on cgroup v1")


@pytest.mark.usefixtures("v1_memory")
def test_swappiness_and_oom_killer_are_written(runtime: Runtime) -> None:
    runtime.start("memopts", ["sleep", "60"], edit=_memory(swappiness=7, disableOOMKiller=True))
    mem = _memory_dir(runtime, "memopts")
    assert mem is not None
    assert (mem / "memory.swappiness").read_text().strip() == "7"
    assert _keyed((mem / "memory.oom_control").read_text())["oom_kill_disable"] == 1


@pytest.mark.usefixtures("v1_memory")
def test_defaults_leave_the_oom_killer_on(runtime: Runtime) -> None:
    runtime.start("memdefault", ["sleep", "60"], edit=_memory())
    mem = _memory_dir(runtime, "memdefault")
    assert mem is not None
    assert _keyed((mem / "memory.oom_control").read_text())["oom_kill_disable"] == 0


def test_out_of_range_swappiness_is_a_spec_error() -> None:
    raw = {"ociVersion": "1.0.2", "process": {"args": ["true"], "cwd": "/"}, "root": {"path": "rootfs"},
           "linux": {"namespaces": [{"type": "mount"}], "resources": {"memory": {"swappiness": 101}}}}
    with pytest.raises(SpecError, match="swappiness"):
        parse_spec(raw)
