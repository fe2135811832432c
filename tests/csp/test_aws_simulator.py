"""The AWS Direct Connect simulator through the unmodified boto3 client (whatever wire
protocol botocore picks): the partner's hosted-VIF calls and AWS's rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from csp.aws.simulator import DirectConnect, serve


@pytest.fixture
def dx() -> Iterator[tuple[Any, DirectConnect]]:
    with serve() as (url, state):
        client = boto3.client(
            "directconnect",
            endpoint_url=url,
            region_name="eu-west-3",
            aws_access_key_id="onramp-test",
            aws_secret_access_key="onramp-test",
        )
        yield client, state


def allocate(client: Any, vlan: int = 101, **extra: Any) -> dict[str, Any]:
    return client.allocate_private_virtual_interface(  # type: ignore[no-any-return]
        connectionId="dxcon-onramp01",
        ownerAccount="123456789012",
        newPrivateVirtualInterfaceAllocation={
            "virtualInterfaceName": "acme-c1",
            "vlan": vlan,
            "asn": 65000,
            "mtu": 1500,
            "authKey": "Abcdefghijkmnopq23456789",
            "amazonAddress": "169.254.64.2/30",
            "customerAddress": "169.254.64.1/30",
            "addressFamily": "ipv4",
            **extra,
        },
    )


def test_hosted_vif_confirm_and_delete(dx: tuple[Any, DirectConnect]) -> None:
    client, _ = dx
    vif = allocate(client)
    assert vif["virtualInterfaceState"] == "confirming"
    assert (vif["vlan"], vif["asn"], vif["customerAddress"]) == (101, 65000, "169.254.64.1/30")
    assert vif["bgpPeers"][0]["authKey"] == "Abcdefghijkmnopq23456789"
    vid = vif["virtualInterfaceId"]
    # the customer confirms with their gateway
    state = client.confirm_private_virtual_interface(
        virtualInterfaceId=vid, virtualGatewayId="vgw-1"
    )
    assert state["virtualInterfaceState"] == "pending"
    (seen,) = client.describe_virtual_interfaces(virtualInterfaceId=vid)["virtualInterfaces"]
    assert seen["virtualInterfaceState"] == "pending"
    assert (
        client.delete_virtual_interface(virtualInterfaceId=vid)["virtualInterfaceState"]
        == "deleting"
    )
    # AWS keeps listing a deleted VIF for a while, in state deleted
    (gone,) = client.describe_virtual_interfaces(virtualInterfaceId=vid)["virtualInterfaces"]
    assert gone["virtualInterfaceState"] == "deleted"
    with pytest.raises(ClientError, match="does not exist"):
        client.delete_virtual_interface(virtualInterfaceId=vid)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"vlan": 4095}, "between 1 and 4094"),
        ({"mtu": 9001}, "MTU 9001"),
        ({"authKey": "short"}, "6 to 80"),
    ],
)
def test_rules_are_enforced(
    dx: tuple[Any, DirectConnect], extra: dict[str, Any], message: str
) -> None:
    client, state = dx
    with pytest.raises(ClientError) as refused:
        allocate(client, **extra)
    assert refused.value.response["Error"]["Code"] == "DirectConnectClientException"
    assert message in refused.value.response["Error"]["Message"]
    assert state.vifs == {}


def test_vlan_is_unique_per_connection_until_deleted(dx: tuple[Any, DirectConnect]) -> None:
    client, _ = dx
    first = allocate(client, vlan=200)
    with pytest.raises(ClientError, match="already in use"):
        allocate(client, vlan=200)
    client.delete_virtual_interface(virtualInterfaceId=first["virtualInterfaceId"])
    assert allocate(client, vlan=200)["vlan"] == 200


def test_confirm_needs_a_gateway_and_a_confirming_vif(dx: tuple[Any, DirectConnect]) -> None:
    client, _ = dx
    vid = allocate(client)["virtualInterfaceId"]
    with pytest.raises(ClientError, match="gateway is required"):
        client.confirm_private_virtual_interface(virtualInterfaceId=vid)
    client.confirm_private_virtual_interface(virtualInterfaceId=vid, directConnectGatewayId="dx-gw")
    with pytest.raises(ClientError, match="not confirming"):
        client.confirm_private_virtual_interface(virtualInterfaceId=vid, virtualGatewayId="vgw-1")


def test_an_operation_not_simulated_says_so(dx: tuple[Any, DirectConnect]) -> None:
    client, _ = dx
    with pytest.raises(ClientError) as exc:
        client.describe_locations()
    assert "not simulated" in exc.value.response["Error"]["Message"]


def test_both_wire_protocols(dx: tuple[Any, DirectConnect]) -> None:
    """botocore 1.44 picks JSON 1.1 though its model lists rpc-v2-cbor first; a later one
    may pick CBOR: both are answered, with the same state behind them."""
    import urllib.request

    import cbor2

    client, state = dx
    allocate(client)
    assert state.protocols == ["json"]  # what this botocore sent
    url = client.meta.endpoint_url
    cbor = urllib.request.Request(
        url + "/service/OvertureService/operation/DescribeVirtualInterfaces",
        data=cbor2.dumps({"connectionId": "dxcon-onramp01"}),
        headers={"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"},
    )
    with urllib.request.urlopen(cbor) as answer:
        assert answer.headers["smithy-protocol"] == "rpc-v2-cbor"
        (vif,) = cbor2.loads(answer.read())["virtualInterfaces"]
    assert vif["vlan"] == 101
    plain = urllib.request.Request(url + "/", data=b"{}", headers={"Content-Type": "text/plain"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(plain)
    assert b"expected smithy-rpc-v2-cbor or JSON 1.1" in refused.value.read()
