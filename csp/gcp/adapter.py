"""Google Cloud Partner Interconnect, partner side, through google-cloud-compute: a
PARTNER_PROVIDER interconnect attachment on our interconnect for the customer's pairing key.

Idempotency: the attachment's name comes from the request's idempotency key, so a retry
(ours, or the SDK's after a lost response) finds it by name: get first; an insert answered
409 alreadyExists was made by an earlier attempt. Throttling and 5xx are retried with
backoff (`retrying`). The resource id is "<region>/<attachment name>"; the region is the
pairing key's.

Polling: the SDK's `insert()` returns an ExtendedOperation whose `result()` polls through a
RegionOperationsClient the SDK builds without our `api_endpoint` (it would ask
compute.googleapis.com), so the adapter calls `insert_unary`/`delete_unary` and waits on the
operation with its own RegionOperationsClient on the same endpoint.

Addresses: Google picks the /29; we offer ours in `candidate_subnets` and report the
addresses Google assigned (`details`), which the orchestration configures. A partner
attachment has no field for an MD5 key: `md5_key` is not sent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from hashlib import sha256
from ipaddress import IPv4Interface

from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.api_core.retry import Retry, if_exception_type
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import compute_v1

from onramp.core.errors import OnrampError
from onramp.csp.adapter import CspResource, CspState, PeeringRequest

API = "https://www.googleapis.com/compute/v1/"
STATES = {
    "PENDING_PARTNER": CspState.PROVISIONING,
    "PARTNER_REQUEST_RECEIVED": CspState.PROVISIONING,
    "PENDING_CUSTOMER": CspState.AWAITING_CUSTOMER,
    "UNPROVISIONED": CspState.PROVISIONING,  # activated, turn-up not complete
    "ACTIVE": CspState.READY,
    "DEFUNCT": CspState.REJECTED,  # DOWN once it was ACTIVE: see GcpAdapter._resource
}
# DEFUNCT only says the customer's side is gone: before ACTIVE a refusal (REJECTED), after
# it a working attachment lost (DOWN). Compute keeps no history, so the attachment carries
# this label from the first read that saw it ACTIVE, for any adapter (a restarted worker's).
WAS_ACTIVE = "onramp-was-active"
RETRYABLE = if_exception_type(
    exceptions.TooManyRequests, exceptions.ServiceUnavailable, exceptions.InternalServerError
)
DONE = compute_v1.Operation.Status.DONE
PAIRING_KEY = re.compile(r"[^/]+/(?P<region>[a-z]+-[a-z]+[0-9]+)/[12]")
DESCRIBED_KEY = re.compile(r"pairing key (\S+)")


def retrying(initial_s: float = 1.0, maximum_s: float = 30.0, timeout_s: float = 120.0) -> Retry:
    """Retries with exponential backoff on throttling and 5xx, for `timeout_s` in all."""
    return Retry(
        predicate=RETRYABLE, initial=initial_s, maximum=maximum_s, multiplier=2.0, timeout=timeout_s
    )


@dataclass(frozen=True)
class Clients:
    """The two clients the adapter needs, on one endpoint."""

    attachments: compute_v1.InterconnectAttachmentsClient
    operations: compute_v1.RegionOperationsClient


def client(endpoint: str | None = None, credentials: Credentials | None = None) -> Clients:
    """Compute clients over REST. With an endpoint (the simulator) and no credentials:
    anonymous, plain HTTP; otherwise Google's (Application Default Credentials if None)."""
    options = ClientOptions(api_endpoint=endpoint) if endpoint else None
    if endpoint and credentials is None:
        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    return Clients(
        compute_v1.InterconnectAttachmentsClient(
            credentials=credentials, transport="rest", client_options=options
        ),
        compute_v1.RegionOperationsClient(
            credentials=credentials, transport="rest", client_options=options
        ),
    )


def attachment_name(idempotency_key: str) -> str:
    """An RFC 1035 name ([a-z]([-a-z0-9]*[a-z0-9])?, at most 63) for an idempotency key;
    a long key keeps its start and gets a hash so that two keys never share a name."""
    name = "onr-" + re.sub(r"[^a-z0-9]+", "-", idempotency_key.lower()).strip("-")
    if len(name) > 63:
        name = f"{name[:54].rstrip('-')}-{sha256(idempotency_key.encode()).hexdigest()[:8]}"
    return name


def bandwidth(mbps: int) -> str:
    """Google's words for an attachment's capacity: 100 -> 'BPS_100M', 2000 -> 'BPS_2G'."""
    return f"BPS_{mbps // 1000}G" if mbps >= 1000 and mbps % 1000 == 0 else f"BPS_{mbps}M"


def key_region(pairing_key: str) -> str:
    """The region in a pairing key `<uuid>/<region>/<1|2>`: the attachment is made there."""
    shape = PAIRING_KEY.fullmatch(pairing_key)
    if shape is None:
        raise OnrampError(
            "ONR-CSP-006", f"GCP pairing key {pairing_key!r} is not <uuid>/<region>/<1|2>"
        )
    return shape.group("region")


class GcpAdapter:
    """Partner attachments: we make ours for the customer's pairing key; the customer
    activates theirs."""

    provider = "gcp"

    def __init__(
        self,
        compute: Clients,
        project: str,
        interconnects: dict[str, str],
        *,
        partner_name: str = "onramp",
        portal_url: str = "https://onramp.example.net/",
        retry: Retry | None = None,
        operation_timeout_s: float = 300.0,
    ) -> None:
        self.compute = compute
        self.project = project
        self.interconnects = interconnects  # "<router>:<port>" -> our interconnect's name
        self.partner_name = partner_name  # partner metadata Google shows the customer
        self.portal_url = portal_url
        self.retry = retry or retrying()
        self.operation_timeout_s = operation_timeout_s

    def request(self, req: PeeringRequest) -> CspResource:
        (session,) = req.sessions
        interconnect = self._interconnect(session.port)
        region, name = key_region(req.customer_account), attachment_name(req.idempotency_key)
        found = self._get(region, name)
        if found is None:
            self._insert(region, self._attachment(req, name, interconnect))
            found = self._get(region, name)
            if found is None:
                raise OnrampError("ONR-CSP-003", f"GCP {region}/{name} vanished after its insert")
        return self._resource(found)

    def status(self, resource_id: str) -> CspResource:
        region, name = _split(resource_id)
        found = self._get(region, name)
        if found is None:
            raise OnrampError("ONR-CSP-003", f"GCP interconnect attachment {resource_id} not found")
        return self._resource(found)

    def delete(self, resource_id: str) -> CspResource:
        region, name = _split(resource_id)
        with _errors("delete"):
            try:
                operation = self.compute.attachments.delete_unary(
                    project=self.project, region=region, interconnect_attachment=name,
                    retry=self.retry,
                )  # fmt: skip
                self._wait(region, operation)
            except exceptions.NotFound:
                pass  # deleted before, or by an attempt whose answer was lost
        return CspResource("gcp", resource_id, CspState.DELETED, "NOT_FOUND")

    def _attachment(
        self, req: PeeringRequest, name: str, interconnect: str
    ) -> compute_v1.InterconnectAttachment:
        (session,) = req.sessions
        return compute_v1.InterconnectAttachment(
            name=name,
            description=f"onramp {req.idempotency_key}, pairing key {req.customer_account}",
            type_="PARTNER_PROVIDER",
            pairing_key=req.customer_account,
            interconnect=f"{API}projects/{self.project}/global/interconnects/{interconnect}",
            vlan_tag8021q=session.vlan,
            bandwidth=bandwidth(req.bandwidth_mbps),
            mtu=req.mtu,
            partner_asn=req.local_asn,
            partner_metadata=compute_v1.InterconnectAttachmentPartnerMetadata(
                partner_name=self.partner_name,
                interconnect_name=interconnect,
                portal_url=self.portal_url,
            ),
            candidate_subnets=[str(IPv4Interface(session.local_address).network)],
        )

    def _insert(self, region: str, attachment: compute_v1.InterconnectAttachment) -> None:
        with _errors("insert"):
            try:
                operation = self.compute.attachments.insert_unary(
                    project=self.project, region=region,
                    interconnect_attachment_resource=attachment, retry=self.retry,
                )  # fmt: skip
            except exceptions.Conflict:
                return  # made by an attempt whose answer was lost, then resent by the retry
            self._wait(region, operation)

    def _wait(self, region: str, operation: compute_v1.Operation) -> None:
        """Until the operation is done (Compute's wait returns after at most 2 minutes,
        done or not); a failed operation raises its HTTP error."""
        deadline = time.monotonic() + self.operation_timeout_s
        while operation.status != DONE:
            if time.monotonic() >= deadline:
                raise OnrampError(
                    "ONR-CSP-002",
                    f"GCP operation {operation.name} not done after {self.operation_timeout_s:g} s",
                )
            operation = self.compute.operations.wait(
                project=self.project, region=region, operation=operation.name, retry=self.retry
            )
        if operation.http_error_status_code:
            raise exceptions.from_http_status(  # type: ignore[no-untyped-call]
                operation.http_error_status_code,
                operation.http_error_message,
                errors=[e.message for e in operation.error.errors],
            )

    def _get(self, region: str, name: str) -> compute_v1.InterconnectAttachment | None:
        with _errors("get"):
            try:
                return self.compute.attachments.get(
                    project=self.project, region=region, interconnect_attachment=name,
                    retry=self.retry,
                )  # fmt: skip
            except exceptions.NotFound:
                return None

    def _interconnect(self, port: str) -> str:
        try:
            return self.interconnects[port]
        except KeyError:
            raise OnrampError(
                "ONR-CSP-001", f"no GCP interconnect recorded for {port} (inventory csp_connection)"
            ) from None

    def _mark_active(self, region: str, attachment: compute_v1.InterconnectAttachment) -> None:
        labels = compute_v1.RegionSetLabelsRequest(
            label_fingerprint=attachment.label_fingerprint,
            labels={**attachment.labels, WAS_ACTIVE: "true"},
        )
        with _errors("set labels"):
            try:
                operation = self.compute.attachments.set_labels_unary(
                    project=self.project, region=region, resource=attachment.name,
                    region_set_labels_request_resource=labels, retry=self.retry,
                )  # fmt: skip
            except exceptions.PreconditionFailed:
                return  # labelled meanwhile (another worker): the next read sees whose
            self._wait(region, operation)

    def _resource(self, attachment: compute_v1.InterconnectAttachment) -> CspResource:
        region = attachment.region.rsplit("/", 1)[-1]
        resource_id = f"{region}/{attachment.name}"
        state = STATES.get(attachment.state, CspState.PROVISIONING)
        if attachment.state == "ACTIVE" and WAS_ACTIVE not in attachment.labels:
            self._mark_active(region, attachment)
        elif attachment.state == "DEFUNCT" and WAS_ACTIVE in attachment.labels:
            state = CspState.DOWN
        described = DESCRIBED_KEY.search(attachment.description)
        return CspResource(
            provider="gcp",
            resource_id=resource_id,
            state=state,
            provider_state=attachment.state,
            details={
                "vlan": attachment.vlan_tag8021q,
                "cloud_router_ip": attachment.cloud_router_ip_address or None,
                "customer_router_ip": attachment.customer_router_ip_address or None,
                "pairing_key": described.group(1) if described else None,
                "interconnect": attachment.interconnect.rsplit("/", 1)[-1],
                "bandwidth": attachment.bandwidth,
                "partner_asn": attachment.partner_asn,
            },
        )


def _split(resource_id: str) -> tuple[str, str]:
    region, _, name = resource_id.partition("/")
    if not name:
        raise OnrampError("ONR-CSP-003", f"GCP resource id {resource_id!r} is not <region>/<name>")
    return region, name


@contextmanager
def _errors(op: str) -> Iterator[None]:
    """Compute's errors as onramp codes: throttling/5xx after the retries -> 002, not found
    -> 003, a pairing key Google does not know -> 006, any other refusal -> 001."""
    try:
        yield
    except exceptions.RetryError as exc:
        raise OnrampError("ONR-CSP-002", f"GCP {op}: {exc.cause or exc}") from exc
    except exceptions.GoogleAPICallError as exc:
        raise _onramp_error(op, exc) from exc
    except OSError as exc:  # requests' connection errors and timeouts
        raise OnrampError("ONR-CSP-002", f"GCP {op}: {exc}") from exc


def _onramp_error(op: str, exc: exceptions.GoogleAPICallError) -> OnrampError:
    reasons = ",".join(e.get("reason", "") for e in exc.errors if isinstance(e, dict))
    said = f"GCP {op}: {exc.code} {reasons or exc.reason or ''}: {exc.message}"
    if exc.code is None or exc.code >= 500 or exc.code == 429:
        return OnrampError("ONR-CSP-002", said)
    if exc.code == 404:
        return OnrampError("ONR-CSP-003", said)
    if "resource.pairingKey" in exc.message:
        return OnrampError("ONR-CSP-006", said)
    return OnrampError("ONR-CSP-001", said)
