"""Commands: exec and run, the two that put the caller's stdio in a container.

Thin, like the rest of the CLI: ``exec`` decides the terminal and calls
``engine.execcmd``; ``run`` is ``runcmd.run``, which ``entry``'s fast path
also calls without typer.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from composer.cli.containers import _opts
from composer.cli.runcmd import env_pairs


def exec_(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name")],
    command: Annotated[list[str], typer.Argument(help="Command and its arguments")],
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Detached mode: run the command in the background")] = False,
    env: Annotated[Optional[list[str]], typer.Option("--env", "-e", help="Set environment variables")] = None,  # noqa: UP045
    index: Annotated[int, typer.Option("--index", help="Index of the container if the service has several replicas")] = 1,
    no_tty: Annotated[bool, typer.Option("--no-TTY", "-T", help="Disable pseudo-TTY allocation (default: auto-detected)")] = False,
    privileged: Annotated[bool, typer.Option("--privileged", help="Give extended privileges to the process")] = False,
    user: Annotated[Optional[str], typer.Option("--user", "-u", help="Run the command as this user")] = None,  # noqa: UP045
    workdir: Annotated[Optional[str], typer.Option("--workdir", "-w", help="Path to workdir directory for this command")] = None,  # noqa: UP045
    interactive: Annotated[bool, typer.Option("--interactive", "-i", hidden=True, help="Keep STDIN open (always)")] = True,
) -> None:
    """Execute a command in a running container."""
    from composer.engine import execcmd

    g = _opts(ctx)
    name = g.project_name_and_services([service])
    opts = execcmd.ExecOptions(
        service=service, argv=command, index=index, environment=env_pairs(env), user=user,
        workdir=workdir, detach=detach, tty=not no_tty and sys.stdin.isatty(), privileged=privileged,
        environ=dict(os.environ),
    )
    code = execcmd.exec_in(g.paths, name, opts)
    raise typer.Exit(code)


def run(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name")],
    command: Annotated[Optional[list[str]], typer.Argument(help="Command and its arguments")] = None,  # noqa: UP045
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Run container in background and print container ID")] = False,
    env: Annotated[Optional[list[str]], typer.Option("--env", "-e", help="Set environment variables")] = None,  # noqa: UP045
    entrypoint: Annotated[Optional[str], typer.Option("--entrypoint", help="Override the entrypoint of the image")] = None,  # noqa: UP045
    label: Annotated[Optional[list[str]], typer.Option("--label", "-l", help="Add or override a label")] = None,  # noqa: UP045
    name: Annotated[Optional[str], typer.Option("--name", help="Assign a name to the container")] = None,  # noqa: UP045
    no_tty: Annotated[bool, typer.Option("--no-TTY", "-T", help="Disable pseudo-TTY allocation (default: auto-detected)")] = False,
    no_deps: Annotated[bool, typer.Option("--no-deps", help="Don't start linked services")] = False,
    publish: Annotated[Optional[list[str]], typer.Option("--publish", "-p", help="Publish a container's port(s) to the host")] = None,  # noqa: UP045
    rm: Annotated[bool, typer.Option("--rm", help="Automatically remove the container when it exits")] = False,
    service_ports: Annotated[bool, typer.Option("--service-ports", help="Run command with all service's ports enabled and mapped to the host")] = False,
    use_aliases: Annotated[bool, typer.Option("--use-aliases", help="Use the service's network aliases in the network(s) the container connects to")] = False,
    user: Annotated[Optional[str], typer.Option("--user", "-u", help="Run as specified username or uid")] = None,  # noqa: UP045
    volume: Annotated[Optional[list[str]], typer.Option("--volume", "-v", help="Bind mount a volume")] = None,  # noqa: UP045
    workdir: Annotated[Optional[str], typer.Option("--workdir", "-w", help="Working directory inside the container")] = None,  # noqa: UP045
    interactive: Annotated[bool, typer.Option("--interactive", "-i", hidden=True, help="Keep STDIN open (always)")] = True,
) -> None:
    """Run a one-off command on a service."""
    from composer.cli import runcmd

    code = runcmd.run(
        _opts(ctx), service, command, detach=detach, env=env, entrypoint=entrypoint, label=label, name=name,
        no_tty=no_tty, no_deps=no_deps, publish=publish, rm=rm, service_ports=service_ports,
        use_aliases=use_aliases, user=user, volume=volume, workdir=workdir, interactive=interactive,
    )
    raise typer.Exit(code)
