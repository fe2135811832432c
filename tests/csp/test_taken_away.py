"""A Connector decommissioned while a worker's step is under way: the step's own move is
refused by the table (the row is decommissioning now) and the worker goes on with the
decommission step, nothing raised; what the step made at the provider is kept for it.
No lab: the AWS simulator plays the provider, the customer accepting at once."""

from __future__ import annotations

import time

from onramp.core.model import ConnectorRequest
from onramp.csp.adapter import CspResource, CspState
from onramp.csp.aws.adapter import AwsAdapter, client
from onramp.csp.aws.simulator import PARTNER_KEY, DirectConnect, serve
from onramp.csp.registry import connections
from onramp.csp.simulator import Behaviour
from onramp.flow import allocate
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service
from tests.csp.conftest import BB


class EngineerDeletes(AwsAdapter):
    """The moment the worker's step reads the VIF up at AWS, an engineer deletes the
    Connector (the one way). The delete lands inside the step, between its read and its
    move, every time: done from the simulator's ticker thread (as before), it raced the
    polling and sometimes fell between two steps, so the next step was the decommission
    itself (1 run in 3 under load: 'deleted' == 'decommissioning')."""

    svc: Service
    ident: str = ""

    def status(self, resource_id: str) -> CspResource:
        current = super().status(resource_id)
        if current.state == CspState.READY and self.ident:
            allocate.decommission(self.svc.store, "connector", self.ident, "cli:engineer")
            self.ident = ""
        return current


def test_a_step_overtaken_by_a_decommission_is_refused_cleanly(svc: Service) -> None:
    # the customer accepts 0.3 s after the request: after the first step, not during it
    with serve(DirectConnect(behaviour=Behaviour(accept_after_s=0.3))) as (url, sim):
        dx = client(url, region_name="eu-west-3", aws_access_key_id=PARTNER_KEY,
                    aws_secret_access_key="-")  # fmt: skip
        engineer = EngineerDeletes(dx, connections(BB, "aws"))
        engineer.svc = svc
        orch = Orchestrator(svc, {"aws": engineer}, "worker:w")
        c = allocate.create_connector(svc.store, BB, ConnectorRequest.model_validate({
            "tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
            "bandwidth_mbps": 100, "aws_account": "123456789012"}), svc.vault)  # fmt: skip
        engineer.ident = c["id"]
        assert orch.advance("connector", c["id"]) == "awaiting_customer"
        # a later step finds the VIF accepted (and the engineer's delete with it): its move
        # to configuring is refused; no error, the state it is in now
        deadline = time.monotonic() + 20
        while (now := orch.advance("connector", c["id"])) == "awaiting_customer":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert now == "decommissioning"
        (vif,) = sim.vifs.values()
        assert svc.connector(c["id"])["csp_resource"] == vif["virtualInterfaceId"]
        assert [h["to"] for h in orch.history("connector", c["id"])][-2:] == [
            "awaiting_customer", "decommissioning"]  # fmt: skip
