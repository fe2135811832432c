"""The AWS hosted connection on a real lab, through the state machine and the adapters the
registry builds from config (the simulator as AWS, its cloud side in the lab): we allocate a
hosted connection on our interconnect in the customer's account; the customer accepts it and
creates the VIF on it with the parameters `connector customer-step` gives, or, delegated,
onramp does both with the customer's stored credentials. Decommission in AWS's order: the
VIF, then the connection.

One lab for this module (`tah`, octet 66); every test leaves routers, simulator and store clean.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from onramp.core.model import AwsDelegation, AzureDelegation
from onramp.core.store import AllocationRow
from onramp.csp.aws.adapter import client
from onramp.csp.aws.simulator import PARTNER_ACCOUNT, DirectConnect, serve
from onramp.csp.azure.simulator import ExpressRoute
from onramp.csp.azure.simulator import serve as serve_azure
from onramp.csp.simulator import Behaviour, Customer
from onramp.flow.orchestrate import Orchestrator, Timings
from onramp.flow.plan import make_plan
from onramp.flow.service import Service
from onramp.lab.attach import LabAttachment
from onramp.lab.run import Lab
from onramp.lab.topology import cloud_lans

from .conftest import AWS_ORDER, module_lab, running

OCTET = 66
ACCOUNT = AWS_ORDER["aws_account"]
HOSTED = AWS_ORDER | {"kind": "aws-hosted-connection"}


@dataclass
class Env:
    lab: Lab
    svc: Service
    attach: LabAttachment
    sim: DirectConnect
    url: str
    config: Path
    azure: ExpressRoute

    def held(self, owner: str) -> int:
        with self.svc.store.session() as s:
            return s.scalar(select(func.count()).select_from(AllocationRow)
                            .where(AllocationRow.owner == owner)) or 0  # fmt: skip

    def start_worker(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "ONRAMP_CONFIG": str(self.config)}
        return subprocess.Popen(
            [sys.executable, "-m", "onramp.cli", "worker", "--concurrency", "1", "--beat"],
            env=env, stdout=subprocess.DEVNULL,
            stderr=(self.config.parent / f"worker-{time.time_ns()}.log").open("wb"),
        )  # fmt: skip


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("aws-hosted")
    with serve(DirectConnect()) as (url, sim), serve_azure(ExpressRoute()) as (az_url, azure):
        config = {
            "csp": {"aws": {"endpoint_url": url, "region": "eu-west-3"},
                    "azure": {"endpoint_url": az_url, "account": azure.subscription}},
            "worker": {"broker_url": f"sqla+sqlite:///{tmp / 'broker.db'}", "poll_s": 0.2,
                       "sweep_s": 1.0, "lease_s": 6.0, "revert_in_s": 40, "check_timeout_s": 15},
        }  # fmt: skip
        with module_lab(tmp, "tah", OCTET, **config) as (lab, svc, _):
            attach = LabAttachment(lab, svc.backbone)
            sim.hook = azure.hook = attach
            yield Env(lab, svc, attach, sim, url, svc.settings.path, azure)


@pytest.fixture
def aws(env: Env) -> Iterator[tuple[Orchestrator, DirectConnect, str]]:
    """The simulator as AWS, emptied (the customer accepts what is offered to its account
    unless a test says otherwise), and an orchestrator with the adapters config.yaml gives
    (registry.adapters: the hosted-connection adapter for its kind)."""
    sim = env.sim
    for held in (sim.hosted, sim._parents, sim.vifs):
        held.clear()
    sim.calls.clear()
    sim.behaviour = Behaviour(accept_after_s=0.2)
    orch = Orchestrator.from_settings(env.svc, actor="test")
    orch.timings = Timings(revert_in_s=60, check_timeout_s=20)
    yield orch, sim, env.url


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


# crash tests: a worker process killed (SIGKILL) in each state of the hosted-connection
# flow, a new one started: active, one hosted connection and one VIF, nothing leaked
DELEGATED_FLOW = ["allocated", "csp_requested", "configuring", "verifying", "active"]


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def catch(orch: Orchestrator, ident: str, wanted: str, timeout: float = 60) -> str:
    """Poll fast until the Connector has reached `wanted` (or a later state)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = [h["to"] for h in orch.history("connector", ident)]
        if wanted in seen or seen[-1] == "active":
            return seen[-1]
        time.sleep(0.01)
    raise AssertionError(f"never reached {wanted}: {orch.state('connector', ident)}")


def survives(env: Env, orch: Orchestrator, c: dict[str, Any], before: str, allocated: int,
             customer: bool) -> None:  # fmt: skip
    """A second worker ends it active with one of each at AWS; then it is decommissioned."""
    from onramp import worker

    second = env.start_worker()
    try:
        assert orch.watch("connector", c["id"], poll_s=0.2, timeout_s=150) == "active", (
            env.svc.connector(c["id"])["reason"])  # fmt: skip
        one_hosted_connection_with_one_vif(env.sim, c)
        assert env.held(c["id"]) == allocated  # nothing leaked, nothing taken twice
        again = make_plan(env.svc, "connector", c["id"])  # nothing half-configured
        assert all(d["diff"] == "" for d in again["devices"].values())
        assert ("awaiting_customer" in states(orch, c["id"])) is customer
        orch.decommission("connector", c["id"])
        worker.submit("connector", c["id"])
        assert orch.watch("connector", c["id"], poll_s=0.2, timeout_s=120) == "deleted"
    finally:
        kill(second)
    (conn,), (vif,) = env.sim.hosted.values(), env.sim.vifs.values()
    assert (conn["connectionState"], vif["virtualInterfaceState"]) == ("deleted", "deleted")
    assert env.held(c["id"]) == 0 and running(env.lab, "pe1-par") == before


@pytest.mark.parametrize("at", DELEGATED_FLOW[:4])
def test_delegated_worker_killed_in_each_state_resumes_to_active(
    env: Env, aws: tuple[Orchestrator, DirectConnect, str], at: str
) -> None:
    from onramp import worker

    orch, sim, _ = aws
    # slow enough to be caught in each state: AWS provisions the connection, then the VIF
    sim.behaviour = Behaviour(Customer.NEVER, provisioning_s=1.5)
    before = running(env.lab, "pe1-par")
    env.svc.delegate("acme", AwsDelegation(account=ACCOUNT, access_key_id=sim.customer(ACCOUNT),
                     secret_access_key="-", virtual_gateway_id="vgw-0a1b2c"), "test")  # type: ignore[arg-type]  # fmt: skip
    try:
        c = env.svc.create_connector(env.svc.connector_request(HOSTED))
        allocated = env.held(c["id"])
        worker.configure(env.svc.settings)
        first = env.start_worker()
        try:
            worker.submit("connector", c["id"])
            assert catch(orch, c["id"], at) != "active"  # killed mid-flow
        finally:
            kill(first)
        survives(env, orch, c, before, allocated, customer=False)
    finally:
        env.svc.revoke_delegation("acme", "aws", "test")


def test_worker_killed_awaiting_the_customer_resumes_once_the_vif_is_made(
    env: Env, aws: tuple[Orchestrator, DirectConnect, str]
) -> None:
    from onramp import worker

    orch, sim, url = aws
    before = running(env.lab, "pe1-par")
    c = env.svc.create_connector(env.svc.connector_request(HOSTED))
    allocated = env.held(c["id"])
    worker.configure(env.svc.settings)
    first = env.start_worker()
    try:
        worker.submit("connector", c["id"])
        assert catch(orch, c["id"], "awaiting_customer") == "awaiting_customer"
        deadline = time.monotonic() + 30  # the customer accepted; AWS makes it available
        while next(iter(sim.hosted.values()))["connectionState"] != "available":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        kill(first)
    step = env.svc.customer_step(c["id"], reveal_by="test:customer")
    assert step is not None
    theirs = client(url, region_name="eu-west-3", aws_access_key_id=sim.customer(ACCOUNT),
                    aws_secret_access_key="-")  # fmt: skip
    theirs.create_private_virtual_interface(
        connectionId=step["resource"],
        newPrivateVirtualInterface={**step["vif"], "virtualGatewayId": "vgw-0a1b2c"},
    )
    survives(env, orch, c, before, allocated, customer=True)


SUBSCRIPTION = "0b0c0d0e-0000-4000-8000-00000000c057"
PRINCIPAL = "0b0c0d0e-0000-4000-8000-0000000000c1"


def test_azure_delegated_from_no_circuit_at_all(
    env: Env, aws: tuple[Orchestrator, DirectConnect, str]
) -> None:
    """The customer has no circuit and gives no service key: onramp makes the circuit in the
    customer's subscription (our provider, the on-ramp's peering location), then our side."""
    orch, _, _ = aws
    azure = env.azure
    assert azure.cross_connections == {} and azure.circuits == {}  # nothing at all
    azure.customer(SUBSCRIPTION, PRINCIPAL)
    before = running(env.lab, "pe1-lon")
    env.svc.delegate("acme", AzureDelegation(account=SUBSCRIPTION, tenant_id=PRINCIPAL,  # type: ignore[arg-type]
                     client_id=PRINCIPAL, client_secret="-", resource_group="rg-acme"), "test")  # type: ignore[arg-type]  # fmt: skip
    try:
        c = env.svc.create_connector(env.svc.connector_request({
            "tenant": "acme", "onramp": "azure-er-lon", "kind": "azure-expressroute",
            "bandwidth_mbps": 1000,
            "prefixes": [str(cloud_lans(env.lab.topo)["azure-er-lon"])]}))  # fmt: skip
        (circuit,) = azure.circuits.values()
        assert circuit["id"].startswith(f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-acme/")
        key = circuit["properties"]["serviceKey"]
        assert c["request"]["azure_service_key"] == key
        assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "active"
        assert "awaiting_customer" not in states(orch, c["id"])
        xc = azure.cross_connections[key]["properties"]
        assert xc["serviceProviderProvisioningState"] == "Provisioned"
        assert xc["sTag"] == c["attachments"][0]["vlan"] and len(xc["peerings"]) == 1
        assert orch.decommission("connector", c["id"]) == "decommissioning"
        assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "deleted"
        assert xc["serviceProviderProvisioningState"] == "NotProvisioned"  # ours first, then
        assert azure.circuits == {} and azure.cross_connections == {}  # the circuit we made
        assert [op for op in azure.calls if "circuit" in op] == ["PUT circuit", "DELETE circuit"]
        assert running(env.lab, "pe1-lon") == before and env.held(c["id"]) == 0
    finally:
        env.svc.revoke_delegation("acme", "azure", "test")
