"""The events derived from two looks at a project (pure)."""

from __future__ import annotations

import datetime as dt

from composer.engine.events import Event, _Look, diff
from composer.engine.oneoff import is_oneoff, oneoff_service  # noqa: F401  (importable without a kernel)

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC)
REC = {"id": "a" * 64, "name": "p-web-1", "service": "web", "image": "busybox"}


def look(status: str, started: str | None, health: str = "", exit_code: int | None = None) -> _Look:
    return _Look(status, started, health, dict(REC, _exit=exit_code))


def actions(before: dict[str, _Look], after: dict[str, _Look]) -> list[str]:
    return [e.action for e in diff(before, after, NOW)]


def test_lifecycle_transitions() -> None:
    cid = REC["id"]
    assert actions({}, {cid: look("created", None)}) == ["create"]
    assert actions({cid: look("created", None)}, {cid: look("running", "t1")}) == ["start"]
    assert actions({cid: look("running", "t1")}, {cid: look("running", "t1")}) == []
    assert actions({cid: look("running", "t1")}, {cid: look("stopped", "t1", exit_code=3)}) == ["die"]
    assert actions({cid: look("running", "t1")}, {cid: look("running", "t2")}) == ["die", "start"]
    assert actions({cid: look("stopped", "t1")}, {cid: look("stopped", "t2")}) == ["start", "die"]
    assert actions({}, {cid: look("stopped", "t1")}) == ["create", "start", "die"]
    assert actions({cid: look("running", "t1")}, {}) == ["die", "destroy"]
    assert actions({cid: look("stopped", "t1")}, {}) == ["destroy"]
    assert actions({cid: look("running", "t1", "starting")}, {cid: look("running", "t1", "healthy")}) == [
        "health_status: healthy"]
    assert actions({cid: look("running", "t1")}, {cid: look("paused", "t1")}) == ["pause"]
    assert actions({cid: look("paused", "t1")}, {cid: look("running", "t1")}) == ["unpause"]


def test_die_carries_the_exit_code_and_formats_like_docker_compose() -> None:
    cid = REC["id"]
    (event,) = diff({cid: look("running", "t1")}, {cid: look("stopped", "t1", exit_code=3)}, NOW)
    assert event.text() == f"2026-01-02 03:04:05.123456 container die {cid} (exitCode=3, image=busybox, name=p-web-1)"
    assert event.json() == {
        "action": "die", "attributes": {"exitCode": "3", "image": "busybox", "name": "p-web-1"},
        "id": cid, "service": "web", "time": "2026-01-02T03:04:05.123456Z", "type": "container",
    }
    assert isinstance(event, Event)


def test_oneoff_records_are_recognised() -> None:
    assert is_oneoff({"labels": {"com.docker.compose.oneoff": "True"}})
    assert is_oneoff({"oneoff": True, "labels": {}})
    assert not is_oneoff({"labels": {"com.docker.compose.oneoff": "False"}})
