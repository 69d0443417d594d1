"""Named and anonymous volumes: directories under ``volumes/<name>/_data``.

Only the ``local`` driver exists; a volume is a plain directory on the host
filesystem that containers bind-mount. ``volume.json`` beside ``_data`` keeps
its labels, so ``down -v`` removes exactly the project's volumes.
"""

from __future__ import annotations

import shutil
from typing import Any

from composer.engine import state
from composer.engine.containers import COMPOSE_VERSION, now_rfc3339
from composer.engine.state import Paths


def ensure_volume(paths: Paths, name: str, project: str, *, anonymous: bool = False,
                  key: str | None = None) -> bool:
    """Create the volume if missing; True when it was created."""
    vdir = paths.volumes / name
    meta = vdir / "volume.json"
    if meta.exists():
        return False
    (vdir / "_data").mkdir(parents=True, exist_ok=True)
    labels = {"com.docker.compose.project": project, "com.docker.compose.version": COMPOSE_VERSION}
    if key and not anonymous:
        labels["com.docker.compose.volume"] = key
    state.write_json(meta, {
        "name": name, "driver": "local", "created": now_rfc3339(), "labels": labels,
        "anonymous": anonymous, "mountpoint": str(vdir / "_data"),
    })
    return True


def volume_records(paths: Paths, project: str | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not paths.volumes.exists():
        return out
    for vdir in sorted(paths.volumes.iterdir()):
        rec = state.read_json(vdir / "volume.json")
        if isinstance(rec, dict) and (project is None or rec["labels"].get("com.docker.compose.project") == project):
            out.append(rec)
    return out


def remove_volume(paths: Paths, name: str) -> bool:
    vdir = paths.volumes / name
    if not vdir.exists():
        return False
    shutil.rmtree(vdir)
    return True
