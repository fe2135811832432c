"""The one interface the orchestration calls for every provider: request the attachment,
read its state, delete it. Every call is idempotent by a key per Connector and step: a
retry finds and returns what an earlier attempt made instead of making a second one.
Provider errors become onramp error codes (ONR-CSP-*).

`wait` is the one way to wait for the customer's (or the ticket's) part, for every
provider: it polls `status` until the attachment is ready, refused, or the time is up.

Each provider's package (onramp.csp.<package>, named by its constraints.yaml) exports
`build(context: BuildContext) -> Adapter`, one signature for all: the registry finds it by
name and never asks which provider it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TypedDict

from onramp.core.errors import OnrampError

if TYPE_CHECKING:
    from onramp.core.secrets import Vault
    from onramp.core.settings import CspSettings
    from onramp.core.store import Store


class CspState(StrEnum):
    """Provider states, normalized (each adapter maps its provider's own)."""

    AWAITING_CUSTOMER = "awaiting_customer"
    AWAITING_TICKET = "awaiting_ticket"  # a provider that takes tickets: an engineer answers
    PROVISIONING = "provisioning"
    READY = "ready"
    # provisioned, its BGP session down (AWS: a VIF `down`; IBM: bgp_status `idle`): a new
    # one waits for our side, a live one lost its session
    BGP_DOWN = "bgp_down"
    DOWN = "down"  # the resource itself is down (a port, a peering disabled, an account locked)
    REJECTED = "rejected"
    DELETING = "deleting"
    DELETED = "deleted"


@dataclass(frozen=True)
class Session:
    """One BGP session of an attachment: on which of our ports, which tags, which addresses."""

    port: str  # "<router>:<interface>"; the provider's name for that port is inventory data
    vlan: int  # the 802.1Q tag, or the S-tag under QinQ
    inner_vlan: int | None  # the C-tag under QinQ (Azure: the peering's vlan_id)
    local_address: str  # ours (the partner's), with prefix length: "169.254.64.1/30"
    peer_address: str  # the provider's, with prefix length


@dataclass(frozen=True)
class PeeringRequest:
    """What a provider needs for one attachment of a Connector (AWS VIF, Azure private
    peering with its primary and secondary sessions, GCP partner attachment, a ticket)."""

    idempotency_key: str  # "<connector id>:<step>", also the resource's name at the provider
    customer_account: str  # AWS account / Azure service key / GCP pairing key / ticket ref
    sessions: tuple[Session, ...]  # one, or primary + secondary
    local_asn: int
    md5_key: str | None
    mtu: int = 1500
    bandwidth_mbps: int = 100
    peer_asn: int | None = None  # the provider's ASN where the request names it (tickets)


class ResourceDetails(TypedDict, total=False):
    """What a provider tells of an attachment besides its state: each adapter fills its own."""

    vlan: int  # AWS, GCP
    asn: int  # AWS VIF: ours, as AWS holds it
    amazon_address: str | None
    customer_address: str | None
    connection: str  # AWS VIF: the dxcon it is on
    bgp_status: str | None  # AWS VIF: its BGP peer's
    bandwidth: str  # AWS hosted connection ("500Mbps"), GCP ("BPS_500M")
    vif: str | None  # AWS hosted connection: the VIF on it, once made
    s_tag: int  # Azure: the circuit's S-tag
    service_key: str  # Azure
    vlan_id: int  # Azure: the private peering's C-tag
    peer_asn: int  # Azure: ours, as Azure holds it
    primary_prefix: str
    secondary_prefix: str
    cloud_router_ip: str | None  # GCP: Google's address, with prefix length
    customer_router_ip: str | None  # GCP: ours (the partner's), with prefix length
    pairing_key: str | None  # GCP
    interconnect: str  # GCP: our interconnect it is on
    partner_asn: int  # GCP: ours, as Google holds it
    cloud_address: str | None  # IBM, Alibaba: the provider's, with prefix length
    customer_account: str  # IBM: the account the gateway is in; Alibaba: the tenant's UID
    ticket: str  # a ticket: its id
    provider_ref: str | None  # a ticket: the provider's reference, once answered


@dataclass(frozen=True)
class CspResource:
    provider: str
    resource_id: str
    state: CspState
    provider_state: str  # the provider's own word, for humans and logs
    details: ResourceDetails = field(default_factory=lambda: ResourceDetails())


class Adapter(Protocol):
    provider: str

    def request(self, req: PeeringRequest) -> CspResource: ...

    def status(self, resource_id: str) -> CspResource: ...

    def delete(self, resource_id: str) -> CspResource: ...


@dataclass(frozen=True)
class BuildContext:
    """What a provider package's `build` makes an adapter from."""

    provider: str  # the catalogue's name (every provider going by tickets shares csp/manual)
    settings: CspSettings  # config.yaml's csp.<provider>: where its API is
    connections: dict[str, str]  # "<router>:<port>" -> the provider's name for that port
    store: Store  # where tickets are kept
    vault: Vault  # what encrypts the BGP keys they hold
    variant: str | None = None  # which of the package's ADAPTERS (constraints: kinds.*.adapter)


class Build(Protocol):
    """The signature every provider package's `build` has."""

    def __call__(self, context: BuildContext) -> Adapter: ...


READY = frozenset({CspState.READY})
FAILED = frozenset({CspState.REJECTED, CspState.DELETED, CspState.DELETING})


def wait(
    adapter: Adapter,
    resource_id: str,
    timeout_s: float,
    poll_s: float = 2.0,
    progress: Callable[[CspResource], None] | None = None,
) -> CspResource:
    """Poll until the attachment is ready. Rejected or deleted meanwhile: ONR-CSP-005; still
    waiting when the time is up: ONR-CSP-004 naming the state it waits in."""
    deadline = time.monotonic() + timeout_s
    while True:
        current = adapter.status(resource_id)
        if progress is not None:
            progress(current)
        if current.state in READY:
            return current
        if current.state in FAILED:
            raise OnrampError(
                "ONR-CSP-005",
                f"{adapter.provider} {resource_id} is {current.provider_state}",
            )
        if time.monotonic() >= deadline:
            raise OnrampError(
                "ONR-CSP-004",
                f"{adapter.provider} {resource_id} still {current.provider_state} "
                f"after {timeout_s:g} s",
            )
        time.sleep(poll_s)
