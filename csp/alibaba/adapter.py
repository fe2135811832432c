"""Alibaba Cloud Express Connect, partner side, through alibabacloud-vpc20160428: a hosted
("shared", virtual) physical connection on our physical connection for the tenant's
account; the tenant confirms it, pays, and makes its virtual border router (VBR) and BGP
peer on it with the addresses and ASN we give (in the connection's description, and in
`connector customer-config`).

Idempotency: the create carries a client Token derived from the idempotency key (Alibaba
answers the same id to the same token), and a retry (ours, or a restarted worker's) first
finds the connection by its name. Throttling and 5xx are retried by the SDK's own retry
policy (darabonba RetryOptions). The resource id is the hosted connection's id.

The tenant's VBR is theirs: the partner API does not see it, so READY is the hosted
connection Enabled (the BGP gate then checks the session). No MD5 key is sent (the tenant
sets its BGP group's AuthKey; constraints.yaml: md5 none).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from hashlib import sha256
from ipaddress import IPv4Interface

from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.models import Config
from alibabacloud_vpc20160428 import models as vpc
from alibabacloud_vpc20160428.client import Client
from darabonba.policy.retry import RetryCondition, RetryOptions

from onramp.core.errors import OnrampError
from onramp.csp.adapter import CspResource, CspState, PeeringRequest

RETRYABLE = [
    "Throttling",
    "Throttling.User",
    "Throttling.Api",
    "ServiceUnavailable",
    "InternalError",
]
# (VirtualPhysicalConnectionStatus, Status) -> ours; BusinessStatus other than Normal on an
# Enabled connection: DOWN (locked: its traffic stops)
STATES = {
    ("UnConfirmed", "Confirmed"): CspState.AWAITING_CUSTOMER,  # the tenant confirms
    ("Confirmed", "Allocating"): CspState.PROVISIONING,
    ("Confirmed", "Allocated"): CspState.PROVISIONING,
    ("Confirmed", "Enabled"): CspState.READY,
    ("UnConfirmed", "Rejected"): CspState.REJECTED,
    ("Confirmed", "Rejected"): CspState.REJECTED,
    ("UnConfirmed", "Canceled"): CspState.REJECTED,
    ("Confirmed", "Terminated"): CspState.DELETING,
}


def client(
    endpoint: str | None = None,
    region: str = "eu-west-1",
    key: tuple[str, str] | None = None,
    attempts: int = 4,
    backoff_ms: int = 1000,
) -> Client:
    """The VPC API client. With an endpoint (the simulator): plain HTTP there and the
    partner's simulated AccessKey; otherwise Alibaba's, the key from the SDK's usual
    credential chain (ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET)."""
    retry = RetryOptions(retryable=True, retry_condition=[RetryCondition(
        max_attempts=attempts, error_code=RETRYABLE,
        exception=["ThrottlingException", "ServerException"],
        backoff={"policy": "Exponential", "period": backoff_ms, "cap": 30_000},
    )])  # fmt: skip
    if endpoint is None:
        from alibabacloud_credentials.client import Client as Credentials

        config = Config(credential=Credentials(), region_id=region, retry_options=retry)
        config.endpoint = f"vpc.{region}.aliyuncs.com"
    else:
        from onramp.csp.alibaba.simulator import PARTNER_KEY

        ak, secret = key or PARTNER_KEY
        config = Config(access_key_id=ak, access_key_secret=secret, region_id=region,
                        endpoint=endpoint.removeprefix("http://"), protocol="http",
                        retry_options=retry)  # fmt: skip
    return Client(config)


def connection_name(idempotency_key: str) -> str:
    """A name (2-128, a letter first, [-_a-zA-Z0-9]) for an idempotency key."""
    return "onramp-" + re.sub(r"[^a-zA-Z0-9_-]+", "-", idempotency_key).strip("-")


def spec(mbps: int) -> str:
    """Alibaba's words for a bandwidth: 500 -> '500M', 2000 -> '2G'."""
    return f"{mbps // 1000}G" if mbps >= 1000 and mbps % 1000 == 0 else f"{mbps}M"


def told(req: PeeringRequest) -> str:
    """What the tenant configures on its VBR, in the words of CreateVirtualBorderRouter and
    CreateBgpGroup (the connection's description: the tenant's console shows it)."""
    (session,) = req.sessions
    theirs, ours = IPv4Interface(session.peer_address), IPv4Interface(session.local_address)
    return (
        f"onramp {req.idempotency_key}: VBR LocalGatewayIp {theirs.ip} PeerGatewayIp {ours.ip} "
        f"PeeringSubnetMask {theirs.netmask} PeerAsn {req.local_asn}"
    )


class AlibabaAdapter:
    """Hosted connections: we make it for the tenant's account; they confirm and peer."""

    provider = "alibaba"

    def __init__(self, api: Client, region: str, connections: dict[str, str]) -> None:
        self.api = api
        self.region = region
        self.connections = connections  # "<router>:<port>" -> our physical connection's id

    def request(self, req: PeeringRequest) -> CspResource:
        (session,) = req.sessions
        parent = self._parent(session.port)
        name = connection_name(req.idempotency_key)
        found = self._find(parent=parent, name=name)
        if found is None:
            with _errors("CreateVirtualPhysicalConnection"):
                made = self.api.create_virtual_physical_connection(
                    vpc.CreateVirtualPhysicalConnectionRequest(
                        region_id=self.region, physical_connection_id=parent,
                        vpconn_ali_uid=req.customer_account, vlan_id=session.vlan,
                        spec=spec(req.bandwidth_mbps),
                        order_mode="PayByVirtualPhysicalConnectionOwner", name=name,
                        description=told(req),
                        token=sha256(req.idempotency_key.encode()).hexdigest()[:64],
                    )
                ).body.virtual_physical_connection  # fmt: skip
            found = self._find(ident=made)
            if found is None:
                raise OnrampError("ONR-CSP-003", f"Alibaba {made} vanished after its create")
        return self._resource(found)

    def status(self, resource_id: str) -> CspResource:
        found = self._find(ident=resource_id)
        if found is None:
            raise OnrampError("ONR-CSP-003", f"Alibaba hosted connection {resource_id} not found")
        return self._resource(found)

    def delete(self, resource_id: str) -> CspResource:
        """Terminate (an Enabled one), then delete; gone is DELETED."""
        found = self._find(ident=resource_id)
        if found is not None:
            if found.status == "Enabled":
                with _errors("TerminatePhysicalConnection"):
                    self.api.terminate_physical_connection(vpc.TerminatePhysicalConnectionRequest(
                        region_id=self.region, physical_connection_id=resource_id))  # fmt: skip
            with _errors("DeletePhysicalConnection"):
                self.api.delete_physical_connection(vpc.DeletePhysicalConnectionRequest(
                    region_id=self.region, physical_connection_id=resource_id))  # fmt: skip
        return CspResource("alibaba", resource_id, CspState.DELETED, "not found")

    def _find(
        self, *, parent: str | None = None, name: str | None = None, ident: str | None = None
    ) -> vpc.ListVirtualPhysicalConnectionsResponseBodyVirtualPhysicalConnections | None:
        token: str | None = None
        with _errors("ListVirtualPhysicalConnections"):
            while True:
                page = self.api.list_virtual_physical_connections(
                    vpc.ListVirtualPhysicalConnectionsRequest(
                        region_id=self.region, physical_connection_id=parent,
                        virtual_physical_connection_ids=[ident] if ident else None,
                        max_results=50, next_token=token,
                    )
                ).body  # fmt: skip
                for item in page.virtual_physical_connections or []:
                    if (ident is None or item.physical_connection_id == ident) and (
                        name is None or item.name == name
                    ):
                        return item
                token = page.next_token
                if not token:
                    return None

    def _parent(self, port: str) -> str:
        try:
            return self.connections[port]
        except KeyError:
            raise OnrampError(
                "ONR-CSP-001",
                f"no Alibaba physical connection recorded for {port} (inventory csp_connection)",
            ) from None

    def _resource(
        self, found: vpc.ListVirtualPhysicalConnectionsResponseBodyVirtualPhysicalConnections
    ) -> CspResource:
        word = f"{found.virtual_physical_connection_status}/{found.status}"
        state = STATES.get(
            (str(found.virtual_physical_connection_status), str(found.status)),
            CspState.PROVISIONING,
        )
        if state == CspState.READY and found.business_status != "Normal":
            state, word = CspState.DOWN, f"{word}/{found.business_status}"
        return CspResource(
            provider="alibaba",
            resource_id=str(found.physical_connection_id),
            state=state,
            provider_state=word,
            details={
                "vlan": int(found.vlan_id or 0),
                "connection": str(found.parent_physical_connection_id),
                "customer_account": str(found.ali_uid),
                "bandwidth": str(found.spec),
            },
        )


@contextmanager
def _errors(op: str) -> Iterator[None]:
    """The API's errors as onramp codes: throttling/5xx after the retries -> 002, not found
    -> 003, a tenant UID Alibaba does not know -> 006, any other refusal -> 001."""
    try:
        yield
    except AlibabaCloudException as exc:
        status = int(getattr(exc, "status_code", 0) or 0)
        code = str(getattr(exc, "code", ""))
        said = f"Alibaba {op}: {status} {code}: {exc.message}"
        if status >= 500 or status == 429 or code.startswith("Throttling") or not status:
            raise OnrampError("ONR-CSP-002", said) from exc
        if code.startswith("ResourceNotFound") and op != "CreateVirtualPhysicalConnection":
            raise OnrampError("ONR-CSP-003", said) from exc
        if "VpconnAliUid" in code:
            raise OnrampError("ONR-CSP-006", said) from exc
        raise OnrampError("ONR-CSP-001", said) from exc
    except OSError as exc:  # no answer at all
        raise OnrampError("ONR-CSP-002", f"Alibaba {op}: {exc}") from exc
