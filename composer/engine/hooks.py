"""Lifecycle hooks: ``post_start`` and ``pre_stop`` commands run in the container.

As Docker Compose runs them (pkg/compose/hook.go): each hook is an exec in the
container, one after the other, right after the container started
(``post_start``) or just before the engine stops it for ``stop``, ``down``,
``restart`` or a recreate (``pre_stop``; not when the program exits by
itself). A hook gets the container's environment with its own ``environment``
on top, its ``working_dir`` or the container's, and its ``user`` resolved
against the container's /etc/passwd (the container's user by default). Its
output goes to the reporter line by line; a hook exiting non-zero stops the
rest and fails the command with ``<service> hook exited with status <n>``,
Docker Compose's message. ``privileged`` needs nothing more: exec'd processes
get the container's capability set already (``execcmd``).

The hooks travel in the container record (``create``), so the stop paths need
no compose file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from composer.engine import state
from composer.engine.state import Paths
from composer.errors import ComposerError

if TYPE_CHECKING:
    from composer.schema.model import Service

#: report(kind, name, status), as project.Reporter
Reporter = Callable[[str, str, str], None]

POST_START = "post_start"
PRE_STOP = "pre_stop"
_FIELDS = {"command", "user", "privileged", "working_dir", "environment"}


def record_hooks(service: Service) -> dict[str, list[dict[str, Any]]]:
    """The service's hooks as plain data for the container record (empty: no key at all)."""
    out = {}
    for kind in (POST_START, PRE_STOP):
        hooks = getattr(service, kind)
        if hooks:
            out[kind] = [h.model_dump(mode="json", include=_FIELDS) for h in hooks]
    return out


def _quiet(kind: str, name: str, status: str) -> None:
    pass


def run(paths: Paths, record: dict[str, Any], kind: str, report: Reporter = _quiet) -> None:
    """Run the record's ``kind`` hooks in its running container; raise on the first failure."""
    hooks = (record.get("hooks") or {}).get(kind) or []
    if not hooks:
        return
    from composer.engine import execcmd
    from composer.runtime import api

    spec = state.read_json(paths.container_dir(record["id"]) / "config.json") or {}
    process = spec.get("process", {})
    label = _short_name(record)
    for hook in hooks:
        argv = list(hook.get("command") or [])
        if not argv:
            continue
        uid, gid = execcmd.container_user(paths, record, hook.get("user"))
        result = api.exec_container(
            record["id"], paths.runtime, argv, env=_env(process, hook.get("environment") or {}),
            cwd=hook.get("working_dir") or process.get("cwd") or "/", uid=uid, gid=gid,
        )
        for line in (result.stdout + result.stderr).decode(errors="replace").splitlines():
            report("Hook", label, line)
        if result.exit_code != 0:
            raise ComposerError(f"{record['service']} hook exited with status {result.exit_code}")


def _short_name(record: dict[str, Any]) -> str:
    """``web-1 ->``: the container's name without the project, as Docker Compose prefixes hook output."""
    name = str(record.get("name", ""))
    prefix = f"{record.get('project', '')}-"
    return f"{name[len(prefix):] if name.startswith(prefix) else name} ->"


def _env(process: dict[str, Any], extra: dict[str, Any]) -> list[str]:
    env: dict[str, str] = {}
    for item in process.get("env", []):
        key, _, value = item.partition("=")
        env[key] = value
    for key, value in extra.items():
        if value is not None:
            env[key] = str(value)
    return [f"{k}={v}" for k, v in env.items()]
