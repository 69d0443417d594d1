"""Progress output of commands that change things, as Docker Compose shows it.

Events arrive as ``(kind, name, status)`` ("Container", "web-1", "Started"),
from worker threads too. Modes (``--progress``):

- ``tty``: one line per resource, redrawn in place under a ``[+] Running n/m``
  header, with a spinner for work in progress and the time it took;
- ``plain``: one line per event (the default when stderr is not a terminal);
- ``json``: one JSON object per event; ``quiet``: nothing.

``--ansi never`` turns colours and cursor movement off (tty falls back to plain).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import TextIO

DONE = {"Created", "Started", "Healthy", "Running", "Stopped", "Removed", "Recreated", "Exited",
        "Killed", "Paused", "Unpaused", "Restarted", "Pulled", "Built", "Copied", "Waiting"}
FAILED = {"Error", "Unhealthy"}
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def _done(status: str) -> bool:
    return status.split(" (")[0].split(" ")[0] in DONE


class Progress:
    def __init__(self, mode: str = "auto", ansi: str = "auto", stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        tty = self.stream.isatty()
        if mode == "auto":
            mode = "tty" if tty and ansi != "never" else "plain"
        if mode == "tty" and ansi == "never":
            mode = "plain"
        self.mode = mode
        self.lock = threading.Lock()
        self.rows: dict[str, tuple[str, float, float | None]] = {}  # id -> (status, start, end)
        self.drawn = 0

    def __call__(self, kind: str, name: str, status: str) -> None:
        with self.lock:
            if kind == "Warning":
                if self.mode != "quiet":
                    self._clear()
                    self.stream.write(f"WARN[0000] {status}\n")
                    self.drawn = 0
                    self._draw()
                return
            if self.mode == "quiet":
                return
            if self.mode == "json":
                self.stream.write(json.dumps({"id": f"{kind} {name}", "status": status,
                                              "time": time.time()}) + "\n")
            elif self.mode == "plain":
                self.stream.write(f" {kind} {name}  {status}\n")
            else:
                key = f"{kind} {name}"
                old = self.rows.get(key)
                start = old[1] if old else time.monotonic()
                end = time.monotonic() if _done(status) or status in FAILED else None
                self.rows[key] = (status, start, end)
                self._draw()
            self.stream.flush()

    def _clear(self) -> None:
        if self.drawn:
            self.stream.write(f"\x1b[{self.drawn}F\x1b[J")

    def _draw(self) -> None:
        if self.mode != "tty" or not self.rows:
            return
        self._clear()
        done = sum(1 for s, _, e in self.rows.values() if e is not None)
        width = max(len(k) for k in self.rows) + 2
        lines = [f"[+] Running {done}/{len(self.rows)}"]
        now = time.monotonic()
        for key, (status, start, end) in self.rows.items():
            if status in FAILED:
                mark = "\x1b[31m✘\x1b[0m"
            elif end is not None:
                mark = "\x1b[32m✔\x1b[0m"
            else:
                mark = SPINNER[int(now * 10) % len(SPINNER)]
            lines.append(f" {mark} {key:<{width}}{status:<12}{(end or now) - start:5.1f}s")
        self.stream.write("\n".join(lines) + "\n")
        self.drawn = len(lines)


_current: Progress | None = None


def configure(mode: str, ansi: str) -> None:
    global _current
    _current = Progress(mode, ansi)


def report(kind: str, name: str, status: str) -> None:
    """The reporter every command hands to the engine."""
    global _current
    if _current is None:
        _current = Progress()
    _current(kind, name, status)
