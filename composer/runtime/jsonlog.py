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


#: bundle annotations carrying Compose's ``logging.options`` for the json-file driver
MAX_SIZE_ANNOTATION = "org.composer.log.max-size"
MAX_FILE_ANNOTATION = "org.composer.log.max-file"


def parse_size(text: str) -> int:
    """Docker's ``units.RAMInBytes``: ``10m`` = 10 MiB, ``512k``, ``1g``, plain bytes."""
    value = text.strip().lower().rstrip("b")
    scale = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(value[-1:], 1)
    number = value[:-1] if scale != 1 else value
    try:
        return int(float(number) * scale)
    except ValueError:
        raise ValueError(f"invalid log max-size {text!r}") from None


def rotation_options(annotations: dict[str, str]) -> dict[str, int]:
    """``max_size``/``max_files`` from the bundle's annotations (absent: no rotation)."""
    out = {}
    if annotations.get(MAX_SIZE_ANNOTATION):
        out["max_size"] = parse_size(annotations[MAX_SIZE_ANNOTATION])
    if annotations.get(MAX_FILE_ANNOTATION, "").isdigit():
        out["max_files"] = max(1, int(annotations[MAX_FILE_ANNOTATION]))
    return out


class JsonLog:
    """An append-only json-file log; one instance per container.

    With ``max_size``, the file is rotated as Docker's json-file driver does:
    ``<log>`` becomes ``<log>.1`` (older ones shift up) once it would grow past
    ``max_size``, keeping ``max_files`` files in all (default 1: truncate).
    """

    def __init__(self, path: str | os.PathLike[str], max_size: int = 0, max_files: int = 1) -> None:
        self.path = os.fspath(path)
        self.max_size = max_size
        self.max_files = max_files
        self.fd = self._open()
        self.size = os.fstat(self.fd).st_size

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)

    def _rotate(self) -> None:
        os.close(self.fd)
        if self.max_files > 1:
            # .N-1 -> .N (dropping the oldest), ..., the live file -> .1
            for n in range(self.max_files - 1, 0, -1):
                src = self.path if n == 1 else f"{self.path}.{n - 1}"
                if os.path.exists(src):
                    os.replace(src, f"{self.path}.{n}")
        else:
            os.unlink(self.path)
        self.fd = self._open()
        self.size = 0

    def record(self, stream: str, text: bytes) -> None:
        entry = {"log": text.decode(errors="replace"), "stream": stream, "time": now_rfc3339()}
        data = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        if self.max_size and self.size and self.size + len(data) > self.max_size:
            self._rotate()
        self.size += len(data)
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
