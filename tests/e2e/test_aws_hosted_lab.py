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
from pathlib import Path
from typing import Any

import pytest

from onramp.core.model import AwsDelegation, AzureDelegation
from onramp.csp.aws.adapter import client
from onramp.csp.aws.simulator import PARTNER_ACCOUNT, DirectConnect, serve
from onramp.csp.azure.simulator import ExpressRoute
from onramp.csp.azure.simulator import serve as serve_azure
from onramp.csp.simulator import Behaviour, Customer
from onramp.flow.orchestrate import Orchestrator, Timings
from onramp.flow.service import Service
from onramp.lab.attach import LabAttachment
from onramp.lab.run import Lab
from onramp.lab.topology import cloud_lans

from .conftest import AWS_ORDER, module_lab, running
from .crash import catch, held, kill, killed_in, resumes, start_worker, states, worker_config

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


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("aws-hosted")
    with serve(DirectConnect()) as (url, sim), serve_azure(ExpressRoute()) as (az_url, azure):
        config = {
            "csp": {"aws": {"endpoint_url": url, "region": "eu-west-3"},
                    "azure": {"endpoint_url": az_url, "account": azure.subscription}},
        } | worker_config(tmp)  # fmt: skip
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
    for kept in (sim.hosted, sim._parents, sim.vifs):
        kept.clear()
    sim.calls.clear()
    sim.behaviour = Behaviour(accept_after_s=0.2)
    orch = Orchestrator.from_settings(env.svc, actor="test")
    orch.timings = Timings(revert_in_s=60, check_timeout_s=20)
    yield orch, sim, env.url


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
    assert running(env.lab, "pe1-par") == before and held(env.svc, c["id"]) == 0
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


def survives(env: Env, orch: Orchestrator, c: dict[str, Any], before: str, allocated: int,
             customer: bool) -> None:  # fmt: skip
    """A second worker ends it active with one of each at AWS; then it is decommissioned."""

    def at_aws() -> None:
        one_hosted_connection_with_one_vif(env.sim, c)
        assert ("awaiting_customer" in states(orch, c["id"])) is customer

    resumes(env.svc, orch, env.lab, c, allocated, at_aws, ["pe1-par"], {"pe1-par": before},
            lambda: {"lab hook failed": env.attach.failed, "edge": env.attach.applied[-4:],
                     "aws calls": env.sim.calls[-12:]})  # fmt: skip
    (conn,), (vif,) = env.sim.hosted.values(), env.sim.vifs.values()
    assert (conn["connectionState"], vif["virtualInterfaceState"]) == ("deleted", "deleted")


@pytest.mark.parametrize("at", DELEGATED_FLOW[:4])
def test_delegated_worker_killed_in_each_state_resumes_to_active(
    env: Env, aws: tuple[Orchestrator, DirectConnect, str], at: str
) -> None:
    orch, sim, _ = aws
    # slow enough to be caught in each state: AWS provisions the connection, then the VIF
    sim.behaviour = Behaviour(Customer.NEVER, provisioning_s=1.5)
    before = running(env.lab, "pe1-par")
    env.svc.delegate("acme", AwsDelegation(account=ACCOUNT, access_key_id=sim.customer(ACCOUNT),
                     secret_access_key="-", virtual_gateway_id="vgw-0a1b2c"), "test")  # type: ignore[arg-type]  # fmt: skip
    try:
        c = env.svc.create_connector(env.svc.connector_request(HOSTED))
        allocated = held(env.svc, c["id"])
        killed_in(env.svc, orch, c["id"], at)
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
    allocated = held(env.svc, c["id"])
    worker.configure(env.svc.settings)
    first = start_worker(env.config)
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


AZURE_ORDER = {"tenant": "acme", "onramp": "azure-er-lon", "kind": "azure-expressroute",
               "bandwidth_mbps": 1000}  # fmt: skip


@pytest.fixture
def azure(env: Env) -> Iterator[ExpressRoute]:
    """The Azure simulator with nothing in it, acme's subscription delegated to onramp."""
    azure = env.azure
    assert azure.cross_connections == {} and azure.circuits == {}  # nothing at all
    azure.calls.clear()
    azure.customer(SUBSCRIPTION, PRINCIPAL)
    env.svc.delegate("acme", AzureDelegation(account=SUBSCRIPTION, tenant_id=PRINCIPAL,  # type: ignore[arg-type]
                     client_id=PRINCIPAL, client_secret="-", resource_group="rg-acme"), "test")  # type: ignore[arg-type]  # fmt: skip
    try:
        yield azure
    finally:
        env.svc.revoke_delegation("acme", "azure", "test")
        azure.behaviour = Behaviour()


def azure_order(env: Env) -> dict[str, Any]:
    return AZURE_ORDER | {"prefixes": [str(cloud_lans(env.lab.topo)["azure-er-lon"])]}


def test_azure_delegated_from_no_circuit_at_all(
    env: Env, aws: tuple[Orchestrator, DirectConnect, str], azure: ExpressRoute
) -> None:
    """The customer has no circuit and gives no service key: onramp makes the circuit in the
    customer's subscription (our provider, the on-ramp's peering location), then our side."""
    orch, _, _ = aws
    before = running(env.lab, "pe1-lon")
    c = env.svc.create_connector(env.svc.connector_request(azure_order(env)))
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
    assert running(env.lab, "pe1-lon") == before and held(env.svc, c["id"]) == 0


@pytest.mark.parametrize("at", ["allocated", "csp_requested", "configuring", "verifying"])
def test_azure_delegated_worker_killed_in_each_state_resumes_to_active(
    env: Env, aws: tuple[Orchestrator, DirectConnect, str], azure: ExpressRoute, at: str
) -> None:
    """The circuit made at order time; a worker killed in each state of our side: the next
    ends it active on that one circuit, with one cross-connection and one peering, and its
    decommission deletes both."""
    orch, _, _ = aws
    azure.behaviour = Behaviour(provisioning_s=1.5)  # Azure's operations take a moment
    before = running(env.lab, "pe1-lon")
    c = env.svc.create_connector(env.svc.connector_request(azure_order(env)))
    allocated = held(env.svc, c["id"])
    killed_in(env.svc, orch, c["id"], at)

    def at_azure() -> None:
        (circuit,) = azure.circuits.values()
        (xc,) = azure.cross_connections.values()
        assert circuit["properties"]["serviceKey"] == c["request"]["azure_service_key"]
        assert xc["properties"]["serviceProviderProvisioningState"] == "Provisioned"
        assert len(xc["properties"]["peerings"]) == 1
        assert "awaiting_customer" not in states(orch, c["id"])

    resumes(env.svc, orch, env.lab, c, allocated, at_azure, ["pe1-lon"], {"pe1-lon": before})
    assert azure.circuits == {} and azure.cross_connections == {}
    assert [op for op in azure.calls if "circuit" in op] == ["PUT circuit", "DELETE circuit"]
