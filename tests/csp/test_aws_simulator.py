"""The AWS Direct Connect simulator through the unmodified boto3 client (whatever wire
protocol botocore picks): the partner's and the customer's calls, AWS's rules, and every
answer checked against botocore's own output shapes (botocore drops unknown keys
silently, so a misspelt field would otherwise pass unnoticed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from onramp.csp.aws.simulator import PARTNER_KEY, DirectConnect, serve
from onramp.csp.simulator import Behaviour, Customer

OWNER = "123456789012"


def client(url: str, key: str) -> Any:
    return boto3.client("directconnect", endpoint_url=url, region_name="eu-west-3",
                        aws_access_key_id=key, aws_secret_access_key="t")  # fmt: skip


@pytest.fixture
def dx() -> Iterator[tuple[Any, Any, DirectConnect]]:
    """(partner client, customer client, state); the simulated customer never answers on
    its own, so the tests play the customer through the customer's client."""
    with serve(DirectConnect(behaviour=Behaviour(customer=Customer.NEVER))) as (url, state):
        yield client(url, PARTNER_KEY), client(url, state.customer(OWNER)), state


def allocate(partner: Any, vlan: int = 101, **extra: Any) -> dict[str, Any]:
    return partner.allocate_private_virtual_interface(  # type: ignore[no-any-return]
        connectionId="dxcon-onramp01",
        ownerAccount=OWNER,
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


def test_hosted_vif_confirm_and_delete(dx: tuple[Any, Any, DirectConnect]) -> None:
    partner, customer, _ = dx
    vif = allocate(partner)
    assert vif["virtualInterfaceState"] == "confirming"
    assert (vif["vlan"], vif["asn"], vif["customerAddress"]) == (101, 65000, "169.254.64.1/30")
    assert vif["bgpPeers"][0]["authKey"] == "Abcdefghijkmnopq23456789"
    vid = vif["virtualInterfaceId"]
    with pytest.raises(ClientError, match="does not exist"):  # only the owner confirms
        partner.confirm_private_virtual_interface(virtualInterfaceId=vid, virtualGatewayId="v")
    state = customer.confirm_private_virtual_interface(
        virtualInterfaceId=vid, virtualGatewayId="vgw-1"
    )
    assert state["virtualInterfaceState"] == "pending"
    (seen,) = customer.describe_virtual_interfaces(virtualInterfaceId=vid)["virtualInterfaces"]
    assert seen["virtualInterfaceState"] in ("pending", "available")
    assert seen["virtualGatewayId"] == "vgw-1"
    deleted = partner.delete_virtual_interface(virtualInterfaceId=vid)
    assert deleted["virtualInterfaceState"] == "deleting"
    # AWS keeps listing a deleted VIF for a while, in state deleted
    (gone,) = partner.describe_virtual_interfaces(virtualInterfaceId=vid)["virtualInterfaces"]
    assert gone["virtualInterfaceState"] == "deleted"
    with pytest.raises(ClientError, match="does not exist"):
        partner.delete_virtual_interface(virtualInterfaceId=vid)


def test_unknown_access_key_is_refused(dx: tuple[Any, Any, DirectConnect]) -> None:
    partner, _, state = dx
    stranger = client(partner.meta.endpoint_url, "nobody")
    with pytest.raises(ClientError) as refused:
        allocate(stranger)
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert state.vifs == {}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"vlan": 4095}, "between 1 and 4094"),
        ({"mtu": 9001}, "MTU 9001"),
        ({"authKey": "short"}, "6 to 80"),
    ],
)
def test_rules_are_enforced(
    dx: tuple[Any, Any, DirectConnect], extra: dict[str, Any], message: str
) -> None:
    partner, _, state = dx
    with pytest.raises(ClientError) as refused:
        allocate(partner, **extra)
    assert refused.value.response["Error"]["Code"] == "DirectConnectClientException"
    assert message in refused.value.response["Error"]["Message"]
    assert state.vifs == {}


def test_vlan_is_unique_per_connection_until_deleted(dx: tuple[Any, Any, DirectConnect]) -> None:
    partner, _, _ = dx
    first = allocate(partner, vlan=200)
    with pytest.raises(ClientError, match="already in use"):
        allocate(partner, vlan=200)
    with pytest.raises(ClientError, match="already in use"):  # hosted connections share VLANs
        partner.allocate_hosted_connection(
            connectionId="dxcon-onramp01",
            ownerAccount=OWNER,
            bandwidth="50Mbps",
            connectionName="x",
            vlan=200,
        )
    partner.delete_virtual_interface(virtualInterfaceId=first["virtualInterfaceId"])
    assert allocate(partner, vlan=200)["vlan"] == 200


def test_confirm_needs_a_gateway_and_a_confirming_vif(dx: tuple[Any, Any, DirectConnect]) -> None:
    partner, customer, _ = dx
    vid = allocate(partner)["virtualInterfaceId"]
    with pytest.raises(ClientError, match="gateway is required"):
        customer.confirm_private_virtual_interface(virtualInterfaceId=vid)
    customer.confirm_private_virtual_interface(virtualInterfaceId=vid, directConnectGatewayId="g")
    with pytest.raises(ClientError, match="not confirming"):
        customer.confirm_private_virtual_interface(virtualInterfaceId=vid, virtualGatewayId="v")


def test_hosted_connection_flow_and_rules(dx: tuple[Any, Any, DirectConnect]) -> None:
    partner, customer, _ = dx
    kw = {"connectionId": "dxcon-onramp01", "ownerAccount": OWNER, "connectionName": "acme-c2"}
    with pytest.raises(ClientError, match="bandwidth 42Mbps"):
        partner.allocate_hosted_connection(bandwidth="42Mbps", vlan=300, **kw)
    conn = partner.allocate_hosted_connection(bandwidth="500Mbps", vlan=300, **kw)
    assert (conn["connectionState"], conn["vlan"], conn["bandwidth"]) == (
        "ordering",
        300,
        "500Mbps",
    )
    cid = conn["connectionId"]
    listed = partner.describe_hosted_connections(connectionId="dxcon-onramp01")["connections"]
    assert [c["connectionId"] for c in listed] == [cid]
    vif = {"virtualInterfaceName": "acme-c2", "vlan": 300, "asn": 65000,
           "virtualGatewayId": "vgw-2"}  # fmt: skip
    with pytest.raises(ClientError, match="not available"):  # not confirmed yet
        customer.create_private_virtual_interface(connectionId=cid, newPrivateVirtualInterface=vif)
    assert customer.confirm_connection(connectionId=cid)["connectionState"] == "pending"
    (ready,) = customer.describe_connections(connectionId=cid)["connections"]
    assert ready["connectionState"] == "available"  # provisioning_s = 0
    with pytest.raises(ClientError, match="must be 300"):
        customer.create_private_virtual_interface(
            connectionId=cid, newPrivateVirtualInterface=vif | {"vlan": 301}
        )
    made = customer.create_private_virtual_interface(
        connectionId=cid, newPrivateVirtualInterface=vif
    )
    with pytest.raises(ClientError, match="still has virtual interfaces"):
        partner.delete_connection(connectionId=cid)
    partner.delete_virtual_interface(virtualInterfaceId=made["virtualInterfaceId"])
    assert partner.delete_connection(connectionId=cid)["connectionState"] == "deleted"


def test_an_operation_not_simulated_says_so(dx: tuple[Any, Any, DirectConnect]) -> None:
    partner, _, _ = dx
    with pytest.raises(ClientError) as exc:
        partner.describe_locations()
    assert "not simulated" in exc.value.response["Error"]["Message"]


def conforms(shape: Any, value: Any, where: str) -> list[str]:
    """Where `value` strays from botocore's `shape`: unknown keys, wrong types."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        out = [f"{where}.{k}: not in {shape.name}" for k in value if k not in shape.members]
        for key, member in shape.members.items():
            if key in value:
                out += conforms(member, value[key], f"{where}.{key}")
        return out
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for i, v in enumerate(value) for p in conforms(shape.member, v, f"{where}[{i}]")]
    python = {"string": str, "integer": int, "long": int, "boolean": bool}.get(kind)
    if python is not None and not isinstance(value, python):
        return [f"{where}: {value!r} is not {kind}"]
    if kind == "string" and shape.enum and value not in shape.enum:
        return [f"{where}: {value!r} not one of {shape.enum}"]
    return []


def test_every_answer_matches_botocores_output_shapes(dx: tuple[Any, Any, DirectConnect]) -> None:
    partner, customer, state = dx
    answers: list[tuple[str, dict[str, Any]]] = []
    real_call = state.call

    def recording(op: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        out = real_call(op, body, key)
        answers.append((op, out))
        return out

    state.call = recording  # type: ignore[method-assign]
    vid = allocate(partner)["virtualInterfaceId"]
    customer.confirm_private_virtual_interface(virtualInterfaceId=vid, virtualGatewayId="vgw-1")
    partner.describe_virtual_interfaces(connectionId="dxcon-onramp01")
    hosted = partner.allocate_hosted_connection(
        connectionId="dxcon-onramp01",
        ownerAccount=OWNER,
        bandwidth="1Gbps",
        connectionName="c",
        vlan=7,
    )
    cid = hosted["connectionId"]
    partner.describe_hosted_connections(connectionId="dxcon-onramp01")
    customer.confirm_connection(connectionId=cid)
    customer.describe_connections()
    made = customer.create_private_virtual_interface(
        connectionId=cid,
        newPrivateVirtualInterface={
            "virtualInterfaceName": "c",
            "vlan": 7,
            "asn": 65000,
            "directConnectGatewayId": "g",
        },
    )
    partner.delete_virtual_interface(virtualInterfaceId=made["virtualInterfaceId"])
    partner.delete_virtual_interface(virtualInterfaceId=vid)
    partner.delete_connection(connectionId=cid)
    model = partner.meta.service_model
    assert len({op for op, _ in answers}) == 10  # every operation simulated
    problems = [
        p for op, out in answers for p in conforms(model.operation_model(op).output_shape, out, op)
    ]
    assert problems == []


def test_both_wire_protocols(dx: tuple[Any, Any, DirectConnect]) -> None:
    """botocore 1.44 picks JSON 1.1 though its model lists rpc-v2-cbor first; a later one
    may pick CBOR: both are answered, with the same state behind them."""
    import urllib.error
    import urllib.request

    import cbor2

    partner, _, state = dx
    allocate(partner)
    assert state.protocols == ["json"]  # what this botocore sent
    url = partner.meta.endpoint_url
    cbor = urllib.request.Request(
        url + "/service/OvertureService/operation/DescribeVirtualInterfaces",
        data=cbor2.dumps({"connectionId": "dxcon-onramp01"}),
        headers={
            "Content-Type": "application/cbor",
            "smithy-protocol": "rpc-v2-cbor",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={PARTNER_KEY}/20261125/x",
        },
    )
    with urllib.request.urlopen(cbor) as answer:
        assert answer.headers["smithy-protocol"] == "rpc-v2-cbor"
        (vif,) = cbor2.loads(answer.read())["virtualInterfaces"]
    assert vif["vlan"] == 101
    plain = urllib.request.Request(url + "/", data=b"{}", headers={"Content-Type": "text/plain"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(plain)
    assert b"expected smithy-rpc-v2-cbor or JSON 1.1" in refused.value.read()


def test_each_party_does_only_its_own_part(dx: tuple[Any, Any, DirectConnect]) -> None:
    """What a delegation relies on: the partner cannot accept or make the VIF for the
    customer, the customer's credentials cannot allocate on our interconnect, and another
    customer cannot touch this one's connection."""
    partner, customer, state = dx
    stranger = client(partner.meta.endpoint_url, state.customer("210987654321"))
    kw = {"connectionId": "dxcon-onramp01", "ownerAccount": OWNER, "connectionName": "acme-c3"}
    with pytest.raises(ClientError, match="owner"):
        customer.allocate_hosted_connection(bandwidth="500Mbps", vlan=310, **kw)
    cid = partner.allocate_hosted_connection(bandwidth="500Mbps", vlan=310, **kw)["connectionId"]
    with pytest.raises(ClientError, match="does not exist"):
        partner.confirm_connection(connectionId=cid)
    customer.confirm_connection(connectionId=cid)
    vif = {"virtualInterfaceName": "acme-c3", "vlan": 310, "asn": 65000,
           "virtualGatewayId": "vgw-3"}  # fmt: skip
    with pytest.raises(ClientError, match="does not exist"):
        partner.create_private_virtual_interface(connectionId=cid, newPrivateVirtualInterface=vif)
    with pytest.raises(ClientError, match="does not exist"):
        stranger.create_private_virtual_interface(connectionId=cid, newPrivateVirtualInterface=vif)
    made = customer.create_private_virtual_interface(
        connectionId=cid, newPrivateVirtualInterface=vif
    )
    assert made["ownerAccount"] == OWNER
    assert [op for op in state.calls if not op.startswith("Describe")] == [
        "AllocateHostedConnection", "ConfirmConnection", "CreatePrivateVirtualInterface"]  # fmt: skip


def test_a_client_gone_before_its_answer_leaves_no_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A client that went away (a timeout, a killed worker) printed socketserver's traceback
    on stderr, into the output of a CLI run beside the simulator (test_dispatch read its
    JSON with the traceback after it); any other error still prints."""
    from http.server import BaseHTTPRequestHandler

    from onramp.csp.simulator import Server

    server = Server(("127.0.0.1", 0), BaseHTTPRequestHandler)
    try:
        for gone in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")):
            try:
                raise gone
            except OSError:
                server.handle_error(None, ("127.0.0.1", 1))
        assert capsys.readouterr().err == ""
        try:
            raise ValueError("a bug of the simulator")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 1))
        assert "ValueError: a bug of the simulator" in capsys.readouterr().err
    finally:
        server.server_close()
