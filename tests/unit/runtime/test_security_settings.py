"""Pure logic of the security and resource settings: capabilities, seccomp profile, bundle keys."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from composer.engine import bundle
from composer.engine.process import UserSpec
from composer.errors import ConfigError
from composer.runtime.config import DEFAULT_CAPABILITIES, default_spec, effective_capabilities
from composer.runtime.seccomp import action_value
from composer.runtime.seccomp_profile import docker_default
from composer.runtime.spec import DeviceRule, SpecError, parse_spec
from composer.schema.model import Device, Service, Ulimit


def _allowed(profile: dict[str, Any]) -> set[str]:
    return {n for rule in profile["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW" and "args" not in rule for n in rule["names"]}


def test_docker_default_profile_follows_capabilities() -> None:
    plain = docker_default(DEFAULT_CAPABILITIES, "x86_64")
    assert plain["defaultAction"] == "SCMP_ACT_ERRNO" and plain["defaultErrnoRet"] == 1
    assert plain["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    allowed = _allowed(plain)
    for denied in ("mount", "umount2", "unshare", "setns", "keyctl", "add_key", "kexec_load", "init_module",
                   "reboot", "swapon", "bpf", "perf_event_open", "userfaultfd", "clock_settime", "acct"):  # fmt: skip
        assert denied not in allowed, denied
    assert {"read", "execve", "ptrace", "arch_prctl", "capset"} <= allowed
    clone = [r for r in plain["syscalls"] if r["names"] == ["clone"]]
    assert clone[0]["args"][0] == {"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}
    admin = _allowed(docker_default([*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"], "x86_64"))
    assert {"mount", "unshare", "setns", "clone", "chroot"} <= admin
    assert not any(r["names"] == ["clone3"] for r in docker_default(["CAP_SYS_ADMIN"], "x86_64")["syscalls"])


def test_effective_capabilities_as_docker() -> None:
    assert effective_capabilities() == DEFAULT_CAPABILITIES
    caps = effective_capabilities(["sys_admin", "CAP_NET_ADMIN"], ["NET_RAW", "cap_chown"])
    assert "CAP_SYS_ADMIN" in caps and "CAP_NET_ADMIN" in caps and "CAP_NET_RAW" not in caps and "CAP_CHOWN" not in caps
    assert effective_capabilities(["NET_BIND_SERVICE"], ["ALL"]) == ["CAP_NET_BIND_SERVICE"]
    with pytest.raises(ValueError, match="unknown capability 'NOPE'"):
        effective_capabilities(["NOPE"])


def test_spec_parses_security_and_resources() -> None:
    spec = default_spec(["true"], [], "/", "h", None)
    spec["linux"]["resources"].update({"memory": {"limit": 1 << 20, "swap": 2 << 20}, "pids": {"limit": 5},
                                       "cpu": {"quota": 50000, "period": 100000, "shares": 512, "cpus": "0"}})  # fmt: skip
    spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    spec["domainname"] = "example.org"
    parsed = parse_spec(spec)
    assert parsed.process.capabilities is not None and len(parsed.process.capabilities.bounding) == 14
    assert parsed.seccomp is not None and parsed.seccomp.default_action == "SCMP_ACT_ERRNO"
    res = parsed.resources
    assert (res.memory_limit, res.memory_swap, res.pids_limit, res.cpu_quota, res.cpu_shares, res.cpuset_cpus) == (
        1 << 20, 2 << 20, 5, 50000, 512, "0")  # fmt: skip
    assert res.devices[0] == DeviceRule(allow=False) and res.devices[0].cgroup_line() == "a"
    assert res.devices[1].cgroup_line() == "c *:* m"
    assert parsed.sysctl == {"net.ipv4.ip_forward": "1"} and parsed.domainname == "example.org"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"process": {"capabilities": {"bounding": ["CAP_NOPE"]}}}, "process.capabilities.bounding: unknown capability 'CAP_NOPE'"),
        ({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_WHAT"}]}]}}},
         "linux.seccomp.syscalls[0].args[0].op: unknown operator 'SCMP_CMP_WHAT'"),
        ({"linux": {"resources": {"devices": [{"allow": True, "type": "x"}]}}}, "linux.resources.devices[0].type: must be a, c or b, not 'x'"),
    ],
)  # fmt: skip
def test_bad_security_sections_name_their_key(change: dict[str, Any], message: str) -> None:
    spec = default_spec(["true"], [], "/", "h", None)
    for key, value in change.items():
        spec[key] = {**spec[key], **value}
        if key == "process" and "args" not in spec[key]:
            spec[key]["args"] = ["true"]
    with pytest.raises(SpecError) as info:
        parse_spec(spec)
    assert str(info.value) == message


def test_action_values() -> None:
    assert action_value("SCMP_ACT_ERRNO", None, 1) == 0x00050001
    assert action_value("SCMP_ACT_ERRNO", 38) == 0x00050026
    assert action_value("SCMP_ACT_ALLOW", None) == 0x7FFF0000


def _spec(tmp_path: Path, **fields: Any) -> dict[str, Any]:
    service = Service(name="web", image="busybox", **fields)
    (tmp_path / "etc").mkdir(exist_ok=True)
    (tmp_path / "etc" / "group").write_text("root:x:0:\naudio:x:29:\n")
    image: Any = SimpleNamespace(layers=[tmp_path])
    return bundle.container_spec(service=service, image=image, args=["sh"], env=[], cwd="/", user=UserSpec(0, 0),
                                 hostname="web", netns_path=tmp_path / "ns", mounts=[], annotations={})  # fmt: skip


def test_bundle_turns_service_keys_into_the_spec(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path, cap_add=["SYS_ADMIN"], cap_drop=["NET_RAW"], read_only=True, shm_size=1 << 20,
        ulimits={"nofile": Ulimit(soft=100, hard=200), "nproc": Ulimit(single=50)}, sysctls={"net.core.somaxconn": "1024"},
        devices=[Device(source="/dev/null", target="/dev/mynull")], device_cgroup_rules=["c 42:* rmw"],
        group_add=["audio", "100"], oom_score_adj=100, domainname="example.org", mem_limit=64 << 20,
        memswap_limit=128 << 20, mem_reservation=32 << 20, cpus=0.5, cpu_shares=512, cpuset="0", pids_limit=20,
        security_opt=["no-new-privileges:true"], pid="host",
    )  # fmt: skip
    proc, linux = spec["process"], spec["linux"]
    assert "CAP_SYS_ADMIN" in proc["capabilities"]["effective"] and "CAP_NET_RAW" not in proc["capabilities"]["bounding"]
    assert "mount" in {n for r in linux["seccomp"]["syscalls"] for n in r["names"]}  # SYS_ADMIN opens mount
    assert proc["noNewPrivileges"] is True and spec["root"]["readonly"] is True
    assert proc["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}, {"type": "RLIMIT_NPROC", "soft": 50, "hard": 50}]
    assert linux["sysctl"] == {"net.core.somaxconn": "1024"}
    assert linux["devices"][0]["path"] == "/dev/mynull" and (linux["devices"][0]["major"], linux["devices"][0]["minor"]) == (1, 3)
    rules = linux["resources"]["devices"]
    assert {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"} in rules
    assert rules[-1] == {"allow": True, "type": "c", "major": 42, "access": "rmw"}
    assert proc["user"]["additionalGids"] == [29, 100] and proc["oomScoreAdj"] == 100
    assert spec["domainname"] == "example.org"
    shm = next(m for m in spec["mounts"] if m["destination"] == "/dev/shm")
    assert f"size={1 << 20}" in shm["options"]
    res = linux["resources"]
    assert res["memory"] == {"limit": 64 << 20, "swap": 128 << 20, "reservation": 32 << 20}
    assert res["cpu"] == {"period": 100000, "quota": 50000, "shares": 512, "cpus": "0"} and res["pids"] == {"limit": 20}
    assert "pid" not in {ns["type"] for ns in linux["namespaces"]}


def test_bundle_privileged_and_unconfined(tmp_path: Path) -> None:
    priv = _spec(tmp_path, privileged=True)
    assert "seccomp" not in priv["linux"] and priv["linux"]["maskedPaths"] == []
    assert priv["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    assert "CAP_SYS_ADMIN" in priv["process"]["capabilities"]["bounding"]
    unconfined = _spec(tmp_path, security_opt=["seccomp=unconfined"])
    assert "seccomp" not in unconfined["linux"] and unconfined["linux"]["maskedPaths"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sysctls": {"kernel.panic": "1"}}, "service 'web': sysctls: kernel.panic is not namespaced and cannot be set in a container"),
        ({"cap_add": ["NOPE"]}, "service 'web': cap_add/cap_drop: unknown capability 'NOPE'"),
        ({"security_opt": ["bogus=1"]}, "service 'web': security_opt: unknown option 'bogus=1'"),
        ({"group_add": ["nosuch"]}, "service 'web': group_add: unable to find group nosuch: no matching entries in group file"),
        ({"devices": [Device(source="/dev/nosuch", target="/dev/x")]},
         "service 'web': devices: error gathering device information while adding custom device '/dev/nosuch': no such file or directory"),
        ({"device_cgroup_rules": ["c 1 rwm"]}, "service 'web': device_cgroup_rules: 'c 1 rwm': expected 'TYPE MAJOR:MINOR ACCESS', e.g. 'c 1:3 rwm'"),
    ],
)  # fmt: skip
def test_bundle_refuses_bad_settings(tmp_path: Path, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _spec(tmp_path, **fields)
    assert str(info.value) == message


def test_bundle_tty_and_init(tmp_path: Path) -> None:
    spec = _spec(tmp_path, tty=True, init=True)
    assert spec["process"]["terminal"] is True
    assert spec["annotations"]["org.composer.init"] == "true"
    assert _spec(tmp_path)["process"]["terminal"] is False
