"""The Express Connect simulator through the unmodified alibabacloud-vpc20160428 client:
ACS3-HMAC-SHA256 signatures checked, every answer read back through the SDK's own Tea
models (from_map then to_map gives the same JSON: no field the SDK does not know, none
misspelt) with the state words of the models' documentation, Alibaba's refusals, and a
create whose answer is lost made once (its client Token)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vpc

from onramp.csp.adapter import CspState
from onramp.csp.alibaba.adapter import AlibabaAdapter, client
from onramp.csp.alibaba.simulator import ExpressConnect, serve
from onramp.csp.simulator import Behaviour, Customer
from tests.csp.cases import ALIBABA_PC, ALIBABA_PORT, alibaba_request

MODELS: dict[str, Any] = {  # each action called, and the SDK model of its answer's body
    "CreateVirtualPhysicalConnection": vpc.CreateVirtualPhysicalConnectionResponseBody,
    "ListVirtualPhysicalConnections": vpc.ListVirtualPhysicalConnectionsResponseBody,
    "TerminatePhysicalConnection": vpc.TerminatePhysicalConnectionResponseBody,
    "DeletePhysicalConnection": vpc.DeletePhysicalConnectionResponseBody,
    "DescribeVirtualBorderRouters": vpc.DescribeVirtualBorderRoutersResponseBody,
}
WORDS = {  # the values the model's documentation lists
    "Status": {"Initial", "Approved", "Allocating", "Allocated", "Confirmed", "Enabled",
               "Rejected", "Canceled", "Allocation Failed", "Terminated"},
    "VirtualPhysicalConnectionStatus": {"Confirmed", "UnConfirmed", "Deleted"},
    "BusinessStatus": {"Normal", "FinancialLocked", "SecurityLocked"},
    "ProductType": {"VirtualPhysicalConnection", "PhysicalConnection"},
    "OrderMode": {"PayByPhysicalConnectionOwner", "PayByVirtualPhysicalConnectionOwner"},
}  # fmt: skip
READ = ("PhysicalConnectionId", "ParentPhysicalConnectionId", "Name", "VlanId", "Spec",
        "AliUid", "Status", "VirtualPhysicalConnectionStatus", "BusinessStatus")  # fmt: skip


@dataclass
class Recording(ExpressConnect):
    """Keeps every successful answer as (action, body); loses the create's answer once
    when told (the SDK then retries it with the same Token)."""

    answers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lose_create: bool = False

    def op_CreateVirtualPhysicalConnection(self, q: dict[str, str]) -> dict[str, Any]:
        if self.lose_create:
            self.lose_create = False
            self.faults.lose_next_response = 1
        return super().op_CreateVirtualPhysicalConnection(q)

    def dispatch(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        status, out = super().dispatch(method, url, headers, body)
        if status == 200:
            self.answers.append((headers["x-acs-action"], json.loads(json.dumps(out))))
        return status, out


@pytest.fixture
def ali() -> Iterator[tuple[str, Recording]]:
    with serve(Recording(behaviour=Behaviour(Customer.ACCEPT))) as (url, sim):
        yield url, sim


def adapter(url: str) -> AlibabaAdapter:
    return AlibabaAdapter(client(url, attempts=3, backoff_ms=1), "eu-west-1",
                          {ALIBABA_PORT: ALIBABA_PC})  # fmt: skip


def checked(answers: list[tuple[str, dict[str, Any]]]) -> set[str]:
    for action, body in answers:
        assert MODELS[action]().from_map(body).to_map() == body, action
        for item in body.get("VirtualPhysicalConnections", []):
            assert all(item.get(k) for k in READ), item
            for word, allowed in WORDS.items():
                assert item[word] in allowed, (word, item[word])
    return {action for action, _ in answers}


def test_every_answer_is_the_sdks_model(ali: tuple[str, Recording]) -> None:
    url, sim = ali
    uid = sim.tenant()
    made = adapter(url).request(alibaba_request(uid))
    assert made.state == CspState.READY  # confirmed and paid at once
    # the tenant's own view: its VBR on the hosted connection, as we told it
    tenant_key = ("tenant-ak", "tenant-secret")
    sim.keys[tenant_key[0]] = tenant_key[1]
    vbrs = (
        client(url, key=tenant_key)
        .describe_virtual_border_routers(
            vpc.DescribeVirtualBorderRoutersRequest(region_id="eu-west-1")
        )
        .body.virtual_border_router_set.virtual_border_router_type
    )
    assert [(v.physical_connection_id, v.vlan_id, v.local_gateway_ip, v.peer_gateway_ip)
            for v in vbrs] == [(made.resource_id, 301, "10.254.128.1", "10.254.128.2")]  # fmt: skip
    assert adapter(url).delete(made.resource_id).state == CspState.DELETED
    assert checked(sim.answers) == set(MODELS)
    assert sim.calls == ["CreateVirtualPhysicalConnection", "TerminatePhysicalConnection",
                         "DeletePhysicalConnection"]  # fmt: skip


def test_a_lost_create_answer_makes_one_connection(ali: tuple[str, Recording]) -> None:
    url, sim = ali
    sim.behaviour = Behaviour(Customer.NEVER)
    sim.lose_create = True
    made = adapter(url).request(alibaba_request(sim.tenant()))
    assert sim.calls == ["CreateVirtualPhysicalConnection"]  # the retry got the same id
    assert list(sim.vpconns) == [made.resource_id] and made.state == CspState.AWAITING_CUSTOMER


def test_a_wrong_secret_is_refused(ali: tuple[str, Recording]) -> None:
    url, sim = ali
    forged = client(url, key=("onramp-partner-ak", "not-the-secret"), attempts=1)
    with pytest.raises(ClientException) as refused:
        forged.list_virtual_physical_connections(
            vpc.ListVirtualPhysicalConnectionsRequest(region_id="eu-west-1"))  # fmt: skip
    assert refused.value.code == "IncompleteSignature" and sim.answers == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"vlan_id": 3000}, "IllegalParam.VlanId"),
        ({"spec": "600M"}, "IllegalParam.Spec"),
        ({"physical_connection_id": "pc-nothere"}, "ResourceNotFound.PhysicalConnectionId"),
        ({"region_id": "cn-hangzhou"}, "InvalidRegionId"),
        ({"vpconn_ali_uid": "9999999999999999"}, "IllegalParam.VpconnAliUid"),
    ],
)
def test_alibabas_rules_refuse(
    ali: tuple[str, Recording], change: dict[str, Any], code: str
) -> None:
    url, sim = ali
    asked: dict[str, Any] = {
        "region_id": "eu-west-1", "physical_connection_id": ALIBABA_PC,
        "vpconn_ali_uid": sim.tenant(), "vlan_id": 300, "spec": "500M",
        "order_mode": "PayByVirtualPhysicalConnectionOwner", "name": "onramp-x",
    }  # fmt: skip
    with pytest.raises(ClientException) as refused:
        client(url, attempts=1).create_virtual_physical_connection(
            vpc.CreateVirtualPhysicalConnectionRequest(**(asked | change)))  # fmt: skip
    assert refused.value.code == code and sim.vpconns == {}
