"""The Azure ExpressRoute adapter against the simulator through azure-mgmt-network: from
a service key to a provisioned private peering on both links, slow provisioning awaited
through `status`, idempotent requests, retries on throttling and 5xx, the provider's
delete order, and provider errors as onramp codes with nothing made."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from onramp.core.errors import OnrampError
from onramp.csp.adapter import CspState, PeeringRequest, Session, wait
from onramp.csp.azure.adapter import AzureAdapter, network
from onramp.csp.azure.simulator import PARTNER_SUBSCRIPTION, ExpressRoute, serve
from onramp.csp.simulator import Behaviour, CloudPeer
from tests.csp.conftest import RecordingHook

PORTS = {"pe1-lon:eth3": "onramp-lon-er-pri", "pe2-lon:eth3": "onramp-lon-er-sec"}
KEY = "Abcdefgh2345"


def request(service_key: str, s_tag: int = 300) -> PeeringRequest:
    return PeeringRequest(
        idempotency_key="c0ffee01:csp",
        customer_account=service_key,
        sessions=(
            Session("pe1-lon:eth3", s_tag, 10, "169.254.192.1/30", "169.254.192.2/30"),
            Session("pe2-lon:eth3", s_tag, 10, "169.254.192.5/30", "169.254.192.6/30"),
        ),
        local_asn=65000,
        md5_key=KEY,
    )


PEERS = [
    CloudPeer("azure", "onramp-lon-er-pri", 300, 10, "169.254.192.2/30", "169.254.192.1", 65000, KEY),
    CloudPeer("azure", "onramp-lon-er-sec", 300, 10, "169.254.192.6/30", "169.254.192.5", 65000, KEY),
]  # fmt: skip


@pytest.fixture
def azure(hook: RecordingHook) -> Iterator[tuple[AzureAdapter, ExpressRoute, str]]:
    """(adapter, state, service key of a circuit on S-tag 300)."""
    with serve(ExpressRoute(hook=hook)) as (url, state):
        client = network(PARTNER_SUBSCRIPTION, url, attempts=4, backoff_s=0,
                         polling_interval_s=0.05)  # fmt: skip
        yield AzureAdapter(client, PORTS, lro_timeout_s=5), state, state.create_circuit(s_tag=300)


def test_service_key_to_private_peering_on_both_links(
    azure: tuple[AzureAdapter, ExpressRoute, str], hook: RecordingHook
) -> None:
    adapter, state, key = azure
    made = adapter.request(request(key))
    assert made.state == CspState.READY and made.provider_state == "Provisioned/Succeeded/Enabled"
    assert made.details | {"service_key": key} == {
        "s_tag": 300, "service_key": key, "vlan_id": 10, "peer_asn": 65000,
        "primary_prefix": "169.254.192.0/30", "secondary_prefix": "169.254.192.4/30",
    }  # fmt: skip
    assert hook.events == [("up", p) for p in PEERS]
    # again (a retry, a resumed worker): the same resource and no write at all
    calls = list(state.calls)
    assert adapter.request(request(key)).resource_id == made.resource_id
    assert state.calls == calls == ["PUT crossConnection", "PUT AzurePrivatePeering"]


def test_slow_provisioning_is_picked_up_by_status(
    azure: tuple[AzureAdapter, ExpressRoute, str], hook: RecordingHook
) -> None:
    adapter, state, key = azure
    state.behaviour = Behaviour(provisioning_s=0.4)
    adapter.lro_timeout_s = 0.05  # give up waiting on the operation at once
    first = adapter.request(request(key))
    assert first.state == CspState.PROVISIONING and first.provider_state == "Provisioning"
    seen: list[str] = []
    ready = wait(adapter, first.resource_id, timeout_s=10, poll_s=0.05,
                 progress=lambda r: seen.append(r.provider_state))  # fmt: skip
    assert ready.state == CspState.READY
    assert "Provisioned/Updating/Enabled" in seen  # the peering's own operation, awaited too
    assert state.calls == ["PUT crossConnection", "PUT AzurePrivatePeering"]
    assert [e for e, _ in hook.events] == ["up", "up"]


def test_unknown_service_key(azure: tuple[AzureAdapter, ExpressRoute, str]) -> None:
    adapter, state, _ = azure
    with pytest.raises(OnrampError) as missing:
        adapter.request(request("6a1f0000-0000-4000-8000-000000000000"))
    assert missing.value.code == "ONR-CSP-006" and "service key" in missing.value.reason
    assert state.calls == []


def test_s_tag_or_port_mismatch_is_refused_before_any_change(
    azure: tuple[AzureAdapter, ExpressRoute, str],
) -> None:
    adapter, state, key = azure
    with pytest.raises(OnrampError) as wrong_tag:
        adapter.request(request(key, s_tag=301))
    assert wrong_tag.value.code == "ONR-CSP-001" and "S-tag 300" in wrong_tag.value.reason
    swapped = request(key)
    swapped = replace(swapped, sessions=swapped.sessions[::-1])
    with pytest.raises(OnrampError) as wrong_port:
        adapter.request(swapped)
    assert "onramp-lon-er-pri/onramp-lon-er-sec" in wrong_port.value.reason
    assert state.calls == []


@pytest.mark.parametrize("fault", ["throttle_next", "fail_next", "lose_next_response"])
def test_throttling_5xx_and_lost_answers_are_retried_without_duplicates(
    azure: tuple[AzureAdapter, ExpressRoute, str], fault: str
) -> None:
    adapter, state, key = azure
    setattr(state.faults, fault, 2)
    assert adapter.request(request(key)).state == CspState.READY
    (peering,) = state.cross_connections[key]["properties"]["peerings"]
    assert peering["properties"]["provisioningState"] == "Succeeded"


def test_throttled_beyond_retries_is_a_clear_error(
    azure: tuple[AzureAdapter, ExpressRoute, str],
) -> None:
    adapter, state, key = azure
    state.faults.throttle_next = 50
    with pytest.raises(OnrampError) as exc:
        adapter.request(request(key))
    assert exc.value.code == "ONR-CSP-002" and "TooManyRequests" in exc.value.reason
    assert state.calls == []


def test_a_refused_peering_maps_to_a_code(azure: tuple[AzureAdapter, ExpressRoute, str]) -> None:
    adapter, state, key = azure
    with pytest.raises(OnrampError) as refused:
        adapter.request(replace(request(key), local_asn=65515))  # reserved by Azure
    assert refused.value.code == "ONR-CSP-001" and "InvalidPeerAsn" in refused.value.reason
    assert state.cross_connections[key]["properties"]["peerings"] == []


def test_peering_goes_down_later(
    azure: tuple[AzureAdapter, ExpressRoute, str], hook: RecordingHook
) -> None:
    adapter, state, key = azure
    state.behaviour = Behaviour(down_after_s=0.2)
    made = adapter.request(request(key))
    assert made.state == CspState.READY
    peering_id = state.cross_connections[key]["properties"]["peerings"][0]["id"]
    state.clock.timelines[peering_id].run(state.clock.now() + 1)  # time passes
    down = adapter.status(made.resource_id)
    assert (down.state, down.provider_state) == (CspState.DOWN, "Provisioned/Succeeded/Disabled")
    assert [e for e, _ in hook.events] == ["up", "up", "down", "down"]


def test_delete_in_the_providers_order_and_twice(
    azure: tuple[AzureAdapter, ExpressRoute, str], hook: RecordingHook
) -> None:
    adapter, state, key = azure
    made = adapter.request(request(key))
    gone = adapter.delete(made.resource_id)
    assert (gone.state, gone.provider_state) == (CspState.DELETED, "NotProvisioned")
    assert state.calls[2:] == ["DELETE AzurePrivatePeering", "PUT crossConnection"]
    assert adapter.delete(made.resource_id).state == CspState.DELETED
    assert len(state.calls) == 4  # the second delete found nothing to do
    assert hook.events[2:] == [("down", p) for p in PEERS]
    # the customer may now delete the circuit; its Connector reads as deleted
    del state.cross_connections[key]
    assert adapter.status(made.resource_id).state == CspState.DELETED
