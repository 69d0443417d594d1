"""The typed, frozen Compose model: what every later layer reads.

Fields are the canonical long form (see ``canonical.py`` for the short-form
rules). Mappings are plain dicts and keep the order of the YAML file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServicePort(_Frozen):
    target: int
    published: str | None = None
    host_ip: str | None = None
    protocol: Literal["tcp", "udp"] = "tcp"
    mode: Literal["ingress", "host"] = "ingress"


class ServiceVolume(_Frozen):
    type: Literal["volume", "bind", "tmpfs"]
    source: str | None = None
    target: str
    read_only: bool = False
    bind_create_host_path: bool = False
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = None
    volume_nocopy: bool = False


class DependsOn(_Frozen):
    condition: Literal[
        "service_started", "service_healthy", "service_completed_successfully"
    ] = "service_started"
    required: bool = True
    restart: bool = False


class Healthcheck(_Frozen):
    """``None`` durations and retries mean "the engine's default" (30s, 30s, 0s, 5s, 3)."""

    test: list[str] = []
    interval: float | None = None
    timeout: float | None = None
    start_period: float | None = None
    start_interval: float | None = None
    retries: int | None = None
    disable: bool = False


class ServiceNetwork(_Frozen):
    aliases: list[str] = []
    ipv4_address: str | None = None


class Service(_Frozen):
    name: str
    image: str | None = None
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    environment: dict[str, str | None] = {}
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    ports: list[ServicePort] = []
    volumes: list[ServiceVolume] = []
    depends_on: dict[str, DependsOn] = {}
    healthcheck: Healthcheck | None = None
    restart: str | None = None
    networks: dict[str, ServiceNetwork | None] = {"default": None}
    stop_signal: str | None = None
    stop_grace_period: float | None = None
    container_name: str | None = None
    labels: dict[str, str] = {}
    expose: list[str] = []
    tty: bool = False
    stdin_open: bool = False
    init: bool | None = None
    profiles: list[str] = []
    pull_policy: str | None = None


class Network(_Frozen):
    """``name`` is the full name: ``<project>_<key>`` unless ``name:`` or external."""

    name: str
    driver: str = "bridge"
    external: bool = False
    internal: bool = False
    labels: dict[str, str] = {}
    subnet: str | None = None
    gateway: str | None = None


class Volume(_Frozen):
    """``name`` is the full name: ``<project>_<key>`` unless ``name:`` or external."""

    name: str
    driver: str = "local"
    external: bool = False
    labels: dict[str, str] = {}


class Project(_Frozen):
    name: str
    working_dir: Path
    config_files: tuple[Path, ...]
    services: dict[str, Service]
    networks: dict[str, Network] = {}
    volumes: dict[str, Volume] = {}
    environment: dict[str, str] = {}
    warnings: tuple[str, ...] = ()
