"""IBM Cloud Direct Link Connect, provider side, through ibm-cloud-networking-services'
DirectLinkProviderV2: a provider-managed gateway on our port, in the customer's account;
the customer approves it in their account, IBM provisions it.

Idempotency: the gateway's name comes from the request's idempotency key (names are unique
per provider), so a retry finds it by listing first; a create answered 409 after a lost
answer was made by the earlier attempt. Throttling and 5xx are retried by the SDK's own
retries (`enable_retries`, POST included). The resource id is the gateway's id.

Addresses: we assign both (`bgp_cer_cidr` ours, `bgp_ibm_cidr` IBM's) from our pool, as
the API's manual IP assignment allows. The provider API has no BGP key field: `md5_key`
is not sent (constraints.yaml: md5 none).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from hashlib import sha256
from typing import Any

import requests
from ibm_cloud_networking_services import DirectLinkProviderV2
from ibm_cloud_networking_services.direct_link_provider_v2 import (
    ProviderGateway,
    ProviderGatewayPortIdentity,
)
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator

from onramp.core.errors import OnrampError
from onramp.csp.adapter import CspResource, CspState, PeeringRequest

API_VERSION = "2020-04-28"  # the first date the provider API v2 answers to
Status = ProviderGateway.OperationalStatusEnum
STATES = {
    Status.CREATE_PENDING: CspState.AWAITING_CUSTOMER,  # the customer approves in their account
    Status.CONFIGURING: CspState.PROVISIONING,
    Status.PROVISIONED: CspState.READY,
    Status.CREATE_REJECTED: CspState.REJECTED,
    Status.DELETE_PENDING: CspState.DELETING,
}
# provisioned, then its BGP session idle: the customer's side is gone (an unknown word from
# a newer API reads as provisioning: "code must tolerate unexpected values")
BGP_DOWN = ProviderGateway.BgpStatusEnum.IDLE


def client(
    endpoint: str | None = None,
    apikey: str | None = None,
    retries: int = 4,
    backoff_s: float = 30.0,
) -> DirectLinkProviderV2:
    """The provider API client. With an endpoint (the simulator): its IAM and API there;
    otherwise IBM's, the key from the SDK's usual environment (DIRECT_LINK_PROVIDER_APIKEY)."""
    if endpoint is None:
        service = DirectLinkProviderV2.new_instance(version=API_VERSION)
    else:
        from onramp.csp.ibm.simulator import PARTNER_APIKEY

        service = DirectLinkProviderV2(
            API_VERSION, IAMAuthenticator(apikey or PARTNER_APIKEY, url=endpoint)
        )
        service.set_service_url(f"{endpoint}/provider/v2")
    service.enable_retries(max_retries=retries, retry_interval=backoff_s)
    return service


def gateway_name(idempotency_key: str) -> str:
    """A gateway name ([a-zA-Z][-_a-zA-Z0-9]*[a-zA-Z0-9], at most 63) for a key; a long key
    keeps its start and gets a hash so that two keys never share a name."""
    name = "onramp-" + re.sub(r"[^a-zA-Z0-9]+", "-", idempotency_key).strip("-")
    if len(name) > 63:
        name = f"{name[:54].rstrip('-')}-{sha256(idempotency_key.encode()).hexdigest()[:8]}"
    return name


class IbmAdapter:
    """Direct Link Connect gateways: we create it in the customer's account; they approve."""

    provider = "ibm"

    def __init__(self, dl: DirectLinkProviderV2, ports: dict[str, str]) -> None:
        self.dl = dl
        self.ports = ports  # "<router>:<port>" -> IBM's id of our provider port

    def request(self, req: PeeringRequest) -> CspResource:
        (session,) = req.sessions
        port = self._port(session.port)
        name = gateway_name(req.idempotency_key)
        found = self._named(name)
        if found is None:
            with _errors("create_provider_gateway"):
                try:
                    made = self.dl.create_provider_gateway(
                        bgp_asn=req.local_asn, customer_account_id=req.customer_account,
                        name=name, port=ProviderGatewayPortIdentity(id=port),
                        speed_mbps=req.bandwidth_mbps, bgp_cer_cidr=session.local_address,
                        bgp_ibm_cidr=session.peer_address, vlan=session.vlan,
                    ).get_result()  # fmt: skip
                    found = ProviderGateway.from_dict(made)
                except ApiException as exc:
                    if exc.status_code != 409 or (found := self._named(name)) is None:
                        raise  # a conflict of our own name: made by the attempt whose answer was lost
        return self._resource(found)

    def status(self, resource_id: str) -> CspResource:
        with _errors("get_provider_gateway"):
            got = self.dl.get_provider_gateway(resource_id).get_result()
        return self._resource(ProviderGateway.from_dict(got))

    def delete(self, resource_id: str) -> CspResource:
        """Asks once; a provisioned gateway then waits for the customer's approval
        (DELETING), gone is DELETED."""
        with _errors("delete_provider_gateway"):
            try:
                got = self.dl.get_provider_gateway(resource_id).get_result()
                if got["operational_status"] != Status.DELETE_PENDING:
                    self.dl.delete_provider_gateway(resource_id)
                    got = self.dl.get_provider_gateway(resource_id).get_result()
            except ApiException as exc:
                if exc.status_code != 404:
                    raise
                return CspResource("ibm", resource_id, CspState.DELETED, "not_found")
        return self._resource(ProviderGateway.from_dict(got))

    def _named(self, name: str) -> ProviderGateway | None:
        start: str | None = None
        with _errors("list_provider_gateways"):
            while True:
                page: dict[str, Any] = self.dl.list_provider_gateways(start=start).get_result()
                for item in page.get("gateways", []):
                    if item["name"] == name:
                        return ProviderGateway.from_dict(item)
                href = (page.get("next") or {}).get("href")
                start = (page.get("next") or {}).get("start")
                if not href or not start:
                    return None

    def _port(self, port: str) -> str:
        try:
            return self.ports[port]
        except KeyError:
            raise OnrampError(
                "ONR-CSP-001",
                f"no IBM Direct Link port recorded for {port} (inventory csp_connection)",
            ) from None

    def _resource(self, gw: ProviderGateway) -> CspResource:
        state = STATES.get(gw.operational_status, CspState.PROVISIONING)
        word = gw.operational_status
        if state == CspState.READY and gw.bgp_status == BGP_DOWN:
            state, word = CspState.BGP_DOWN, f"{word}/bgp {gw.bgp_status}"
        return CspResource(
            provider="ibm",
            resource_id=gw.id,
            state=state,
            provider_state=word,
            details={
                "vlan": gw.vlan or 0,
                "asn": gw.bgp_asn,
                "connection": gw.port.id,
                "bgp_status": gw.bgp_status,
                "customer_address": gw.bgp_cer_cidr,
                "cloud_address": gw.bgp_ibm_cidr,
                "customer_account": gw.customer_account_id,
                "bandwidth": f"{gw.speed_mbps}Mbps",
            },
        )


@contextmanager
def _errors(op: str) -> Iterator[None]:
    """The API's errors as onramp codes: throttling/5xx after the retries -> 002, not found
    -> 003, a customer account IBM does not know -> 006, any other refusal -> 001."""
    try:
        yield
    except ApiException as exc:
        said = f"IBM {op}: {exc.status_code} {_code(exc)}: {exc.message}"
        if exc.status_code >= 500 or exc.status_code == 429:
            raise OnrampError("ONR-CSP-002", said) from exc
        if exc.status_code == 404 and op != "create_provider_gateway":
            raise OnrampError("ONR-CSP-003", said) from exc
        if "customer_account_id" in str(exc.message):
            raise OnrampError("ONR-CSP-006", said) from exc
        raise OnrampError("ONR-CSP-001", said) from exc
    except requests.exceptions.RequestException as exc:  # retries used up, or no answer at all
        raise OnrampError("ONR-CSP-002", f"IBM {op}: {exc}") from exc


def _code(exc: ApiException) -> str:
    try:
        errors = exc.http_response.json().get("errors") if exc.http_response is not None else None
    except ValueError:
        return ""
    return ",".join(str(e.get("code", "")) for e in errors or [])
