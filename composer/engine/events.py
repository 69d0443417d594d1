"""``events``: the project's container events, as Docker Compose streams them.

There is no daemon to subscribe to, so events are derived: the records and
runtime states of the project's containers are polled and each change
between two looks becomes an event (``create``, ``start``, ``die`` with its
exit code, ``destroy``, ``health_status: healthy``, ``pause``,
``unpause``; ``oom`` before the ``die`` of an OOM-killed container). What is already there when watching starts produces nothing,
as with Docker. Changes quicker than the poll interval (a container that
starts and dies in between) are reported as both, in order.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from composer.engine import state
from composer.engine.state import Paths


@dataclass(frozen=True)
class Event:
    time: dt.datetime
    action: str
    container: str  # the container id
    service: str
    attributes: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """Docker Compose's line: ``<time> container <action> <id> (k=v, ...)``."""
        attrs = ", ".join(f"{k}={v}" for k, v in sorted(self.attributes.items()))
        return f"{self.time.strftime('%Y-%m-%d %H:%M:%S.%f')} container {self.action} {self.container} ({attrs})"

    def json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "attributes": dict(sorted(self.attributes.items())),
            "id": self.container,
            "service": self.service,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "type": "container",
        }


@dataclass(frozen=True)
class _Look:
    status: str
    started_at: str | None
    health: str
    rec: dict[str, Any]


def _looks(paths: Paths, project: str, services: Sequence[str]) -> dict[str, _Look]:
    from composer.runtime.api import container_state

    out = {}
    for rec in state.container_records(paths, project):
        if services and rec["service"] not in services:
            continue
        st = container_state(rec["id"], paths.runtime)
        status: str = "created" if st is None else st.status
        if st is not None and getattr(st, "paused", False):
            status = "paused"
        health = (state.health_record(paths, rec["id"]) or {}).get("status", "") if rec.get("healthcheck") else ""
        exit_code = st.exit_code if st is not None else None
        out[rec["id"]] = _Look(status, st.started_at if st is not None else None, health,
                               dict(rec, _exit=exit_code, _oom=st is not None and st.oom_killed))
    return out


def _attrs(rec: dict[str, Any], **extra: str) -> dict[str, str]:
    return {"image": str(rec.get("image") or ""), "name": rec["name"], **extra}


def diff(before: dict[str, _Look], after: dict[str, _Look], now: dt.datetime) -> list[Event]:
    """The events that lead from one look at the project to the next."""
    events: list[Event] = []
    for cid in sorted(after, key=lambda c: after[c].rec["name"]):
        new, old = after[cid], before.get(cid)
        rec = new.rec

        def ev(action: str, cid: str = cid, rec: dict[str, Any] = rec, **extra: str) -> None:
            if action == "die" and rec.get("_oom"):  # the OOM killer ended it: Docker's "oom" comes first
                events.append(Event(now, "oom", cid, rec["service"], _attrs(rec)))
            events.append(Event(now, action, cid, rec["service"], _attrs(rec, **extra)))

        if old is None:
            ev("create")
        old_status = old.status if old else "created"
        was_running = old_status in ("running", "paused")
        if new.started_at is not None and new.started_at != (old.started_at if old else None):
            if was_running:
                ev("die")  # it stopped and started again between two looks
            ev("start")
            if new.status == "stopped":
                ev("die", exitCode=str(rec.get("_exit") or 0))
        elif new.status == "stopped" and was_running:
            ev("die", exitCode=str(rec.get("_exit") or 0))
        if new.status == "paused" and old_status == "running":
            ev("pause")
        if new.status == "running" and old_status == "paused":
            ev("unpause")
        if new.health and new.health != (old.health if old else "") and new.health != "starting":
            ev(f"health_status: {new.health}")
    for cid in sorted(set(before) - set(after)):
        rec = before[cid].rec
        if before[cid].status in ("running", "paused"):
            events.append(Event(now, "die", cid, rec["service"], _attrs(rec, exitCode="137")))
        events.append(Event(now, "destroy", cid, rec["service"], _attrs(rec)))
    return events


def watch(paths: Paths, project: str, services: Sequence[str] = (), *, interval: float = 0.2,
          stop: Callable[[], bool] = lambda: False) -> Iterator[Event]:
    """Events as they happen, until ``stop()`` says so."""
    before = _looks(paths, project, services)
    while not stop():
        time.sleep(interval)
        after = _looks(paths, project, services)
        yield from diff(before, after, dt.datetime.now(dt.UTC))
        before = after
