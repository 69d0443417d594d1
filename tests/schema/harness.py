"""Run ``config`` with composer (in process) and with the reference binary."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from composer.errors import ComposerError
from composer.schema import ProjectOptions, load_project
from composer.schema.render import render


def _options(directory: Path, env: dict[str, str], args: tuple[str, ...]) -> ProjectOptions:
    files: list[Path] = []
    profiles: list[str] = []
    env_files: list[Path] = []
    name: str | None = None
    it = iter(args)
    for arg in it:
        if arg == "-f":
            files.append(Path(next(it)))
        elif arg == "-p":
            name = next(it)
        elif arg == "--profile":
            profiles.append(next(it))
        elif arg == "--env-file":
            env_files.append(Path(next(it)))
        else:
            raise AssertionError(f"unhandled test argument {arg}")
    return ProjectOptions(
        working_dir=directory,
        environ=env,
        files=tuple(files),
        project_name=name,
        profiles=tuple(profiles),
        env_files=tuple(env_files),
    )


def composer_config(directory: Path, env: dict[str, str], args: tuple[str, ...], fmt: str) -> str:
    return render(load_project(_options(directory, env, args)), fmt)


def composer_unnormalized(directory: Path, env: dict[str, str], args: tuple[str, ...], fmt: str) -> str:
    """``config --no-normalize``: the project without what normalisation added."""
    from composer.schema.rawmodel import load_model

    options = _options(directory, env, args)
    return render(load_project(options), fmt, written=load_model(options, normalize=False))


def composer_raw(
    directory: Path, env: dict[str, str], args: tuple[str, ...], fmt: str, normalize: bool = True
) -> str:
    """``config --no-interpolate [--no-normalize]``: Docker's raw model."""
    from composer import values
    from composer.schema.rawmodel import load_model, render_model

    options = values.replace(_options(directory, env, args), interpolate=False)
    return render_model(load_model(options, normalize), fmt)


def composer_variables(directory: Path, env: dict[str, str], args: tuple[str, ...], fmt: str | None) -> str:
    """``config --variables [--format json|yaml]``."""
    from composer import values
    from composer.schema.rawmodel import load_model
    from composer.schema.variables import extract, render_variables

    options = values.replace(_options(directory, env, args), interpolate=False)
    return render_variables(extract(load_model(options)), fmt)


def composer_listing(directory: Path, env: dict[str, str], args: tuple[str, ...], flag: str) -> str:
    from composer.cli.config import _listing

    flags = [flag == f for f in ("--services", "--volumes", "--networks", "--images", "--profiles")]
    project = load_project(_options(directory, env, args))
    text = _listing(project, *flags, "*" if flag == "--hash" else None, flag == "--models")
    assert text is not None
    return text


def composer_error(directory: Path, env: dict[str, str]) -> str | None:
    try:
        load_project(ProjectOptions(working_dir=directory, environ=env))
    except ComposerError as exc:
        return str(exc)
    return None


def reference_environ(directory: Path, env: dict[str, str]) -> dict[str, str]:
    """The environment the reference binary runs with."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent", **env}
    full_env["DOCKER_CONFIG"] = str(directory / ".docker-config")
    return full_env


def reference_config(
    binary: Path,
    directory: Path,
    env: dict[str, str],
    args: tuple[str, ...],
    fmt: str | None,
    *extra: str,
) -> subprocess.CompletedProcess[str]:
    """The binary's ``config`` (``fmt`` None: no ``--format``, the table of ``--variables``)."""
    return subprocess.run(
        [str(binary), *args, "config", *(("--format", fmt) if fmt else ()), *extra],
        cwd=directory,
        env=reference_environ(directory, env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
