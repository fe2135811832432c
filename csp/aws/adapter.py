"""AWS Direct Connect, partner side, through boto3: hosted private VIFs on our
interconnects. Idempotency: the VIF's name is the request's idempotency key; a retry
(ours, or botocore's after a lost response) finds the VIF by that name on the connection.
Throttling and 5xx are retried by botocore's standard retry mode with backoff."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from csp.adapter import CspResource, CspState, PeeringRequest
from onramp.errors import OnrampError

STATES = {
    "confirming": CspState.AWAITING_CUSTOMER,
    "verifying": CspState.PROVISIONING,
    "pending": CspState.PROVISIONING,
    "available": CspState.READY,
    "down": CspState.DOWN,
    "testing": CspState.READY,
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


class AwsAdapter:
    provider = "aws"

    def __init__(self, dx: Any, connections: dict[str, str]) -> None:
        self.dx = dx
        self.connections = connections  # "<router>:<port>" -> our dxcon id on that port

    def request(self, req: PeeringRequest) -> CspResource:
        conn = self.connections[req.port]
        found = self._by_name(conn, req.idempotency_key)
        if found is not None:
            return found  # an earlier attempt made it
        try:
            vif = self._call(
                "allocate_private_virtual_interface",
                connectionId=conn,
                ownerAccount=req.customer_account,
                newPrivateVirtualInterfaceAllocation={
                    "virtualInterfaceName": req.idempotency_key,
                    "vlan": req.vlan,
                    "asn": req.local_asn,
                    "mtu": req.mtu,
                    "authKey": req.md5_key,
                    "amazonAddress": req.peer_address,
                    "customerAddress": req.local_address,
                    "addressFamily": "ipv4",
                },
            )
        except OnrampError:
            # botocore may have retried a call whose first answer was lost after AWS made
            # the VIF: then the VLAN is "in use" by our own VIF of that name
            found = self._by_name(conn, req.idempotency_key)
            if found is None:
                raise
            return found
        return _resource(vif)

    def status(self, resource_id: str) -> CspResource:
        (vif,) = self._call("describe_virtual_interfaces", virtualInterfaceId=resource_id)[
            "virtualInterfaces"
        ]
        return _resource(vif)

    def delete(self, resource_id: str) -> CspResource:
        current = self.status(resource_id)
        if current.state == CspState.DELETED:
            return current  # deleting twice is done once
        self._call("delete_virtual_interface", virtualInterfaceId=resource_id)
        return self.status(resource_id)

    def _by_name(self, conn: str, name: str) -> CspResource | None:
        vifs = self._call("describe_virtual_interfaces", connectionId=conn)["virtualInterfaces"]
        live = [
            v
            for v in vifs
            if v["virtualInterfaceName"] == name and v["virtualInterfaceState"] != "deleted"
        ]
        return _resource(live[0]) if live else None

    def _call(self, op: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.dx, op)(**kwargs)
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


def _resource(vif: dict[str, Any]) -> CspResource:
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
        },
    )
