"""Escape attempts from inside a default container: each must fail, on every backend.

A default container is what Docker gives: Docker's 14 capabilities, its
seccomp profile, runc's masked and read-only paths, a device cgroup that
denies everything but the safe nodes, its own pid/mount/uts/ipc/net
namespaces. ``privileged: true`` then lets the calls Docker lets through.

The system-call probes run the host's Python (its /usr bind-mounted
read-only) and call each system call with harmless arguments, printing the
errno: EPERM means the filter or the missing capability stopped it.
"""

from __future__ import annotations

import json
import os
import socket
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from composer.runtime.config import apply_security

if TYPE_CHECKING:
    from tests.integration.runtime.harness import Runtime

pytestmark = pytest.mark.root

HOST_PYTHON = Path("/usr/bin/python3")

#: name -> (x86_64 number, harmless arguments); if let through each returns an error other than EPERM
PROBES: dict[str, tuple[int, tuple[int, ...]]] = {
    "keyctl": (250, (0, -1)),  # KEYCTL_GET_KEYRING_ID of a bad id
    "add_key": (248, (0, 0, 0, 0, 0)),
    "request_key": (249, (0, 0, 0, 0)),
    "mount": (165, (0, 0, 0, 0, 0)),
    "umount2": (166, (0, 0)),
    "pivot_root": (155, (0, 0)),
    "setns": (308, (-1, 0)),
    "init_module": (175, (0, 0, 0)),
    "finit_module": (313, (-1, 0, 0)),
    "delete_module": (176, (0, 0)),
    "kexec_load": (246, (0, 0, 0, 0xFFFFFFFF)),
    "kexec_file_load": (320, (-1, -1, 0, 0, 0xFFFFFFFF)),
    "reboot": (169, (0, 0, 0, 0)),  # bad magic: EINVAL if it were allowed
    "swapon": (167, (0, 0)),
    "swapoff": (168, (0,)),
    "clock_settime": (227, (-1, 0)),  # bad clock: EINVAL if allowed
    "settimeofday": (164, (0, 0)),
    "iopl": (172, (0,)),
    "ioperm": (173, (0, 0, 0)),
    "bpf": (321, (-1, 0, 0)),
    "perf_event_open": (298, (0, 0, -1, -1, 0)),
    "userfaultfd": (323, (0xFFFFFFFF,)),
    "open_by_handle_at": (304, (-1, 0, 0)),
    "quotactl": (179, (0, 0, 0, 0)),
    "lookup_dcookie": (212, (0, 0, 0)),
    "syslog": (103, (10, 0, 0)),  # SYSLOG_ACTION_SIZE_BUFFER
    "personality": (135, (0xFFFF,)),
    "fsopen": (430, (0, 0)),
    "open_tree": (428, (-1, 0, 0)),
    "move_mount": (429, (-1, 0, -1, 0, 0)),
    "sethostname": (170, (0, 0)),
    "setdomainname": (171, (0, 0)),
    "acct": (163, (0,)),
    "vhangup": (153, ()),
    "mbind": (237, (0, 0, 0, 0, 0, 0)),
    "set_mempolicy": (238, (0xFFFF, 0, 0)),
    # last: once in a new user namespace the probe has no capability over the others
    "unshare_mnt": (272, (0x00020000,)),
    "unshare_user": (272, (0x10000000,)),  # CLONE_NEWUSER: regain capabilities in a new user ns
}
#: allowed under privileged: true (no filter, every capability); still harmless with these arguments
PRIVILEGED_ALLOWS = ("keyctl", "mount", "unshare_user", "bpf", "syslog", "setns", "sethostname", "quotactl")

PROBE = textwrap.dedent("""\
    import ctypes, errno, json, sys
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    out = {}
    for name, (nr, args) in json.loads(sys.argv[1]).items():
        res = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
        out[name] = "ok" if res >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")
    print(json.dumps(out))
    """)


def _with_host_python(runtime: Runtime, name: str, args: list[str], edit: Any = None) -> Path:
    def change(spec: dict[str, Any]) -> None:
        spec["mounts"].append({"destination": "/usr", "type": "bind", "source": "/usr",
                               "options": ["rbind", "ro", "nosuid", "nodev"]})  # fmt: skip
        if edit:
            edit(spec)

    bundle = runtime.bundle(name, args, edit=change)
    for link in ("lib", "lib64"):
        if os.path.islink(f"/{link}"):
            (bundle / "rootfs" / link).symlink_to(f"usr/{link}")
    return bundle


def _probe(runtime: Runtime, name: str, edit: Any = None) -> dict[str, str]:
    if not HOST_PYTHON.exists() or os.uname().machine != "x86_64":
        pytest.skip("the system-call probes need /usr/bin/python3 on x86_64")
    bundle = _with_host_python(runtime, name, [str(HOST_PYTHON), "-I", "-S", "-c", PROBE, json.dumps(PROBES)], edit)
    runtime.start_bundle(name, bundle)
    state = runtime.wait_stopped(name, timeout=60)
    assert state.exit_code == 0, runtime.output(name)
    result: dict[str, str] = json.loads(runtime.stdout(name))
    return result


def _sh(runtime: Runtime, name: str, script: str, edit: Any = None) -> tuple[int | None, str]:
    runtime.start(name, ["sh", "-c", script], edit=edit)
    state = runtime.wait_stopped(name, timeout=60)
    return state.exit_code, runtime.output(name)


def test_docker_seccomp_deny_list_and_capabilities(runtime: Runtime) -> None:
    result = _probe(runtime, "probe")
    allowed = {name: err for name, err in result.items() if err != "EPERM"}
    assert allowed == {}, f"let through: {allowed}"


def test_privileged_lets_through_what_docker_allows(runtime: Runtime) -> None:
    result = _probe(runtime, "probe-priv", edit=lambda spec: apply_security(spec, privileged=True))
    blocked = {name: result[name] for name in PRIVILEGED_ALLOWS if result[name] == "EPERM"}
    assert blocked == {}, f"still blocked under privileged: {blocked}"


def test_process_status_shows_filter_caps_and_nnp(runtime: Runtime) -> None:
    def nnp(spec: dict[str, Any]) -> None:
        apply_security(spec, no_new_privileges=True)

    code, out = _sh(runtime, "status", "grep -E '^(CapEff|CapBnd|CapPrm|Seccomp|NoNewPrivs):' /proc/self/status", nnp)
    assert code == 0, out
    fields = dict(line.split(":\t") for line in out.splitlines())
    assert fields["CapEff"] == fields["CapBnd"] == fields["CapPrm"] == "00000000a80425fb"  # Docker's 14
    assert fields["Seccomp"] == "2" and fields["NoNewPrivs"] == "1"


def test_mount_umount_and_user_namespace_fail(runtime: Runtime) -> None:
    script = textwrap.dedent("""\
        mount -t tmpfs none /tmp 2>&1 || echo mount-denied
        umount /proc 2>&1 || echo umount-denied
        unshare -U -r true 2>&1 || echo userns-denied
        unshare -m true 2>&1 || echo mountns-denied
        """)
    _code, out = _sh(runtime, "mount", script)
    for word in ("mount-denied", "umount-denied", "userns-denied", "mountns-denied"):
        assert word in out, out


def test_mknod_of_a_host_disk_cannot_be_opened(runtime: Runtime) -> None:
    disks = [line.split() for line in Path("/proc/partitions").read_text().splitlines()[2:] if line.strip()]
    if not disks:
        pytest.skip("no block device on this host")
    major, minor = disks[0][0], disks[0][1]
    script = f"mknod /tmp/disk b {major} {minor} && echo made; head -c 512 /tmp/disk >/dev/null 2>&1 && echo READ || echo read-denied"
    _code, out = _sh(runtime, "mknod", script)
    assert "read-denied" in out and "READ" not in out, out


def test_proc_sys_and_kernel_files_are_protected(runtime: Runtime) -> None:
    script = textwrap.dedent("""\
        echo 1 > /proc/sys/kernel/sysrq 2>/dev/null && echo SYSCTL || echo sysctl-denied
        echo h > /proc/sysrq-trigger 2>/dev/null && echo SYSRQ || echo sysrq-denied
        echo /x > /sys/kernel/uevent_helper 2>/dev/null && echo SYS || echo sys-denied
        echo "kcore=$(head -c 16 /proc/kcore | wc -c)"
        echo "keys=$(cat /proc/keys | wc -c)"
        echo "timer_list=$(cat /proc/timer_list 2>/dev/null | wc -c)"
        echo "firmware=$(ls /sys/firmware | wc -l)"
        hostname evil 2>/dev/null && echo HOSTNAME || echo hostname-denied
        date -s 2001-01-01 2>&1 >/dev/null | grep -q "can't set" && echo time-denied || echo TIME
        """)
    _code, out = _sh(runtime, "procsys", script)
    lines = out.split()
    assert [w for w in lines if w.isupper()] == [], out
    for word in ("sysctl-denied", "sysrq-denied", "sys-denied", "kcore=0", "keys=0", "timer_list=0",
                 "firmware=0", "hostname-denied", "time-denied"):  # fmt: skip
        assert word in lines, out
    assert socket.gethostname() != "evil"


def test_raw_socket_needs_net_raw(runtime: Runtime) -> None:
    def no_raw(spec: dict[str, Any]) -> None:
        apply_security(spec, cap_drop=["NET_RAW"])

    _code, out = _sh(runtime, "raw", "ping -c 1 -W 1 127.0.0.1 2>&1; echo rc=$?", no_raw)
    assert "permission denied" in out.lower() or "operation not permitted" in out.lower(), out


def test_host_is_out_of_reach_through_proc_and_dotdot(runtime: Runtime) -> None:
    marker = f"/proc/{os.getpid()}/root{runtime.tmp}"
    script = textwrap.dedent(f"""\
        ls -d /../usr /../../usr /proc/1/root/usr /proc/self/root/usr 2>/dev/null && echo HOSTFS || echo hostfs-hidden
        test -e {marker} && echo HOSTPROC || echo hostproc-hidden
        echo "procs=$(ls -d /proc/[0-9]* | wc -l)"
        """)
    _code, out = _sh(runtime, "dotdot", script)
    assert "hostfs-hidden" in out and "hostproc-hidden" in out and "HOST" not in out, out
    procs = int(out.split("procs=")[1].split()[0])
    assert procs < 10, out  # only the container's own processes


def test_privileged_can_mount_and_write_sys(runtime: Runtime) -> None:
    def priv(spec: dict[str, Any]) -> None:
        apply_security(spec, privileged=True)

    script = "mount -t tmpfs none /tmp && echo mounted; grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1"
    _code, out = _sh(runtime, "priv", script, priv)
    assert out.split() == ["mounted", "rw"], out
