"""What /proc says about a container's processes, for ``top`` (``ps -ef`` columns)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import Any


def _user_names() -> dict[int, str]:
    names: dict[int, str] = {}
    with contextlib.suppress(OSError), open("/etc/passwd") as f:
        for line in f:
            fields = line.split(":")
            if len(fields) > 2 and fields[2].isdigit():
                names.setdefault(int(fields[2]), fields[0])
    return names


def process(pid: int, users: dict[int, str]) -> dict[str, Any] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
        uid = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
    comm = raw[raw.find(b"(") + 1 : raw.rfind(b")")].decode(errors="replace")
    fields = raw[raw.rfind(b")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cmd = " ".join(part.decode(errors="replace") for part in cmdline.split(b"\0") if part) or f"[{comm}]"
    return {
        "pid": pid,
        "ppid": int(fields[1]),
        "uid": uid,
        "user": users.get(uid, str(uid)),
        "stime": int(fields[19]) / ticks,
        "time": (int(fields[11]) + int(fields[12])) / ticks,
        "cmd": cmd,
    }


def processes(pids: Sequence[int], first: int = 0) -> list[dict[str, Any]]:
    users = _user_names()
    out = [p for p in (process(pid, users) for pid in pids) if p is not None]
    out.sort(key=lambda p: (p["pid"] != first, p["stime"], p["pid"]))
    return out
