"""Azure ExpressRoute, provider side, through azure-mgmt-network: from the customer's
service key, the cross-connection is set Provisioned and the private peering is created
with its primary and secondary /30s, VLAN and shared key; deleted in the provider's order
(the peering, then de-provisioning).

The resource id is the cross-connection's ARM id. Every step is idempotent: ARM's PUT is
(a retry after a lost answer writes the same state again), and each step first reads what
is there. Long-running operations are awaited up to `lro_timeout_s`; what is still running
then is picked up by `status` (polled while waiting), which also creates the peering once
the cross-connection is Provisioned. Throttling and 5xx are retried by azure-core's retry
policy with backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Interface
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.core.pipeline import PipelineRequest
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy
from azure.mgmt.core.tools import parse_resource_id
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import (
    ExpressRouteCrossConnection,
    ExpressRouteCrossConnectionPeering,
)

from onramp.core.errors import OnrampError
from onramp.csp.adapter import CspResource, CspState, PeeringRequest, ResourceDetails, Session

PEERING = "AzurePrivatePeering"
SCOPE = "https://management.azure.com/.default"


class StaticToken:
    """A credential for a local simulator: ours is any token; a customer's names its service
    principal (the simulator's /_sim/customers gives it)."""

    def __init__(self, token: str = "onramp-simulator") -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, 2**31 - 1)


class _PlainHttpBearer(ARMChallengeAuthenticationPolicy):
    """The bearer policy with HTTPS enforcement off: only for a local simulator's http URL."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        request.context.options["enforce_https"] = False
        super().on_request(request)


def network(
    subscription_id: str,
    endpoint_url: str | None = None,
    credential: Any = None,
    attempts: int = 5,
    backoff_s: float = 0.8,
    polling_interval_s: float = 5.0,
) -> NetworkManagementClient:
    """A NetworkManagementClient for Azure, or for the simulator at `endpoint_url` (then a
    static token over plain HTTP). Timeouts and retries (429, 5xx) are azure-core's."""
    kwargs: dict[str, Any] = {
        "retry_total": attempts - 1,
        "retry_backoff_factor": backoff_s,
        "polling_interval": polling_interval_s,
        "connection_timeout": 5,
        "read_timeout": 20,
    }
    if endpoint_url is not None:
        credential = credential or StaticToken()
        kwargs["base_url"] = endpoint_url
        kwargs["authentication_policy"] = _PlainHttpBearer(credential, SCOPE)
    return NetworkManagementClient(credential, subscription_id, **kwargs)


class AzureAdapter:
    """ExpressRoute private peerings on our port pairs (primary and secondary)."""

    provider = "azure"

    def __init__(
        self, network: NetworkManagementClient, ports: dict[str, str], lro_timeout_s: float = 60
    ) -> None:
        self.network = network
        self.ports = ports  # "<router>:<port>" -> the ExpressRoute port name on that port
        self.lro_timeout_s = lro_timeout_s
        self._peerings: dict[str, dict[str, Any]] = {}  # resource id -> the peering to create

    def request(self, req: PeeringRequest) -> CspResource:
        found = _call(
            "list cross-connections",
            lambda: list(
                self.network.express_route_cross_connections.list(
                    filter=f"name eq '{req.customer_account}'"
                )
            ),
        )
        if not found:
            raise OnrampError(
                "ONR-CSP-006",
                f"Azure has no ExpressRoute circuit with service key {req.customer_account} "
                "on our ports",
            )
        xc = found[0]
        self._check(xc, req)
        self._peerings[str(xc.id)] = _peering(req)
        return self._advance(str(xc.id))

    def status(self, resource_id: str) -> CspResource:
        return self._advance(resource_id)

    def delete(self, resource_id: str) -> CspResource:
        rg, name = _where(resource_id)
        self._peerings.pop(resource_id, None)
        ops = self.network.express_route_cross_connection_peerings
        xc = self._read(resource_id)
        if xc is None:
            return _resource(resource_id, None, None, pending=False)
        if self._peering_of(resource_id) is not None:
            _call(
                "delete the private peering",
                lambda: ops.begin_delete(rg, name, PEERING).wait(self.lro_timeout_s),
            )
        state = xc.service_provider_provisioning_state
        if self._peering_of(resource_id) is None and state == "Provisioned":
            self._set_provisioning(resource_id, xc, "NotProvisioned")
        return self.status(resource_id)

    # the steps ------------------------------------------------------------
    def _advance(self, resource_id: str) -> CspResource:
        """Read the state; do the next step of a request this adapter holds, if one is due."""
        xc = self._read(resource_id)
        wanted = self._peerings.get(resource_id)
        if xc is None or wanted is None:
            return _resource(resource_id, xc, xc and self._peering_of(resource_id), pending=False)
        if xc.service_provider_provisioning_state == "NotProvisioned":
            self._set_provisioning(resource_id, xc, "Provisioned")
            xc = self._read(resource_id)
        peering = self._peering_of(resource_id)
        provisioned = xc is not None and xc.service_provider_provisioning_state == "Provisioned"
        if provisioned and (peering is None or not _same(peering, wanted)):
            rg, name = _where(resource_id)
            ops = self.network.express_route_cross_connection_peerings
            _call(
                "create the private peering",
                lambda: ops.begin_create_or_update(
                    rg, name, PEERING, ExpressRouteCrossConnectionPeering({"properties": wanted})
                ).wait(self.lro_timeout_s),
            )
            xc, peering = self._read(resource_id), self._peering_of(resource_id)
        return _resource(resource_id, xc, peering, pending=True)

    def _set_provisioning(
        self, resource_id: str, xc: ExpressRouteCrossConnection, state: str
    ) -> None:
        rg, name = _where(resource_id)
        xc.service_provider_provisioning_state = state
        ops = self.network.express_route_cross_connections
        _call(
            f"set {name} {state}",
            lambda: ops.begin_create_or_update(rg, name, xc).wait(self.lro_timeout_s),
        )

    def _check(self, xc: ExpressRouteCrossConnection, req: PeeringRequest) -> None:
        """The circuit must be where our allocation put it: our ports, its S-tag."""
        if len(req.sessions) != 2:
            raise OnrampError("ONR-CSP-001", "an ExpressRoute peering needs two sessions")
        primary, secondary = req.sessions
        ours = (self._port(primary), self._port(secondary), primary.vlan, secondary.vlan)
        theirs = (xc.primary_azure_port, xc.secondary_azure_port, xc.s_tag, xc.s_tag)
        if ours != theirs:
            raise OnrampError(
                "ONR-CSP-001",
                f"circuit {xc.name} is on ports {theirs[0]}/{theirs[1]} S-tag {xc.s_tag}; the "
                f"request has {ours[0]}/{ours[1]} S-tag {primary.vlan}/{secondary.vlan}",
            )
        if primary.inner_vlan is None or primary.inner_vlan != secondary.inner_vlan:
            raise OnrampError("ONR-CSP-001", "both sessions need the same inner VLAN (vlanId)")

    def _port(self, session: Session) -> str:
        try:
            return self.ports[session.port]
        except KeyError:
            raise OnrampError(
                "ONR-CSP-001",
                f"no ExpressRoute port recorded for {session.port} (inventory csp_connection)",
            ) from None

    def _read(self, resource_id: str) -> ExpressRouteCrossConnection | None:
        rg, name = _where(resource_id)
        try:
            xc: ExpressRouteCrossConnection = _call(
                "read", lambda: self.network.express_route_cross_connections.get(rg, name)
            )
            return xc
        except OnrampError as exc:
            if isinstance(exc.__cause__, ResourceNotFoundError):
                return None  # the customer deleted the circuit
            raise

    def _peering_of(self, resource_id: str) -> Any:
        rg, name = _where(resource_id)
        ops = self.network.express_route_cross_connection_peerings
        try:
            return _call("read peering", lambda: ops.get(rg, name, PEERING))
        except OnrampError as exc:
            if isinstance(exc.__cause__, ResourceNotFoundError):
                return None
            raise


def _peering(req: PeeringRequest) -> dict[str, Any]:
    """The ARM body of the private peering: each /30 as a network, our address its first."""
    primary, secondary = req.sessions
    body: dict[str, Any] = {
        "peeringType": PEERING,
        "peerASN": req.local_asn,
        "primaryPeerAddressPrefix": _network(primary),
        "secondaryPeerAddressPrefix": _network(secondary),
        "vlanId": primary.inner_vlan,
    }
    if req.md5_key:
        body["sharedKey"] = req.md5_key
    return body


def _network(session: Session) -> str:
    return str(IPv4Interface(session.local_address).network)


def _same(peering: Any, wanted: dict[str, Any]) -> bool:
    return bool(
        peering.peer_asn == wanted["peerASN"]
        and peering.primary_peer_address_prefix == wanted["primaryPeerAddressPrefix"]
        and peering.secondary_peer_address_prefix == wanted["secondaryPeerAddressPrefix"]
        and peering.vlan_id == wanted["vlanId"]
        and peering.shared_key == wanted.get("sharedKey")
        and peering.provisioning_state != "Failed"
    )


def _where(resource_id: str) -> tuple[str, str]:
    parts = parse_resource_id(resource_id)
    return str(parts["resource_group"]), str(parts["name"])


def _resource(resource_id: str, xc: Any, peering: Any, pending: bool) -> CspResource:
    """One normalized state from the cross-connection's and the peering's."""
    if xc is None:
        return CspResource("azure", resource_id, CspState.DELETED, "circuit deleted")
    provider = _word(xc.service_provider_provisioning_state)
    details: ResourceDetails = {"s_tag": xc.s_tag, "service_key": xc.name}
    if peering is None:
        state = {
            "Provisioning": CspState.PROVISIONING,
            "Provisioned": CspState.PROVISIONING,
            "Deprovisioning": CspState.DELETING,
        }.get(provider, CspState.PROVISIONING if pending else CspState.DELETED)
        return CspResource("azure", resource_id, state, provider, details)
    p_state, admin = _word(peering.provisioning_state), _word(peering.state)
    details |= {
        "vlan_id": peering.vlan_id,
        "peer_asn": peering.peer_asn,
        "primary_prefix": peering.primary_peer_address_prefix,
        "secondary_prefix": peering.secondary_peer_address_prefix,
    }
    if p_state == "Succeeded":
        state = CspState.READY if admin == "Enabled" else CspState.DOWN
    else:
        state = {
            "Deleting": CspState.DELETING,
            "Failed": CspState.REJECTED,
        }.get(p_state, CspState.PROVISIONING)
    return CspResource("azure", resource_id, state, f"{provider}/{p_state}/{admin}", details)


def _word(value: Any) -> str:
    """The provider's word: the SDK's enums are str subclasses that print their class."""
    return str(getattr(value, "value", value))


def _call(what: str, fn: Callable[[], Any]) -> Any:
    """Azure errors as onramp codes; the cause is kept for callers that look (404s)."""
    try:
        return fn()
    except ResourceNotFoundError as exc:
        raise OnrampError("ONR-CSP-003", f"Azure {what}: {exc.message}") from exc
    except HttpResponseError as exc:
        code = exc.status_code or 0
        reason = f"Azure {what}: {exc.error.code if exc.error else code}: {exc.message}"
        if code == 429 or code >= 500:
            raise OnrampError("ONR-CSP-002", reason) from exc
        raise OnrampError("ONR-CSP-001", reason) from exc
    except AzureError as exc:  # no answer at all: connection refused, timed out
        raise OnrampError("ONR-CSP-002", f"Azure {what}: {exc}") from exc
