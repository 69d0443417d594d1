"""After the merge: what Docker resolves once per service, then the typed model.

``env_file`` and ``label_file`` are read into ``environment`` and ``labels``
(the service's own entries win), ``environment`` entries without a value take
it from the project environment, ``tmpfs`` strings become mounts appended to
``volumes``, ``scale`` and ``deploy.replicas`` agree, and the default
network is attached where nothing else is.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from composer.errors import ConfigError
from composer.schema.dotenv import read_dotenv
from composer.schema.interpolate import Interpolator
from composer.schema.location import Loc
from composer.schema.model import FileObject, Model, Network, Project, Service, Volume
from composer.schema.mounts import canonical_tmpfs


def finish_services(
    services: dict[str, Any], environ: Mapping[str, str], interpolator: Interpolator | None
) -> dict[str, Any]:
    return {name: _finish(name, dict(spec), environ) for name, spec in services.items()}


def _finish(name: str, spec: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    own_env: dict[str, str | None] = spec.get("environment") or {}
    if spec.get("env_file"):
        spec["own_environment"] = {k: environ.get(k) if v is None else v for k, v in own_env.items()}
        from_files: dict[str, str] = {}
        for entry in spec["env_file"]:
            lookup = {**environ, **from_files, **{k: v for k, v in own_env.items() if v is not None}}
            from_files.update(
                read_dotenv(
                    Path(entry["path"]),
                    lookup,
                    required=entry.get("required", True),
                    raw=entry.get("format") == "raw",
                    where=f"services.{name}.env_file",
                )
            )
        own_env = {**from_files, **own_env}
    if "environment" in spec or spec.get("env_file"):
        spec["environment"] = {
            key: environ.get(key) if value is None else value for key, value in own_env.items()
        }
    if spec.get("label_file"):
        labels: dict[str, str] = {}
        for path in spec["label_file"]:
            labels.update(read_dotenv(Path(path), {}, required=True, raw=True, where=f"services.{name}.label_file"))
        spec["labels"] = {**labels, **(spec.get("labels") or {})}
    if spec.get("tmpfs"):
        loc = Loc("", f"services.{name}.tmpfs")
        spec["volumes"] = [*(spec.get("volumes") or []), *canonical_tmpfs(spec["tmpfs"], loc)]
    _scale(name, spec)
    _build_args(spec, environ)
    _implicit_dependencies(spec)
    if "networks" not in spec:
        detached = spec.get("network_mode") or spec.get("provider")
        spec["networks"] = {} if detached else {"default": None}
    return spec


def _build_args(spec: dict[str, Any], environ: Mapping[str, str]) -> None:
    """Build args without a value take it from the environment, or are dropped."""
    build = spec.get("build")
    if build and build.get("args"):
        args = {k: environ.get(k) if v is None else v for k, v in build["args"].items()}
        spec["build"] = {**build, "args": {k: v for k, v in args.items() if v is not None}}


def _implicit_dependencies(spec: dict[str, Any]) -> None:
    """``links``, ``volumes_from`` and ``service:`` modes depend on their service, as Docker's."""
    targets: list[str] = [link.split(":", 1)[0] for link in spec.get("links") or []]
    for source in spec.get("volumes_from") or []:
        if not source.startswith("container:"):
            targets.append(source.split(":", 1)[0])
    for attr in ("network_mode", "ipc", "pid"):
        value = spec.get(attr) or ""
        if value.startswith("service:"):
            targets.append(value[len("service:") :])
    if not targets:
        return
    depends = dict(spec.get("depends_on") or {})
    for target in targets:
        depends.setdefault(target, {"condition": "service_started", "restart": True, "required": True})
    spec["depends_on"] = depends


def _scale(name: str, spec: dict[str, Any]) -> None:
    deploy = spec.get("deploy")
    replicas = deploy.get("replicas") if deploy else None
    if spec.get("scale") is not None and replicas is not None and spec["scale"] != replicas:
        raise ConfigError(
            f"services.{name}: can't set distinct values on 'scale' and 'deploy.replicas': invalid compose project"
        )
    if spec.get("scale") is not None and deploy is not None:
        spec["deploy"] = {**deploy, "replicas": spec["scale"]}


def _full_name(project: str, key: str, spec: dict[str, Any]) -> str:
    if spec.get("name"):
        return str(spec["name"])
    return key if spec.get("external") else f"{project}_{key}"


def _network(project: str, key: str, spec: dict[str, Any]) -> Network:
    pools = (spec.get("ipam") or {}).get("config") or []
    first = pools[0] if pools else {}
    return Network(
        **{
            **spec,
            "name": _full_name(project, key, spec),
            "subnet": first.get("subnet"),
            "gateway": first.get("gateway"),
        }
    )


def build_project(
    merged: dict[str, Any],
    services: dict[str, Any],
    disabled: dict[str, Any],
    name: str,
    project_dir: Path,
    files: list[Path],
    environ: dict[str, str],
) -> Project:
    declared_networks = dict(merged.get("networks") or {})
    uses_default = any("default" in (s.get("networks") or {}) for s in services.values())
    if uses_default and "default" not in declared_networks:
        declared_networks["default"] = {}
    try:
        return Project(
            name=name,
            working_dir=project_dir,
            config_files=tuple(files),
            services={n: _service(n, s) for n, s in services.items()},
            disabled={n: _service(n, s) for n, s in disabled.items()},
            networks={k: _network(name, k, v) for k, v in declared_networks.items()},
            volumes={
                k: Volume(**{**v, "name": _full_name(name, k, v)})
                for k, v in (merged.get("volumes") or {}).items()
            },
            secrets={
                k: FileObject(**{**v, "name": _full_name(name, k, v)})
                for k, v in (merged.get("secrets") or {}).items()
            },
            configs={
                k: FileObject(**{**v, "name": _full_name(name, k, v)})
                for k, v in (merged.get("configs") or {}).items()
            },
            models={k: Model(**v) for k, v in (merged.get("models") or {}).items()},
            extensions=merged.get("extensions") or {},
            environment=environ,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise ConfigError(f"invalid compose project: {where}: {error['msg']}") from exc


def _service(name: str, spec: dict[str, Any]) -> Service:
    fields = {k: v for k, v in spec.items() if k != "extends"}
    return Service(name=name, **fields)
