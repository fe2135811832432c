"""The Direct Link Connect simulator through the unmodified DirectLinkProviderV2 client:
IAM tokens, every answer checked against the SDK's own models (from_dict raises on a
missing required field; to_dict gives the same JSON back: no field the SDK does not know;
the enumerated words),
IBM's refusals, and a create whose answer is lost made once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.request import Request, urlopen

import pytest
from ibm_cloud_networking_services.direct_link_provider_v2 import (
    ProviderGateway,
    ProviderGatewayCollection,
    ProviderGatewayPortIdentity,
    ProviderPortCollection,
)
from ibm_cloud_sdk_core import ApiException, string_to_datetime

from onramp.csp.adapter import CspState
from onramp.csp.ibm.adapter import IbmAdapter, client
from onramp.csp.ibm.simulator import DirectLink, serve
from onramp.csp.simulator import Behaviour, Customer
from tests.csp.cases import IBM_PORT, IBM_PORT_ID, ibm_request

MODELS: dict[str, Any] = {  # each operation the adapter calls, and the SDK model it answers
    "list_provider_gateways": ProviderGatewayCollection,
    "create_provider_gateway": ProviderGateway,
    "get_provider_gateway": ProviderGateway,
    "delete_provider_gateway": ProviderGateway,  # 202 while the customer approves; 204 empty
    "list_provider_ports": ProviderPortCollection,
}
STATUSES = {s.value for s in ProviderGateway.OperationalStatusEnum}
BGP = {s.value for s in ProviderGateway.BgpStatusEnum}


@dataclass
class Recording(DirectLink):
    """Keeps every successful answer as (operation, body); loses the create's answer once
    when told (the SDK then retries the POST)."""

    answers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lose_create: bool = False

    def create_provider_gateway(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.lose_create:
            self.lose_create = False
            self.faults.lose_next_response = 1
        return super().create_provider_gateway(body)

    def dispatch(
        self, method: str, url: str, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        status, out = super().dispatch(method, url, headers, body)
        if status < 300 and out is not None and self.calls:
            self.answers.append((self.calls[-1], json.loads(json.dumps(out))))
        return status, out


@pytest.fixture
def ibm() -> Iterator[tuple[str, Recording]]:
    with serve(Recording(behaviour=Behaviour(Customer.ACCEPT, down_after_s=0.2))) as (url, sim):
        yield url, sim


def checked(answers: list[tuple[str, dict[str, Any]]]) -> set[str]:
    """Parse every answer with the SDK's model for its operation (from_dict raises on a
    missing required field) and check the enumerated words; returns the operations seen."""
    for op, body in answers:
        parsed = MODELS[op].from_dict(body).to_dict()  # no field the SDK does not know
        assert _dated(parsed) == _dated(body), op
        for gateway in body.get("gateways", [body] if "operational_status" in body else []):
            assert gateway["operational_status"] in STATUSES
            assert gateway.get("bgp_status", "idle") in BGP
            assert gateway["type"] == "connect" and gateway["provider_api_managed"] is True
    return {op for op, _ in answers}


def _dated(body: dict[str, Any]) -> dict[str, Any]:
    """created_at as the instant it names (the SDK writes it back in its own format)."""
    gateways = body.get("gateways", [])
    if "created_at" in body:
        return body | {"created_at": string_to_datetime(body["created_at"])}
    return body | ({"gateways": [_dated(g) for g in gateways]} if gateways else {})


def test_every_answer_the_adapter_reads_is_the_sdks_model(ibm: tuple[str, Recording]) -> None:
    url, sim = ibm
    adapter = IbmAdapter(client(url, retries=2, backoff_s=0), {IBM_PORT: IBM_PORT_ID})
    made = adapter.request(ibm_request(sim.customer()))
    assert adapter.status(made.resource_id).provider_state == "provisioned"  # approved at once
    ports = client(url).list_provider_ports().get_result()
    assert [p["id"] for p in ports["ports"]] == [IBM_PORT_ID]
    sim.answers.append(("list_provider_ports", ports))
    sim.behaviour.accept_after_s = 5  # the customer approves the delete later
    assert adapter.delete(made.resource_id).state == CspState.DELETING
    assert checked(sim.answers) == set(MODELS)


def test_a_lost_create_answer_makes_one_gateway(ibm: tuple[str, Recording]) -> None:
    url, sim = ibm
    sim.behaviour = Behaviour(Customer.NEVER)
    sim.lose_create = True
    adapter = IbmAdapter(client(url, retries=2, backoff_s=0), {IBM_PORT: IBM_PORT_ID})
    made = adapter.request(ibm_request(sim.customer()))
    assert sim.calls.count("create_provider_gateway") == 1  # the retried POST was refused 409
    assert list(sim.gateways) == [made.resource_id] and made.state == CspState.AWAITING_CUSTOMER


def test_calls_need_an_iam_token_and_a_version(ibm: tuple[str, Recording]) -> None:
    url, _ = ibm
    for path in ("/provider/v2/gateways?version=2020-04-28", "/provider/v2/gateways"):
        request = Request(f"{url}{path}", headers={"Authorization": "Bearer forged"})
        with pytest.raises(Exception) as refused:
            urlopen(request)
        assert getattr(refused.value, "code", None) == 401
        body = json.loads(refused.value.read())  # type: ignore[attr-defined]
        assert body["errors"][0]["code"] == "not_authorized" and body["trace"]
    with pytest.raises(ApiException) as wrong_key:
        client(url, apikey="not-ours").list_provider_gateways()
    assert wrong_key.value.status_code == 400


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"bgp_asn": 65000}, "bgp_asn"),  # the private 2-byte range IBM refuses
        ({"vlan": 3968}, "2 to 3967"),
        ({"speed_mbps": 300}, "speed_mbps"),
        ({"bgp_cer_cidr": "169.254.64.6/30"}, "matching network"),
        ({"port": ProviderGatewayPortIdentity(id="nope")}, "port"),
    ],
)
def test_ibms_rules_refuse(ibm: tuple[str, Recording], change: dict[str, Any], word: str) -> None:
    url, sim = ibm
    asked: dict[str, Any] = {
        "bgp_asn": 4201000017, "customer_account_id": sim.customer(), "name": "onramp-x",
        "port": ProviderGatewayPortIdentity(id=IBM_PORT_ID), "speed_mbps": 500, "vlan": 300,
        "bgp_cer_cidr": "169.254.64.2/30", "bgp_ibm_cidr": "169.254.64.1/30",
    }  # fmt: skip
    with pytest.raises(ApiException) as refused:
        client(url, retries=0).create_provider_gateway(**(asked | change))
    assert 400 <= refused.value.status_code < 500 and word in str(refused.value.message)
    assert sim.gateways == {}
