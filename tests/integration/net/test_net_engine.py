"""Network records on a real host: subnets under concurrency, ipam checks, reclaiming tables.

Each test uses its own state root; bridges and tables it creates are removed
by ``remove_network`` (checked) or by the fixture whatever happens.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
from collections.abc import Iterator
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from composer.engine import networks, state
from composer.engine.state import Paths
from composer.errors import ConfigError, NetworkError
from composer.runtime.net import links, nat
from tests import helpers

pytestmark = pytest.mark.root


@pytest.fixture
def paths(tmp_path: Path) -> Iterator[Paths]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    p = Paths(tmp_path / "state", tmp_path / "state" / "run")
    try:
        yield p
    finally:
        for rec in state.network_records(p):
            with contextlib.suppress(Exception):
                links.delete_bridge(rec["bridge"])
        if nat.available():
            for table in nat.list_tables(f"composer_{networks.root_tag(p)}_"):
                nat.delete_table(table)


def _labels(project: str) -> dict[str, str]:
    return {"com.docker.compose.project": project}


def test_parallel_projects_never_share_a_subnet_and_remove_cleans_up(paths: Paths) -> None:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        recs = list(pool.map(lambda n: networks.ensure_network(paths, f"p{n}_default", _labels(f"p{n}"))[0],
                             range(4)))
    subnets = [IPv4Network(r["subnet"]) for r in recs]
    assert all(not a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1:])
    again, created = networks.ensure_network(paths, "p0_default", _labels("p0"))
    assert not created and again["subnet"] == recs[0]["subnet"]
    if nat.available():
        assert sorted(nat.list_tables(f"composer_{networks.root_tag(paths)}_")) == sorted(r["table"] for r in recs)
    for rec in recs:
        assert networks.remove_network(paths, rec["name"])
    assert not any(links.bridge_exists(r["bridge"]) for r in recs)
    assert nat.list_tables(f"composer_{networks.root_tag(paths)}_") == []
    assert not networks.remove_network(paths, "p0_default")


def test_ipam_options_are_checked_with_the_key_named(paths: Paths) -> None:
    with pytest.raises(ConfigError, match=r"^networks\.n\.ipam\.config\[0\]\.gateway: 10\.5\.1\.1 is not in subnet"):
        networks.ensure_network(paths, "x_n", {}, subnet="10.5.0.0/24", gateway="10.5.1.1", where="networks.n")
    with pytest.raises(ConfigError, match=r"invalid IPv4 subnet '10\.5\.0\.1/24'"):
        networks.ensure_network(paths, "x_n", {}, subnet="10.5.0.1/24", where="networks.n")
    with pytest.raises(ConfigError, match=r"ip_range: 10\.6\.0\.0/25 is not within subnet 10\.5\.0\.0/24"):
        networks.ensure_network(paths, "x_n", {}, subnet="10.5.0.0/24", ip_range="10.6.0.0/25", where="networks.n")
    with pytest.raises(ConfigError, match=r"driver_opts\.com\.docker\.network\.driver\.mtu: invalid MTU '9'"):
        networks.ensure_network(paths, "x_n", {}, driver_opts={networks.OPT_MTU: "9"}, where="networks.n")
    assert state.network_records(paths) == []  # nothing half-made


def test_static_subnet_gateway_range_and_addresses(paths: Paths) -> None:
    subnet = _free_subnet()
    gateway = str(subnet.network_address + 254)
    rng = str(next(subnet.subnets(new_prefix=26)))
    rec, _ = networks.ensure_network(paths, "s_n", {}, subnet=str(subnet), gateway=gateway, ip_range=rng,
                                     aux_addresses={"r": str(subnet.network_address + 1)},
                                     driver_opts={networks.OPT_MTU: "1400", networks.OPT_BRIDGE_NAME: "cbr" + rec_tag()})
    try:
        assert rec["gateway"] == gateway and rec["mtu"] == 1400 and rec["bridge"].startswith("cbr")
        mtu = Path(f"/sys/class/net/{rec['bridge']}/mtu").read_text().strip()
        assert mtu == "1400"
        with networks.ipam_lock(paths):
            first = networks.allocate_address(paths, rec, set())
            second = networks.allocate_address(paths, rec, {first})
        assert (first, second) == (str(subnet.network_address + 2), str(subnet.network_address + 3))
        assert networks.address_in_use(paths, rec, gateway, set()) == "the gateway"
        with pytest.raises(NetworkError, match=r"overlaps network s_n"):
            networks.ensure_network(paths, "t_n", {}, subnet=str(subnet), where="networks.t")
    finally:
        networks.remove_network(paths, "s_n")


def test_tables_of_vanished_networks_are_reclaimed(paths: Paths) -> None:
    if not nat.available():
        pytest.skip("needs nftables")
    rec, _ = networks.ensure_network(paths, "r_n", _labels("r"))
    # a run killed after deleting the record but before the table: the next call reclaims it
    (paths.networks / "r_n.json").unlink()
    links.delete_bridge(rec["bridge"])
    assert networks.reclaim(paths) == [rec["table"]]
    assert nat.list_tables(rec["table"]) == []


def _free_subnet() -> IPv4Network:
    return helpers.free_subnet()


def rec_tag() -> str:
    return os.urandom(3).hex()
