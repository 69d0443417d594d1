"""Reading container logs: Docker json-file lines, merged in time order.

Each container's shim appends ``{"log", "stream", "time"}`` lines to
``<id>-json.log``. Reading merges the files of several containers by time;
following polls the files for new lines (cheap, no inotify dependency) and
ends when every followed container has stopped and its file is drained.
"""

from __future__ import annotations

import heapq
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from composer.engine.state import Paths


@dataclass(frozen=True)
class LogLine:
    time: str
    container: str
    service: str
    stream: str
    text: str


def log_path(paths: Paths, rec: dict[str, Any]) -> Path:
    return paths.container_dir(rec["id"]) / f"{rec['id']}-json.log"


def _parse(raw: bytes, rec: dict[str, Any]) -> LogLine | None:
    try:
        entry = json.loads(raw)
    except ValueError:
        return None
    return LogLine(entry.get("time", ""), rec["name"], rec["service"], entry.get("stream", "stdout"),
                   entry.get("log", ""))


def rotated_files(path: Path) -> list[Path]:
    """Rotated files of a log (``<id>-json.log.N``, as Docker's json-file driver names them), oldest first."""
    found = []
    n = 1
    while (candidate := path.with_name(f"{path.name}.{n}")).exists():
        found.append(candidate)
        n += 1
    return list(reversed(found))


def read_file(path: Path, rec: dict[str, Any], offset: int = 0) -> tuple[list[LogLine], int]:
    """Complete lines from ``offset``; returns them and the offset after the last one.

    A file shorter than ``offset`` was rotated under us: read it from the start.
    """
    try:
        with open(path, "rb") as fh:
            if offset > os.fstat(fh.fileno()).st_size:
                offset = 0
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    lines = [p for raw in data[: end + 1].splitlines() if (p := _parse(raw, rec))]
    return lines, offset + end + 1


@dataclass(frozen=True)
class TimeWindow:
    """``--since`` / ``--until``: RFC 3339 times or durations before now (``42m``, ``1h30m``)."""

    since: str | None = None
    until: str | None = None

    @classmethod
    def parse(cls, since: str | None, until: str | None) -> TimeWindow:
        return cls(_to_stamp(since, "--since"), _to_stamp(until, "--until"))

    def contains(self, stamp: str) -> bool:
        return (self.since is None or stamp >= self.since) and (self.until is None or stamp < self.until)


def _to_stamp(value: str | None, flag: str) -> str | None:
    """A comparable RFC 3339 UTC stamp (the shim writes ``...T..:..:..(.fraction)Z``)."""
    import datetime as dt
    import re

    from composer.errors import ConfigError

    if not value:
        return None
    now = dt.datetime.now(dt.UTC)
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?", value)
    if parts and any(parts.groups()):
        h, m, sec = (int(x or 0) for x in parts.groups())
        when = now - dt.timedelta(hours=h, minutes=m, seconds=sec)
    elif value.isdigit():
        when = dt.datetime.fromtimestamp(int(value), dt.UTC)
    else:
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"invalid value for {flag}: {value!r} (a timestamp like 2013-01-02T13:23:37Z or a duration like 42m)") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def snapshot(paths: Paths, recs: list[dict[str, Any]], tail: int | None = None,
             window: TimeWindow | None = None) -> tuple[list[LogLine], dict[str, int]]:
    """Every line so far of ``recs`` (within ``window``), merged by time; each file's end offset."""
    per: list[list[LogLine]] = []
    offsets: dict[str, int] = {}
    for rec in recs:
        main = log_path(paths, rec)
        lines = [ln for old in rotated_files(main) for ln in read_file(old, rec)[0]]
        more, off = read_file(main, rec)
        lines += more
        if window is not None:
            lines = [ln for ln in lines if window.contains(ln.time)]
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        per.append(lines)
        offsets[rec["id"]] = off
    return list(heapq.merge(*per, key=lambda ln: ln.time)), offsets


def follow(
    paths: Paths,
    recs: list[dict[str, Any]],
    offsets: dict[str, int],
    is_running: Callable[[str], bool],
    *,
    interval: float = 0.1,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[LogLine]:
    """New lines as they are written, until every container has stopped."""
    while not stop():
        alive = [r for r in recs if is_running(r["id"])]
        batch: list[LogLine] = []
        for rec in recs:
            lines, offsets[rec["id"]] = read_file(log_path(paths, rec), rec, offsets.get(rec["id"], 0))
            batch += lines
        batch.sort(key=lambda ln: ln.time)
        yield from batch
        if not alive and not batch:
            return
        if not batch:
            time.sleep(interval)
