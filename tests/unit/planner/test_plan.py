"""The convergence plan: pure, with a reason for every action."""

from __future__ import annotations

from composer.planner.plan import Action, Desired, Observed, PlanOptions, config_diff, plan


def want(name: str, env: str = "1", replicas: int = 1, image: str = "img1", deps: dict | None = None) -> Desired:  # type: ignore[type-arg]
    config = {"image": "busybox", "environment": {"DEBUG": env}}
    return Desired(name, f"hash-{env}", config, image, replicas, deps or {})


def seen(name: str, number: int = 1, env: str = "1", running: bool = True, image: str = "img1") -> Observed:
    config = {"image": "busybox", "environment": {"DEBUG": env}}
    return Observed(f"id-{name}-{number}", f"p-{name}-{number}", name, number, f"hash-{env}", config, image, running)


def kinds(p):  # type: ignore[no-untyped-def]
    return [(a.kind, a.service, a.number) for a in p.actions]


def test_nothing_changed_keeps_everything() -> None:
    p = plan({"web": want("web")}, [seen("web")])
    assert p.actions == (Action("keep", "web", 1, "id-web-1", "p-web-1 is up to date"),)


def test_new_service_is_created_and_stopped_one_started() -> None:
    p = plan({"db": want("db"), "web": want("web")}, [seen("db", running=False)])
    assert kinds(p) == [("start", "db", 1), ("create", "web", 1)]


def test_changed_environment_recreates_with_the_key_path() -> None:
    p = plan({"web": want("web", env="2")}, [seen("web", env="1")])
    assert p.actions[0].kind == "recreate"
    assert p.actions[0].reason == "recreate p-web-1: environment.DEBUG changed"


def test_image_rebuilt_recreates() -> None:
    p = plan({"web": want("web", image="img2")}, [seen("web")])
    assert p.actions[0].reason == "recreate p-web-1: image changed"


def test_restart_true_dependents_follow_a_recreated_dependency() -> None:
    desired = {"db": want("db", env="2"), "app": want("app", deps={"db": True}), "other": want("other", deps={"db": False})}
    p = plan(desired, [seen("db"), seen("app"), seen("other")])
    assert kinds(p) == [("recreate", "db", 1), ("restart", "app", 1), ("keep", "other", 1)]
    assert p.actions[1].reason == "restart p-app-1: dependency db was recreated"


def test_force_and_no_recreate() -> None:
    assert plan({"web": want("web")}, [seen("web")], PlanOptions(force_recreate=True)).actions[0].kind == "recreate"
    assert plan({"web": want("web", env="2")}, [seen("web")], PlanOptions(no_recreate=True)).actions[0].kind == "keep"


def test_force_recreate_spares_dependencies_unless_always_recreate_deps() -> None:
    desired = {"db": want("db"), "web": want("web")}
    observed = [seen("db"), seen("web")]
    forced = PlanOptions(force_recreate=True, selected=("web",))
    assert kinds(plan(desired, observed, forced)) == [("keep", "db", 1), ("recreate", "web", 1)]
    both = PlanOptions(force_recreate=True, always_recreate_deps=True, selected=("web",))
    assert kinds(plan(desired, observed, both)) == [("recreate", "db", 1), ("recreate", "web", 1)]


def test_scale_up_and_down() -> None:
    up = plan({"w": want("w", replicas=3)}, [seen("w", 1)])
    assert kinds(up) == [("keep", "w", 1), ("create", "w", 2), ("create", "w", 3)]
    down = plan({"w": want("w")}, [seen("w", 1), seen("w", 2), seen("w", 3)], PlanOptions(scale={"w": 1}))
    assert kinds(down) == [("remove", "w", 2), ("remove", "w", 3), ("keep", "w", 1)]
    assert down.actions[0].reason == "scale w down to 1"


def test_scale_fills_gaps_in_numbers() -> None:
    p = plan({"w": want("w", replicas=2)}, [seen("w", 2)])
    assert kinds(p) == [("keep", "w", 2), ("create", "w", 1)]


def test_orphans_removed_only_when_asked() -> None:
    observed = [seen("web"), seen("gone")]
    assert kinds(plan({"web": want("web")}, observed, all_services=["web"])) == [("keep", "web", 1)]
    p = plan({"web": want("web")}, observed, PlanOptions(remove_orphans=True), all_services=["web"])
    assert [a.reason for a in p.orphans] == ["orphan container p-gone-1"]


def test_unselected_services_are_not_orphans() -> None:
    p = plan({"web": want("web")}, [seen("web"), seen("db")], PlanOptions(remove_orphans=True), all_services=["web", "db"])
    assert p.orphans == []


def test_config_diff_paths() -> None:
    assert config_diff({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}, "d": 1}) == ["a.c", "d"]
