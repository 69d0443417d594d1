"""The typed, frozen Compose model: what every later layer reads.

Every element of the Compose Specification has a field here, in canonical long
form (see ``canonical.py`` for the short-form rules). Fields are declared in
the order Docker Compose prints them (the Go struct order of compose-go), so
``render.py`` can walk a model and print what ``docker compose config``
prints. Mappings are plain dicts and keep the order of the YAML file.

Units: durations are float seconds (``Duration``), sizes are int bytes (``Bytes``),
printed back as Docker does (``1m30s``, ``"52428800"``). ``None``/empty means
"not set" (the engine's default). ``x-*`` keys are kept in ``extensions``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class Fmt:
    """Render hint attached to a field with ``Annotated`` (read by ``render.py``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind


Duration = Annotated[float, Fmt("duration")]
Bytes = Annotated[int, Fmt("bytes")]
Octal = Annotated[int, Fmt("octal")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    # Fields ``render.py`` never prints (derived conveniences for the engine).
    RENDER_SKIP: ClassVar[frozenset[str]] = frozenset()
    extensions: dict[str, Any] = Field(default_factory=dict)  # x-*: printed last, in YAML only


# ---- ports, volumes, mounts --------------------------------------------------


class ServicePort(_Frozen):
    name: str | None = None
    mode: Literal["ingress", "host"] = "ingress"
    host_ip: str | None = None
    target: int
    published: str | None = None
    protocol: str = "tcp"
    app_protocol: str | None = None


class ServiceVolume(_Frozen):
    """One mount. Sub-options of the long syntax are flattened with a prefix."""

    type: Literal["volume", "bind", "tmpfs", "image", "npipe", "cluster"]
    source: str | None = None
    target: str
    read_only: bool = False
    consistency: str | None = None
    bind_selinux: str | None = None
    bind_propagation: str | None = None
    bind_create_host_path: bool = False
    bind_recursive: str | None = None
    volume_labels: dict[str, str] = Field(default_factory=dict)
    volume_nocopy: bool = False
    volume_subpath: str | None = None
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = None
    image_subpath: str | None = None
    blocks: tuple[str, ...] = ()  # the option blocks written (bind, volume, tmpfs, image)
    block_extensions: dict[str, dict[str, Any]] = Field(default_factory=dict)  # block → its x-*


class FileReference(_Frozen):
    """A service's use of a secret or config (``secrets:``/``configs:`` of a service)."""

    source: str
    target: str | None = None
    uid: str | None = None
    gid: str | None = None
    mode: Octal | None = None


class Device(_Frozen):
    source: str
    target: str
    permissions: str | None = None  # the long syntax has no default; the engine reads rwm


class DeviceRequest(_Frozen):
    """``gpus:`` and ``deploy.resources.*.devices``; ``count`` -1 means all."""

    capabilities: list[str] = Field(default_factory=list)
    driver: str | None = None
    count: int | None = None
    device_ids: list[str] = Field(default_factory=list)
    options: dict[str, str] = Field(default_factory=dict)


class Ulimit(_Frozen):
    """``nofile: 1024`` sets ``single``; ``{soft, hard}`` sets both others."""

    single: int | None = None
    soft: int | None = None
    hard: int | None = None


# ---- dependencies, health, networks -----------------------------------------


class DependsOn(_Frozen):
    condition: Literal[
        "service_started", "service_healthy", "service_completed_successfully"
    ] = "service_started"
    restart: bool = False
    required: bool = True


class Healthcheck(_Frozen):
    """``None`` durations and retries mean "the engine's default" (30s, 30s, 0s, 5s, 3)."""

    test: list[str] = Field(default_factory=list)
    timeout: Duration | None = None
    interval: Duration | None = None
    retries: int | None = None
    start_period: Duration | None = None
    start_interval: Duration | None = None
    disable: bool = False


class ServiceNetwork(_Frozen):
    aliases: list[str] = Field(default_factory=list)
    driver_opts: dict[str, str] = Field(default_factory=dict)
    gw_priority: int | None = None
    interface_name: str | None = None
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    link_local_ips: list[str] = Field(default_factory=list)
    mac_address: str | None = None
    priority: int | None = None


# ---- build -------------------------------------------------------------------


class Build(_Frozen):
    context: str = "."
    dockerfile: str | None = None
    dockerfile_inline: str | None = None
    entitlements: list[str] = Field(default_factory=list)
    args: dict[str, str | None] = Field(default_factory=dict)
    provenance: str | None = None
    sbom: str | None = None
    ssh: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    cache_from: list[str] = Field(default_factory=list)
    cache_to: list[str] = Field(default_factory=list)
    no_cache: bool = False
    no_cache_filter: list[str] = Field(default_factory=list)
    additional_contexts: dict[str, str] = Field(default_factory=dict)
    pull: bool = False
    extra_hosts: list[str] = Field(default_factory=list)
    isolation: str | None = None
    network: str | None = None
    target: str | None = None
    secrets: list[FileReference] = Field(default_factory=list)
    shm_size: Bytes | None = None
    tags: list[str] = Field(default_factory=list)
    ulimits: dict[str, Ulimit] = Field(default_factory=dict)
    platforms: list[str] = Field(default_factory=list)
    privileged: bool = False


# ---- deploy ------------------------------------------------------------------


class UpdateConfig(_Frozen):
    parallelism: int | None = None
    delay: Duration | None = None
    failure_action: str | None = None
    monitor: Duration | None = None
    max_failure_ratio: float | None = None
    order: str | None = None


class DiscreteResourceSpec(_Frozen):
    kind: str
    value: int


class GenericResource(_Frozen):
    discrete_resource_spec: DiscreteResourceSpec


class Resource(_Frozen):
    cpus: float | None = None
    memory: Bytes | None = None
    pids: int | None = None
    devices: list[DeviceRequest] = Field(default_factory=list)
    generic_resources: list[GenericResource] = Field(default_factory=list)


class Resources(_Frozen):
    limits: Resource | None = None
    reservations: Resource | None = None


class RestartPolicy(_Frozen):
    condition: str | None = None
    delay: Duration | None = None
    max_attempts: int | None = None
    window: Duration | None = None


class PlacementPreference(_Frozen):
    spread: str


class Placement(_Frozen):
    constraints: list[str] = Field(default_factory=list)
    preferences: list[PlacementPreference] = Field(default_factory=list)
    max_replicas_per_node: int | None = None


class Deploy(_Frozen):
    mode: str | None = None
    replicas: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    update_config: UpdateConfig | None = None
    rollback_config: UpdateConfig | None = None
    resources: Resources = Resources()
    restart_policy: RestartPolicy | None = None
    placement: Placement = Placement()
    endpoint_mode: str | None = None


# ---- other service sub-objects ------------------------------------------------


class Logging(_Frozen):
    driver: str | None = None
    options: dict[str, str] = Field(default_factory=dict)


class BlkioDevice(_Frozen):
    """``weight_device`` (``weight``) or a throttle (``rate``: bytes or IO/s)."""

    path: str
    weight: int | None = None
    rate: int | None = None


class BlkioConfig(_Frozen):
    weight: int | None = None
    weight_device: list[BlkioDevice] = Field(default_factory=list)
    device_read_bps: list[BlkioDevice] = Field(default_factory=list)
    device_read_iops: list[BlkioDevice] = Field(default_factory=list)
    device_write_bps: list[BlkioDevice] = Field(default_factory=list)
    device_write_iops: list[BlkioDevice] = Field(default_factory=list)


class CredentialSpec(_Frozen):
    config: str | None = None
    file: str | None = None
    registry: str | None = None


class ServiceHook(_Frozen):
    command: list[str] | None = None
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: dict[str, str | None] = Field(default_factory=dict)


class WatchRule(_Frozen):
    path: str
    action: str
    target: str | None = None
    exec: ServiceHook = ServiceHook()
    include: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    initial_sync: bool = False


class Develop(_Frozen):
    watch: list[WatchRule] = Field(default_factory=list)


class Provider(_Frozen):
    type: str
    options: dict[str, list[str]] = Field(default_factory=dict)


class ServiceModel(_Frozen):
    endpoint_var: str | None = None
    model_var: str | None = None


class EnvFile(_Frozen):
    """An ``env_file`` entry; its variables are already merged into ``environment``."""

    path: str
    required: bool = True
    format: str | None = None


# ---- the service --------------------------------------------------------------


class Service(_Frozen):
    RENDER_SKIP: ClassVar[frozenset[str]] = frozenset(
        {"name", "env_file", "label_file", "pull_refresh_after", "own_environment"}
    )

    name: str
    profiles: list[str] = Field(default_factory=list)
    annotations: dict[str, str] = Field(default_factory=dict)
    attach: bool | None = None
    build: Build | None = None
    develop: Develop | None = None
    blkio_config: BlkioConfig | None = None
    cap_add: list[str] = Field(default_factory=list)
    cap_drop: list[str] = Field(default_factory=list)
    cgroup_parent: str | None = None
    cgroup: str | None = None
    cpu_count: int | None = None
    cpu_percent: float | None = None
    cpu_period: int | None = None
    cpu_quota: int | None = None
    cpu_rt_period: int | None = None
    cpu_rt_runtime: int | None = None
    cpus: float | None = None
    cpuset: str | None = None
    cpu_shares: int | None = None
    command: list[str] | None = None
    configs: list[FileReference] = Field(default_factory=list)
    container_name: str | None = None
    credential_spec: CredentialSpec | None = None
    depends_on: dict[str, DependsOn] = Field(default_factory=dict)
    deploy: Deploy | None = None
    device_cgroup_rules: list[str] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    dns: list[str] = Field(default_factory=list)
    dns_opt: list[str] = Field(default_factory=list)
    dns_search: list[str] = Field(default_factory=list)
    domainname: str | None = None
    entrypoint: list[str] | None = None
    provider: Provider | None = None
    environment: dict[str, str | None] = Field(default_factory=dict)
    env_file: list[EnvFile] = Field(default_factory=list)
    own_environment: dict[str, str | None] | None = Field(default=None, exclude=True)  # for config --hash
    expose: list[str] = Field(default_factory=list)
    external_links: list[str] = Field(default_factory=list)
    extra_hosts: list[str] = []  # "host=ip", one entry per address, as Docker prints
    group_add: list[str] = Field(default_factory=list)
    gpus: list[DeviceRequest] = Field(default_factory=list)
    hostname: str | None = None
    healthcheck: Healthcheck | None = None
    image: str | None = None
    init: bool | None = None
    ipc: str | None = None
    isolation: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    label_file: list[str] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list)
    logging: Logging | None = None
    mem_limit: Bytes | None = None
    mem_reservation: Bytes | None = None
    memswap_limit: Bytes | None = None
    mem_swappiness: Bytes | None = None
    mac_address: str | None = None
    models: dict[str, ServiceModel | None] = Field(default_factory=dict)
    network_mode: str | None = None
    networks: dict[str, ServiceNetwork | None] = {"default": None}
    oom_kill_disable: bool = False
    oom_score_adj: int | None = None
    pid: str | None = None
    pids_limit: int | None = None
    platform: str | None = None
    ports: list[ServicePort] = Field(default_factory=list)
    privileged: bool = False
    pull_policy: str | None = None
    pull_refresh_after: str | None = None
    read_only: bool = False
    restart: str | None = None
    runtime: str | None = None
    scale: int | None = None
    secrets: list[FileReference] = Field(default_factory=list)
    security_opt: list[str] = Field(default_factory=list)
    shm_size: Bytes | None = None
    stdin_open: bool = False
    stop_grace_period: Duration | None = None
    stop_signal: str | None = None
    storage_opt: dict[str, str] = Field(default_factory=dict)
    sysctls: dict[str, str] = Field(default_factory=dict)
    tmpfs: list[str] = []  # as written; the mounts are also appended to ``volumes``
    tty: bool = False
    ulimits: dict[str, Ulimit] = Field(default_factory=dict)
    use_api_socket: bool = False
    user: str | None = None
    userns_mode: str | None = None
    uts: str | None = None
    volumes: list[ServiceVolume] = Field(default_factory=list)
    volumes_from: list[str] = Field(default_factory=list)
    working_dir: str | None = None
    post_start: list[ServiceHook] = Field(default_factory=list)
    pre_stop: list[ServiceHook] = Field(default_factory=list)


# ---- top-level resources --------------------------------------------------------


class IpamPool(_Frozen):
    subnet: str | None = None
    gateway: str | None = None
    ip_range: str | None = None
    aux_addresses: dict[str, str] = Field(default_factory=dict)


class Ipam(_Frozen):
    RENDER_SKIP: ClassVar[frozenset[str]] = frozenset({"options"})  # Docker drops them too

    driver: str | None = None
    config: list[IpamPool] = Field(default_factory=list)
    options: dict[str, str] = Field(default_factory=dict)


class Network(_Frozen):
    """``name`` is the full name: ``<project>_<key>`` unless ``name:`` or external.

    ``subnet``/``gateway`` repeat the first ``ipam.config`` pool for the engine.
    """

    RENDER_SKIP: ClassVar[frozenset[str]] = frozenset({"subnet", "gateway"})

    name: str
    driver: str | None = None
    driver_opts: dict[str, str] = Field(default_factory=dict)
    ipam: Ipam | None = None
    external: bool = False
    internal: bool = False
    attachable: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    enable_ipv4: bool | None = None
    enable_ipv6: bool | None = None
    subnet: str | None = None
    gateway: str | None = None


class Volume(_Frozen):
    """``name`` is the full name: ``<project>_<key>`` unless ``name:`` or external."""

    name: str
    driver: str | None = None
    driver_opts: dict[str, str] = Field(default_factory=dict)
    external: bool = False
    labels: dict[str, str] = Field(default_factory=dict)


class FileObject(_Frozen):
    """A top-level secret or config; ``file`` is absolute."""

    name: str
    file: str | None = None
    environment: str | None = None
    content: str | None = None
    external: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    driver: str | None = None
    driver_opts: dict[str, str] = Field(default_factory=dict)
    template_driver: str | None = None


class Model(_Frozen):
    """A top-level ``models:`` entry (an AI model served to services)."""

    name: str | None = None
    model: str
    context_size: int | None = None
    runtime_flags: list[str] = Field(default_factory=list)


class Project(_Frozen):
    name: str
    working_dir: Path
    config_files: tuple[Path, ...]
    services: dict[str, Service]
    networks: dict[str, Network] = Field(default_factory=dict)
    volumes: dict[str, Volume] = Field(default_factory=dict)
    secrets: dict[str, FileObject] = Field(default_factory=dict)
    configs: dict[str, FileObject] = Field(default_factory=dict)
    models: dict[str, Model] = Field(default_factory=dict)
    environment: dict[str, str] = Field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    # Services left out by profiles (``config --profiles`` lists theirs too).
    disabled: dict[str, Service] = Field(default_factory=dict)
