"""AWS Direct Connect, partner side, through boto3: hosted private VIFs on our
interconnects (`AwsAdapter`) and hosted connections (`AwsHostedConnectionAdapter`).

Idempotency: a resource's name is the request's idempotency key; a retry (ours, or
botocore's after a lost response) finds it by that name on the interconnect. Throttling
and 5xx are retried by botocore's standard retry mode with backoff.

Delegated mode: when the customer gave us credentials (`Delegation`), the adapter does the
customer's part too: confirms the VIF (or the hosted connection and then creates the VIF
on it). Steps that can only happen later (a VIF once the connection is available) are done
by `status`, which is polled while waiting: each is idempotent like the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from onramp.core.errors import OnrampError
from onramp.csp.adapter import CspResource, CspState, PeeringRequest

STATES = {
    "confirming": CspState.AWAITING_CUSTOMER,
    "verifying": CspState.PROVISIONING,
    "pending": CspState.PROVISIONING,
    "available": CspState.READY,
    "down": CspState.BGP_DOWN,  # "a virtual interface that is BGP down" (the API reference)
    "testing": CspState.READY,
    "deleting": CspState.DELETING,
    "deleted": CspState.DELETED,
    "rejected": CspState.REJECTED,
    "unknown": CspState.DOWN,
}
CONNECTION_STATES = {
    "ordering": CspState.AWAITING_CUSTOMER,
    "requested": CspState.PROVISIONING,
    "pending": CspState.PROVISIONING,
    "available": CspState.READY,
    "down": CspState.DOWN,
    "deleting": CspState.DELETING,
    "deleted": CspState.DELETED,
    "rejected": CspState.REJECTED,
    "unknown": CspState.DOWN,
}
RETRYABLE = {"ThrottlingException", "DirectConnectServerException"}


def client(endpoint_url: str | None = None, attempts: int = 5, **credentials: Any) -> Any:
    """A boto3 Direct Connect client with timeouts and standard retries (throttling, 5xx)."""
    return boto3.client(
        "directconnect",
        endpoint_url=endpoint_url,
        config=Config(
            retries={"mode": "standard", "max_attempts": attempts},
            connect_timeout=5,
            read_timeout=20,
        ),
        **credentials,
    )


@dataclass(frozen=True)
class Delegation:
    """The customer's credentials (a client acting as their account) and their gateway."""

    dx: Any
    virtual_gateway_id: str | None = None
    direct_connect_gateway_id: str | None = None

    def gateway(self) -> dict[str, str]:
        if self.direct_connect_gateway_id:
            return {"directConnectGatewayId": self.direct_connect_gateway_id}
        if self.virtual_gateway_id:
            return {"virtualGatewayId": self.virtual_gateway_id}
        raise OnrampError("ONR-CSP-006", "a delegation needs the customer's VGW or DX gateway id")


def bandwidth(mbps: int) -> str:
    """AWS's words for a hosted connection's speed: 500 -> '500Mbps', 2000 -> '2Gbps'."""
    return f"{mbps // 1000}Gbps" if mbps >= 1000 and mbps % 1000 == 0 else f"{mbps}Mbps"


class AwsAdapter:
    """Hosted VIFs: we allocate the VIF on our interconnect; the customer confirms it."""

    provider = "aws"

    def __init__(
        self,
        dx: Any,
        interconnects: dict[str, str],
        delegations: Mapping[str, Delegation] | None = None,
    ) -> None:
        self.dx = dx
        self.interconnects = interconnects  # "<router>:<port>" -> our dxcon id on that port
        # customer account -> their credentials (a store-backed Mapping is empty when listed)
        self.delegations = delegations if delegations is not None else {}

    def request(self, req: PeeringRequest) -> CspResource:
        (session,) = req.sessions
        conn = self._interconnect(session.port)
        vif = self._vif_named(self.dx, req.idempotency_key, conn)
        if vif is None:
            allocation = _vif_fields(req) | {"asn": req.local_asn}
            vif = self._allocate(
                conn,
                req.idempotency_key,
                "allocate_private_virtual_interface",
                connectionId=conn,
                ownerAccount=req.customer_account,
                newPrivateVirtualInterfaceAllocation=allocation,
            )
        delegation = self.delegations.get(vif["ownerAccount"])
        if delegation is not None and vif["virtualInterfaceState"] == "confirming":
            _call(
                delegation.dx,
                "confirm_private_virtual_interface",
                virtualInterfaceId=vif["virtualInterfaceId"],
                **delegation.gateway(),
            )
            return self.status(vif["virtualInterfaceId"])
        return _vif_resource(vif)

    def status(self, resource_id: str) -> CspResource:
        (vif,) = _call(self.dx, "describe_virtual_interfaces", virtualInterfaceId=resource_id)[
            "virtualInterfaces"
        ]
        return _vif_resource(vif)

    def delete(self, resource_id: str) -> CspResource:
        current = self.status(resource_id)
        if current.state == CspState.DELETED:
            return current  # deleting twice is done once
        _call(self.dx, "delete_virtual_interface", virtualInterfaceId=resource_id)
        return self.status(resource_id)

    def _allocate(self, conn: str, name: str, op: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return _call(self.dx, op, **kwargs)  # type: ignore[no-any-return]
        except OnrampError:
            # botocore may have retried a call whose first answer was lost after AWS made
            # the resource: then the VLAN is "in use" by our own resource of that name
            found = self._vif_named(self.dx, name, conn)
            if found is None:
                raise
            return found

    def _interconnect(self, port: str) -> str:
        try:
            return self.interconnects[port]
        except KeyError:
            raise OnrampError(
                "ONR-CSP-001", f"no AWS interconnect recorded for {port} (inventory csp_connection)"
            ) from None

    @staticmethod
    def _vif_named(dx: Any, name: str, conn: str) -> dict[str, Any] | None:
        vifs = _call(dx, "describe_virtual_interfaces", connectionId=conn)["virtualInterfaces"]
        live = [
            v
            for v in vifs
            if v["virtualInterfaceName"] == name and v["virtualInterfaceState"] != "deleted"
        ]
        return live[0] if live else None


class AwsHostedConnectionAdapter(AwsAdapter):
    """Hosted connections: we allocate a connection (a VLAN on our interconnect) in the
    customer's account; the customer confirms it and creates the VIF on it, with the
    BGP parameters onramp allocated (or onramp does both, delegated). The resource id is
    the hosted connection's.

    The VIF's parameters are kept from `request` until the VIF is made: after a restart the
    orchestration calls `request` again (idempotent), which puts them back."""

    def __init__(
        self,
        dx: Any,
        interconnects: dict[str, str],
        delegations: Mapping[str, Delegation] | None = None,
    ) -> None:
        super().__init__(dx, interconnects, delegations)
        self._vif_specs: dict[str, dict[str, Any]] = {}  # connection id -> the VIF to create

    def request(self, req: PeeringRequest) -> CspResource:
        (session,) = req.sessions
        parent = self._interconnect(session.port)
        conn = self._connection_named(req.idempotency_key, parent)
        if conn is None:
            try:
                conn = _call(
                    self.dx,
                    "allocate_hosted_connection",
                    connectionId=parent,
                    ownerAccount=req.customer_account,
                    bandwidth=bandwidth(req.bandwidth_mbps),
                    connectionName=req.idempotency_key,
                    vlan=session.vlan,
                )
            except OnrampError:  # made by a call whose answer was lost: see _allocate
                conn = self._connection_named(req.idempotency_key, parent)
                if conn is None:
                    raise
        self._vif_specs[conn["connectionId"]] = _vif_fields(req) | {"asn": req.local_asn}
        return self._advance(conn)

    def status(self, resource_id: str) -> CspResource:
        (conn,) = _call(self.dx, "describe_connections", connectionId=resource_id)["connections"]
        return self._advance(conn)

    def delete(self, resource_id: str) -> CspResource:
        (conn,) = _call(self.dx, "describe_connections", connectionId=resource_id)["connections"]
        if conn["connectionState"] == "deleted":
            return _connection_resource(conn, None)
        vif = self._vif_on(resource_id)
        if vif is not None:  # the provider's order: the VIF before its connection
            delegation = self.delegations.get(conn["ownerAccount"])
            dx = delegation.dx if delegation is not None else self.dx  # the VIF's owner's
            _call(dx, "delete_virtual_interface", virtualInterfaceId=vif["virtualInterfaceId"])
        _call(self.dx, "delete_connection", connectionId=resource_id)
        return self.status(resource_id)

    def _advance(self, conn: dict[str, Any]) -> CspResource:
        """The state, after doing the customer's due steps when we hold a delegation: accept
        the connection, then (once AWS has it available) create the VIF on it."""
        cid = conn["connectionId"]
        vif = self._vif_on(cid)
        delegation = self.delegations.get(conn["ownerAccount"])
        for _ in range(2):  # at most: accept, then the VIF
            if delegation is None or vif is not None:
                break
            if conn["connectionState"] == "ordering":
                _call(delegation.dx, "confirm_connection", connectionId=cid)
            elif conn["connectionState"] == "available" and cid in self._vif_specs:
                new = self._vif_specs[cid] | delegation.gateway()
                _call(
                    delegation.dx,
                    "create_private_virtual_interface",
                    connectionId=cid,
                    newPrivateVirtualInterface=new,
                )
            else:
                break
            (conn,) = _call(self.dx, "describe_connections", connectionId=cid)["connections"]
            vif = self._vif_on(cid)
        return _connection_resource(conn, vif, delegated=delegation is not None)

    def _vif_on(self, cid: str) -> dict[str, Any] | None:
        """The VIF on a hosted connection, whatever the customer named it (one VLAN: one VIF)."""
        vifs = _call(self.dx, "describe_virtual_interfaces", connectionId=cid)["virtualInterfaces"]
        live = [v for v in vifs if v["virtualInterfaceState"] not in ("deleted", "deleting")]
        return live[0] if live else None

    def _connection_named(self, name: str, parent: str) -> dict[str, Any] | None:
        conns = _call(self.dx, "describe_hosted_connections", connectionId=parent)["connections"]
        live = [
            c for c in conns if c["connectionName"] == name and c["connectionState"] != "deleted"
        ]
        return live[0] if live else None


def _vif_fields(req: PeeringRequest) -> dict[str, Any]:
    (session,) = req.sessions
    return {
        "virtualInterfaceName": req.idempotency_key,
        "vlan": session.vlan,
        "mtu": req.mtu,
        "authKey": req.md5_key,
        "amazonAddress": session.peer_address,
        "customerAddress": session.local_address,
        "addressFamily": "ipv4",
    }


def _connection_resource(
    conn: dict[str, Any], vif: dict[str, Any] | None, delegated: bool = False
) -> CspResource:
    state = CONNECTION_STATES.get(conn["connectionState"], CspState.DOWN)
    if delegated and state == CspState.AWAITING_CUSTOMER:
        state = CspState.PROVISIONING  # the customer's accept is ours to do
    if state == CspState.READY:
        # the connection is up; the attachment is ready when the VIF on it is: the
        # customer's to make, or ours under a delegation
        waiting = CspState.PROVISIONING if delegated else CspState.AWAITING_CUSTOMER
        state = STATES.get(vif["virtualInterfaceState"], CspState.DOWN) if vif else waiting
    return CspResource(
        provider="aws",
        resource_id=conn["connectionId"],
        state=state,
        provider_state=conn["connectionState"]
        + (f"/{vif['virtualInterfaceState']}" if vif else ""),
        details={
            "vlan": conn["vlan"],
            "bandwidth": conn["bandwidth"],
            "vif": vif["virtualInterfaceId"] if vif else None,
        },
    )


def _call(dx: Any, op: str, **kwargs: Any) -> Any:
    try:
        return getattr(dx, op)(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", str(exc))
        if (
            code in RETRYABLE
            or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
        ):
            raise OnrampError("ONR-CSP-002", f"AWS {op}: {code}: {message}") from exc
        if "does not exist" in message:
            raise OnrampError("ONR-CSP-003", f"AWS {op}: {message}") from exc
        raise OnrampError("ONR-CSP-001", f"AWS {op}: {code}: {message}") from exc
    except BotoCoreError as exc:
        raise OnrampError("ONR-CSP-002", f"AWS {op}: {exc}") from exc


def _vif_resource(vif: dict[str, Any]) -> CspResource:
    state = vif["virtualInterfaceState"]
    return CspResource(
        provider="aws",
        resource_id=vif["virtualInterfaceId"],
        state=STATES.get(state, CspState.DOWN),
        provider_state=state,
        details={
            "vlan": vif["vlan"],
            "asn": vif["asn"],
            "amazon_address": vif.get("amazonAddress"),
            "customer_address": vif.get("customerAddress"),
            "connection": vif["connectionId"],
            "bgp_status": vif.get("bgpPeers", [{}])[0].get("bgpStatus"),
        },
    )
