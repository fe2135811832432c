"""A generated 100-router lab (frr with iosxr/junos stand-ins, 20 P routers of which 2 are
the route reflectors, 80 PEs, the CSP edges and hosts behind 23 on-ramps): up, converged (every IS-IS adjacency
Up, every iBGP session to the reflectors Established), and `down` leaves nothing.

Heavy (the machine's cores for about a minute): it runs only with ONRAMP_LAB_SCALE=1
(`make test` leaves it out; bench/lab_up.py measures the same build)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from onramp.lab.run import Lab, down
from onramp.lab.topology import build
from onramp.network.inventory import load
from onramp.network.inventory.generate import generate, write

from .conftest import lab_settings, leftovers

OCTET, ROUTERS = 78, 100

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(
        os.environ.get("ONRAMP_LAB_SCALE") != "1",
        reason="the 100-router lab takes the machine for a minute: ONRAMP_LAB_SCALE=1 runs it",
    ),
]


def test_a_100_router_lab_converges_and_goes_without_a_trace(tmp_path: Path) -> None:
    settings = lab_settings("thr", tmp_path, OCTET)
    write(generate(ROUTERS, str(settings.mgmt_subnet), ["frr", "iosxr", "junos"]), tmp_path / "inv")
    topo = build(load(tmp_path / "inv"), settings)
    routers = topo.routers()
    assert len(routers) == ROUTERS
    assert {r.platform for r in routers} == {"frr", "iosxr", "junos"}
    down(settings.name, settings.state_dir)
    lab = Lab(topo, settings.state_dir)
    try:
        status = lab.up(converge_timeout=120)
        assert status is not None and status.converged, [n.problems for n in status.nodes]
        # converged means what it says: each expected adjacency and session seen up
        by_name = {n.name: n for n in status.nodes}
        for r in routers:
            st = by_name[r.name]
            assert {a["interface"] for a in st.isis if a["state"] == "Up"} >= set(r.expect_isis)
            up = {s["neighbor"] for s in st.bgp if s["state"] == "Established"}
            assert up >= set(r.expect_bgp)
        # every router but the 2 reflectors is a client of both, the reflectors peer too
        assert sum(len(r.expect_bgp) for r in routers) // 2 == 98 * 2 + 1
    finally:
        report = down(settings.name, settings.state_dir)
    assert report.namespaces == len(topo.nodes)
    assert leftovers(settings.name) == []
