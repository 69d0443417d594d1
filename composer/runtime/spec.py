"""A typed view of an OCI runtime bundle's ``config.json`` (runtime spec 1.x).

The built-in runtime reads nothing else of the bundle: ``load_spec`` parses the
JSON, ``parse_spec`` checks the parts this runtime acts on and turns them into
frozen value classes (``composer.values``), so the init code never handles untyped dicts. Errors name
the key path (``process.args: ...``) as the Compose loader does. Unknown keys
are ignored, as runc ignores them; keys that matter but are not supported yet
(user namespaces) are refused with a clear message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from composer.errors import ContainerStartError
from composer.runtime.capabilities import CAPABILITIES, Capabilities
from composer.runtime.seccomp import COMPARE_OPS, Arg, Rule, Seccomp
from composer.values import field, valueclass

KNOWN_NAMESPACES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup")


class SpecError(ContainerStartError):
    """config.json is malformed or asks for something this runtime cannot do."""


@valueclass
class User:
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    umask: int | None = None


@valueclass
class Rlimit:
    type: str
    soft: int
    hard: int


@valueclass
class Process:
    args: tuple[str, ...]
    env: tuple[str, ...] = ()
    cwd: str = "/"
    user: User = field(default_factory=User)
    terminal: bool = False
    no_new_privileges: bool = False
    rlimits: tuple[Rlimit, ...] = ()
    capabilities: Capabilities | None = None  # None: leave the caller's sets alone
    oom_score_adj: int | None = None

    def env_value(self, name: str) -> str | None:
        for item in self.env:
            key, sep, value = item.partition("=")
            if sep and key == name:
                return value
        return None


@valueclass
class Mount:
    destination: str
    type: str | None = None
    source: str | None = None
    options: tuple[str, ...] = ()


@valueclass
class Namespace:
    type: str
    path: str | None = None


@valueclass
class Device:
    path: str
    type: str
    major: int
    minor: int
    file_mode: int | None = None
    uid: int | None = None
    gid: int | None = None


@valueclass
class DeviceRule:
    """One ``linux.resources.devices`` entry: the device cgroup's allow/deny list."""

    allow: bool
    type: str = "a"  # a, c or b
    major: int | None = None  # None: any
    minor: int | None = None
    access: str = "rwm"

    def cgroup_line(self) -> str:
        if self.type == "a":
            return "a"
        major = "*" if self.major is None else str(self.major)
        minor = "*" if self.minor is None else str(self.minor)
        return f"{self.type} {major}:{minor} {self.access}"


@valueclass
class Resources:
    """``linux.resources``: what the cgroups enforce. None means "not set"."""

    memory_limit: int | None = None
    memory_reservation: int | None = None
    memory_swap: int | None = None  # memory + swap, as OCI and Docker's memswap_limit
    memory_swappiness: int | None = None  # 0-100; cgroup v1 only (v2 has none, ignored as runc does)
    disable_oom_killer: bool = False  # cgroup v1 only, as runc
    cpu_shares: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    pids_limit: int | None = None
    devices: tuple[DeviceRule, ...] = ()


@valueclass
class Spec:
    root_path: str
    process: Process
    root_readonly: bool = False
    hostname: str | None = None
    mounts: tuple[Mount, ...] = ()
    namespaces: tuple[Namespace, ...] = ()
    devices: tuple[Device, ...] = ()
    masked_paths: tuple[str, ...] = ()
    readonly_paths: tuple[str, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict)
    domainname: str | None = None
    sysctl: dict[str, str] = field(default_factory=dict)
    seccomp: Seccomp | None = None
    cgroups_path: str | None = None
    resources: Resources = field(default_factory=Resources)

    def namespace(self, kind: str) -> Namespace | None:
        return next((ns for ns in self.namespaces if ns.type == kind), None)


def load_spec(bundle: Path) -> Spec:
    """Read and check ``bundle/config.json``."""
    path = bundle / "config.json"
    try:
        raw = json.loads(path.read_text())
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise SpecError(f"{path} is not valid JSON: {exc}") from exc
    return parse_spec(raw)


def parse_spec(raw: Any) -> Spec:
    """Turn the parsed config.json into a ``Spec``; errors name the key path."""
    doc = _obj(raw, "config.json")
    root = _obj(doc.get("root"), "root")
    linux = _obj(doc.get("linux", {}), "linux")
    hostname = doc.get("hostname")
    if hostname is not None and not isinstance(hostname, str):
        raise SpecError("hostname: must be a string")
    domainname = doc.get("domainname")
    if domainname is not None and not isinstance(domainname, str):
        raise SpecError("domainname: must be a string")
    cgroups_path = linux.get("cgroupsPath")
    if cgroups_path is not None and not isinstance(cgroups_path, str):
        raise SpecError("linux.cgroupsPath: must be a string")
    return Spec(
        root_path=_str(root.get("path"), "root.path"),
        root_readonly=_bool(root.get("readonly", False), "root.readonly"),
        process=_process(_obj(doc.get("process"), "process")),
        hostname=hostname or None,
        mounts=tuple(_mount(m, f"mounts[{i}]") for i, m in enumerate(_list(doc.get("mounts", []), "mounts"))),
        namespaces=_namespaces(_list(linux.get("namespaces", []), "linux.namespaces")),
        devices=tuple(_device(d, f"linux.devices[{i}]") for i, d in enumerate(_list(linux.get("devices", []), "linux.devices"))),
        masked_paths=_strs(linux.get("maskedPaths", []), "linux.maskedPaths"),
        readonly_paths=_strs(linux.get("readonlyPaths", []), "linux.readonlyPaths"),
        annotations={str(k): str(v) for k, v in _obj(doc.get("annotations", {}), "annotations").items()},
        domainname=domainname or None,
        sysctl={str(k): str(v) for k, v in _obj(linux.get("sysctl") or {}, "linux.sysctl").items()},
        seccomp=_seccomp(linux.get("seccomp")),
        cgroups_path=cgroups_path or None,
        resources=_resources(_obj(linux.get("resources") or {}, "linux.resources")),
    )


def _process(doc: dict[str, Any]) -> Process:
    args = _strs(doc.get("args"), "process.args")
    if not args:
        raise SpecError("process.args: must name the program to run")
    cwd = _str(doc.get("cwd", "/"), "process.cwd")
    if not cwd.startswith("/"):
        raise SpecError(f"process.cwd: must be an absolute path, not {cwd!r}")
    user = _obj(doc.get("user", {}), "process.user")
    umask = user.get("umask")
    oom = doc.get("oomScoreAdj")
    return Process(
        args=args,
        env=_strs(doc.get("env", []), "process.env"),
        cwd=cwd,
        user=User(
            uid=_int(user.get("uid", 0), "process.user.uid"),
            gid=_int(user.get("gid", 0), "process.user.gid"),
            additional_gids=tuple(
                _int(g, "process.user.additionalGids") for g in _list(user.get("additionalGids", []), "process.user.additionalGids")
            ),
            umask=None if umask is None else _int(umask, "process.user.umask"),
        ),
        no_new_privileges=_bool(doc.get("noNewPrivileges", False), "process.noNewPrivileges"),
        rlimits=tuple(_rlimit(r, f"process.rlimits[{i}]") for i, r in enumerate(_list(doc.get("rlimits", []), "process.rlimits"))),
        terminal=_bool(doc.get("terminal", False), "process.terminal"),
        capabilities=_capabilities(doc.get("capabilities")),
        oom_score_adj=None if oom is None else _int(oom, "process.oomScoreAdj"),
    )


def _capabilities(value: Any) -> Capabilities | None:
    if value is None:
        return None
    doc = _obj(value, "process.capabilities")
    sets: dict[str, tuple[str, ...]] = {}
    for kind in ("bounding", "effective", "permitted", "inheritable", "ambient"):
        names = _strs(doc.get(kind, []), f"process.capabilities.{kind}")
        for name in names:
            if name not in CAPABILITIES:
                raise SpecError(f"process.capabilities.{kind}: unknown capability {name!r}")
        sets[kind] = names
    return Capabilities(**sets)


def _seccomp(value: Any) -> Seccomp | None:
    if value is None:
        return None
    doc = _obj(value, "linux.seccomp")
    rules: list[Rule] = []
    for i, item in enumerate(_list(doc.get("syscalls", []), "linux.seccomp.syscalls")):
        where = f"linux.seccomp.syscalls[{i}]"
        rule = _obj(item, where)
        args: list[Arg] = []
        for j, a in enumerate(_list(rule.get("args", []), f"{where}.args")):
            arg = _obj(a, f"{where}.args[{j}]")
            op = _str(arg.get("op"), f"{where}.args[{j}].op")
            if op not in COMPARE_OPS:
                raise SpecError(f"{where}.args[{j}].op: unknown operator {op!r}")
            args.append(Arg(
                index=_int(arg.get("index", 0), f"{where}.args[{j}].index"),
                value=_int(arg.get("value", 0), f"{where}.args[{j}].value"),
                value_two=_int(arg.get("valueTwo", 0), f"{where}.args[{j}].valueTwo"),
                op=op,
            ))  # fmt: skip
        errno_ret = rule.get("errnoRet")
        rules.append(Rule(
            names=_strs(rule.get("names", []), f"{where}.names"),
            action=_str(rule.get("action"), f"{where}.action"),
            errno_ret=None if errno_ret is None else _int(errno_ret, f"{where}.errnoRet"),
            args=tuple(args),
        ))  # fmt: skip
    default_errno = doc.get("defaultErrnoRet")
    return Seccomp(
        default_action=_str(doc.get("defaultAction"), "linux.seccomp.defaultAction"),
        default_errno=None if default_errno is None else _int(default_errno, "linux.seccomp.defaultErrnoRet"),
        architectures=_strs(doc.get("architectures", []), "linux.seccomp.architectures"),
        rules=tuple(rules),
    )


def _opt_int(doc: dict[str, Any], key: str, where: str) -> int | None:
    value = doc.get(key)
    return None if value is None else _int(value, f"{where}.{key}")


def _swappiness(memory: dict[str, Any]) -> int | None:
    value = _opt_int(memory, "swappiness", "linux.resources.memory")
    if value is not None and not 0 <= value <= 100:
        raise SpecError(f"linux.resources.memory.swappiness: must be 0 to 100, not {value}")
    return value


def _resources(doc: dict[str, Any]) -> Resources:
    memory = _obj(doc.get("memory") or {}, "linux.resources.memory")
    cpu = _obj(doc.get("cpu") or {}, "linux.resources.cpu")
    pids = _obj(doc.get("pids") or {}, "linux.resources.pids")
    rules: list[DeviceRule] = []
    for i, item in enumerate(_list(doc.get("devices", []), "linux.resources.devices")):
        where = f"linux.resources.devices[{i}]"
        rule = _obj(item, where)
        kind = rule.get("type", "a") or "a"
        if kind not in ("a", "c", "b"):
            raise SpecError(f"{where}.type: must be a, c or b, not {kind!r}")
        major, minor = _opt_int(rule, "major", where), _opt_int(rule, "minor", where)
        rules.append(DeviceRule(
            allow=_bool(rule.get("allow", False), f"{where}.allow"),
            type=kind,
            major=None if major is None or major < 0 else major,
            minor=None if minor is None or minor < 0 else minor,
            access=str(rule.get("access") or "rwm"),
        ))  # fmt: skip
    cpus, mems = cpu.get("cpus"), cpu.get("mems")
    return Resources(
        memory_limit=_opt_int(memory, "limit", "linux.resources.memory"),
        memory_reservation=_opt_int(memory, "reservation", "linux.resources.memory"),
        memory_swap=_opt_int(memory, "swap", "linux.resources.memory"),
        memory_swappiness=_swappiness(memory),
        disable_oom_killer=_bool(memory.get("disableOOMKiller", False), "linux.resources.memory.disableOOMKiller"),
        cpu_shares=_opt_int(cpu, "shares", "linux.resources.cpu"),
        cpu_quota=_opt_int(cpu, "quota", "linux.resources.cpu"),
        cpu_period=_opt_int(cpu, "period", "linux.resources.cpu"),
        cpuset_cpus=str(cpus) if cpus else None,
        cpuset_mems=str(mems) if mems else None,
        pids_limit=_opt_int(pids, "limit", "linux.resources.pids"),
        devices=tuple(rules),
    )


def _namespaces(items: list[Any]) -> tuple[Namespace, ...]:
    out: list[Namespace] = []
    for i, item in enumerate(items):
        doc = _obj(item, f"linux.namespaces[{i}]")
        kind = _str(doc.get("type"), f"linux.namespaces[{i}].type")
        if kind not in KNOWN_NAMESPACES:
            raise SpecError(f"linux.namespaces[{i}].type: unknown namespace {kind!r}")
        if kind == "user":
            raise SpecError("linux.namespaces: user namespaces are not supported by the built-in runtime yet")
        if any(ns.type == kind for ns in out):
            raise SpecError(f"linux.namespaces: {kind} is listed twice")
        path = doc.get("path")
        if path is not None and not isinstance(path, str):
            raise SpecError(f"linux.namespaces[{i}].path: must be a string")
        out.append(Namespace(kind, path or None))
    # pivot_root in the caller's mount namespace would change the host's root
    if not any(ns.type == "mount" and ns.path is None for ns in out):
        raise SpecError("linux.namespaces: a new mount namespace is required")
    return tuple(out)


def _mount(item: Any, where: str) -> Mount:
    doc = _obj(item, where)
    dest = _str(doc.get("destination"), f"{where}.destination")
    if not dest.startswith("/"):
        raise SpecError(f"{where}.destination: must be an absolute path, not {dest!r}")
    kind = doc.get("type")
    source = doc.get("source")
    return Mount(
        destination=dest,
        type=kind if isinstance(kind, str) and kind else None,
        source=source if isinstance(source, str) and source else None,
        options=_strs(doc.get("options", []), f"{where}.options"),
    )


def _device(item: Any, where: str) -> Device:
    doc = _obj(item, where)
    kind = _str(doc.get("type"), f"{where}.type")
    if kind not in ("c", "b", "u", "p"):
        raise SpecError(f"{where}.type: must be c, b, u or p, not {kind!r}")
    mode, uid, gid = doc.get("fileMode"), doc.get("uid"), doc.get("gid")
    return Device(
        path=_str(doc.get("path"), f"{where}.path"),
        type=kind,
        major=_int(doc.get("major", 0), f"{where}.major"),
        minor=_int(doc.get("minor", 0), f"{where}.minor"),
        file_mode=None if mode is None else _int(mode, f"{where}.fileMode"),
        uid=None if uid is None else _int(uid, f"{where}.uid"),
        gid=None if gid is None else _int(gid, f"{where}.gid"),
    )


def _rlimit(item: Any, where: str) -> Rlimit:
    doc = _obj(item, where)
    return Rlimit(
        type=_str(doc.get("type"), f"{where}.type"),
        soft=_int(doc.get("soft"), f"{where}.soft"),
        hard=_int(doc.get("hard"), f"{where}.hard"),
    )


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SpecError(f"{where}: must be an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpecError(f"{where}: must be a list")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise SpecError(f"{where}: must be a non-empty string")
    return value


def _strs(value: Any, where: str) -> tuple[str, ...]:
    items = _list(value, where)
    if not all(isinstance(v, str) for v in items):
        raise SpecError(f"{where}: must be a list of strings")
    return tuple(items)


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{where}: must be an integer")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{where}: must be true or false")
    return value
