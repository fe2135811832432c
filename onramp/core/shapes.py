"""Every shape that crosses a module, declared once (napalm's `models.py` habit).

They are TypedDicts: plain dicts at run time, so the JSON they become is the JSON it was;
mypy checks every key where one is built or read. Where a pydantic model is the contract
(onramp.core.model.Connector/Link), the view here is its JSON form and a test holds the two
to the same keys. Every layer may import this module (it imports only the error codes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import WithJsonSchema
from typing_extensions import TypedDict  # pydantic (the API's answers) needs it before 3.12

from onramp.core.errors import Code

# a UUID kept as its string (what the store holds); the API documents its format
Uuid = Annotated[str, WithJsonSchema({"type": "string", "format": "uuid"})]
Metric = Literal["loss", "latency", "jitter"]

# ------------------------------------------------------------------ Connectors and Links


class AttachmentView(TypedDict):
    """One leg of a Connector as users see it (model.Attachment as JSON)."""

    role: Literal["primary", "secondary", "single"]
    router: str
    port: str
    interface: str  # "<port>.<vlan>"
    vlan: int
    inner_vlan: int | None
    rd: str | None
    subnet: str
    local_address: str  # "a.b.c.d/len", ours
    peer_address: str


class ChangeView(TypedDict):
    """A change in place as stored and shown (model.ChangeRecord as JSON)."""

    from_mbps: int | None
    to_mbps: int | None
    from_prefixes: list[str] | None
    to_prefixes: list[str] | None
    at: str
    by: str
    outcome: Literal["done", "rolled_back"] | None
    reason: str | None
    provider: str | None


class OnrampView(TypedDict):
    """An on-ramp as the catalogue shows it: model.Onramp's JSON, built without the models'
    import (a read-only command's ~0.01 s); the API validates it into that model."""

    id: str
    provider: str
    pop: str
    description: str
    kinds: list[str]
    ports: list[str]  # "router:interface"
    capacity_mbps: int
    used_mbps: int


class ConnectorView(TypedDict):
    """A Connector as users see it (model.Connector as JSON): never a secret."""

    id: str
    tenant: str
    onramp: str
    kind: str
    state: str
    bandwidth_mbps: int
    vrf: str
    local_asn: int
    peer_asn: int | None
    mtu: int
    md5_key: Literal["set"] | None
    attachments: list[AttachmentView]
    request: dict[str, Any]  # the customer's order as validated (model.ConnectorRequest)
    created_at: str | None
    csp_resource: str | None
    reason: str | None
    change: ChangeView | None  # the last bandwidth change (model.ChangeRecord)


class ConnectorPlan(ConnectorView):
    """A Connector as planned or created, with its edge choice when the network was read:
    every candidate, its score or why it was excluded (issue 24)."""

    explain: NotRequired[list[EdgeChoice]]


class VifParameters(TypedDict):
    """The VIF the customer creates on an AWS hosted connection, in AWS's own field names
    (`aws directconnect create-private-virtual-interface --new-private-virtual-interface`)."""

    virtualInterfaceName: str
    vlan: int
    asn: int  # ours: AWS's BGP peer is our router
    mtu: int
    amazonAddress: str
    customerAddress: str  # ours
    addressFamily: Literal["ipv4"]
    authKey: NotRequired[str]  # only where revealed (`connector customer-step --reveal`)


class CustomerStep(TypedDict):
    """What the customer must do at its provider before a Connector goes on, and with what."""

    connector: str
    action: str
    resource: str | None  # the provider's id of what we made (the hosted connection)
    vif: VifParameters


class LinkView(TypedDict):
    """A Link as users see it (model.Link as JSON)."""

    id: str
    tenant: str
    a: str
    b: str
    state: str
    bandwidth_mbps: int
    sla_class: Literal["gold", "silver", "bronze"]
    route_target: str
    description: str
    reason: str | None
    change: ChangeView | None


class Released(TypedDict):
    """A released Connector or Link; a Connector also says what it held."""

    id: str
    state: str
    released: NotRequired[dict[str, Any] | None]  # {"values": [[scope, value], ...]}


# One state change of a Connector or Link (a transitions row); `from` is None for its
# first state. Functional form: `from` is a Python keyword.
TransitionView = TypedDict(
    "TransitionView",
    {"from": str | None, "to": str, "at": datetime, "actor": str, "reason": str},
)


# ------------------------------------------------------------------ plans


class RouterTarget(TypedDict):
    """A router's remediation: the router as the store says it should be."""

    router: str


PlanTarget = ConnectorView | LinkView | RouterTarget  # what a plan changes, as it was then


class DeviceDiff(TypedDict):
    """One router of a plan: its diff (secrets masked) and the running config it was made on."""

    platform: str
    diff: str
    running_sha256: str


class DeviceOutcome(TypedDict):
    """One router's result of applying a plan: its state, or the error's code and reason."""

    state: str  # unchanged, pending, committed, failed, rolled_back, rollback_failed
    diff: NotRequired[str]
    code: NotRequired[Code]
    reason: NotRequired[str]
    note: NotRequired[str]  # what was found and done on the way (a stale commit rolled back)


class PlanResult(TypedDict):
    devices: NotRequired[dict[str, DeviceOutcome]]
    # per router its compliance score after the apply, or why it was not judged
    compliance: NotRequired[dict[str, float | str | None]]


class PlanView(TypedDict):
    id: str
    target_kind: str  # connector, link, router
    target_id: str
    action: str  # deploy, remove, quiesce, remediate
    state: str  # planned, applied, refused, failed
    created_at: str | None
    applied_at: str | None
    target: PlanTarget
    devices: dict[str, DeviceDiff]
    result: PlanResult | None


# ------------------------------------------------------------------ intent (templates' data)


class LoopbackIntent(TypedDict):
    name: str
    address: str


class CoreInterfaceIntent(TypedDict):
    name: str
    address: str
    description: str
    isis_metric: int | None  # None: the platform's default, not shown in its config


class IsisIntent(TypedDict):
    instance: str
    net: str
    lsp_gen_interval: int
    spf_interval: int | None
    lsp_gen_interval_ms: int
    spf_interval_ms: int
    lsp_refresh_interval: int
    max_lsp_lifetime: int


class PeerMember(TypedDict):
    address: str
    description: str


class PeerGroup(TypedDict):
    name: str
    client: bool
    members: list[PeerMember]


class IbgpIntent(TypedDict):
    asn: int
    router_id: str
    keepalive: int
    hold: int
    connect_retry: int
    cluster_id: str | None
    peer_groups: list[PeerGroup]


class BackboneIntent(TypedDict):
    """Interfaces, IS-IS and iBGP of one router (intent.backbone)."""

    hostname: str
    router_id: str
    loopback: LoopbackIntent
    interfaces: list[CoreInterfaceIntent]
    isis: IsisIntent
    bgp: IbgpIntent


class BgpLsIntent(TypedDict):
    """BGP-LS on a route reflector (intent.bgp_ls): its IS-IS database into the BGP-LS
    table, exchanged with the other route reflectors, read by onramp (topology source
    `bgp-ls`)."""

    hostname: str
    asn: int
    router_id: str  # the loopback: the sessions' source
    loopback: str  # its interface name on the platform
    isis_instance: str
    instance_id: int  # BGP-LS Identifier of this IGP instance (IOS-XR: 32 and up)
    group: str  # the backbone's iBGP group of the other route reflectors (intent.backbone)
    peers: list[PeerMember]  # the other route reflectors


class VrfIntent(TypedDict):
    name: str
    asn: int
    router_id: str
    rd: str | None
    route_targets: list[str]
    description: str
    export_map: str | None
    import_vpn: bool
    coalesce_ms: int | None  # BGP's wait before a new peer's first UPDATE; None: OS default


class SubinterfaceIntent(TypedDict):
    name: str
    parent: str
    vlan: int
    inner_vlan: int | None
    address: str
    mtu: int
    vrf: str
    description: str
    qos: QosIntent


class QosIntent(TypedDict):
    """The guaranteed rate of one subinterface or segment (intent.qos): a policer in and
    a shaper out where the platform has both, a shaper out on FRR (tc via frr-netdev)."""

    policy: str  # the policy-map / policer / profile name, stable across a rate change
    mbps: int
    burst_bytes: int  # 5 ms at the rate, at least 10 full frames


class NeighborIntent(TypedDict):
    address: str
    remote_as: int | None
    local_as: int | None
    description: str
    password: str | None
    keepalive: int
    hold: int
    max_prefix: int
    prefix_list_in: str
    prefix_list_out: str
    interface: str


class PrefixEntry(TypedDict):
    seq: int
    action: Literal["permit", "deny"]
    prefix: str
    le: int | None


class PrefixListIntent(TypedDict):
    name: str
    entries: list[PrefixEntry]
    permits: list[PrefixEntry]


class SegmentPeer(TypedDict):
    address: str
    description: str


class SegmentIntent(TypedDict):
    """A Link's segment as one VRF instance sees it (intent.segment)."""

    name: str
    vrf: str
    address: str
    description: str
    keepalive: int
    hold: int
    peers: list[SegmentPeer]
    qos: QosIntent  # the Link's rate, shaped where the VRF sends into the segment


class ConnectorIntent(TypedDict):
    """One Connector's share of one PE (intent.connector)."""

    vrf: VrfIntent
    interfaces: list[SubinterfaceIntent]
    neighbors: list[NeighborIntent]
    prefix_lists: list[PrefixListIntent]
    segments: list[SegmentIntent]


# ------------------------------------------------------------------ the customer's router


CustomerPlatformName = Literal["ios", "iosxr", "junos", "frr"]  # the customer's router's OS


class CustomerAttachment(TypedDict):
    """One leg as the customer's router must be set up for it (onramp.network.customer)."""

    role: Literal["primary", "secondary", "single"]
    interface: str  # the subinterface on the customer's router, in its platform's naming
    parent: str  # the customer's port facing the cross-connect
    unit: int  # Junos' logical unit (the VLAN); other platforms name it in `interface`
    vlan: int
    inner_vlan: int | None  # QinQ: the C-tag inside `vlan`
    address: str  # the customer's, "a.b.c.d/len"
    ip: str  # the same without the length
    netmask: str  # its length as a mask (IOS)
    neighbor: str  # ours, no length
    description: str


class CustomerConfig(TypedDict):
    """What a customer's router needs for one Connector, computed once for every platform:
    the templates `templates/customer/<platform>.j2` only render it."""

    connector: str
    tenant: str
    onramp: str
    platform: CustomerPlatformName
    name: str  # prefix of the policy names on the customer's router: onramp-<id8>
    customer_asn: int
    our_asn: int
    mtu: int
    bandwidth_mbps: int
    keepalive: int
    hold: int
    max_prefixes: int  # what we accept from the customer per session
    password: str | None  # the BGP MD5 key, revealed: only ever in this shape and its text
    prefixes: list[PrefixEntry]  # what the customer may announce (ours accepts these only)
    permits: list[PrefixEntry]  # the same, permits only: for platforms that match a set
    attachments: list[CustomerAttachment]


class KeyReveal(TypedDict):
    """A record that a Connector's BGP key was shown: to whom, when, for which platform."""

    connector: str
    at: str
    actor: str  # cli:<user>, api:<tenant|admin>:<key id>
    platform: str
    key: bool  # False: the Connector has no key, nothing secret was shown


class CustomerConfigView(CustomerConfig):
    """`connector customer-config` / `GET /v1/connectors/{id}/customer-config`: the data
    and the rendered configuration."""

    config: str


# ------------------------------------------------------------------ BGP state and the gate


class BgpSession(TypedDict):
    """One BGP session of a router as read from it, whatever the platform: what monitoring,
    the gate and the lab's status all read (validation/parsers/<platform>.py make it)."""

    vrf: str
    neighbor: str
    remote_as: int
    description: str
    state: str  # Established, Active, Connect, Idle, Idle (Admin), Idle (PfxCt), ...
    uptime: str
    prefixes_received: dict[str, int]  # per address family: ipv4_unicast, vpnv4, ...
    prefixes_sent: dict[str, int]  # per address family (a drain waits for a VRF's to be 0)
    connections_dropped: int  # times it went down: a flap shows here


# a VRF's best path to a prefix (validation/parsers: ShowBgpVrfRoutes); "from": the peer it
# came from, absent for a local or VPN route
BgpRoute = TypedDict(
    "BgpRoute",
    {"best": bool, "as_path": str, "next_hop": str, "origin": str, "from": NotRequired[str]},
)


class SessionExpectation(TypedDict, total=False):
    """What the gate wants of one new session (none for one being removed)."""

    min_prefixes: int
    max_prefixes: int
    allowed: list[str]  # prefixes the customer may announce; none: bounds only


# {router: {vrf: {neighbor: what it must show}}}
Expected = dict[str, dict[str, dict[str, SessionExpectation]]]
# routes that must be present: {router: {vrf: [prefix, ...]}}
Present = dict[str, dict[str, list[str]]]


class Expectations(TypedDict):
    """What the gate must see after a plan (onramp.flow.apply -> bgp_gate.Evidence)."""

    expected: Expected
    present: NotRequired[Present]
    removing: NotRequired[Expected]  # sessions the change takes away
    rates: NotRequired[dict[str, dict[str, int]]]  # router -> "<vrf> <device>" -> Mb/s
    # a prefix change: {router: {vrf: {neighbor: [allowed prefix]}}}, what each session's
    # accepted routes must lie inside now (none allowed: none accepted)
    filters: NotRequired[dict[str, dict[str, dict[str, list[str]]]]]
    # {router: {vrf: [prefix]}}: each prefix covered by a route (itself or inside it) with a
    # valid best path (a prefix let in: in its own VRF and in the far VRFs of its Links)
    covered: NotRequired[Present]


# ------------------------------------------------------------------ monitoring


class KpiWindow(TypedDict):
    """One Link's window as a monitoring round measured and stored it."""

    link: str
    sent: int
    received: int
    latency_avg_ms: float | None
    latency_p95_ms: float | None
    jitter_ms: float | None
    error: str
    loss_pct: float
    breaches: list[str]  # the SLA metrics it broke


BgpChange = TypedDict(
    "BgpChange", {"connector": str, "session": str, "from": str | None, "to": str}
)


class MonitorRound(TypedDict):
    links: list[KpiWindow]
    bgp_changes: list[BgpChange]


class KpiSample(TypedDict):
    at: datetime
    sent: int
    loss_pct: float
    latency_avg_ms: float | None  # null: nothing came back
    latency_p95_ms: float | None
    jitter_ms: float | None  # mean |difference| of successive round trips
    breaches: list[Metric]


class Breach(TypedDict):
    metric: Metric
    started_at: datetime
    ended_at: datetime | None  # null: still on
    worst: float | None


class SlaLimits(TypedDict):
    loss_pct: float
    latency_ms: float  # for this Link's pair of regions
    jitter_ms: float


class LinkKpis(TypedDict):
    """A Link's measured windows (one per monitoring interval) against its SLA."""

    link: Uuid
    sla_class: str
    sla: SlaLimits | None
    since: datetime
    until: datetime
    windows: int
    availability_pct: float | None  # windows in which any probe came back
    sla_met_pct: float | None  # windows without a breach
    samples: list[KpiSample]
    breaches: list[Breach]


class KpiMonth(TypedDict):
    link: str
    windows: int
    availability_pct: float | None
    sla_met_pct: float | None


# ------------------------------------------------------------------ compliance


class FeatureReport(TypedDict):
    compliant: bool
    missing: list[str]  # intended lines the router lacks ("parent / child" paths)
    extra: list[str]  # lines the router has beyond its intended config
    order: NotRequired[list[str]]  # sections of an ordered feature whose order differs


class Comparison(TypedDict):
    score: float  # % of features compliant
    features: dict[str, FeatureReport]


class RouterReport(TypedDict, total=False):
    """One router of a compliance run: judged, busy with a change, or unreadable."""

    platform: str
    score: float
    features: dict[str, FeatureReport]
    backup_sha256: str
    backup_stored: bool
    running_matches_intended: bool
    busy: str  # what is changing it: not judged now
    error: str


class ComplianceRun(TypedDict):
    """A compliance run's report (secrets masked); stored, `at` is its ISO string."""

    at: datetime | str
    routers: dict[str, RouterReport]
    score: NotRequired[float | None]
    compliant: NotRequired[bool]


class BackupTaken(TypedDict):
    sha256: NotRequired[str]
    stored: NotRequired[bool]
    error: NotRequired[str]


class Backups(TypedDict):
    routers: dict[str, BackupTaken]
    texts: dict[str, str]  # router -> its running config


# ------------------------------------------------------------------ runbooks

# one Connector of a drained PE: where its legs are, where they would go (or why not)
DrainMove = TypedDict(
    "DrainMove",
    {
        "connector": str,
        "onramp": str,
        "state": str,
        "from": list[str],  # "<router> <interface>" per leg
        "links": list[str],
        "to": list[str] | None,
        "blocked": str | None,
        "explain": NotRequired[list["EdgeChoice"]],  # the edge choice, with the network read
        "replacement": NotRequired[str],  # the new Connector, once made
        "result": NotRequired[str],  # moved, or where it stopped
    },
)


class DrainReport(TypedDict):
    """A drain's report (moves, the Connectors left) or an undrain's (the router's state)."""

    dry_run: bool
    router: str
    moves: NotRequired[list[DrainMove]]
    left: NotRequired[list[str]]
    state: NotRequired[str]


# ------------------------------------------------------------------ offline validation


class CheckFinding(TypedDict):
    """One thing `onramp validate` found wrong."""

    check: str  # inventory, render, frr-syntax, parse-back, csp-constraints, golden
    target: str
    code: Code
    reason: str


class ValidationReport(TypedDict):
    ok: bool
    checks: dict[str, int]  # findings per check
    findings: list[CheckFinding]
    routers: int


class TicketAnswerRecord(TypedDict):
    """A provider's answer to a ticket as an engineer recorded it (the newest; `history`
    every answer, oldest first)."""

    accepted: bool
    provider_ref: str
    note: str
    by: str
    at: str
    history: NotRequired[list[dict[str, Any]]]


class TicketView(TypedDict):
    """A request to a provider that takes tickets (csp/manual), as engineers and the API
    show it: never the BGP key."""

    id: str
    provider: str
    idempotency_key: str
    connector: str  # the Connector it was made for ("<connector id>:<step>" keys it)
    state: str  # open, ready, rejected, removal_open, deleted
    request: dict[str, Any]  # the provider's data, as the ticket's text shows it
    text: str
    answer: TicketAnswerRecord | None
    created_at: datetime
    updated_at: datetime


# ------------------------------------------------------------------ workers


class LeaseHeld(TypedDict):
    """An unfinished Connector or Link and who holds it (`onramp worker status`)."""

    kind: str
    id: str
    state: str
    owner: str | None  # worker:<host>:<pid>/<thread>; None: nobody holds it
    lease_left_s: float | None  # negative: a dead worker's lease, run out (free to take)
    heartbeat_at: str | None  # the holder's last renewal (RFC 3339)
    attempts: int  # failed tries of the current step
    retry_in_s: float | None  # backing off: the next try is due then
    reason: str | None


class RouterLockHeld(TypedDict):
    router: str
    owner: str  # "<kind>:<id>": the change holding it, whichever worker runs it
    left_s: float  # negative: ran out, free for the next change


class WorkerStatus(TypedDict):
    at: str
    work: list[LeaseHeld]
    router_locks: list[RouterLockHeld]


# ------------------------------------------------------------------ webhooks
class WebhookObject(TypedDict):
    """The Connector or Link a webhook event is about, as it was at the change: public
    fields only (the API's view has the rest). Connectors add `onramp` and
    `connector_kind`, Links `a`, `b` and `sla_class`."""

    id: str
    kind: str  # connector | link
    tenant: str
    state: str
    bandwidth_mbps: int
    description: str
    reason: str  # why it moved, as the history says
    onramp: NotRequired[str]
    connector_kind: NotRequired[str]
    a: NotRequired[str]
    b: NotRequired[str]
    sla_class: NotRequired[str]


class WebhookEvent(TypedDict):
    """One state change as a webhook's body carries it (plus `delivery_id`)."""

    event_id: str  # the same for every webhook and every retry: dedupe by it
    type: str  # "connector.state_changed" | "link.state_changed"
    created_at: str  # RFC 3339, when the change was committed
    old_state: str | None  # None: the object's first state
    new_state: str
    object: WebhookObject


class WebhookView(TypedDict):
    """A registered webhook as its tenant sees it; `secret` only in the answer that made it."""

    id: str
    tenant: str
    url: str
    created_at: str
    secret: NotRequired[str]


class DeliveryView(TypedDict):
    """One event owed to one webhook: where its delivery stands."""

    id: str  # the delivery id (Onramp-Delivery header)
    event_id: str
    type: str
    object_id: str
    old_state: str | None
    new_state: str
    status: str  # pending | delivered | failed (given up after webhooks.retry_max tries)
    attempts: int
    last_error: str | None
    next_try_at: str | None  # None once delivered or given up
    created_at: str
    delivered_at: str | None


# ------------------------------------------------------------------ topology (issue 24)


class IgpNode(TypedDict):
    """One router of the IGP's link-state database, whatever the source (IS-IS, BGP-LS)."""

    name: str
    system_id: str
    router_id: str
    overload: bool  # IS-IS overload bit: the router asks not to be used for transit
    seq: int  # the LSP's sequence number: of two copies, the higher is the newer
    neighbors: dict[str, int]  # neighbor name -> metric this node announces towards it


class IgpDatabase(TypedDict):
    """A link-state database, normalized: what a topology parser returns."""

    nodes: dict[str, IgpNode]


class PeHealth(TypedDict):
    """A PE as read over SSH: could we reach it, which daemons answer, its iBGP sessions
    to the route reflectors (loopback -> state)."""

    reachable: bool
    daemons: dict[str, bool]
    rr_sessions: dict[str, str]
    error: str


class PeLoad(TypedDict):
    connectors: int  # attachments on the router's on-ramp ports
    used_mbps: int
    capacity_mbps: int


class TopologyView(TypedDict):
    """The backbone as the network says it is, with its age (onramp.flow.topology)."""

    source: str  # "isis-ssh", "recorded", ...
    read_at: str  # ISO time of the read
    age_s: float
    read_s: float  # how long the read took
    nodes: dict[str, IgpNode]
    health: dict[str, PeHealth]
    load: dict[str, PeLoad]


class EdgeChoice(TypedDict):
    """One candidate port of one role in an edge choice: its score (lower is better) and
    its terms, or why it was excluded; `chosen` marks the one taken."""

    role: str
    router: str
    port: str
    score: float | None
    terms: dict[str, float]
    excluded: str | None
    chosen: bool


class PlacementCandidate(TypedDict):
    """One candidate port of a Connector's edge choice as the API shows it. A tenant's key
    sees where and a reason in a customer's words; an admin key also the score, its terms
    and the engineers' reason (router health, load: not a customer's to see)."""

    role: str
    router: str
    port: str
    chosen: bool
    reason: str  # the customer's words: "chosen: ...", "not available now", ...
    score: NotRequired[float | None]  # admin keys only, as EdgeChoice
    terms: NotRequired[dict[str, float]]
    excluded: NotRequired[str | None]


class Placement(TypedDict):
    """Why a Connector is where it is (`GET /v1/connectors/{id}/placement`): the choice as
    made when it was created, recorded then (the network may have changed since)."""

    connector: str
    decided_at: str | None  # when the choice was made; None: not recorded
    basis: Literal["network", "inventory"]  # network: the topology read; inventory: the store only
    topology_read_at: NotRequired[str | None]  # admin keys only: the age of what was read
    candidates: list[PlacementCandidate]


class RouterMark(TypedDict):
    """A router on the engineers' backbone page: its role and whether a new leg may land."""

    role: str  # "pe" | "p"
    pop: str
    state: Literal["ok", "route reflector", "excluded", "not in IS-IS"]
    why: str | None  # the exclusion (unreachable, unhealthy, overloaded, isolated)


class BackboneView(TopologyView):
    """`GET /v1/topology` (admin keys): the cached topology with each router marked."""

    routers: dict[str, RouterMark]


class Calibration(TypedDict):
    """Round-trip latency per IGP metric unit: fitted to the Links' KPI probes ("kpi"), or
    config.yaml's topology.ms_per_metric when no probe can calibrate it ("config")."""

    ms_per_metric: float
    source: Literal["kpi", "config"]
    links: int  # Links the fit used
    samples: int  # KPI windows behind it


class LinkImpact(TypedDict):
    """A Link whose IGP path cost a failure would raise: breached when no path is left or
    its latency (cost x ms per metric) passes its SLA class's limit."""

    link: str
    sla_class: str
    cost_before: float
    cost_after: float | None  # None: no path left
    latency_ms: float | None
    limit_ms: float | None
    breached: bool


class WhatIf(TypedDict):
    """What failing a router or a link would do (nothing is touched)."""

    fail: str
    isolated: list[str]  # routers cut off from every route reflector
    connectors_down: list[str]  # Connectors that lose every leg
    connectors_degraded: list[str]  # Connectors that lose one leg of a redundant pair
    links: list[LinkImpact]
    calibration: Calibration
