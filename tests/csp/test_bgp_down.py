"""A provider that reports a new resource's BGP down (real AWS: a provisioned VIF is `down`
until its session is up; IBM: the gateway's bgp_status `idle`): that session waits for our
side, so the Connector goes on to its routers. It waited for the provider instead, never
to be `available`, until it gave up. No lab: the flow stops at `configuring`."""

from __future__ import annotations

import time

from onramp.core.model import ConnectorRequest
from onramp.csp.aws.adapter import AwsAdapter, client
from onramp.csp.aws.simulator import PARTNER_KEY, DirectConnect, serve
from onramp.csp.registry import connections
from onramp.csp.simulator import Behaviour, Customer
from onramp.flow import allocate
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service
from tests.csp.conftest import BB


def ordered(svc: Service, url: str) -> tuple[Orchestrator, str]:
    """A worker on the AWS simulator at `url`, and a Connector ordered there."""
    dx = client(url, region_name="eu-west-3", aws_access_key_id=PARTNER_KEY,
                aws_secret_access_key="-")  # fmt: skip
    worker = Orchestrator(svc, {"aws": AwsAdapter(dx, connections(BB, "aws"))}, "worker:w")
    c = allocate.create_connector(svc.store, BB, ConnectorRequest.model_validate({
        "tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
        "bandwidth_mbps": 100, "aws_account": "123456789012"}), svc.vault)  # fmt: skip
    return worker, c["id"]


def test_a_vif_down_for_want_of_our_side_goes_on_to_our_routers(svc: Service) -> None:
    with serve(DirectConnect(behaviour=Behaviour(bgp_down=True))) as (url, sim):
        worker, ident = ordered(svc, url)
        deadline = time.monotonic() + 5  # the customer accepts at once: well within
        while (now := worker.advance("connector", ident)) in (
            "allocated", "csp_requested", "awaiting_customer"):  # fmt: skip
            assert time.monotonic() < deadline, worker.history("connector", ident)
            time.sleep(0.05)
        assert now == "configuring", worker.history("connector", ident)
        (vif,) = sim.vifs.values()
        assert (vif["virtualInterfaceState"], vif["bgpPeers"][0]["bgpStatus"]) == ("down", "down")
        assert worker.history("connector", ident)[-1]["reason"] == (
            "provider: down (its side is up; its BGP session waits for ours)")  # fmt: skip


def test_a_resource_itself_down_keeps_it_waiting(svc: Service) -> None:
    """Not every `down` is a session waiting for us: AWS's `unknown` ("the state is not
    available") reads DOWN, as a port or an account would: the Connector waits on."""
    with serve(DirectConnect(behaviour=Behaviour(Customer.NEVER))) as (url, sim):
        worker, ident = ordered(svc, url)
        assert worker.advance("connector", ident) == "awaiting_customer"
        (vif,) = sim.vifs.values()
        vif["virtualInterfaceState"] = "unknown"
        assert worker.advance("connector", ident) == "awaiting_customer"
