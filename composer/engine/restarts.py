"""Restart policies, kept by the project monitor: ``restart:`` and ``deploy.restart_policy``.

Docker's rules: ``no`` never restarts; ``always`` and ``unless-stopped``
restart whatever the exit code; ``on-failure[:N]`` restarts on a non-zero
exit, at most N times. A container stopped by a user command (``stop``,
``down``, ``kill`` through composer) is not restarted: the engine leaves a
``stopped-by-user`` marker in the container's directory. Back-off doubles
from 100 ms up to one minute and starts again after a run of 10 seconds.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from composer.engine import state
from composer.engine.state import Paths

BACKOFF_START = 0.1
BACKOFF_MAX = 60.0
RESET_AFTER = 10.0
USER_STOP_MARKER = "stopped-by-user"


@dataclass(frozen=True)
class Policy:
    name: str  # no | always | unless-stopped | on-failure
    max_attempts: int | None = None
    delay: float | None = None


def policy_of(rec: dict[str, Any]) -> Policy:
    deploy = rec.get("restart_policy")
    if deploy:  # deploy.restart_policy: condition none|on-failure|any
        cond = deploy.get("condition") or "any"
        name = {"none": "no", "any": "always"}.get(cond, cond)
        return Policy(name, deploy.get("max_attempts"), deploy.get("delay"))
    raw = str(rec.get("restart") or "no")
    if raw.startswith("on-failure"):
        _, _, count = raw.partition(":")
        return Policy("on-failure", int(count) if count.isdigit() else None)
    return Policy(raw if raw in ("always", "unless-stopped") else "no")


def should_restart(policy: Policy, exit_code: int | None, restart_count: int) -> bool:
    if policy.name == "no":
        return False
    if policy.max_attempts is not None and restart_count >= policy.max_attempts:
        return False
    if policy.name == "on-failure":
        return exit_code not in (0, None)
    return True


def backoff(previous: float | None, ran_for: float) -> float:
    if previous is None or ran_for >= RESET_AFTER:
        return BACKOFF_START
    return min(previous * 2, BACKOFF_MAX)


def mark_user_stop(paths: Paths, container_id: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (paths.container_dir(container_id) / USER_STOP_MARKER).touch()


def clear_user_stop(paths: Paths, container_id: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (paths.container_dir(container_id) / USER_STOP_MARKER).unlink()


def stopped_by_user(paths: Paths, container_id: str) -> bool:
    return (paths.container_dir(container_id) / USER_STOP_MARKER).exists()


def read_count(paths: Paths, container_id: str) -> dict[str, Any]:
    rec = state.read_json(paths.container_dir(container_id) / "restarts.json")
    return rec if isinstance(rec, dict) else {"count": 0}


def write_count(paths: Paths, container_id: str, data: dict[str, Any]) -> None:
    if paths.container_dir(container_id).exists():
        state.write_json(paths.container_dir(container_id) / "restarts.json", data)


def will_restart(paths: Paths, rec: dict[str, Any], exit_code: int | None) -> bool:
    """Whether the monitor is going to restart this stopped container."""
    if rec.get("oneoff") or stopped_by_user(paths, rec["id"]):
        return False
    return should_restart(policy_of(rec), exit_code, read_count(paths, rec["id"]).get("count", 0))
