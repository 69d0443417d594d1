"""``composer up``'s typer-free fast path (``entry._up`` -> ``upcmd``) against the full CLI (issue #7).

Each invocation runs twice on the same project, once through the fast path and
once with it switched off (the full typer CLI), from the same state; output
and exit code must be the same. Progress lines of containers started side by
side come in any order, so stderr is compared as a sorted list of lines.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.root

# ``composer`` as ``python -m composer`` runs it, the fast path for ``up`` on or off; the
# exit handlers (run by ``entry._exit_now`` too) record whether typer or click was imported
_DRIVER = """
import atexit, sys
from composer.cli import entry
fast, probe = sys.argv.pop(1) == "fast", sys.argv.pop(1)
if not fast:
    del entry._FAST["up"]
atexit.register(lambda: open(probe, "w").write(str(any(m.split(".")[0] in ("typer", "click") for m in sys.modules))))
entry.main()
"""

STACK = {
    "services": {
        "web": {"image": "busybox", "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]},
        "api": {"image": "busybox", "depends_on": ["web"], "isolation": "default",
                "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]},
        "once": {"image": "busybox", "command": ["echo", "hello from once"]},
    },
}


def _lines(stderr: str) -> list[str]:
    return sorted(re.sub(r'"time": [0-9.]+', '"time": T', stderr).splitlines())  # (--progress json)


def _composer(root: Path, probe: Path, fast: bool, *args: str,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _DRIVER, "fast" if fast else "full", str(probe), *args],
                          cwd=REPO, env={**os.environ, "COMPOSER_ROOT": str(root), **(env or {})},
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def both(composer_root: Path, tmp_path: Path, project_name: str):  # type: ignore[no-untyped-def]
    """``both(*up_args, fast_expected=True)``: run ``up`` by both paths from one state, compare, return one."""
    compose = tmp_path / "compose.yaml"
    compose.write_text(json.dumps(STACK))
    base = ["-f", str(compose), "-p", project_name]
    probe = tmp_path / "typer-loaded"

    def down() -> None:
        _composer(composer_root, probe, True, *base, "down", "-t", "0")

    def run_both(*args: str, fast_expected: bool = True, fresh: bool = True, globals_: tuple[str, ...] = (),
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        results = []
        for fast in (True, False):
            if fresh:
                down()
            results.append(_composer(composer_root, probe, fast, *globals_, *base, "up", *args, env=env))
            assert probe.read_text() == str(not (fast and fast_expected)), (fast, args)
        quick, full = results
        assert (quick.returncode, quick.stdout) == (full.returncode, full.stdout), (args, quick, full)
        assert _lines(quick.stderr) == _lines(full.stderr), (args, quick, full)
        return quick

    yield run_both
    down()


def test_detached_up_and_its_flags_print_what_the_full_cli_prints(both) -> None:  # type: ignore[no-untyped-def]
    res = both("-d", "web", "api")
    assert res.returncode == 0
    assert " Container " in res.stderr and "Started" in res.stderr
    assert "not act on these attributes yet" in res.stderr and "services.api.isolation" in res.stderr
    # a second up changes nothing; then the flags of the fast path, the --timeout spellings
    assert both("-d", "web", fresh=False).returncode == 0
    assert "Recreate" in both("--detach", "--force-recreate", "-t", "0", "web", fresh=False).stderr
    assert both("-d", "--no-deps", "--timeout=1", "--no-build", "api", fresh=False).returncode == 0
    assert both("--wait", "--build", "--remove-orphans", "--timeout", "1.5", "web", fresh=False).returncode == 0


def test_global_options_are_read_as_the_full_cli_reads_them(both) -> None:  # type: ignore[no-untyped-def]
    res = both("-d", "web", globals_=("--ansi", "never", "--progress=json", "--parallel", "2"))
    assert res.returncode == 0 and '"status": "Started"' in res.stderr
    res = both("-d", "web", globals_=("--progress", "quiet"), env={"COMPOSE_PARALLEL_LIMIT": "0"})
    assert (res.returncode, res.stderr) == (0, "WARN[0000] composer does not act on these attributes yet "
                                                "(they are parsed and ignored): services.api.isolation\n")
    # values the full CLI refuses or reads its own way: the fast path leaves them to it
    assert both("-d", "web", globals_=("--ansi", "sometimes"), fast_expected=False).returncode != 0
    assert both("-d", "web", env={"COMPOSE_PROGRESS": "loud"}, fast_expected=False).returncode != 0
    assert both("-d", "web", globals_=("--parallel", "+2"), fast_expected=False).returncode == 0


def test_foreground_up_attaches_and_reports_the_exit(both) -> None:  # type: ignore[no-untyped-def]
    res = both("once")
    assert res.returncode == 0
    assert res.stdout.splitlines()[0] == "Attaching to " + res.stdout.split("Attaching to ")[1].split("\n")[0]
    assert "| hello from once" in res.stdout and "exited with code 0" in res.stdout


def test_errors_and_unknown_arguments(both) -> None:  # type: ignore[no-untyped-def]
    res = both("-d", "nosuch")
    assert (res.returncode, res.stderr.splitlines()[-1]) == (1, "no such service: nosuch")
    res = both("-d", "--bogus", fast_expected=False)  # a usage error: the full CLI's message
    assert res.returncode == 2 and "No such option: --bogus" in res.stderr
    res = both("-d", "--no-start", fast_expected=False)  # valid, not parsed by the fast path
    assert res.returncode == 0 and "Created" in res.stderr and "Started" not in res.stderr
    res = both("-d", "-t", "soon", fast_expected=False)
    assert res.returncode == 2


def test_ctrl_c_stops_a_foreground_up_gracefully_on_both_paths(composer_root: Path, tmp_path: Path,
                                                               project_name: str) -> None:
    import signal
    import time

    compose = tmp_path / "compose.yaml"
    compose.write_text(json.dumps(STACK))
    base = ["-f", str(compose), "-p", project_name]
    probe = tmp_path / "typer-loaded"
    env = {**os.environ, "COMPOSER_ROOT": str(composer_root)}
    outcomes = []
    try:
        for fast in (True, False):
            proc = subprocess.Popen([sys.executable, "-c", _DRIVER, "fast" if fast else "full", str(probe),
                                     *base, "up", "-t", "1", "web"], cwd=REPO, env=env, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            assert proc.stdout is not None
            first = proc.stdout.readline()  # "Attaching to ...": up is done, the logs are followed
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
            outcomes.append((proc.returncode, first + out, "Gracefully stopping... (press Ctrl+C again to force)" in err,
                             "Stopped" in err))
            assert probe.read_text() == str(not fast)
    finally:
        _composer(composer_root, probe, True, *base, "down", "-t", "0")
    assert outcomes[0] == outcomes[1] == (0, f"Attaching to {project_name}-web-1\n", True, True)
