"""``composer run`` without typer: the command itself, and a parser for the fast path.

Both the typer command (``runexec.run``) and ``entry``'s fast path call
``run``; the fast path only when ``parse`` understands every argument (else
the full CLI parses them and reports any error). Signals sent to ``run``
(Ctrl-C, SIGTERM) go to the container, the second one as SIGKILL; one that
comes while it starts is passed on once it runs, a second one then aborts
the start.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from composer.cli.context import GlobalOptions
    from composer.engine.state import Paths

#: options without a value -> keyword; options with one -> (keyword, repeatable)
_FLAGS = {"-d": "detach", "--detach": "detach", "--rm": "rm", "-T": "no_tty", "--no-TTY": "no_tty",
          "--no-deps": "no_deps", "--service-ports": "service_ports", "--use-aliases": "use_aliases",
          "-i": "interactive", "--interactive": "interactive"}
_VALUED = {"-e": ("env", True), "--env": ("env", True), "-l": ("label", True), "--label": ("label", True),
           "-p": ("publish", True), "--publish": ("publish", True), "-v": ("volume", True),
           "--volume": ("volume", True), "--name": ("name", False), "-u": ("user", False),
           "--user": ("user", False), "-w": ("workdir", False), "--workdir": ("workdir", False),
           "--entrypoint": ("entrypoint", False)}


def env_pairs(items: list[str] | None) -> dict[str, str | None]:
    """``-e KEY=VALUE`` or ``-e KEY`` (taken from the caller's environment)."""
    out: dict[str, str | None] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not key:
            from composer.errors import ConfigError

            raise ConfigError(f"invalid environment variable {item!r}: expected KEY=VALUE or KEY")
        out[key] = value if sep else None
    return out


def parse(args: list[str]) -> dict[str, Any] | None:
    """``run``'s arguments as its keywords, or None when the full parser is needed."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(args) and args[i].startswith("-"):
        name, eq, value = args[i].partition("=")
        if name in _FLAGS and not eq:
            out[_FLAGS[name]] = True
        elif name in _VALUED and (eq or i + 1 < len(args)):
            if not eq:
                i += 1
                value = args[i]
            key, many = _VALUED[name]
            if many:
                out.setdefault(key, []).append(value)
            else:
                out[key] = value
        else:
            return None  # --help, combined short flags, anything else: the full CLI
        i += 1
    if i >= len(args):
        return None
    out["service"], out["command"] = args[i], args[i + 1:] or None
    return out


def run(g: GlobalOptions, service: str, command: list[str] | None = None, *, detach: bool = False,
        env: list[str] | None = None, entrypoint: str | None = None, label: list[str] | None = None,
        name: str | None = None, no_tty: bool = False, no_deps: bool = False, publish: list[str] | None = None,
        rm: bool = False, service_ports: bool = False, use_aliases: bool = False, user: str | None = None,
        volume: list[str] | None = None, workdir: str | None = None, interactive: bool = True) -> int:
    """Run the one-off container; its exit code (or the ID printed, detached)."""
    import shlex

    from composer.cli.progress import report
    from composer.engine import oneoff
    from composer.errors import ConfigError, ContainerStartError
    from composer.image.store import ImageStore

    if detach and rm:
        raise ConfigError("--rm and -d cannot be combined")
    proj = g.load_project([service])
    paths = g.paths
    tty = not no_tty and sys.stdin.isatty()
    attachment = None if detach else oneoff.Attachment(tty, interactive)
    opts = oneoff.RunOptions(
        service=service, command=command or None,
        entrypoint=shlex.split(entrypoint) if entrypoint is not None else None,
        environment=env_pairs(env), labels={k: v or "" for k, v in env_pairs(label).items()}, name=name,
        user=user, workdir=workdir, publish=publish or [], service_ports=service_ports, volumes=volume or [],
        no_deps=no_deps, use_aliases=use_aliases, runtime=g.runtime, environ=dict(os.environ),
        image_options=g.image_options(), tty=tty, interactive=interactive,
        stdio=attachment.stdio if attachment else None, remove=rm,
    )
    with _Forward(paths, attached=attachment is not None) as forward:
        try:
            rec = oneoff.start(paths, proj, ImageStore(paths.state_root), opts, report)
        except ContainerStartError as exc:
            print(str(exc), file=sys.stderr)
            return oneoff.exit_code_for(exc)
        finally:
            if attachment is not None:
                attachment.started()
        if attachment is None:
            print(rec["id"])  # as `docker compose run -d`: the container's ID
            return 0
        forward.to(rec)
        try:
            code = attachment.wait(paths, rec)
        finally:
            attachment.close()
    if rm:
        _remove(paths, rec)
    return code


def _remove(paths: Paths, rec: dict[str, Any]) -> None:
    from composer.engine import containers, volumes

    containers.remove(paths, rec)
    for vol in rec.get("anonymous_volumes", []):
        volumes.remove_volume(paths, vol)


class _Forward:
    """SIGINT and SIGTERM to the one-off container while installed (see the module docstring)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, paths: Paths, *, attached: bool) -> None:
        self.paths = paths
        self.attached = attached
        self.rec: dict[str, Any] | None = None
        self.hits: list[int] = []
        self.old: dict[int, Any] = {}

    def __enter__(self) -> _Forward:
        if self.attached:
            self.old = {s: signal.signal(s, self) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for s, handler in self.old.items():
            signal.signal(s, handler)

    def __call__(self, signum: int, frame: Any) -> None:
        self.hits.append(signum)
        if self.rec is None and len(self.hits) > 1:
            raise KeyboardInterrupt
        self._send()

    def to(self, rec: dict[str, Any]) -> None:
        self.rec = rec
        self._send()

    def _send(self) -> None:
        from composer.engine import containers

        if self.rec is not None and self.hits:
            containers.kill(self.paths, self.rec, signal.SIGKILL if len(self.hits) > 1 else self.hits[-1])
