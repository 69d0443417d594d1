"""Tables of keys: those the Compose Specification knows, and those composer acts on.

The ``*`` tables are the property names of ``compose-spec.json`` (copied here so
the package does not read the spec at run time). A key in the spec but not in
the matching ``SUPPORTED_*`` table is refused with UnsupportedError; a key not
in the spec at all is a typo and a ConfigError, as Docker's validator says.
Keys starting with ``x-`` are extensions and always accepted.
"""

from __future__ import annotations

TOP_LEVEL = frozenset(
    {
        "configs", "include", "models", "name", "networks", "secrets", "services", "version",
        "volumes",
    }
)

SERVICE = frozenset(
    {
        "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup",
        "cgroup_parent", "command", "configs", "container_name", "cpu_count", "cpu_percent",
        "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus",
        "cpuset", "credential_spec", "depends_on", "deploy", "develop", "device_cgroup_rules",
        "devices", "dns", "dns_opt", "dns_search", "domainname", "entrypoint", "env_file",
        "environment", "expose", "extends", "external_links", "extra_hosts", "gpus",
        "group_add", "healthcheck", "hostname", "image", "init", "ipc", "isolation",
        "label_file", "labels", "links", "logging", "mac_address", "mem_limit",
        "mem_reservation", "mem_swappiness", "memswap_limit", "models", "network_mode",
        "networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform",
        "ports", "post_start", "pre_stop", "privileged", "profiles", "provider", "pull_policy",
        "pull_refresh_after", "read_only", "restart", "runtime", "scale", "secrets",
        "security_opt", "shm_size", "stdin_open", "stop_grace_period", "stop_signal",
        "storage_opt", "sysctls", "tmpfs", "tty", "ulimits", "use_api_socket", "user",
        "userns_mode", "uts", "volumes", "volumes_from", "working_dir",
    }
)

HEALTHCHECK = frozenset(
    {
        "disable", "interval", "retries", "start_interval", "start_period", "test", "timeout",
    }
)

NETWORK = frozenset(
    {
        "attachable", "driver", "driver_opts", "enable_ipv4", "enable_ipv6", "external",
        "internal", "ipam", "labels", "name",
    }
)

IPAM = frozenset(
    {
        "config", "driver", "options",
    }
)

IPAM_CONFIG = frozenset(
    {
        "aux_addresses", "gateway", "ip_range", "subnet",
    }
)

VOLUME = frozenset(
    {
        "driver", "driver_opts", "external", "labels", "name",
    }
)

SERVICE_PORT = frozenset(
    {
        "app_protocol", "host_ip", "mode", "name", "protocol", "published", "target",
    }
)

SERVICE_VOLUME = frozenset(
    {
        "bind", "consistency", "image", "read_only", "source", "target", "tmpfs", "type",
        "volume",
    }
)

SERVICE_VOLUME_BIND = frozenset(
    {
        "create_host_path", "propagation", "recursive", "selinux",
    }
)

SERVICE_VOLUME_VOLUME = frozenset(
    {
        "labels", "nocopy", "subpath",
    }
)

SERVICE_VOLUME_TMPFS = frozenset(
    {
        "mode", "size",
    }
)

DEPENDS_ON = frozenset(
    {
        "condition", "required", "restart",
    }
)

SERVICE_NETWORK = frozenset(
    {
        "aliases", "driver_opts", "gw_priority", "interface_name", "ipv4_address",
        "ipv6_address", "link_local_ips", "mac_address", "priority",
    }
)

SUPPORTED_TOP_LEVEL = frozenset({"version", "name", "services", "networks", "volumes"})
SUPPORTED_SERVICE = frozenset(
    {
        "image", "command", "entrypoint", "environment", "working_dir", "user", "hostname",
        "ports", "volumes", "tmpfs", "depends_on", "healthcheck", "restart", "networks",
        "stop_signal", "stop_grace_period", "container_name", "labels", "expose", "tty",
        "stdin_open", "init", "profiles", "pull_policy",
    }
)  # fmt: skip
SUPPORTED_HEALTHCHECK = HEALTHCHECK
SUPPORTED_NETWORK = frozenset({"name", "driver", "external", "internal", "labels", "ipam"})
SUPPORTED_IPAM = frozenset({"config"})
SUPPORTED_IPAM_CONFIG = frozenset({"subnet", "gateway"})
SUPPORTED_VOLUME = frozenset({"name", "driver", "external", "labels"})
SUPPORTED_SERVICE_PORT = frozenset({"target", "published", "host_ip", "protocol", "mode"})
SUPPORTED_SERVICE_VOLUME = frozenset(
    {"type", "source", "target", "read_only", "bind", "volume", "tmpfs"}
)
SUPPORTED_SERVICE_VOLUME_BIND = frozenset({"create_host_path"})
SUPPORTED_SERVICE_VOLUME_VOLUME = frozenset({"nocopy"})
SUPPORTED_SERVICE_VOLUME_TMPFS = frozenset({"size", "mode"})
SUPPORTED_DEPENDS_ON = DEPENDS_ON
SUPPORTED_SERVICE_NETWORK = frozenset({"aliases", "ipv4_address"})
