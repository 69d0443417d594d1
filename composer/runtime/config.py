"""Default OCI runtime specs: the equivalent of ``runc spec``, tuned as Docker runs.

``default_spec`` gives the base document the engine completes (bind mounts,
rlimits, annotations). The lists are runc's and Docker's defaults; where
Docker and runc differ the Docker value wins (writable root, no terminal,
noNewPrivileges off), because composer must behave like Docker Compose.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from composer.runtime.defaults import DEFAULT_PATH

OCI_VERSION = "1.0.2"

#: moby's oci/defaults.go: DefaultCapabilities (recorded for backends that apply them)
DEFAULT_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]  # fmt: skip

MASKED_PATHS = [
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
]  # fmt: skip

#: the device cgroup: deny everything, then allow mknod of any node and use of the safe ones
DEFAULT_DEVICE_RULES: list[dict[str, Any]] = [
    {"allow": False, "access": "rwm"},
    {"allow": True, "type": "c", "access": "m"},
    {"allow": True, "type": "b", "access": "m"},
    *({"allow": True, "type": "c", "major": major, "minor": minor, "access": "rwm"}
      for major, minor in ((1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2), (136, -1), (10, 200))),
]  # fmt: skip

READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def default_mounts() -> list[dict[str, Any]]:
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    ]  # fmt: skip


def default_spec(
    args: Sequence[str],
    env: Sequence[str],
    cwd: str = "/",
    hostname: str | None = None,
    netns_path: str | None = None,
) -> dict[str, Any]:
    """A complete config.json dict; ``root.path`` is ``rootfs`` (relative to the bundle).

    ``env`` is used as given, with Docker's default PATH added when it has
    none. ``netns_path`` joins an existing network namespace (the engine's
    ``<run>/netns/<id>``); without it the container gets a new, empty one.
    """
    environment = list(env)
    if not any(item.startswith("PATH=") for item in environment):
        environment.insert(0, f"PATH={DEFAULT_PATH}")
    from composer.runtime.seccomp_profile import docker_default

    network: dict[str, str] = {"type": "network"}
    if netns_path:
        network["path"] = netns_path
    spec: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": environment,
            "cwd": cwd or "/",
            "capabilities": {
                kind: list(DEFAULT_CAPABILITIES) for kind in ("bounding", "effective", "permitted")
            },
            # no rlimits: inherited, as under Docker; raising them needs CAP_SYS_RESOURCE
            "noNewPrivileges": False,
        },
        "root": {"path": "rootfs", "readonly": False},
        "mounts": default_mounts(),
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, network],
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
            "resources": {"devices": [dict(rule) for rule in DEFAULT_DEVICE_RULES]},
            "seccomp": docker_default(DEFAULT_CAPABILITIES),
        },
    }
    if hostname:
        spec["hostname"] = hostname
    return spec
