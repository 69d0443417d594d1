"""Docker's json-file log format, written by the shim.

One JSON object per line, appended with a single write(2) each so that a
reader tailing the file (``logs -f``) never sees half a record:
``{"log":"hello\\n","stream":"stdout","time":"2026-11-28T06:40:00.123456789Z"}``.
A line longer than 16 KiB is cut into several records without the newline,
as Docker does; a last partial line is written when its stream closes.
"""

from __future__ import annotations

import json
import os

from composer.runtime.state import now_rfc3339

MAX_LINE = 16 * 1024


class JsonLog:
    """An append-only json-file log; one instance per container."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)

    def record(self, stream: str, text: bytes) -> None:
        entry = {"log": text.decode(errors="replace"), "stream": stream, "time": now_rfc3339()}
        data = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def close(self) -> None:
        os.close(self.fd)


class LineSplitter:
    """Turns the chunks read from one stream into complete lines for ``JsonLog``."""

    def __init__(self, log: JsonLog, stream: str) -> None:
        self.log = log
        self.stream = stream
        self.pending = b""

    def feed(self, chunk: bytes) -> None:
        data = self.pending + chunk
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            self._emit(data[start : end + 1])
            start = end + 1
        self.pending = data[start:]
        while len(self.pending) >= MAX_LINE:
            self.log.record(self.stream, self.pending[:MAX_LINE])
            self.pending = self.pending[MAX_LINE:]

    def flush(self) -> None:
        if self.pending:
            self.log.record(self.stream, self.pending)
            self.pending = b""

    def _emit(self, line: bytes) -> None:
        while len(line) > MAX_LINE:
            self.log.record(self.stream, line[:MAX_LINE])
            line = line[MAX_LINE:]
        self.log.record(self.stream, line)
