"""What one provider does beyond the adapter contract (test_contract.py): AWS's delegated
confirmation and hosted connections, Azure's circuit checks and call order, GCP's names
and bandwidths. Each runs against the same simulators as the contract's cases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from onramp.core.errors import OnrampError
from onramp.csp.adapter import CspState, wait
from onramp.csp.aws.adapter import AwsAdapter, AwsHostedConnectionAdapter, Delegation
from onramp.csp.gcp.adapter import attachment_name, bandwidth
from onramp.csp.simulator import Behaviour, Customer
from tests.csp.cases import AWS_ACCOUNT, AWS_PORT, AwsCase, AzureCase, dx
from tests.csp.conftest import RecordingHook


@pytest.fixture
def aws(hook: RecordingHook, tmp_path: Path, no_backoff: None) -> Iterator[AwsCase]:
    with AwsCase.start(hook, tmp_path) as case:
        yield case


@pytest.fixture
def azure(hook: RecordingHook, tmp_path: Path) -> Iterator[AzureCase]:
    with AzureCase.start(hook, tmp_path) as case:
        yield case


def test_aws_delegated_confirmation(aws: AwsCase) -> None:
    """With the customer's credentials the adapter confirms the VIF itself; another
    account's credentials cannot."""
    customer = Delegation(dx(aws.url, aws.sim.customer(AWS_ACCOUNT)), virtual_gateway_id="vgw-1")
    adapter = AwsAdapter(dx(aws.url), {AWS_PORT: "dxcon-onramp01"}, {AWS_ACCOUNT: customer})
    vif = adapter.request(aws.req)
    assert vif.provider_state in ("pending", "available")
    assert wait(adapter, vif.resource_id, timeout_s=5, poll_s=0.05).state == CspState.READY
    assert aws.sim.vifs[vif.resource_id]["virtualGatewayId"] == "vgw-1"
    assert adapter.request(aws.req).resource_id == vif.resource_id  # again: nothing new

    stranger = Delegation(dx(aws.url, aws.sim.customer("999999999999")), virtual_gateway_id="vgw-9")
    other = AwsAdapter(dx(aws.url), {AWS_PORT: "dxcon-onramp01"}, {AWS_ACCOUNT: stranger})
    with pytest.raises(OnrampError) as refused:
        other.request(replace(aws.req, idempotency_key="c2:csp",
                              sessions=(replace(aws.req.sessions[0], vlan=102),)))  # fmt: skip
    assert refused.value.code == "ONR-CSP-003"  # AWS shows another account's VIF to nobody


def test_aws_hosted_connection_waits_for_the_customer(aws: AwsCase) -> None:
    aws.sim.behaviour = Behaviour(accept_after_s=0.1)
    adapter = AwsHostedConnectionAdapter(dx(aws.url), {AWS_PORT: "dxcon-onramp01"})
    conn = adapter.request(replace(aws.req, bandwidth_mbps=500))
    assert conn.state == CspState.AWAITING_CUSTOMER and conn.provider_state == "ordering"
    assert conn.details["bandwidth"] == "500Mbps" and conn.details["vlan"] == 101
    assert adapter.request(replace(aws.req, bandwidth_mbps=500)).resource_id == conn.resource_id
    with pytest.raises(OnrampError) as waited:  # confirmed, but no VIF: still the customer's
        wait(adapter, conn.resource_id, timeout_s=0.5, poll_s=0.05)
    assert waited.value.code == "ONR-CSP-004" and "still available" in waited.value.reason
    assert adapter.delete(conn.resource_id).state == CspState.DELETED
    assert adapter.delete(conn.resource_id).state == CspState.DELETED


def test_aws_hosted_connection_delegated_end_to_end(aws: AwsCase, hook: RecordingHook) -> None:
    """Delegated: the adapter confirms the connection and creates the VIF on it with our
    parameters, in the customer's account; the lab peer comes up on our interconnect."""
    aws.sim.behaviour = Behaviour(customer=Customer.NEVER, provisioning_s=0.1)
    customer = Delegation(dx(aws.url, aws.sim.customer(AWS_ACCOUNT)),
                          direct_connect_gateway_id="dxgw-1")  # fmt: skip
    adapter = AwsHostedConnectionAdapter(
        dx(aws.url), {AWS_PORT: "dxcon-onramp01"}, {AWS_ACCOUNT: customer}
    )
    conn = adapter.request(aws.req)
    ready = wait(adapter, conn.resource_id, timeout_s=5, poll_s=0.05)
    assert ready.state == CspState.READY and ready.provider_state == "available/available"
    (vif,) = (aws.sim.vifs[i] for i in aws.made())
    assert (vif["ownerAccount"], vif["connectionId"]) == (AWS_ACCOUNT, conn.resource_id)
    assert hook.events == [("up", peer) for peer in AwsCase.peers]
    assert aws.sim.calls.count("CreatePrivateVirtualInterface") == 1
    adapter.delete(conn.resource_id)  # the VIF first, then the connection
    assert aws.made() == [] and aws.sim.hosted[conn.resource_id]["connectionState"] == "deleted"
    assert hook.events[-1][0] == "down"


def test_azure_circuit_on_other_ports_or_s_tag_is_refused_before_any_change(
    azure: AzureCase,
) -> None:
    other_tag = [replace(s, vlan=301) for s in azure.req.sessions]
    with pytest.raises(OnrampError) as wrong_tag:
        azure.adapter().request(replace(azure.req, sessions=tuple(other_tag)))
    assert wrong_tag.value.code == "ONR-CSP-001" and "S-tag 300" in wrong_tag.value.reason
    with pytest.raises(OnrampError) as wrong_port:
        azure.adapter().request(replace(azure.req, sessions=azure.req.sessions[::-1]))
    assert "onramp-lon-er-pri/onramp-lon-er-sec" in wrong_port.value.reason
    assert azure.writes() == []


def test_azure_calls_in_the_providers_order(azure: AzureCase) -> None:
    """Provisioned, then the peering; deleted: the peering, then de-provisioned; the
    customer may then delete the circuit, and the Connector reads it as deleted."""
    adapter = azure.adapter()
    made = adapter.request(azure.req)
    assert azure.writes() == ["PUT crossConnection", "PUT AzurePrivatePeering"]
    gone = adapter.delete(made.resource_id)
    assert (gone.state, gone.provider_state) == (CspState.DELETED, "NotProvisioned")
    assert azure.writes()[2:] == ["DELETE AzurePrivatePeering", "PUT crossConnection"]
    del azure.sim.cross_connections[azure.req.customer_account]
    assert adapter.status(made.resource_id).state == CspState.DELETED


def test_gcp_names_and_bandwidths() -> None:
    assert attachment_name("C0FFEE00:csp") == "onr-c0ffee00-csp"
    long = attachment_name("x" * 80 + ":csp")
    assert len(long) <= 63 and long != attachment_name("x" * 80 + ":csq")
    assert (bandwidth(50), bandwidth(1000), bandwidth(20000)) == ("BPS_50M", "BPS_1G", "BPS_20G")
