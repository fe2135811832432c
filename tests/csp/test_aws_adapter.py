"""The AWS adapter against the simulator through boto3: idempotent requests (a retry
finds what the first attempt made), retries on throttling and 5xx, provider errors as
onramp codes, and no duplicate VIF whatever fails."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from csp.adapter import CspState, PeeringRequest
from csp.aws.adapter import AwsAdapter, client
from csp.aws.simulator import DirectConnect, serve
from onramp.errors import OnrampError

PORT = "pe1-par:eth3"
REQ = PeeringRequest(
    idempotency_key="c0ffee00:csp:single",
    customer_account="123456789012",
    port=PORT,
    vlan=101,
    inner_vlan=None,
    local_asn=65000,
    local_address="169.254.64.1/30",
    peer_address="169.254.64.2/30",
    md5_key="Abcdefghijkmnopq23456789",
    mtu=1500,
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AwsAdapter, DirectConnect]]:
    # botocore's retries as configured, without their backoff sleeps (tests count attempts)
    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda _: None)
    with serve() as (url, state):
        dx = client(url, attempts=4, region_name="eu-west-3",
                    aws_access_key_id="t", aws_secret_access_key="t")  # fmt: skip
        yield AwsAdapter(dx, {PORT: "dxcon-onramp01"}), state


def live(state: DirectConnect) -> list[dict[str, Any]]:
    return [v for v in state.vifs.values() if v["virtualInterfaceState"] != "deleted"]


def test_request_then_retry_makes_one_vif(aws: tuple[AwsAdapter, DirectConnect]) -> None:
    adapter, state = aws
    first = adapter.request(REQ)
    assert first.state == CspState.AWAITING_CUSTOMER and first.provider_state == "confirming"
    assert first.details["vlan"] == 101 and first.details["asn"] == 65000
    again = adapter.request(REQ)
    assert again.resource_id == first.resource_id
    assert len(live(state)) == 1


@pytest.mark.parametrize("fault", ["throttle_next", "fail_next"])
def test_throttling_and_5xx_are_retried(aws: tuple[AwsAdapter, DirectConnect], fault: str) -> None:
    adapter, state = aws
    setattr(state, fault, 2)
    assert adapter.request(REQ).state == CspState.AWAITING_CUSTOMER
    assert len(live(state)) == 1


def test_a_lost_response_does_not_make_a_second_vif(aws: tuple[AwsAdapter, DirectConnect]) -> None:
    """AWS made the VIF but its answer was lost; botocore retries, AWS says the VLAN is in
    use (by our own VIF): the adapter returns that VIF."""
    adapter, state = aws
    state.lose_next_response = 1
    made = adapter.request(REQ)
    assert len(live(state)) == 1 and made.resource_id in state.vifs


def test_throttled_beyond_retries_is_a_clear_error(aws: tuple[AwsAdapter, DirectConnect]) -> None:
    adapter, state = aws
    state.throttle_next = 50
    with pytest.raises(OnrampError) as exc:
        adapter.request(REQ)
    assert exc.value.code == "ONR-CSP-002" and "ThrottlingException" in exc.value.reason
    assert state.vifs == {}


def test_refusal_and_not_found_map_to_codes(aws: tuple[AwsAdapter, DirectConnect]) -> None:
    adapter, _ = aws
    adapter.request(REQ)
    other = PeeringRequest(**{**REQ.__dict__, "idempotency_key": "other:csp:single"})
    with pytest.raises(OnrampError) as refused:
        adapter.request(other)  # same VLAN, another Connector: AWS refuses
    assert refused.value.code == "ONR-CSP-001" and "already in use" in refused.value.reason
    with pytest.raises(OnrampError) as missing:
        adapter.status("dxvif-nothere")
    assert missing.value.code == "ONR-CSP-003"


def test_delete_is_idempotent(aws: tuple[AwsAdapter, DirectConnect]) -> None:
    adapter, state = aws
    vif = adapter.request(REQ)
    assert adapter.delete(vif.resource_id).state == CspState.DELETED
    assert adapter.delete(vif.resource_id).state == CspState.DELETED
    assert live(state) == []
