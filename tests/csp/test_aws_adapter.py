"""The AWS adapters against the simulator through boto3: hosted VIFs and hosted
connections, the customer's part (now, later, rejected, never, delegated to us), a VIF
going down, idempotent requests, retries on throttling and 5xx, provider errors as onramp
codes, and no duplicate resource whatever fails."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from onramp.core.errors import OnrampError
from onramp.csp.adapter import CspState, PeeringRequest, Session, wait
from onramp.csp.aws.adapter import AwsAdapter, AwsHostedConnectionAdapter, Delegation, client
from onramp.csp.aws.simulator import PARTNER_KEY, DirectConnect, serve
from onramp.csp.simulator import Behaviour, CloudPeer, Customer
from tests.csp.conftest import RecordingHook

PORT = "pe1-par:eth3"
ACCOUNT = "123456789012"
REQ = PeeringRequest(
    idempotency_key="c0ffee00:csp",
    customer_account=ACCOUNT,
    sessions=(Session(PORT, 101, None, "169.254.64.1/30", "169.254.64.2/30"),),
    local_asn=65000,
    md5_key="Abcdefghijkmnopq23456789",
)
NEVER = Behaviour(customer=Customer.NEVER)


@pytest.fixture
def sim(no_backoff: None, hook: RecordingHook) -> Iterator[tuple[str, DirectConnect]]:
    with serve(DirectConnect(hook=hook)) as (url, state):
        yield url, state


def dx(url: str, key: str = PARTNER_KEY) -> Any:
    return client(url, attempts=4, region_name="eu-west-3",
                  aws_access_key_id=key, aws_secret_access_key="t")  # fmt: skip


@pytest.fixture
def aws(sim: tuple[str, DirectConnect]) -> tuple[AwsAdapter, DirectConnect]:
    url, state = sim
    state.behaviour = NEVER  # tests that want a customer set one
    return AwsAdapter(dx(url), {PORT: "dxcon-onramp01"}), state


def live(state: DirectConnect) -> list[dict[str, Any]]:
    return [v for v in state.vifs.values() if v["virtualInterfaceState"] != "deleted"]


def test_request_then_retry_makes_one_vif(aws: tuple[AwsAdapter, DirectConnect]) -> None:
    adapter, state = aws
    first = adapter.request(REQ)
    assert first.state == CspState.AWAITING_CUSTOMER and first.provider_state == "confirming"
    assert first.details["vlan"] == 101 and first.details["asn"] == 65000
    again = adapter.request(REQ)
    assert again.resource_id == first.resource_id
    assert len(live(state)) == 1 and state.calls.count("AllocatePrivateVirtualInterface") == 1


@pytest.mark.parametrize("fault", ["throttle_next", "fail_next"])
def test_throttling_and_5xx_are_retried(aws: tuple[AwsAdapter, DirectConnect], fault: str) -> None:
    adapter, state = aws
    setattr(state.faults, fault, 2)
    assert adapter.request(REQ).state == CspState.AWAITING_CUSTOMER
    assert len(live(state)) == 1


def test_a_lost_response_does_not_make_a_second_vif(aws: tuple[AwsAdapter, DirectConnect]) -> None:
    """AWS made the VIF but its answer was lost; botocore retries, AWS says the VLAN is in
    use (by our own VIF): the adapter returns that VIF."""
    adapter, state = aws
    state.faults.lose_next_response = 2  # the describe before and the allocate itself
    made = adapter.request(REQ)
    assert len(live(state)) == 1 and made.resource_id in state.vifs


def test_throttled_beyond_retries_is_a_clear_error(aws: tuple[AwsAdapter, DirectConnect]) -> None:
    adapter, state = aws
    state.faults.throttle_next = 50
    with pytest.raises(OnrampError) as exc:
        adapter.request(REQ)
    assert exc.value.code == "ONR-CSP-002" and "ThrottlingException" in exc.value.reason
    assert state.vifs == {}


def test_refusal_and_not_found_map_to_codes(aws: tuple[AwsAdapter, DirectConnect]) -> None:
    adapter, _ = aws
    adapter.request(REQ)
    with pytest.raises(OnrampError) as refused:
        adapter.request(replace(REQ, idempotency_key="other:csp"))  # same VLAN, another one
    assert refused.value.code == "ONR-CSP-001" and "already in use" in refused.value.reason
    with pytest.raises(OnrampError) as missing:
        adapter.status("dxvif-nothere")
    assert missing.value.code == "ONR-CSP-003"
    with pytest.raises(OnrampError) as unknown_port:
        adapter.request(replace(REQ, sessions=(replace(REQ.sessions[0], port="pe9:eth9"),)))
    assert (
        unknown_port.value.code == "ONR-CSP-001" and "csp_connection" in unknown_port.value.reason
    )


def test_delete_is_idempotent(aws: tuple[AwsAdapter, DirectConnect]) -> None:
    adapter, state = aws
    vif = adapter.request(REQ)
    assert adapter.delete(vif.resource_id).state == CspState.DELETED
    assert adapter.delete(vif.resource_id).state == CspState.DELETED
    assert live(state) == []


def expected_peer() -> CloudPeer:
    return CloudPeer("aws", "dxcon-onramp01", 101, None, "169.254.64.2/30", "169.254.64.1",
                     65000, "Abcdefghijkmnopq23456789")  # fmt: skip


def test_customer_accepts_later_then_vif_available_and_lab_peer_up(
    aws: tuple[AwsAdapter, DirectConnect], hook: RecordingHook
) -> None:
    adapter, state = aws
    state.behaviour = Behaviour(accept_after_s=0.3, provisioning_s=0.2)
    vif = adapter.request(REQ)
    assert vif.state == CspState.AWAITING_CUSTOMER and hook.events == []
    seen: list[str] = []
    ready = wait(adapter, vif.resource_id, timeout_s=10, poll_s=0.05,
                 progress=lambda r: seen.append(r.provider_state))  # fmt: skip
    assert ready.state == CspState.READY and ready.details["bgp_status"] == "up"
    assert seen[0] == "confirming" and "pending" in seen and seen[-1] == "available"
    assert hook.events == [("up", expected_peer())]
    adapter.delete(vif.resource_id)
    assert hook.events[-1] == ("down", expected_peer())


def test_customer_rejects(aws: tuple[AwsAdapter, DirectConnect]) -> None:
    adapter, state = aws
    state.behaviour = Behaviour(customer=Customer.REJECT, accept_after_s=0.1)
    vif = adapter.request(REQ)
    with pytest.raises(OnrampError) as rejected:
        wait(adapter, vif.resource_id, timeout_s=10, poll_s=0.05)
    assert rejected.value.code == "ONR-CSP-005" and "rejected" in rejected.value.reason
    assert len(live(state)) == 1  # still there, for the decommission to delete


def test_customer_never_answers(aws: tuple[AwsAdapter, DirectConnect]) -> None:
    adapter, _ = aws
    vif = adapter.request(REQ)
    with pytest.raises(OnrampError) as waited:
        wait(adapter, vif.resource_id, timeout_s=0.3, poll_s=0.05)
    assert waited.value.code == "ONR-CSP-004" and "still confirming" in waited.value.reason


def test_vif_goes_down_after_available(
    aws: tuple[AwsAdapter, DirectConnect], hook: RecordingHook
) -> None:
    adapter, state = aws
    state.behaviour = Behaviour(down_after_s=0.3)
    vif = adapter.request(REQ)
    assert wait(adapter, vif.resource_id, timeout_s=5, poll_s=0.05).state == CspState.READY
    state.clock.timelines[vif.resource_id].run(state.clock.now() + 1)  # time passes
    down = adapter.status(vif.resource_id)
    assert (down.state, down.provider_state, down.details["bgp_status"]) == (
        CspState.DOWN, "down", "down")  # fmt: skip
    assert [e for e, _ in hook.events] == ["up", "down"]


def test_delegated_confirmation(sim: tuple[str, DirectConnect], hook: RecordingHook) -> None:
    """With the customer's credentials the adapter confirms the VIF itself; another
    account's credentials cannot."""
    url, state = sim
    state.behaviour = NEVER
    customer = Delegation(dx(url, state.customer(ACCOUNT)), virtual_gateway_id="vgw-1")
    adapter = AwsAdapter(dx(url), {PORT: "dxcon-onramp01"}, {ACCOUNT: customer})
    vif = adapter.request(REQ)
    assert vif.provider_state in ("pending", "available")
    assert wait(adapter, vif.resource_id, timeout_s=5, poll_s=0.05).state == CspState.READY
    assert state.vifs[vif.resource_id]["virtualGatewayId"] == "vgw-1"
    assert adapter.request(REQ).resource_id == vif.resource_id  # again: nothing new

    stranger = Delegation(dx(url, state.customer("999999999999")), virtual_gateway_id="vgw-9")
    other = AwsAdapter(dx(url), {PORT: "dxcon-onramp01"}, {ACCOUNT: stranger})
    with pytest.raises(OnrampError) as refused:
        other.request(replace(REQ, idempotency_key="c2:csp",
                              sessions=(replace(REQ.sessions[0], vlan=102),)))  # fmt: skip
    assert refused.value.code == "ONR-CSP-003"  # AWS shows another account's VIF to nobody


def test_hosted_connection_waits_for_the_customer(sim: tuple[str, DirectConnect]) -> None:
    url, state = sim
    state.behaviour = Behaviour(accept_after_s=0.1)
    adapter = AwsHostedConnectionAdapter(dx(url), {PORT: "dxcon-onramp01"})
    conn = adapter.request(replace(REQ, bandwidth_mbps=500))
    assert conn.state == CspState.AWAITING_CUSTOMER and conn.provider_state == "ordering"
    assert conn.details["bandwidth"] == "500Mbps" and conn.details["vlan"] == 101
    assert adapter.request(replace(REQ, bandwidth_mbps=500)).resource_id == conn.resource_id
    with pytest.raises(OnrampError) as waited:  # confirmed, but no VIF: still the customer's
        wait(adapter, conn.resource_id, timeout_s=0.5, poll_s=0.05)
    assert waited.value.code == "ONR-CSP-004" and "still available" in waited.value.reason
    assert adapter.delete(conn.resource_id).state == CspState.DELETED
    assert adapter.delete(conn.resource_id).state == CspState.DELETED


def test_hosted_connection_delegated_end_to_end(
    sim: tuple[str, DirectConnect], hook: RecordingHook
) -> None:
    """Delegated: the adapter confirms the connection and creates the VIF on it with our
    parameters, in the customer's account; the lab peer comes up on our interconnect."""
    url, state = sim
    state.behaviour = Behaviour(customer=Customer.NEVER, provisioning_s=0.1)
    customer = Delegation(dx(url, state.customer(ACCOUNT)), direct_connect_gateway_id="dxgw-1")
    adapter = AwsHostedConnectionAdapter(dx(url), {PORT: "dxcon-onramp01"}, {ACCOUNT: customer})
    conn = adapter.request(REQ)
    ready = wait(adapter, conn.resource_id, timeout_s=5, poll_s=0.05)
    assert ready.state == CspState.READY and ready.provider_state == "available/available"
    (vif,) = live(state)
    assert (vif["ownerAccount"], vif["connectionId"]) == (ACCOUNT, conn.resource_id)
    assert hook.events == [("up", expected_peer())]
    assert state.calls.count("CreatePrivateVirtualInterface") == 1
    adapter.delete(conn.resource_id)  # VIF first, then the connection
    assert live(state) == [] and state.hosted[conn.resource_id]["connectionState"] == "deleted"
    assert hook.events[-1][0] == "down"
