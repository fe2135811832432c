"""The one interface the orchestration calls for every provider: request the attachment,
read its state, delete it. Every call is idempotent by a key per Connector and step: a
retry finds and returns what an earlier attempt made instead of making a second one.
Provider errors become onramp error codes (ONR-CSP-*).

Issue 6 groundwork: the interface and the AWS hosted-VIF adapter; Azure, Google and the
manual (ticket) adapters follow the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class CspState(StrEnum):
    """Provider states, normalized (each adapter maps its provider's own)."""

    AWAITING_CUSTOMER = "awaiting_customer"
    PROVISIONING = "provisioning"
    READY = "ready"
    DOWN = "down"
    REJECTED = "rejected"
    DELETING = "deleting"
    DELETED = "deleted"


@dataclass(frozen=True)
class PeeringRequest:
    """What a provider needs for one BGP peering of a Connector (one per attachment)."""

    idempotency_key: str  # "<connector id>:<step>:<role>", also the resource's name
    customer_account: str  # AWS account / Azure service key / GCP pairing key
    port: str  # "<router>:<interface>": the provider's connection behind it is configuration
    vlan: int
    inner_vlan: int | None
    local_asn: int
    local_address: str
    peer_address: str
    md5_key: str | None
    mtu: int


@dataclass(frozen=True)
class CspResource:
    provider: str
    resource_id: str
    state: CspState
    provider_state: str  # the provider's own word, for humans and logs
    details: dict[str, Any] = field(default_factory=dict)


class Adapter(Protocol):
    provider: str

    def request(self, req: PeeringRequest) -> CspResource: ...

    def status(self, resource_id: str) -> CspResource: ...

    def delete(self, resource_id: str) -> CspResource: ...
