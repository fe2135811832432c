"""A Connector decommissioned while a worker's step is under way: the step's own move is
refused by the table (the row is decommissioning now) and the worker goes on with the
decommission step, nothing raised; what the step made at the provider is kept for it.
No lab: the AWS simulator plays the provider, the customer accepting at once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from onramp.core.model import ConnectorRequest
from onramp.core.secrets import Vault
from onramp.core.settings import ROOT, load_settings
from onramp.core.store import Store, TenantRow
from onramp.csp.aws.adapter import AwsAdapter, client
from onramp.csp.aws.simulator import PARTNER_KEY, DirectConnect, serve
from onramp.csp.registry import connections
from onramp.csp.simulator import Behaviour, CloudPeer
from onramp.flow import allocate
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service
from onramp.network.inventory import load

BB = load(ROOT / "inventory")


@pytest.fixture
def svc(tmp_path: Path) -> Service:
    store = Store(f"sqlite:///{tmp_path / 'o.db'}")
    store.migrate()
    with store.session() as s:
        s.add(TenantRow(id="acme", name="Acme"))
    return Service(load_settings(), store, BB, Vault(tmp_path / "k"))


@dataclass
class EngineerDeletes:
    """The moment AWS brings the VIF up, an engineer deletes the Connector (the one way)."""

    svc: Service
    ident: str = ""

    def up(self, peer: CloudPeer) -> None:
        allocate.decommission(self.svc.store, "connector", self.ident, "cli:engineer")

    def down(self, peer: CloudPeer) -> None:
        pass


def test_a_step_overtaken_by_a_decommission_is_refused_cleanly(svc: Service) -> None:
    engineer = EngineerDeletes(svc)
    # the customer accepts 0.3 s after the request: after the first step, not during it
    with serve(DirectConnect(hook=engineer, behaviour=Behaviour(accept_after_s=0.3))) as (url, sim):
        dx = client(url, region_name="eu-west-3", aws_access_key_id=PARTNER_KEY,
                    aws_secret_access_key="-")  # fmt: skip
        orch = Orchestrator(svc, {"aws": AwsAdapter(dx, connections(BB, "aws"))}, "worker:w")
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
