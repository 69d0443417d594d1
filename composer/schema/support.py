"""Which service attributes the engine acts on: ``up`` warns about the others.

Every attribute of the Compose Specification parses, merges and renders; the
engine acts on those listed in ``ACTED_ON``. Teams add names here as they wire
an attribute into the runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from composer.schema.model import Project

ACTED_ON: frozenset[str] = frozenset(
    {
        "image",
        "command",
        "entrypoint",
        "environment",
        "env_file",
        "working_dir",
        "user",
        "hostname",
        "ports",
        "volumes",
        "tmpfs",
        "depends_on",
        "healthcheck",
        "networks",
        "stop_signal",
        "stop_grace_period",
        "container_name",
        "labels",
        "label_file",
        "profiles",
        "restart",
        "build",
        "pull_policy",
        "scale",
        "deploy",
        "logging",
        "runtime",
        "network_mode",
        "dns",
        "dns_opt",
        "dns_search",
        "extra_hosts",
        "links",
        "mac_address",
        "expose",
        "cap_add",
        "cap_drop",
        "privileged",
        "security_opt",
        "read_only",
        "devices",
        "device_cgroup_rules",
        "group_add",
        "init",
        "shm_size",
        "ulimits",
        "sysctls",
        "oom_score_adj",
        "domainname",
        "tty",
        "stdin_open",
        "pid",
        "ipc",
        "uts",
        "cgroup",
        "mem_limit",
        "memswap_limit",
        "mem_reservation",
        "cpus",
        "cpu_shares",
        "cpu_quota",
        "cpu_period",
        "cpuset",
        "pids_limit",
        "secrets",
        "configs",
        "volumes_from",
        "post_start",
        "pre_stop",
        "annotations",
        "cgroup_parent",
        "attach",
        "oom_kill_disable",
        "mem_swappiness",
        "platform",
    }
)

# Attributes that only shape the model itself: never worth a warning.
_ALWAYS_FINE = frozenset({"name", "extensions"})


def not_acted_on(project: Project) -> list[str]:
    """Sorted ``services.<svc>.<attr>`` paths set in the project but not acted on."""
    found: list[str] = []
    for name, service in project.services.items():
        for attr in service.model_fields_set:
            if attr in ACTED_ON or attr in _ALWAYS_FINE:
                continue
            value = getattr(service, attr)
            if value is None or value is False or value == [] or value == {}:
                continue
            found.append(f"services.{name}.{attr}")
    return sorted(found)
