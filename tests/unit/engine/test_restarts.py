"""Restart-policy decisions: Docker's rules, pure."""

from __future__ import annotations

import pytest

from composer.engine.restarts import BACKOFF_MAX, Policy, backoff, policy_of, should_restart


@pytest.mark.parametrize(
    ("rec", "policy"),
    [
        ({"restart": "no"}, Policy("no")),
        ({}, Policy("no")),
        ({"restart": "always"}, Policy("always")),
        ({"restart": "unless-stopped"}, Policy("unless-stopped")),
        ({"restart": "on-failure"}, Policy("on-failure")),
        ({"restart": "on-failure:3"}, Policy("on-failure", 3)),
        ({"restart": "always", "restart_policy": {"condition": "on-failure", "max_attempts": 2, "delay": 0.5}},
         Policy("on-failure", 2, 0.5)),
        ({"restart_policy": {"condition": "none"}}, Policy("no")),
        ({"restart_policy": {"condition": "any"}}, Policy("always")),
    ],
)
def test_policy_of(rec: dict, policy: Policy) -> None:  # type: ignore[type-arg]
    assert policy_of(rec) == policy


def test_should_restart() -> None:
    assert not should_restart(Policy("no"), 1, 0)
    assert should_restart(Policy("always"), 0, 50)
    assert not should_restart(Policy("on-failure"), 0, 0)
    assert should_restart(Policy("on-failure", 3), 1, 2)
    assert not should_restart(Policy("on-failure", 3), 1, 3)


def test_backoff_doubles_and_resets() -> None:
    assert backoff(None, 0) == 0.1
    assert backoff(0.1, 1) == 0.2
    assert backoff(40, 1) == BACKOFF_MAX
    assert backoff(40, 30) == 0.1
