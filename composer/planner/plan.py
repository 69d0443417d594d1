"""The convergence plan: what ``up`` must do to make the host match the file.

``plan(desired, observed, options) -> Plan`` is pure: it compares each
service's desired configuration (its canonical config and hash, its image,
its replica count) with the containers observed on the host, and says, per
container, create / recreate / start / keep / remove, each with a reason a
person can read ("recreate web: environment.DEBUG changed"). The engine
carries the plan out; nothing here touches the kernel or the disk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ActionKind = Literal["create", "recreate", "start", "keep", "remove", "restart"]


@dataclass(frozen=True)
class Desired:
    """One service as the file wants it."""

    service: str
    config_hash: str
    config: Mapping[str, Any]
    image_id: str
    replicas: int = 1
    depends_on: Mapping[str, bool] = field(default_factory=dict)  # dependency -> restart: true


@dataclass(frozen=True)
class Observed:
    """One container found on the host."""

    id: str
    name: str
    service: str
    number: int
    config_hash: str
    config: Mapping[str, Any]
    image_id: str
    running: bool


@dataclass(frozen=True)
class PlanOptions:
    force_recreate: bool = False
    no_recreate: bool = False
    always_recreate_deps: bool = False
    remove_orphans: bool = False
    scale: Mapping[str, int] = field(default_factory=dict)
    #: services named on the command line (their dependencies are in ``desired`` too)
    selected: Sequence[str] = ()


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    service: str
    number: int
    container: str | None = None  # id of the existing container, when there is one
    reason: str = ""


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]

    def for_service(self, service: str) -> list[Action]:
        return [a for a in self.actions if a.service == service]

    @property
    def orphans(self) -> list[Action]:
        return [a for a in self.actions if a.kind == "remove" and a.reason.startswith("orphan")]


def config_diff(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Key paths whose values differ (``environment.DEBUG``), sorted, leaves only."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            out += config_diff(old.get(key), new.get(key), path)
        return out
    return [] if old == new else [prefix or "(config)"]


def _recreate_reason(obs: Observed, want: Desired) -> str | None:
    if obs.config_hash != want.config_hash:
        changed = config_diff(obs.config, want.config)
        if not changed:
            return "configuration changed"
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        return f"{changed[0]} changed{more}"
    if obs.image_id != want.image_id:
        return "image changed"
    return None


def plan(
    desired: Mapping[str, Desired],
    observed: Sequence[Observed],
    options: PlanOptions = PlanOptions(),
    all_services: Sequence[str] = (),
) -> Plan:
    """Actions per container, services in the order of ``desired``.

    ``all_services`` names every service of the file (selected or not), so
    that only containers of services gone from the file count as orphans.
    """
    by_service: dict[str, list[Observed]] = {}
    for obs in sorted(observed, key=lambda o: (o.service, o.number)):
        by_service.setdefault(obs.service, []).append(obs)
    actions: list[Action] = []
    recreated: set[str] = set()
    selected = set(options.selected)
    for name, want in desired.items():
        replicas = options.scale.get(name, want.replicas)
        existing = by_service.get(name, [])
        kept = existing[:replicas]
        for obs in existing[replicas:]:
            actions.append(Action("remove", name, obs.number, obs.id, f"scale {name} down to {replicas}"))
        dep_changed = [d for d, restart in want.depends_on.items() if restart and d in recreated]
        for obs in kept:
            reason = _recreate_reason(obs, want)
            is_dep = bool(selected) and name not in selected
            if options.force_recreate and not (is_dep and not options.always_recreate_deps):
                reason = reason or "forced (--force-recreate)"
            elif is_dep and options.always_recreate_deps:
                reason = reason or "dependency of a selected service (--always-recreate-deps)"
            if reason and not options.no_recreate:
                actions.append(Action("recreate", name, obs.number, obs.id, f"recreate {obs.name}: {reason}"))
                recreated.add(name)
            elif dep_changed:
                actions.append(Action("restart", name, obs.number, obs.id,
                                      f"restart {obs.name}: dependency {dep_changed[0]} was recreated"))
            elif obs.running:
                actions.append(Action("keep", name, obs.number, obs.id, f"{obs.name} is up to date"))
            else:
                actions.append(Action("start", name, obs.number, obs.id, f"start {obs.name}"))
        numbers = {o.number for o in kept}
        n = 1
        while len(numbers) < replicas:
            if n not in numbers:
                numbers.add(n)
                actions.append(Action("create", name, n, None, f"create {name} #{n}"))
            n += 1
    if options.remove_orphans:
        known = set(all_services) | set(desired)
        for svc, containers in sorted(by_service.items()):
            if svc not in known:
                for obs in containers:
                    actions.append(Action("remove", svc, obs.number, obs.id, f"orphan container {obs.name}"))
    return Plan(tuple(actions))
