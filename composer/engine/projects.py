"""Every project on the host (``ls``), found from the container records alone.

A project exists while it has containers, as in Docker Compose; its status
counts its containers by state (``exited(1), running(2)``) and its config
files come from the ``com.docker.compose.project.config_files`` label.
Stdlib only, like ``ps``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from composer.engine import state
from composer.engine.state import Paths


def _state_name(paths: Paths, cid: str) -> str:
    from composer.runtime.api import container_state

    st = container_state(cid, paths.runtime)
    if st is None:
        return "created"
    if st.status == "running":
        paused = getattr(st, "paused", False)
        return "paused" if paused else "running"
    return "exited" if st.status == "stopped" else st.status


def project_rows(paths: Paths, *, all_: bool = False, name_filter: str | None = None) -> list[dict[str, Any]]:
    """One row per project: ``{"Name", "Status", "ConfigFiles"}``, sorted by name."""
    states: dict[str, Counter[str]] = {}
    files: dict[str, list[str]] = {}
    for rec in state.container_records(paths):
        project = rec.get("project", "")
        states.setdefault(project, Counter())[_state_name(paths, rec["id"])] += 1
        for f in rec.get("labels", {}).get("com.docker.compose.project.config_files", "").split(","):
            if f and f not in files.setdefault(project, []):
                files[project].append(f)
    rows = []
    for project in sorted(states):
        counts = states[project]
        if not all_ and not (counts.get("running") or counts.get("paused")):
            continue
        if name_filter and name_filter not in project:
            continue
        rows.append({
            "Name": project,
            "Status": ", ".join(f"{k}({v})" for k, v in sorted(counts.items())),
            "ConfigFiles": ",".join(files.get(project, [])),
        })
    return rows
