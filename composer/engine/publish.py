"""Published ports: from the host's addresses to a container's port.

The monitor calls ``publish`` for each running container with ports. For
each port it binds a userland proxy (``runtime.net.ports``) on the host
address, which holds the port (so a taken port is an error naming its
holder, and nobody else can take it meanwhile) and relays what reaches it;
then, when the container's network has an nftables table, it adds a kernel
DNAT entry, so the host's own connections (loopback and its addresses) go
through the kernel at full speed and never reach the proxy. Clients from
other hosts reach the proxy, or the kernel when the host forwards.

``published`` may be a port, a range (``8000-8010``: the first free one) or
nothing (a random port, which ``composer port`` then shows). When ``scope``
is cancelled (the container stopped), the proxies close and the DNAT entries
are removed.
"""

from __future__ import annotations

import contextlib
from typing import Any

import anyio
from anyio.abc import TaskGroup

from composer.errors import ComposerError, ConfigError, PortInUseError


def _candidates(published: Any) -> list[int]:
    if published in (None, ""):
        return [0]
    text = str(published)
    low, sep, high = text.partition("-")
    try:
        if sep:
            return list(range(int(low), int(high) + 1))
        return [int(text)]
    except ValueError:
        raise ConfigError(f"invalid published port {text!r}") from None


def target_attachment(rec: dict[str, Any]) -> dict[str, Any] | None:
    """The attachment published ports lead to: the first non-internal network's."""
    nets = list(rec.get("networks", {}).values())
    return next((a for a in nets if not a.get("internal")), nets[0] if nets else None)


async def publish(tg: TaskGroup, rec: dict[str, Any], scope: anyio.CancelScope) -> list[dict[str, Any]]:
    from composer.runtime.net import nat, ports

    att = target_attachment(rec)
    if att is None:  # network_mode host/none/service: nothing to publish here
        return []
    target_ip = att["ip"]
    table: str = att.get("table") or ""
    use_nat = table != "" and await anyio.to_thread.run_sync(nat.available)
    bound: list[dict[str, Any]] = []

    async def start_one(inner: TaskGroup, p: dict[str, Any]) -> None:
        proto = p.get("protocol") or "tcp"
        fwd = ports.forward_udp if proto == "udp" else ports.forward_tcp
        host_ip = p.get("host_ip") or "0.0.0.0"
        target = int(p["target"])
        candidates = _candidates(p.get("published"))
        for n, port in enumerate(candidates):
            try:
                actual = await inner.start(fwd, host_ip, port, target_ip, target)
                break
            except PortInUseError:
                if n == len(candidates) - 1:
                    raise
        entry = {"host_ip": host_ip, "host_port": actual, "target": target, "protocol": proto, "nat": False}
        if use_nat and ":" not in host_ip:
            with contextlib.suppress(ComposerError):  # the proxy serves alone
                await anyio.to_thread.run_sync(nat.publish, table, proto, host_ip, actual, target_ip, target)
                entry["nat"] = True
        bound.append(entry)

    async def unpublish_all() -> None:
        with anyio.CancelScope(shield=True):
            for entry in bound:
                if entry["nat"]:
                    with contextlib.suppress(ComposerError):
                        await anyio.to_thread.run_sync(nat.unpublish, table, entry["protocol"],
                                                       entry["host_ip"], entry["host_port"])

    async def run_all(*, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            with scope:
                async with anyio.create_task_group() as inner:
                    for p in rec["ports"]:
                        await start_one(inner, p)
                    task_status.started()
        finally:
            await unpublish_all()

    await tg.start(run_all)
    return bound


def check_ports(rec: dict[str, Any]) -> None:
    """Fail before start when a published port cannot be had (PortInUseError naming the holder).

    A fixed port must be free; a range needs one free port; a random port always works.
    """
    from composer.runtime.net import ports

    if target_attachment(rec) is None:
        return
    for p in rec.get("ports", []):
        candidates = [c for c in _candidates(p.get("published")) if c]
        host_ip, proto = p.get("host_ip") or "0.0.0.0", p.get("protocol") or "tcp"
        for n, port in enumerate(candidates):
            try:
                ports.check_port_free(host_ip, port, proto)
                break
            except PortInUseError:
                if n == len(candidates) - 1:
                    raise
