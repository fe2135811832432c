"""The GCP adapter against the simulator through google-cloud-compute: partner attachments,
the customer's part (now, later, rejected, never), an attachment going down, idempotent
requests, retries on throttling and 5xx, provider errors as onramp codes, and no duplicate
attachment whatever fails."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from onramp.core.errors import OnrampError
from onramp.csp.adapter import CspState, PeeringRequest, Session, wait
from onramp.csp.gcp.adapter import GcpAdapter, attachment_name, bandwidth, client, retrying
from onramp.csp.gcp.simulator import PARTNER_PROJECT, Compute, serve
from onramp.csp.simulator import Behaviour, CloudPeer, Customer
from tests.csp.conftest import RecordingHook

PORT = "pe1-fra:eth3"
NEVER = Behaviour(customer=Customer.NEVER)


@pytest.fixture
def sim(hook: RecordingHook) -> Iterator[tuple[str, Compute]]:
    with serve(Compute(hook=hook, behaviour=NEVER)) as (url, state):
        yield url, state


@pytest.fixture
def gcp(sim: tuple[str, Compute]) -> tuple[GcpAdapter, Compute]:
    url, state = sim
    adapter = GcpAdapter(
        client(url),
        PARTNER_PROJECT,
        {PORT: "onramp-fra-ic1"},
        retry=retrying(initial_s=0.01, maximum_s=0.05, timeout_s=1.0),
    )
    return adapter, state


def request(state: Compute) -> PeeringRequest:
    """A request for a pairing key the simulated customer just made; our /29 is offered."""
    return PeeringRequest(
        idempotency_key="c0ffee00:csp",
        customer_account=state.customer_attachment("europe-west3"),
        sessions=(Session(PORT, 101, None, "169.254.128.2/29", "169.254.128.1/29"),),
        local_asn=65000,
        md5_key=None,
    )


def expected_peer() -> CloudPeer:
    return CloudPeer("gcp", "onramp-fra-ic1", 101, None, "169.254.128.1/29", "169.254.128.2",
                     65000, None)  # fmt: skip


def test_names_and_bandwidths() -> None:
    assert attachment_name("C0FFEE00:csp") == "onr-c0ffee00-csp"
    long = attachment_name("x" * 80 + ":csp")
    assert len(long) <= 63 and long != attachment_name("x" * 80 + ":csq")
    assert (bandwidth(50), bandwidth(1000), bandwidth(20000)) == ("BPS_50M", "BPS_1G", "BPS_20G")


def test_request_then_retry_makes_one_attachment(gcp: tuple[GcpAdapter, Compute]) -> None:
    adapter, state = gcp
    req = request(state)
    first = adapter.request(req)
    assert first.resource_id == "europe-west3/onr-c0ffee00-csp"
    assert (first.state, first.provider_state) == (CspState.AWAITING_CUSTOMER, "PENDING_CUSTOMER")
    assert first.details == {
        "vlan": 101,
        "cloud_router_ip": "169.254.128.1/29",
        "customer_router_ip": "169.254.128.2/29",
        "pairing_key": req.customer_account,
        "interconnect": "onramp-fra-ic1",
        "bandwidth": "BPS_100M",
        "partner_asn": 65000,
    }
    again = adapter.request(req)
    assert again.resource_id == first.resource_id
    assert len(state.attachments) == 1 and state.calls.count("insert") == 1


@pytest.mark.parametrize("fault", ["throttle_next", "fail_next"])
def test_throttling_and_5xx_are_retried(gcp: tuple[GcpAdapter, Compute], fault: str) -> None:
    adapter, state = gcp
    setattr(state.faults, fault, 2)
    assert adapter.request(request(state)).state == CspState.AWAITING_CUSTOMER
    assert len(state.attachments) == 1


def test_a_lost_response_does_not_make_a_second_attachment(
    gcp: tuple[GcpAdapter, Compute],
) -> None:
    """Google made the attachment but its answer was lost; the retry's insert is told it
    already exists: the adapter returns the one made."""
    adapter, state = gcp
    state.faults.lose_next_response = 1  # the get before answers 404: the insert is lost
    made = adapter.request(request(state))
    assert list(state.attachments) == [made.resource_id] and state.calls.count("insert") == 1


def test_throttled_beyond_retries_is_a_clear_error(gcp: tuple[GcpAdapter, Compute]) -> None:
    adapter, state = gcp
    state.faults.throttle_next = 10_000
    with pytest.raises(OnrampError) as exc:
        adapter.request(request(state))
    assert exc.value.code == "ONR-CSP-002" and "429" in exc.value.reason
    assert state.attachments == {}


def test_refusals_map_to_codes(gcp: tuple[GcpAdapter, Compute]) -> None:
    adapter, state = gcp
    req = request(state)
    adapter.request(req)
    with pytest.raises(OnrampError) as refused:  # same VLAN on the interconnect, another key
        adapter.request(replace(request(state), idempotency_key="other:csp"))
    assert refused.value.code == "ONR-CSP-001" and "already in use" in refused.value.reason
    with pytest.raises(OnrampError) as missing:
        adapter.status("europe-west3/onr-nothere")
    assert missing.value.code == "ONR-CSP-003"
    with pytest.raises(OnrampError) as unknown_port:
        adapter.request(replace(req, sessions=(replace(req.sessions[0], port="pe9:eth9"),)))
    assert (
        unknown_port.value.code == "ONR-CSP-001" and "csp_connection" in unknown_port.value.reason
    )


def test_unknown_pairing_key(gcp: tuple[GcpAdapter, Compute]) -> None:
    adapter, state = gcp
    for key in ("00000000-0000-0000-0000-000000000000/europe-west3/1", "not-a-key"):
        with pytest.raises(OnrampError) as unknown:
            adapter.request(replace(request(state), customer_account=key))
        assert unknown.value.code == "ONR-CSP-006"
    assert state.attachments == {} and "insert" not in state.calls


def test_delete_is_idempotent(gcp: tuple[GcpAdapter, Compute]) -> None:
    adapter, state = gcp
    made = adapter.request(request(state))
    assert adapter.delete(made.resource_id).state == CspState.DELETED
    assert adapter.delete(made.resource_id).state == CspState.DELETED
    assert state.attachments == {}


def test_customer_activates_later_then_active_and_lab_peer_up(
    gcp: tuple[GcpAdapter, Compute], hook: RecordingHook
) -> None:
    adapter, state = gcp
    state.behaviour = Behaviour(accept_after_s=0.2, provisioning_s=0.2)
    made = adapter.request(request(state))
    assert made.state == CspState.AWAITING_CUSTOMER and hook.events == []
    seen: list[str] = []
    ready = wait(adapter, made.resource_id, timeout_s=10, poll_s=0.05,
                 progress=lambda r: seen.append(r.provider_state))  # fmt: skip
    assert ready.state == CspState.READY
    assert seen[0] == "PENDING_CUSTOMER" and "UNPROVISIONED" in seen and seen[-1] == "ACTIVE"
    assert hook.events == [("up", expected_peer())]
    adapter.delete(made.resource_id)
    assert hook.events[-1] == ("down", expected_peer())


def test_customer_rejects(gcp: tuple[GcpAdapter, Compute]) -> None:
    adapter, state = gcp
    state.behaviour = Behaviour(customer=Customer.REJECT, accept_after_s=0.1)
    made = adapter.request(request(state))
    with pytest.raises(OnrampError) as rejected:
        wait(adapter, made.resource_id, timeout_s=10, poll_s=0.05)
    assert rejected.value.code == "ONR-CSP-005" and "DEFUNCT" in rejected.value.reason
    assert len(state.attachments) == 1  # still there, for the decommission to delete


def test_customer_never_answers(gcp: tuple[GcpAdapter, Compute]) -> None:
    adapter, state = gcp
    made = adapter.request(request(state))
    with pytest.raises(OnrampError) as waited:
        wait(adapter, made.resource_id, timeout_s=0.3, poll_s=0.05)
    assert waited.value.code == "ONR-CSP-004" and "still PENDING_CUSTOMER" in waited.value.reason


def test_attachment_goes_down_after_active(
    gcp: tuple[GcpAdapter, Compute], hook: RecordingHook
) -> None:
    adapter, state = gcp
    state.behaviour = Behaviour(down_after_s=0.3)
    made = adapter.request(request(state))
    assert wait(adapter, made.resource_id, timeout_s=5, poll_s=0.05).state == CspState.READY
    state.clock.timelines[made.resource_id].run(state.clock.now() + 1)  # time passes
    down = adapter.status(made.resource_id)
    assert (down.state, down.provider_state) == (CspState.DOWN, "DEFUNCT")
    assert hook.events == [("up", expected_peer()), ("down", expected_peer())]
