"""Reading container logs: Docker json-file lines, merged in time order.

Each container's shim appends ``{"log", "stream", "time"}`` lines to
``<id>-json.log``. Reading merges the files of several containers by time;
following polls the files for new lines (cheap, no inotify dependency) and
ends when every followed container has stopped and its file is drained.
"""

from __future__ import annotations

import heapq
import json
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


def read_file(path: Path, rec: dict[str, Any], offset: int = 0) -> tuple[list[LogLine], int]:
    """Complete lines from ``offset``; returns them and the offset after the last one."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    lines = [p for raw in data[: end + 1].splitlines() if (p := _parse(raw, rec))]
    return lines, offset + end + 1


def snapshot(paths: Paths, recs: list[dict[str, Any]], tail: int | None = None) -> tuple[list[LogLine], dict[str, int]]:
    """Every line so far of ``recs``, merged by time; and each file's end offset."""
    per: list[list[LogLine]] = []
    offsets: dict[str, int] = {}
    for rec in recs:
        lines, off = read_file(log_path(paths, rec), rec)
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
