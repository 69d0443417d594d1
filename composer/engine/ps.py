"""What ``ps`` shows: each container's state as Docker Compose reports it.

Stdlib only: ``ps`` must not import the Compose model or the planner.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from composer.engine import state
from composer.engine.humanize import human_duration
from composer.engine.state import Paths


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    value = value.rstrip("Z")
    if "." in value:
        head, frac = value.split(".", 1)
        value = f"{head}.{frac[:6]}"
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _ago(when: dt.datetime | None, now: dt.datetime) -> str:
    if when is None:
        return ""
    return human_duration((now - when).total_seconds()) + " ago"


def publishers(rec: dict[str, Any], bound: dict[str, Any]) -> list[dict[str, Any]]:
    """Published ports, with the host port the monitor really bound."""
    out = []
    actual = {(p["target"], p["protocol"]): p for p in bound.get(rec["id"], [])}
    for p in rec.get("ports", []):
        got = actual.get((p["target"], p.get("protocol", "tcp")))
        host_port = got["host_port"] if got else int(p["published"]) if p.get("published") else 0
        out.append({
            "URL": p.get("host_ip") or "0.0.0.0",
            "TargetPort": p["target"],
            "PublishedPort": host_port,
            "Protocol": p.get("protocol", "tcp"),
        })
    return out


def ports_text(pubs: list[dict[str, Any]]) -> str:
    return ", ".join(
        f"{p['URL']}:{p['PublishedPort']}->{p['TargetPort']}/{p['Protocol']}" if p["PublishedPort"]
        else f"{p['TargetPort']}/{p['Protocol']}" for p in pubs
    )


def container_rows(paths: Paths, project: str, services: list[str], all_: bool) -> list[dict[str, Any]]:
    """One dict per container with the fields of ``docker compose ps --format json``."""
    from composer.engine import monitor_client
    from composer.runtime.api import container_state

    now = dt.datetime.now(dt.UTC)
    bound = monitor_client.read_status(paths, project).get("ports", {})
    rows = []
    for rec in state.container_records(paths, project):
        if services and rec["service"] not in services:
            continue
        st = container_state(rec["id"], paths.runtime)
        health = (state.health_record(paths, rec["id"]) or {}).get("status", "") if rec.get("healthcheck") else ""
        created = _parse_time(rec.get("created"))
        if st is not None and st.status == "running":
            state_name = "paused" if getattr(st, "paused", False) else "running"
            started = _parse_time(st.started_at) or _parse_time(rec.get("started_at"))
            status = "Up " + human_duration((now - started).total_seconds() if started else 0)
            if state_name == "paused":
                status += " (Paused)"
            elif health:
                status += f" ({'health: starting' if health == 'starting' else health})"
            exit_code = 0
        elif st is not None and st.status == "stopped":
            state_name = "exited"
            exit_code = st.exit_code if st.exit_code is not None else -1
            status = f"Exited ({exit_code}) {_ago(_parse_time(st.finished_at), now)}".rstrip()
            health = ""
        else:
            state_name, status, exit_code, health = "created", "Created", 0, ""
        if not all_ and state_name not in ("running", "paused"):
            continue
        pubs = publishers(rec, bound) if state_name in ("running", "paused") else []
        labels = rec.get("labels", {})
        rows.append({
            "Command": json.dumps(" ".join(rec.get("command", []))),
            "CreatedAt": created.strftime("%Y-%m-%d %H:%M:%S +0000 UTC") if created else "",
            "ExitCode": exit_code,
            "Health": health,
            "ID": rec["id"],
            "Image": rec.get("image", ""),
            "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
            "LocalVolumes": str(len(rec.get("volumes", [])) + len(rec.get("anonymous_volumes", []))),
            "Mounts": ",".join(rec.get("volumes", [])),
            "Name": rec["name"],
            "Names": rec["name"],
            "Networks": ",".join(rec.get("networks", {})),
            "Ports": ports_text(pubs),
            "Project": project,
            "Publishers": pubs,
            "RunningFor": _ago(created, now),
            "Service": rec["service"],
            "Size": "0B",
            "State": state_name,
            "Status": status,
        })
    return rows
