"""CLI start-up: the fast paths' parsers and the lazy registration of commands (issues #5, #7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from composer.cli import buildcmd, entry, main, upcmd
from composer.cli.entry import command_name

REPO = Path(__file__).resolve().parents[3]


def test_the_command_table_names_every_command_of_every_module() -> None:
    by_module: dict[str, list[str]] = {}
    for name, module in main.COMMANDS.items():
        by_module.setdefault(module, []).append(name)
    for module in dict.fromkeys(main.COMMANDS.values()):
        assert main.command_names(main.module_commands(module)) == by_module[module], module


@pytest.mark.parametrize(("argv", "name"), [
    (["build", "site"], "build"),
    (["-f", "a.yaml", "--project-name", "p", "up", "-d"], "up"),
    (["--file=a.yaml", "--dry-run", "--ansi", "never", "image", "ls"], "image"),
    (["--root", "/r", "--profile", "x", "--env-file", "e", "config"], "config"),
    (["--help"], None),
    (["-f"], None),
    ([], None),
    (["--unknown", "ps"], None),
])
def test_command_name_skips_the_global_options(argv: list[str], name: str | None) -> None:
    assert command_name(argv) == name


@pytest.mark.parametrize(("args", "parsed"), [
    ([], {"services": None, "build_arg": None}),
    (["site", "-q", "--no-cache"], {"services": ["site"], "build_arg": None, "quiet": True, "no_cache": True}),
    (["--build-arg", "A=1", "--build-arg=B", "--pull"], {"services": None, "build_arg": ["A=1", "B"], "pull": True}),
    (["--help"], None),
    (["--build-arg"], None),
    (["--", "site"], None),
    (["--bogus", "site"], None),
])
def test_build_fast_path_parser(args: list[str], parsed: dict[str, object] | None) -> None:
    assert buildcmd.parse(args) == parsed


@pytest.mark.parametrize(("args", "parsed"), [
    (["-d"], {"services": None, "detach": True}),
    (["web", "--detach", "--build", "api"], {"services": ["web", "api"], "detach": True, "build": True}),
    (["--wait", "--no-build", "--force-recreate", "--no-deps", "--remove-orphans"],
     {"services": None, "wait": True, "no_build": True, "force_recreate": True, "no_deps": True,
      "remove_orphans": True}),
    (["-t", "5", "--timeout=1.5", "web"], {"services": ["web"], "timeout": 1.5}),
    (["--timeout", ".5"], {"services": None, "timeout": 0.5}),
    ([], {"services": None}),
    (["--help"], None),
    (["-h"], None),
    (["-dt", "5"], None),          # combined short flags
    (["-t"], None),
    (["-t", "-1"], None),          # the full CLI's float reading, not ours
    (["-t", "1e3"], None),
    (["--timeout", "soon"], None),
    (["-t5"], None),
    (["--no-start"], None),        # valid, but not parsed here
    (["--", "web"], None),
    (["-d", "--scale", "web=2"], None),
])
def test_up_fast_path_parser(args: list[str], parsed: dict[str, object] | None) -> None:
    assert upcmd.parse(args) == parsed


@pytest.mark.parametrize(("argv", "env", "expected"), [
    (["up", "-d"], {}, ("auto", "auto", 64, None)),
    (["--ansi", "never", "--progress=plain", "--parallel", "3", "--runtime", "crun", "up", "-d"], {},
     ("never", "plain", 3, "crun")),
    (["up", "-d"], {"COMPOSE_ANSI": "always", "COMPOSE_PROGRESS": "json", "COMPOSE_PARALLEL_LIMIT": "-1",
                    "COMPOSER_RUNTIME": "runc"}, ("always", "json", 64, "runc")),
    (["--ansi", "auto", "up", "-d"], {"COMPOSE_ANSI": "never", "COMPOSE_PARALLEL_LIMIT": ""}, ("auto", "auto", 64, None)),
    (["--ansi", "sometimes", "up", "-d"], {}, None),
    (["up", "-d"], {"COMPOSE_PROGRESS": "loud"}, None),
    (["--parallel", "+2", "up", "-d"], {}, None),
    (["up", "-d"], {"COMPOSE_PARALLEL_LIMIT": "two"}, None),
    (["--root", "", "up", "-d"], {}, None),
    (["--dry-run", "up", "-d"], {}, None),
    (["up", "-d"], {"_COMPOSER_COMPLETE": "bash_complete"}, None),
])
def test_up_fast_path_reads_the_global_options_as_the_full_cli(
        monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str],
        expected: tuple[str, str, int, str | None] | None) -> None:
    for name in ("COMPOSE_ANSI", "COMPOSE_PROGRESS", "COMPOSE_PARALLEL_LIMIT", "COMPOSER_RUNTIME", "_COMPOSER_COMPLETE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    seen: list[tuple[str, str, int, str | None]] = []
    monkeypatch.setattr(upcmd, "run", lambda g, **kw: seen.append((g.ansi, progress_mode[0], g.parallel, g.runtime)) or 0)
    progress_mode: list[str] = []
    monkeypatch.setattr("composer.cli.progress.configure", lambda mode, ansi: progress_mode.append(mode))
    try:
        opts, rest = entry._split_globals(argv)
        assert entry._up(opts, rest[1:]) == 0
    except entry._Fallback:
        seen.append(None)  # type: ignore[arg-type]
    assert seen == [expected]


def test_build_args_take_the_environment_for_a_bare_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_ENV", "e")
    monkeypatch.delenv("NOT_SET", raising=False)
    assert buildcmd.build_args(["A=1=2", "FROM_ENV", "NOT_SET"]) == {"A": "1=2", "FROM_ENV": "e"}


def test_registering_one_command_keeps_the_app_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.main import get_command

    app = typer.Typer()
    app.callback()(lambda: None)
    monkeypatch.setattr(main, "app", app)
    monkeypatch.setattr(main, "_registered", set())
    main._register("build")
    assert sorted(get_command(app).commands) == ["build"]  # type: ignore[attr-defined]
    main._register()  # then everything else, once each, in the help order
    names = list(get_command(app).commands)  # type: ignore[attr-defined]
    assert sorted(names) == sorted(main.COMMANDS) and len(names) == len(set(names))


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = "from composer.cli.entry import main; main()"  # sys.argv = ["-c", *args]
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, cwd=REPO, check=False)


def test_version_imports_nothing_of_typer_or_pydantic() -> None:
    code = ("import sys; from composer.cli.entry import main; sys.argv = ['composer', 'version']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'pydantic', 're', 'typing')\n"
            "             and m != 'pydantic.plugin._loader'))")  # the stub, not an import
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.splitlines() == ["composer version v0.1.0", "[]"]


def test_build_fast_path_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    out = _run("--root", str(tmp_path / "root"), "-f", str(tmp_path / "compose.yaml"), "build", "nosuch")
    assert (out.returncode, out.stderr) == (1, "no such service: nosuch\n")
    out = _run("--root", str(tmp_path / "root"), "-f", str(tmp_path / "compose.yaml"), "build")
    assert (out.returncode, out.stderr) == (0, "")  # nothing to build: web has no build section


def test_model_loads_without_the_pydantic_plugin_search(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    code = ("import sys; from composer.cli.entry import skip_pydantic_plugins; skip_pydantic_plugins()\n"
            "from pathlib import Path; from composer.cli.context import GlobalOptions\n"
            f"p = GlobalOptions(files=[Path({str(tmp_path / 'compose.yaml')!r})], root=Path({str(tmp_path / 'root')!r}))"
            ".load_project()\n"
            "print(sorted(p.services), 'importlib.metadata' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout == "['web'] False\n"
