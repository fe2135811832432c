"""Compliance on the lab: an AWS Connector active on pe1-par (the state machine put it
there); the routers are compliant (no false report); an engineer adds a static route and
removes the customer's BGP neighbor by hand; the next run finds both, each in its
feature; the remediation plan, applied with commit-confirm and the gate, makes it
compliant again (and the plan's own re-check says so)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from onramp.core.store import ConnectorRow
from onramp.csp.simulator import Behaviour
from onramp.flow import compliance
from onramp.flow.apply import apply_plan
from onramp.flow.plan import make_plan
from onramp.lab.attach import LabAttachment
from onramp.lab.run import sh
from onramp.lab.topology import cloud_lans
from onramp.network.inventory.plugin import init_nornir

from .conftest import AWS_ORDER, module_lab
from .test_orchestrate import Env, orchestrator

OCTET = 58


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with module_lab(tmp_path_factory.mktemp("compliance"), "tco", OCTET) as (lab, svc, _):
        yield Env(lab, svc, LabAttachment(lab, svc.backbone))


def vtysh(env: Env, router: str, *lines: str) -> None:
    ns = env.lab.ns(router)
    sh("vtysh", "-N", ns, *(x for line in lines for x in ("-c", line)), ns=ns)


def test_drift_is_found_in_its_feature_and_remediated(env: Env) -> None:
    lans = cloud_lans(env.lab.topo)
    nr = init_nornir(env.svc.settings)
    for orch, _ in orchestrator(env, env.attach, Behaviour(accept_after_s=0.2)):
        aws = env.svc.create_connector(env.svc.connector_request(
            {**AWS_ORDER, "prefixes": [str(lans["aws-dx-par"])]}))  # fmt: skip
        assert orch.drive("connector", aws["id"], poll_s=0.1, timeout_s=120) == "active"
        (leg,) = aws["attachments"]
        peer = leg["peer_address"].split("/")[0]

        clean = compliance.run(env.svc, nr)
        assert clean["compliant"], {
            r: d for r, d in clean["routers"].items() if d.get("score") != 100
        }
        assert len(clean["routers"]) == len(env.svc.backbone.routers)

        vtysh(env, "pe1-par", "configure terminal", "ip route 10.99.0.0/24 Null0",
              f"router bgp 65000 vrf {aws['vrf']}", f"no neighbor {peer}")  # fmt: skip
        drift = compliance.run(env.svc, nr)
        pe = drift["routers"]["pe1-par"]
        bad = {f: e for f, e in pe["features"].items() if not e["compliant"]}
        assert set(bad) == {"static", "bgp_neighbor"}, bad
        assert bad["static"] == {"compliant": False, "missing": [],
                                 "extra": ["ip route 10.99.0.0/24 Null0"]}  # fmt: skip
        missing = bad["bgp_neighbor"]["missing"]
        assert f"router bgp 65000 vrf {aws['vrf']} / neighbor {peer} remote-as 64512" in missing
        assert f"router bgp 65000 vrf {aws['vrf']} / neighbor {peer} password <removed>" in missing
        assert not bad["bgp_neighbor"]["extra"]
        others = {r for r, d in drift["routers"].items() if d["score"] != 100.0}
        assert others == {"pe1-par"}  # nothing reported elsewhere
        assert {r for r, d in drift["routers"].items() if d["backup_stored"]} == {"pe1-par"}
        with env.svc.store.session() as s:
            key = env.svc.vault.decrypt(s.get(ConnectorRow, aws["id"]).md5_key)
        assert key not in str(drift) and key not in compliance.html(drift)

        plan = make_plan(env.svc, "router", "pe1-par", "remediate")
        assert "+ no ip route 10.99.0.0/24 Null0" in plan["devices"]["pe1-par"]["diff"]
        done = apply_plan(env.svc, plan["id"], revert_in=60, check_timeout=20)
        assert done["state"] == "applied"
        assert done["result"]["compliance"] == {"pe1-par": 100.0}
        assert compliance.run(env.svc, nr)["compliant"]
    nr.close_connections()
