"""The AWS hosted connection on a real lab, through the state machine and the adapters the
registry builds from config (the simulator as AWS, its cloud side in the lab): we allocate a
hosted connection on our interconnect in the customer's account; the customer accepts it and
creates the VIF on it with the parameters `connector customer-step` gives, or, delegated,
onramp does both with the customer's stored credentials. Decommission in AWS's order: the
VIF, then the connection.

One lab for this module (`tah`, octet 66); every test leaves routers, simulator and store clean.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from onramp.core.model import AwsDelegation
from onramp.core.settings import CspSettings
from onramp.core.store import AllocationRow
from onramp.csp import registry
from onramp.csp.aws.adapter import client
from onramp.csp.aws.simulator import PARTNER_ACCOUNT, DirectConnect, serve
from onramp.csp.simulator import Behaviour, Customer
from onramp.flow.orchestrate import Orchestrator, Timings
from onramp.flow.service import Service
from onramp.lab.attach import LabAttachment
from onramp.lab.run import Lab

from .conftest import AWS_ORDER, module_lab, running

OCTET = 66
ACCOUNT = AWS_ORDER["aws_account"]
HOSTED = AWS_ORDER | {"kind": "aws-hosted-connection"}


@dataclass
class Env:
    lab: Lab
    svc: Service
    attach: LabAttachment

    def held(self, owner: str) -> int:
        with self.svc.store.session() as s:
            return s.scalar(select(func.count()).select_from(AllocationRow)
                            .where(AllocationRow.owner == owner)) or 0  # fmt: skip


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with module_lab(tmp_path_factory.mktemp("aws-hosted"), "tah", OCTET) as (lab, svc, _):
        yield Env(lab, svc, LabAttachment(lab, svc.backbone))


@pytest.fixture
def aws(env: Env) -> Iterator[tuple[Orchestrator, DirectConnect, str]]:
    """The simulator as AWS (the customer accepts what is offered to its account unless a
    test says otherwise), and an orchestrator with the adapters config.yaml would give."""
    with serve(DirectConnect(hook=env.attach, behaviour=Behaviour(accept_after_s=0.2))) as (
        url, sim):  # fmt: skip
        built = registry.adapters({"aws": CspSettings(endpoint_url=url, region="eu-west-3")},
                                  env.svc.backbone, env.svc.store, env.svc.vault)  # fmt: skip
        timings = Timings(revert_in_s=60, check_timeout_s=20)
        yield Orchestrator(env.svc, built, actor="test", timings=timings), sim, url


def states(orch: Orchestrator, ident: str) -> list[str]:
    return [h["to"] for h in orch.history("connector", ident)]


def until(orch: Orchestrator, ident: str, state: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while orch.advance("connector", ident) != state:
        assert time.monotonic() < deadline, orch.state("connector", ident)
        time.sleep(0.1)


def one_hosted_connection_with_one_vif(sim: DirectConnect, c: dict[str, Any]) -> str:
    """The simulator holds a hosted connection (not a VIF on our interconnect) in the
    customer's account, and exactly one VIF, on that connection, owned by the customer."""
    (conn,) = sim.hosted.values()
    assert conn["ownerAccount"] == ACCOUNT and conn["bandwidth"] == "100Mbps"
    assert conn["connectionState"] == "available" and conn["vlan"] == c["attachments"][0]["vlan"]
    (vif,) = sim.vifs.values()
    assert vif["connectionId"] == conn["connectionId"] != "dxcon-onramp01"
    assert vif["ownerAccount"] == ACCOUNT and vif["virtualInterfaceState"] == "available"
    return str(conn["connectionId"])


def decommission_in_aws_order(env: Env, orch: Orchestrator, sim: DirectConnect,
                              c: dict[str, Any], before: str) -> None:  # fmt: skip
    assert orch.decommission("connector", c["id"]) == "decommissioning"
    assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "deleted"
    (conn,), (vif,) = sim.hosted.values(), sim.vifs.values()
    assert (conn["connectionState"], vif["virtualInterfaceState"]) == ("deleted", "deleted")
    deletes = [op for op in sim.calls if op.startswith("Delete")]
    assert deletes == ["DeleteVirtualInterface", "DeleteConnection"]
    assert running(env.lab, "pe1-par") == before and env.held(c["id"]) == 0
    assert env.attach.failed == []


def test_the_customer_accepts_then_creates_the_vif_we_describe(
    env: Env, aws: tuple[Orchestrator, DirectConnect, str]
) -> None:
    orch, sim, url = aws
    before = running(env.lab, "pe1-par")
    c = env.svc.create_connector(env.svc.connector_request(HOSTED))
    until(orch, c["id"], "awaiting_customer")
    time.sleep(0.5)  # the customer accepted meanwhile, AWS made it available: still ours to wait
    assert orch.advance("connector", c["id"]) == "awaiting_customer"
    assert sim.vifs == {}
    step = env.svc.customer_step(c["id"], reveal_by="test:customer")
    assert step is not None and step["resource"] in sim.hosted
    # the customer, in its own account, with exactly what onramp gave
    theirs = client(url, region_name="eu-west-3", aws_access_key_id=sim.customer(ACCOUNT),
                    aws_secret_access_key="-")  # fmt: skip
    theirs.create_private_virtual_interface(
        connectionId=step["resource"],
        newPrivateVirtualInterface={**step["vif"], "virtualGatewayId": "vgw-0a1b2c"},
    )
    assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "active"
    assert states(orch, c["id"]) == [
        "requested", "validated", "allocated", "csp_requested", "awaiting_customer",
        "configuring", "verifying", "active"]  # fmt: skip
    one_hosted_connection_with_one_vif(sim, c)
    assert env.svc.customer_step(c["id"]) is None  # done: nothing left to show
    decommission_in_aws_order(env, orch, sim, c, before)


def test_delegated_onramp_accepts_and_creates_the_vif(
    env: Env, aws: tuple[Orchestrator, DirectConnect, str]
) -> None:
    orch, sim, _ = aws
    sim.behaviour = Behaviour(Customer.NEVER)  # the customer does nothing: onramp does it
    before = running(env.lab, "pe1-par")
    env.svc.delegate("acme", AwsDelegation(account=ACCOUNT, access_key_id=sim.customer(ACCOUNT),
                     secret_access_key="-", virtual_gateway_id="vgw-0a1b2c"), "test")  # type: ignore[arg-type]  # fmt: skip
    try:
        c = env.svc.create_connector(env.svc.connector_request(HOSTED))
        assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "active"
        assert "awaiting_customer" not in states(orch, c["id"])
        one_hosted_connection_with_one_vif(sim, c)
        # the customer's calls were made as the customer: AWS would refuse the partner's
        assert sim.vifs and next(iter(sim.vifs.values()))["virtualGatewayId"] == "vgw-0a1b2c"
        assert sim.accounts[sim.customer(ACCOUNT)] == ACCOUNT != PARTNER_ACCOUNT
        decommission_in_aws_order(env, orch, sim, c, before)
    finally:
        env.svc.revoke_delegation("acme", "aws", "test")
