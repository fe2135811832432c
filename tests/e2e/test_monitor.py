"""Monitoring on the lab: an AWS Paris Connector linked to an enterprise site in Frankfurt
(pe1-par to pe1-fra across the core), measured from inside the customer's VRF with
NAPALM's ping through nornir-napalm; loss injected on pe1-par's core links (nftables)
shows in the next window and opens an SLA breach, removing it closes the breach."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from csp.simulator import Behaviour
from lab.attach import LabAttachment
from lab.faults import loss
from lab.topology import cloud_lans
from onramp import monitor
from onramp.inventory.plugin import init_nornir
from onramp.store import now

from .conftest import module_lab
from .test_orchestrate import ENT_FRA, Env, linked_to_aws, orchestrator

OCTET = 56


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with module_lab(tmp_path_factory.mktemp("monitor"), "tmo", OCTET) as (lab, svc, _):
        yield Env(lab, svc, LabAttachment(lab, svc.backbone))


def test_injected_loss_is_measured_and_breaches_the_sla(env: Env) -> None:
    lans = cloud_lans(env.lab.topo)
    nr = init_nornir(env.svc.settings)
    for orch, _ in orchestrator(env, env.attach, Behaviour(accept_after_s=0.2)):
        _, _, link = linked_to_aws(env, orch, {**ENT_FRA, "prefixes": [str(lans["ent-fra"])]})
        start = now()
        (clean,) = monitor.poll(env.svc, nr, count=20)
        assert (clean["sent"], clean["received"], clean["breaches"]) == (20, 20, [])
        assert 0 < clean["latency_avg_ms"] < 5 and clean["jitter_ms"] is not None

        with loss(env.lab, "pe1-par", 5.0):
            (lossy,) = monitor.poll(env.svc, nr, count=400)
        print(f"5 % injected on pe1-par's core links: {lossy['loss_pct']} % lost of 400")
        assert 3.0 <= lossy["loss_pct"] <= 7.0, lossy
        assert lossy["breaches"] == ["loss"]  # silver: at most 0.5 %

        (after,) = monitor.poll(env.svc, nr, count=20)
        assert after["loss_pct"] == 0 and after["breaches"] == []

        seen = monitor.kpis(env.svc, link["id"], start - timedelta(seconds=1))
        assert [s["breaches"] for s in seen["samples"]] == [[], ["loss"], []]
        (breach,) = seen["breaches"]
        assert breach["metric"] == "loss" and breach["worst"] == lossy["loss_pct"]
        assert breach["started_at"] == seen["samples"][1]["at"]
        assert breach["ended_at"] == seen["samples"][2]["at"]  # the next clean window ends it
        assert seen["availability_pct"] == 100.0 and seen["sla_met_pct"] == pytest.approx(66.667)
        assert seen["sla"]["loss_pct"] == 0.5
