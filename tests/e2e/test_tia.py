"""IBM Direct Link Connect and Alibaba Express Connect on a real lab, through their real
SDKs and simulators: each Connector from request to active (the customer approves the IBM
gateway; the Alibaba tenant confirms its hosted connection and makes its VBR from what we
told it), BGP Established with the cloud edge in the provider's ASN, then a Link between
the two clouds and traffic from the IBM cloud's host to the Alibaba cloud's host.

One lab for this module (name tia, management 172.20.67.0/24); it leaves the lab as found.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from onramp.csp.alibaba import simulator as alibaba_sim
from onramp.csp.alibaba.adapter import AlibabaAdapter
from onramp.csp.alibaba.adapter import client as alibaba_client
from onramp.csp.constraints import for_provider
from onramp.csp.ibm import simulator as ibm_sim
from onramp.csp.ibm.adapter import IbmAdapter
from onramp.csp.ibm.adapter import client as ibm_client
from onramp.csp.registry import connections
from onramp.csp.simulator import Behaviour
from onramp.flow.orchestrate import Orchestrator, Timings
from onramp.flow.service import Service
from onramp.lab.attach import LabAttachment
from onramp.lab.run import Lab
from onramp.lab.topology import HOST_OFFSET, cloud_lans

from .conftest import module_lab

OCTET = 67
SLOW = Behaviour(accept_after_s=0.3, provisioning_s=0.3)  # the customer takes a moment


@dataclass
class Env:
    lab: Lab
    svc: Service
    orch: Orchestrator
    ibm: ibm_sim.DirectLink
    alibaba: alibaba_sim.ExpressConnect

    def bgp_state(self, router: str, vrf: str, peer: str) -> str:
        out = self.lab.vtysh_json(router, f"show bgp vrf {vrf} neighbors {peer} json")
        return str(out.get(peer, {}).get("bgpState", "absent"))

    def edge_asn(self, edge: str) -> int:
        return int(self.lab.vtysh_json(edge, "show bgp summary json")["ipv4Unicast"]["as"])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with ExitStack() as stack:
        lab, svc, _ = stack.enter_context(module_lab(tmp_path_factory.mktemp("tia"), "tia", OCTET))
        attach = LabAttachment(lab, svc.backbone)
        ibm_url, ibm = stack.enter_context(ibm_sim.serve(ibm_sim.from_inventory(svc.backbone)))
        ali_url, ali = stack.enter_context(
            alibaba_sim.serve(alibaba_sim.from_inventory(svc.backbone))
        )
        ibm.hook, ibm.behaviour = attach, SLOW
        ali.hook, ali.behaviour = attach, SLOW
        region = svc.backbone.catalogue.onramps["alibaba-ec-lon"].csp_region or ""
        adapters: dict[str, Any] = {
            "ibm": IbmAdapter(ibm_client(ibm_url, backoff_s=0.1), connections(svc.backbone, "ibm")),
            "alibaba": AlibabaAdapter(alibaba_client(ali_url, region, backoff_ms=100), region,
                                      connections(svc.backbone, "alibaba")),
        }  # fmt: skip
        timings = Timings(revert_in_s=60, check_timeout_s=30)
        orch = Orchestrator(svc, adapters, actor="test", timings=timings)
        yield Env(lab, svc, orch, ibm, ali)
        assert attach.failed == []


def test_ibm_and_alibaba_to_active_then_linked_with_traffic(env: Env) -> None:
    lans = cloud_lans(env.lab.topo)
    ibm = env.svc.create_connector(env.svc.connector_request({
        "tenant": "acme", "onramp": "ibm-dl-fra", "kind": "ibm-direct-link",
        "bandwidth_mbps": 500, "ibm_account": env.ibm.customer(),
        "prefixes": [str(lans["ibm-dl-fra"])]}))  # fmt: skip
    ali = env.svc.create_connector(env.svc.connector_request({
        "tenant": "acme", "onramp": "alibaba-ec-lon", "kind": "alibaba-express-connect",
        "bandwidth_mbps": 500, "alibaba_uid": env.alibaba.tenant(),
        "prefixes": [str(lans["alibaba-ec-lon"])]}))  # fmt: skip
    for c in (ibm, ali):
        assert env.orch.drive("connector", c["id"], poll_s=0.1, timeout_s=180) == "active"
        assert "awaiting_customer" in [h["to"] for h in env.orch.history("connector", c["id"])]
    # the providers hold what the lab peers with: one gateway, one hosted connection + VBR
    (gateway,) = env.ibm.gateways.values()
    assert (gateway["operational_status"], gateway["bgp_status"]) == ("provisioned", "established")
    (vpconn,) = env.alibaba.vpconns.values()
    assert (vpconn["Status"], vpconn["VirtualPhysicalConnectionStatus"]) == ("Enabled", "Confirmed")
    assert [len(v) for v in env.alibaba.tenants.values()] == [1]  # the tenant's VBR
    for c, provider in ((ibm, "ibm"), (ali, "alibaba")):
        (a,) = env.svc.connector(c["id"])["attachments"]
        theirs = a["peer_address"].split("/")[0]
        assert env.bgp_state(a["router"], c["vrf"], theirs) == "Established"
        edge = env.lab.topo.edge_of(a["router"], a["port"])
        assert env.edge_asn(edge) == for_provider(provider).asn  # 13884, 45104
    link = env.svc.create_link(env.svc.link_request(
        {"tenant": "acme", "a": ibm["id"], "b": ali["id"], "bandwidth_mbps": 100}))  # fmt: skip
    assert env.orch.drive("link", link["id"], poll_s=0.1, timeout_s=180) == "active"
    there = str(lans["alibaba-ec-lon"][HOST_OFFSET])
    ping = env.lab.ping("ibm-dl-fra-host", there, size=1472)
    assert ping.received >= 4, ping.text
    # and back to how it was: the Link, then both Connectors, at the providers too
    assert env.orch.decommission("link", link["id"]) == "decommissioning"
    assert env.orch.drive("link", link["id"], poll_s=0.1, timeout_s=180) == "deleted"
    assert env.lab.ping("ibm-dl-fra-host", there, count=2).received == 0
    for c in (ibm, ali):
        assert env.orch.decommission("connector", c["id"]) == "decommissioning"
        assert env.orch.drive("connector", c["id"], poll_s=0.1, timeout_s=180) == "deleted"
    assert env.ibm.gateways == {} and env.alibaba.vpconns == {}
