"""Published ports: from the host's addresses to a container's port.

First cut: a userland proxy per published port, run by the project monitor
(``runtime.net.ports``). ``publish`` starts the proxies of one container
inside ``scope`` and returns what it bound (with the real host port when the
file asked for a random one).
"""

from __future__ import annotations

from typing import Any

import anyio
from anyio.abc import TaskGroup


async def publish(tg: TaskGroup, rec: dict[str, Any], scope: anyio.CancelScope) -> list[dict[str, Any]]:
    from composer.runtime.net import ports

    target_ip = next(iter(rec["networks"].values()))["ip"] if rec.get("networks") else "127.0.0.1"
    bound: list[dict[str, Any]] = []

    async def run_all(*, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        with scope:
            async with anyio.create_task_group() as inner:
                for p in rec["ports"]:
                    fwd = ports.forward_udp if p.get("protocol") == "udp" else ports.forward_tcp
                    host_ip = p.get("host_ip") or "0.0.0.0"
                    host_port = int(p["published"]) if p.get("published") else 0
                    actual = await inner.start(fwd, host_ip, host_port, target_ip, int(p["target"]))
                    bound.append({"host_ip": host_ip, "host_port": actual, "target": int(p["target"]),
                                  "protocol": p.get("protocol", "tcp")})
                task_status.started()

    await tg.start(run_all)
    return bound
