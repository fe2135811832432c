"""The service model: Tenants, On-ramps, Connectors and Links, as customers and engineers see them.

Requests are what a customer asks for (validated here field by field, and against the
provider's constraints in `onramp.flow.request`); the stored objects add identity, state and
what allocation chose (`onramp.flow.allocate`).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum
from ipaddress import IPv4Interface, IPv4Network
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StrictInt,
    StringConstraints,
)

# Text that ends up in router configuration: no newline, no quote, no comment or
# command characters (`!`, `#`, `;`, `|`, `{`, `}`) any of our platforms would interpret.
SAFE_TEXT = r"^[A-Za-z0-9 _.,:/()+@=-]*$"
SafeText = Annotated[str, StringConstraints(max_length=64, pattern=SAFE_TEXT)]


def _text(value: Any) -> Any:
    """A prefix as text ("a.b.c.d/n"): an integer would be read as an address, silently."""
    if isinstance(value, str | IPv4Network):
        return value
    raise ValueError("give the prefix as text, 'a.b.c.d/n'")


Prefix = Annotated[IPv4Network, BeforeValidator(_text)]


def _one_line(value: str) -> str:
    """Text that lands in a line of a mail or a terminal: a newline would forge the next."""
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
        raise ValueError("holds a control character or a line break")
    return value


OneLine = Annotated[str, AfterValidator(_one_line)]
Slug = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9-]*$")
]

ConnectorKind = Literal[
    "aws-hosted-vif",
    "aws-hosted-connection",
    "azure-expressroute",
    "gcp-partner",
    "ibm-direct-link",
    "alibaba-express-connect",
    "enterprise",
    "manual",
]
SlaClass = Literal["gold", "silver", "bronze"]


class State(StrEnum):
    """Lifecycle of Connectors and Links; the orchestration drives the transitions."""

    REQUESTED = "requested"
    VALIDATED = "validated"
    ALLOCATED = "allocated"
    CSP_REQUESTED = "csp_requested"
    AWAITING_CUSTOMER = "awaiting_customer"
    AWAITING_TICKET = "awaiting_ticket"
    CONFIGURING = "configuring"
    VERIFYING = "verifying"
    ACTIVE = "active"
    MODIFYING = "modifying"  # an active one changing in place; still carries traffic
    ROLLING_BACK = "rolling_back"
    FAILED = "failed"
    DECOMMISSIONING = "decommissioning"
    DELETED = "deleted"


# States whose resources are released: everything else holds its allocation.
RELEASED_STATES = frozenset({State.FAILED, State.DELETED})
# States whose service is up for its customer: a change in place keeps it so.
LIVE = frozenset({State.ACTIVE, State.MODIFYING})
# States on the way out (rolled back or taken away): nothing new may be built on them.
LEAVING = frozenset({State.ROLLING_BACK, State.DECOMMISSIONING})
# States the workers are done with: nothing left to advance.
SETTLED = frozenset({State.ACTIVE, State.FAILED, State.DELETED})

_WAITING = frozenset({State.CSP_REQUESTED, State.AWAITING_CUSTOMER, State.AWAITING_TICKET})
# an engineer's `onramp apply` of a deploy plan makes it active, of a removal allocated again,
# while the machine builds it up (not while it takes it down)
_APPLIED = frozenset({State.ACTIVE, State.ALLOCATED})
# the machine's compensations: a step failed (rolling back), or it is taken away
# (decommissioning: `onramp.flow.allocate.decommission`, the one way to remove). Never
# straight to deleted: routers or a provider may hold it, and only the workers' steps
# take it off them before the allocation is released.
_ENDS = frozenset({State.ROLLING_BACK, State.DECOMMISSIONING})

# Every state change `onramp.core.store.move` may make (None: a new row); any other is
# refused (ONR-STATE-001). Written from what the flow does: allocation (requested ->
# validated -> allocated in one transaction), the orchestrator's steps (the provider's
# answers move it among the waiting states; a plan is made, then applied), its endings
# (released only from rolling_back, to failed, and from decommissioning, to deleted) and
# the engineers' commands above.
TRANSITIONS: dict[State | None, frozenset[State]] = {
    None: frozenset({State.REQUESTED}),
    State.REQUESTED: frozenset({State.VALIDATED}),
    State.VALIDATED: frozenset({State.ALLOCATED}),
    State.ALLOCATED: frozenset({State.CSP_REQUESTED, State.CONFIGURING, State.ACTIVE}) | _ENDS,
    # a request whose id a crash lost is made again: csp_requested, from any waiting state
    **dict.fromkeys(_WAITING, _WAITING | {State.CONFIGURING} | _APPLIED | _ENDS),
    State.CONFIGURING: frozenset({State.VERIFYING}) | _APPLIED | _ENDS,
    State.VERIFYING: frozenset({State.CONFIGURING}) | _APPLIED | _ENDS,
    State.ACTIVE: frozenset({State.ALLOCATED, State.DECOMMISSIONING, State.MODIFYING}),
    # a bandwidth change (onramp.flow.change): confirmed at the new rate or rolled back to
    # the old, active either way (the Connector kept running); nothing else may start meanwhile
    State.MODIFYING: frozenset({State.ACTIVE}),
    State.ROLLING_BACK: frozenset({State.FAILED, State.DECOMMISSIONING}),
    State.DECOMMISSIONING: frozenset({State.DELETED}),
    State.FAILED: frozenset(),
    State.DELETED: frozenset(),
}


def allowed(was: str | None, to: str) -> bool:
    """Whether a Connector or Link in state `was` (None: not stored yet) may move to `to`."""
    return State(to) in TRANSITIONS[None if was is None else State(was)]


class Kind(StrEnum):
    """What the state machine moves, as stored (transitions.kind, plans.target_kind)."""

    CONNECTOR = "connector"
    LINK = "link"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tenant(Strict):
    id: Slug
    name: SafeText


class Onramp(Strict):
    """An attachment point that can be ordered: the inventory's catalogue plus live capacity."""

    id: str
    provider: str
    pop: str
    description: str
    kinds: list[str]
    ports: list[str]  # "router:interface"
    capacity_mbps: int
    used_mbps: int

    @property
    def free_mbps(self) -> int:
        return self.capacity_mbps - self.used_mbps


class ConnectorRequest(Strict):
    """What a customer asks for. Provider-specific facts are optional here and required by
    the provider's constraints (csp/<provider>/constraints.yaml, `kinds.<kind>.requires`)."""

    tenant: Slug
    onramp: str
    kind: ConnectorKind
    # numbers are numbers: `true`, "65_201" and 65201.0 are refused, not read as 1 and 65201
    bandwidth_mbps: StrictInt = Field(gt=0)
    description: SafeText = ""
    # the providers' ids, each described in its own terms: the description is also the hint
    # of a refusal (flow.request.refused) and the API schema's word on the field
    aws_account: Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")] | None = Field(
        default=None,
        description="the 12 digits of the AWS account that receives the VIF or connection "
        "(e.g. 123456789012, no dashes)",
    )
    azure_service_key: UUID | None = Field(
        default=None,
        description="the ExpressRoute circuit's service key, a UUID, as the Azure portal "
        "shows it (e.g. 6f1c2b9e-8a4d-4f2e-9b7a-1c2d3e4f5a6b)",
    )
    gcp_pairing_key: (
        Annotated[str, StringConstraints(pattern=r"^[0-9a-f-]{36}/[a-z0-9-]+/[12]$")] | None
    ) = Field(
        default=None,
        description="the Partner Interconnect attachment's pairing key, <uuid>/<region>/<1|2>, "
        "as Google Cloud shows it",
    )
    ibm_account: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")] | None = Field(
        default=None,
        description="the 32 hex digits of the IBM Cloud account that receives the Direct "
        "Link gateway",
    )
    alibaba_uid: Annotated[str, StringConstraints(pattern=r"^[0-9]{16}$")] | None = Field(
        default=None,
        description="the 16 digits of the Alibaba Cloud account UID that receives the hosted "
        "connection",
    )
    customer_asn: StrictInt | None = Field(default=None, ge=1, le=4294967294)
    prefixes: list[Prefix] = Field(
        default_factory=list,
        description="what the customer may announce to us: the router's inbound filter "
        "accepts these only. None: no route from the cloud is accepted until they are set "
        "(PATCH the Connector with `prefixes`)",
    )
    mtu: StrictInt | None = None  # default: the provider's first MTU
    prefix_length: StrictInt | None = None  # peering subnet size; default: the provider's
    vlan: StrictInt | None = Field(
        default=None, ge=1, le=4094
    )  # ask for a VLAN (the C-tag with QinQ)
    # with QinQ, the S-tag the provider assigned (Azure: the circuit's sTag, read from the
    # service key): taken as is on the port, refused when another Connector holds it
    s_tag: StrictInt | None = Field(default=None, ge=1, le=4094)
    idempotency_key: Annotated[str, StringConstraints(max_length=128)] | None = None


class Change(Strict):
    """A change to a live Connector or Link (PATCH, `onramp connector|link update`): its
    bandwidth and (a Connector's) prefixes in place through the state machine, and/or its
    description (stored only). One shape for every change: one flow (onramp.flow.change)."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"bandwidth_mbps": 200}, {"description": "Paris to our VPC"},
        {"prefixes": ["10.100.0.0/24", "10.101.0.0/24"]}]})  # fmt: skip

    bandwidth_mbps: StrictInt | None = Field(default=None, gt=0)
    description: SafeText | None = None
    # what the customer may announce to us, the whole new list (a Connector's only)
    prefixes: list[Prefix] | None = None


BandwidthChange = Change  # its name before it took prefixes


class ChangeRecord(Strict):
    """The last change in place of a Connector or Link, as stored and shown: its bandwidth
    and/or its prefixes from, to, and how it ended (None: under way)."""

    from_mbps: int | None = None  # None: the bandwidth did not change
    to_mbps: int | None = None
    from_prefixes: list[str] | None = None  # None: the prefixes did not change
    to_prefixes: list[str] | None = None
    at: datetime
    by: str
    outcome: Literal["done", "rolled_back"] | None = None
    reason: str | None = None  # why it was rolled back
    provider: str | None = None  # what the provider's side did (Azure: the circuit raised)

    @property
    def added(self) -> list[str]:
        """Prefixes the change lets in that were not allowed before."""
        was = {IPv4Network(p) for p in self.from_prefixes or []}
        return [p for p in self.to_prefixes or [] if IPv4Network(p) not in was]


ROLE_ORDER = {"primary": 0, "single": 0, "secondary": 1}  # a Connector's legs, first to last


class Attachment(Strict):
    """One physical leg of a Connector: a VLAN on a PE port and a BGP session over it."""

    role: Literal["primary", "secondary", "single"]
    router: str
    port: str
    interface: str  # "<port>.<vlan>"
    vlan: int  # the (outer) VLAN on the port: the S-tag with QinQ
    inner_vlan: int | None  # the C-tag with QinQ
    rd: str | None  # "<loopback>:<vrf number>", one per PE
    subnet: IPv4Network
    local_address: IPv4Interface  # ours
    peer_address: IPv4Interface


class Connector(Strict):
    """A Connector as users see it (CLI, API): never a secret, only whether one is set."""

    id: UUID
    tenant: str
    onramp: str
    kind: ConnectorKind
    state: State
    bandwidth_mbps: int
    vrf: str
    local_asn: int
    peer_asn: int | None
    mtu: int
    md5_key: Literal["set"] | None
    attachments: list[Attachment]
    request: dict[str, Any]  # what the customer gave, as validated
    created_at: datetime | None
    csp_resource: str | None = None  # the provider's id for it (VIF, cross-connection, ...)
    reason: str | None = None  # why it failed, or what it is retrying
    change: ChangeRecord | None = None  # the last change in place


class LinkRequest(Strict):
    tenant: Slug
    a: UUID
    b: UUID
    bandwidth_mbps: StrictInt = Field(gt=0)
    sla_class: SlaClass = "silver"
    description: SafeText = ""
    idempotency_key: Annotated[str, StringConstraints(max_length=128)] | None = None


class Link(Strict):
    id: UUID
    tenant: str
    a: UUID
    b: UUID
    state: State
    bandwidth_mbps: int
    sla_class: SlaClass
    route_target: str  # imported and exported by both Connectors' VRFs
    description: str
    reason: str | None = None  # what its last change did, when it was rolled back
    change: ChangeRecord | None = None  # the last change in place


class TicketAnswerText(Strict):
    """What an engineer records of a provider's answer to a ticket (`onramp ticket answer`,
    the API): the reference as router-safe text, the note one line of any letters."""

    provider_ref: Annotated[str, StringConstraints(max_length=128, pattern=SAFE_TEXT)] = ""
    note: Annotated[OneLine, StringConstraints(max_length=1000)] = ""


Secret = Annotated[SecretStr, StringConstraints(min_length=1, max_length=256)]
AwsId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]


class AwsDelegation(Strict):
    """A tenant's AWS credentials (an access key of its own account): onramp accepts the
    hosted VIF or hosted connection with them and creates the VIF on it, attached to the
    tenant's gateway (a virtual private gateway or a Direct Connect gateway)."""

    provider: Literal["aws"] = "aws"
    account: Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
    access_key_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{4,128}$")]
    secret_access_key: Secret
    virtual_gateway_id: AwsId | None = None
    direct_connect_gateway_id: AwsId | None = None


class AzureDelegation(Strict):
    """A tenant's Azure service principal on its subscription: onramp creates the
    ExpressRoute circuit there (the provider and peering location of the on-ramp), reads
    its service key and then provisions our side."""

    provider: Literal["azure"] = "azure"
    account: UUID  # the subscription
    tenant_id: UUID  # the Entra ID tenant of the service principal
    client_id: UUID
    client_secret: Secret
    resource_group: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.()-]{1,90}$")]


Delegation = Annotated[AwsDelegation | AzureDelegation, Field(discriminator="provider")]


class DelegationView(Strict):
    """A delegation as anyone sees it: never a secret."""

    tenant: str
    provider: str
    account: str
    credentials: Literal["set"] = "set"
    created_at: datetime
