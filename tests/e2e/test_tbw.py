"""Guaranteed bandwidth through the whole lab (issue 21), measured with iperf3 between the
clouds' and sites' hosts across the FRR backbone. Every Connector and Link is ordered
through the product (Service requests, the state machine with the AWS simulator, the
sites' CEs from `customer-config`): the shapers are what onramp rendered and frr-netdev
made of it, nothing configured by hand.

    A1, A2  AWS Paris 100 Mb/s, both on pe1-par's one AWS port (eth3)
    F1      enterprise Frankfurt 100 (pe1-fra)     L1  A1 - F1  100
    P       enterprise London 200 (pe1/pe2-lon)    L2  A2 - P   100  (a 100 and a 200)
    G       enterprise Paris 100 (pe1-par)         L3  A1 - G   100  (A1's second Link)

Each figure is written to $ONRAMP_FIGURES when set (bench/bandwidth.py prints them as
ratios to the configured rate). UDP offered 300 Mb/s (3x a 100 Mb/s rate).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from onramp.csp.simulator import Behaviour
from onramp.lab import iperf
from onramp.lab.attach import LabAttachment
from onramp.lab.topology import HOST_OFFSET, cloud_lans

from .conftest import AWS_ORDER, ce_side, module_lab
from .test_orchestrate import Env, orchestrator

NAME, OCTET = "tbw", 69
OFFERED = 300


@dataclass
class Net:
    env: Env
    hosts: dict[str, str]  # on-ramp -> its host's address
    ids: dict[str, str]  # A1, F1, L1, ... -> the Connector's or Link's id
    figures: dict[str, Any] = field(default_factory=dict)

    def flow(self, src: str, dst: str, port: int = 5201, offered: int = OFFERED) -> iperf.Flow:
        lab = self.env.lab
        return iperf.Flow(lab.ns(f"{src}-host"), lab.ns(f"{dst}-host"), self.hosts[dst],
                          offered, port)  # fmt: skip


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    with module_lab(tmp_path_factory.mktemp("tbw"), NAME, OCTET) as (lab, svc, topo):
        env = Env(lab, svc, LabAttachment(lab, svc.backbone))
        lans = cloud_lans(topo)
        hosts = {o: str(lan[HOST_OFFSET]) for o, lan in lans.items()}
        for orch, _ in orchestrator(env, env.attach, Behaviour(accept_after_s=0.2)):
            ids: dict[str, str] = {}
            aws = {**AWS_ORDER, "prefixes": [str(lans["aws-dx-par"])]}
            site = {"tenant": "acme", "kind": "enterprise", "customer_asn": 65101}
            orders = {
                "A1": aws, "A2": aws,
                "F1": {**site, "onramp": "ent-fra", "bandwidth_mbps": 100,
                       "prefixes": [str(lans["ent-fra"])]},
                "P": {**site, "onramp": "ent-lon", "bandwidth_mbps": 200,
                      "prefixes": [str(lans["ent-lon"])]},
                "G": {**site, "onramp": "ent-par", "bandwidth_mbps": 100,
                      "prefixes": [str(lans["ent-par"])]},
            }  # fmt: skip
            for key, order in orders.items():
                c = svc.create_connector(svc.connector_request(order))
                if order["kind"] == "enterprise":
                    ce_side(lab, svc, c)
                ids[key] = c["id"]
            for key in orders:
                assert orch.drive("connector", ids[key], poll_s=0.1, timeout_s=180) == "active"
            for key, a, b in (("L1", "A1", "F1"), ("L2", "A2", "P"), ("L3", "A1", "G")):
                link = svc.create_link(svc.link_request(
                    {"tenant": "acme", "a": ids[a], "b": ids[b], "bandwidth_mbps": 100}))  # fmt: skip
                ids[key] = link["id"]
                assert orch.drive("link", link["id"], poll_s=0.1, timeout_s=180) == "active"
            n = Net(env, hosts, ids)
            try:
                yield n
            finally:
                if out := os.environ.get("ONRAMP_FIGURES"):
                    Path(out).write_text(json.dumps(n.figures, indent=2))


def test_a_connector_carries_at_most_its_rate_both_ways(net: Net) -> None:
    """A1 (100) offered 300 from the AWS host toward the Frankfurt site over L1, and F1
    (100) offered 300 from the site toward AWS: each delivers 100 (`iperf.ceiling`: more
    than 50 lets through, no more than 100 does)."""
    out = iperf.one(net.flow("aws-dx-par", "ent-fra"))
    back = iperf.one(net.flow("ent-fra", "aws-dx-par"))
    print(f"300 offered into 100, cloud -> site: {out}; site -> cloud: {back}")
    net.figures |= {"cloud_to_site_300_into_100": out.received_mbps,
                    "site_to_cloud_300_into_100": back.received_mbps}  # fmt: skip
    assert iperf.ceiling(50) < out.received_mbps <= iperf.ceiling(100), out
    assert iperf.ceiling(50) < back.received_mbps <= iperf.ceiling(100), back


def test_two_connectors_on_one_port_each_get_their_share(net: Net) -> None:
    """A1 and A2 share pe1-par's AWS port; the Frankfurt and London sites each offer 300
    toward the AWS host at once: each Connector delivers its 100 (more than 50: not one
    shaper shared by the two)."""
    one, two = iperf.udp([net.flow("ent-fra", "aws-dx-par", port=5301),
                          net.flow("ent-lon", "aws-dx-par", port=5302)])  # fmt: skip
    print(f"two 100 Mb/s Connectors on one port, each offered 300: {one} and {two}")
    net.figures |= {"two_100s_on_one_port": [one.received_mbps, two.received_mbps]}
    for got in (one, two):
        assert iperf.ceiling(50) < got.received_mbps <= iperf.ceiling(100), (one, two)


def test_a_link_never_exceeds_its_slower_connector(net: Net) -> None:
    """L2 (100) joins A2 (100) and P (200): 300 offered either way delivers at most 100,
    though P's own shapers would let 200 through."""
    from_p = iperf.one(net.flow("ent-lon", "aws-dx-par"))
    to_p = iperf.one(net.flow("aws-dx-par", "ent-lon"))
    print(f"Link 100 between 100 and 200, 300 offered: from the 200 side {from_p}; to it {to_p}")
    net.figures |= {"link_100_200_from_200_side": from_p.received_mbps,
                    "link_100_200_to_200_side": to_p.received_mbps}  # fmt: skip
    for got in (from_p, to_p):  # 100, not 200 (and more than 50: the Link is usable)
        assert iperf.ceiling(50) < got.received_mbps <= iperf.ceiling(100), (from_p, to_p)


def test_a_connector_with_two_links_sends_at_most_its_rate_from_its_cloud(net: Net) -> None:
    """A1 (100) carries L1 and L3 (100 each): its AWS host offering 300 to each site at
    once gets 100 in all through A1, not 100 per Link (the subinterface is shaped on the
    way in from the cloud too)."""
    fra, par = iperf.udp([net.flow("aws-dx-par", "ent-fra", port=5303),
                          net.flow("aws-dx-par", "ent-par", port=5304)])  # fmt: skip
    total = fra.received_mbps + par.received_mbps
    print(f"A1 (100) with two Links, its cloud offering 300 to each: {fra} + {par} = {total:.1f}")
    net.figures |= {"two_links_of_one_100_total": round(total, 1)}
    # 100 in all, not 100 per Link (194): each flow's figure is over its own 4 s, and a flow
    # that starts before the other runs alone meanwhile, so the sum exceeds the one shaper's
    # ceiling by the starts' gap / 4 s (a gap under 1 s: at most 25 %)
    assert total < 1.25 * iperf.ceiling(100), (fra, par)


def test_a_saturated_connector_shows_at_its_limit(net: Net) -> None:
    """The AWS host offers 300 toward the Frankfurt site for 16 s while the monitoring
    reads the routers' counters (poll_connectors, as the workers' schedule does) four
    times: F1, shaped to 100 toward its site, shows at its limit in the API's traffic and
    in /metrics; A2, idle, does not.

    At its limit means at least 95 % of the rate in each sample. On 2 cores shared with
    another lab's test, the lab may not forward that much for a second (a clean clone saw
    95.0, 72.7, 98.8), and then the Connector was not at its limit: the monitoring was
    right. So iperf3's receiver is the judge: a round in which it got less than 95 % of
    the rate in any second is measured again (up to 3 rounds); in a round where it got the
    rate throughout, the monitoring must say "at its limit"."""
    import threading
    import time

    from onramp.core.store import now
    from onramp.flow import monitor
    from onramp.network.inventory.plugin import init_nornir

    svc, f1, a2 = net.env.svc, net.ids["F1"], net.ids["A2"]
    nr = init_nornir(svc.settings)
    floor = monitor.AT_LIMIT_SHARE * 100 * iperf.PAYLOAD  # 95 % of the rate, as iperf3 counts
    rounds = []
    for _ in range(3):
        start, measured = now(), []
        flows = [net.flow("aws-dx-par", "ent-fra")]
        load = threading.Thread(target=lambda m=measured, f=flows: m.extend(iperf.udp(f, 16, 1)))
        load.start()
        try:
            time.sleep(1.5)  # the shaper's queue is full: the rate is steady
            for _ in range(4):
                monitor.poll_connectors(svc, nr)
                time.sleep(3)
        finally:
            load.join()
        busy = monitor.traffic(svc, f1, start)
        out = [round(r["out_bps"] / 1e6, 1) for r in busy["rates"]]
        arrived = measured[0].received_per_s[1:-1]  # the first fills the queue; the last, cut
        rounds.append({"monitored": out, "arrived_per_s": arrived})
        if min(arrived) >= floor:
            break
    print(f"F1 (100) toward its site while offered 300, Mb/s: {rounds}")
    net.figures |= {"monitored_out_mbps_at_100": out}
    if min(arrived) < floor:  # the machine's, not the monitoring's: nothing to judge it by
        pytest.skip(f"the lab never held the load for a round (2 shared cores): {rounds}")
    idle = monitor.traffic(svc, a2, start)
    assert busy["rate_mbps"] == 100 and busy["at_limit"] is True, rounds
    assert idle["at_limit"] is False
    text = monitor.exposition(svc)[0].decode()
    assert f'onramp_connector_at_limit{{connector="{f1}",tenant="acme"}} 1.0' in text
    assert f'onramp_connector_rate_bps{{connector="{f1}",tenant="acme"}} 1e+08' in text
