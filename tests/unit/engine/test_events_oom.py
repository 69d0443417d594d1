"""An OOM-killed container's ``die`` comes after an ``oom`` event, as Docker emits them (pure)."""

from __future__ import annotations

import datetime as dt

from composer.engine.events import _Look, diff

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
REC = {"id": "b" * 64, "name": "p-hog-1", "service": "hog", "image": "busybox"}


def look(status: str, started: str | None, oom: bool = False) -> _Look:
    return _Look(status, started, "", dict(REC, _exit=137 if status == "stopped" else None, _oom=oom))


def test_oom_precedes_die() -> None:
    cid = REC["id"]
    events = diff({cid: look("running", "t1")}, {cid: look("stopped", "t1", oom=True)}, NOW)
    assert [(e.action, e.attributes.get("exitCode")) for e in events] == [("oom", None), ("die", "137")]
    assert [e.action for e in diff({}, {cid: look("stopped", "t1", oom=True)}, NOW)] == ["create", "start", "oom", "die"]


def test_no_oom_for_other_endings() -> None:
    cid = REC["id"]
    assert [e.action for e in diff({cid: look("running", "t1")}, {cid: look("stopped", "t1")}, NOW)] == ["die"]
    assert [e.action for e in diff({cid: look("running", "t1", oom=True)}, {}, NOW)] == ["die", "destroy"]
