"""The ``com.docker.compose.config-hash`` of a service, as Docker Compose computes it.

Docker's ``ServiceHash`` is the sha256 of ``json.Marshal`` of the service with
``build``, ``pull_policy``, ``scale``, ``deploy.replicas``, ``depends_on`` and
``profiles`` cleared: none of them changes the container itself (a build
changes the image, which is compared on its own). The JSON is the one
``config --format json`` prints for the service, compact.

``config --hash`` loads the project without merging ``env_file`` into
``environment`` (``WithoutEnvironmentResolution``): with ``env_files=True``
the service keeps its own ``environment`` and lists its ``env_file`` paths,
as that command prints. The engine's label hashes the environment the
container gets, so that editing an env file recreates the container.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from composer.schema.gojson import go_json
from composer.schema.lite import CONFIG_HASH, Record, real

if TYPE_CHECKING:
    from composer.schema.model import Service

_EXCLUDED = ("build", "pull_policy", "scale", "depends_on", "profiles")


def service_config_hash(service: Service, env_files: bool = False) -> str:
    """sha256 hex of the service's Go JSON (``config --hash`` with ``env_files``).

    A service of a cached project (a ``lite`` record) carries its hash, computed
    when the entry was stored; a changed copy (``model_copy``) is hashed as a model.
    """
    if isinstance(service, Record):
        cached = service.__dict__.get(CONFIG_HASH)
        if cached is not None and not env_files:
            return str(cached)
        service = real(service)
    from composer.schema.render import service_document

    data = service_document(service)
    for key in _EXCLUDED:
        data.pop(key, None)
    if isinstance(data.get("deploy"), dict):
        data["deploy"] = {k: v for k, v in data["deploy"].items() if k != "replicas"}
    if env_files and service.env_file:
        data = _with_env_files(data, service)
    return hashlib.sha256(go_json(data).encode("utf-8")).hexdigest()


def _with_env_files(data: dict[str, Any], service: Service) -> dict[str, Any]:
    """``environment`` as written (shell values filled in) and ``env_file`` after it."""
    from composer.schema.render import ordered

    own = service.own_environment or {}
    out = {k: v for k, v in data.items() if k != "environment"}
    if own:
        out["environment"] = dict(sorted(own.items()))
    files: dict[str, Any] = {}  # one entry per path, as Docker's merge keeps them
    for f in service.env_file:
        files.setdefault(f.path, f.path if f.required else {"path": f.path, "required": False})
    out["env_file"] = list(files.values())
    from composer.schema.model import Service

    return ordered(out, Service)
