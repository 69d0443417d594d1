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


def all_capabilities() -> list[str]:
    """Every capability we hold (``privileged``): the kernel's, minus any the host withheld.

    A VM without CAP_SYS_RESOURCE in its bounding set cannot hand it on;
    asking crun or runc for it fails with "unable to apply caps".
    """
    from composer.runtime.capabilities import CAPABILITIES, last_cap

    top = last_cap()
    bounding = (1 << (top + 1)) - 1
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    bounding = int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    ordered = sorted(CAPABILITIES.items(), key=lambda kv: kv[1])
    return [name for name, number in ordered if number <= top and bounding >> number & 1]


def effective_capabilities(cap_add: Sequence[str] = (), cap_drop: Sequence[str] = ()) -> list[str]:
    """Docker's rule: start from the default 14, drop ``cap_drop``, add ``cap_add``; ``ALL`` works in both.

    Names may be given with or without ``CAP_`` and in any case; an unknown
    one raises ``ValueError`` naming it (the engine turns it into a ConfigError).
    """
    from composer.runtime.capabilities import normalise

    def names(items: Sequence[str]) -> tuple[bool, list[str]]:
        out: list[str] = []
        every = False
        for item in items:
            if item.strip().upper() in ("ALL", "CAP_ALL"):
                every = True
                continue
            name = normalise(item)
            if name is None:
                raise ValueError(f"unknown capability {item!r}")
            out.append(name)
        return every, out

    add_all, add = names(cap_add)
    drop_all, drop = names(cap_drop)
    base = [] if drop_all else [c for c in DEFAULT_CAPABILITIES if c not in drop]
    if add_all:
        return [c for c in all_capabilities() if c not in drop or c in add]
    return base + [c for c in add if c not in base]


def host_devices() -> list[dict[str, Any]]:
    """Every character and block device of the host's /dev (``privileged``), as runc lists them."""
    import os
    import stat

    out: list[dict[str, Any]] = []
    for directory, dirs, files in os.walk("/dev"):
        dirs[:] = [d for d in dirs if d not in ("pts", "shm", "mqueue", "fd")]
        for name in sorted(files):
            path = os.path.join(directory, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)) or path in ("/dev/console", "/dev/ptmx"):
                continue
            out.append({
                "path": path, "type": "c" if stat.S_ISCHR(st.st_mode) else "b",
                "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
                "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid,
            })  # fmt: skip
    return out


def apply_security(
    spec: dict[str, Any],
    *,
    cap_add: Sequence[str] = (),
    cap_drop: Sequence[str] = (),
    privileged: bool = False,
    seccomp: str | dict[str, Any] | None = None,
    no_new_privileges: bool = False,
) -> None:
    """Capabilities, seccomp, masked paths and devices as ``docker run`` sets them.

    ``seccomp`` is None (Docker's default profile for the resulting
    capabilities), ``"unconfined"`` (no filter) or an OCI ``linux.seccomp``
    dict. ``privileged`` gives every capability, no filter, no masked or
    read-only paths, a writable /sys and the host's devices, as Docker does.
    """
    from composer.runtime.seccomp_profile import docker_default

    process = spec.setdefault("process", {})
    linux = spec.setdefault("linux", {})
    caps = all_capabilities() if privileged else effective_capabilities(cap_add, cap_drop)
    process["capabilities"] = {kind: list(caps) for kind in ("bounding", "effective", "permitted")}
    process["noNewPrivileges"] = bool(no_new_privileges)
    if privileged or seccomp == "unconfined":
        linux.pop("seccomp", None)
    elif isinstance(seccomp, dict):
        linux["seccomp"] = seccomp
    else:
        linux["seccomp"] = docker_default(caps)
    if privileged:
        linux["maskedPaths"] = []
        linux["readonlyPaths"] = []
        linux.setdefault("resources", {})["devices"] = [{"allow": True, "access": "rwm"}]
        known = {d.get("path") for d in linux.get("devices", [])}
        linux["devices"] = list(linux.get("devices", [])) + [d for d in host_devices() if d["path"] not in known]
        for mount in spec.get("mounts", []):
            if mount.get("destination") == "/sys":
                mount["options"] = [o for o in mount.get("options", []) if o != "ro"]
