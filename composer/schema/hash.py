"""The ``com.docker.compose.config-hash`` of a service: what decides a recreate.

Like Docker Compose, fields that do not change the container itself are left
out: ``depends_on``, ``profiles`` and ``pull_policy``.
"""

from __future__ import annotations

import hashlib
import json

from composer.schema.model import Service

_EXCLUDED = frozenset({"depends_on", "profiles", "pull_policy"})


def service_config_hash(service: Service) -> str:
    """sha256 hex of the canonical JSON (sorted keys, no spaces) of the service."""
    data = service.model_dump(mode="json", exclude=set(_EXCLUDED))
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
