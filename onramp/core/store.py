"""The durable truth: the ORM's row classes, and the one way a state changes (`move`).

The tables themselves are declared once, in SQLAlchemy Core (onramp.core.tables); the
classes here are mapped onto them, for the code that writes or wants ORM rows. The engine
and transactions are onramp.core.engine's `Store`. SQLite (the default, a file) and
PostgreSQL run the same code and the same Alembic migrations (`onramp/migrations`).
Uniqueness is the database's job: every allocated resource is a row of `allocations` whose
primary key is (scope, value), so two transactions can never hold the same VLAN on a port,
the same subnet on a router or the same number, whatever the code above does.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnDefault,
    Insert,
    Select,
    String,
    Table,
    TextClause,
    bindparam,
    insert,
    select,
    text,
)
from sqlalchemy.engine import BindTyping, Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, relationship

from onramp.core import tables

# the engine's and the schema's names that callers (and the migrations) import from here
from onramp.core.engine import Conflict as Conflict
from onramp.core.engine import Store as Store
from onramp.core.errors import Code, OnrampError
from onramp.core.model import Kind, allowed
from onramp.core.shapes import (
    ComplianceRun,
    DeviceDiff,
    PlanResult,
    PlanTarget,
    TicketAnswerRecord,
    WebhookEvent,
    WebhookObject,
)
from onramp.core.tables import UtcDateTime as UtcDateTime
from onramp.core.tables import now as now


class Base(DeclarativeBase):
    metadata = tables.metadata


class TenantRow(Base):
    __table__ = tables.tenants
    id: Mapped[str]
    name: Mapped[str]
    created_at: Mapped[datetime]


class ConnectorRow(Base):
    __table__ = tables.connectors
    id: Mapped[str]
    tenant_id: Mapped[str]
    onramp: Mapped[str]
    kind: Mapped[str]
    state: Mapped[str]
    bandwidth_mbps: Mapped[int]
    request: Mapped[dict[str, Any]]  # the validated request, no secrets
    idempotency_key: Mapped[str | None]
    request_sha256: Mapped[str | None]  # what the key was sent with
    number: Mapped[int | None]  # VRF number: vrf c<number>, RD <loopback>:<number>
    local_asn: Mapped[int | None]
    peer_asn: Mapped[int | None]
    mtu: Mapped[int | None]
    md5_key: Mapped[bytes | None]  # Fernet ciphertext
    released: Mapped[dict[str, Any] | None]  # what it held, kept for audit
    csp_resource: Mapped[str | None]  # the provider's id for it
    reason: Mapped[str | None]  # why it failed / is retrying
    change: Mapped[dict[str, Any] | None]  # last bandwidth change (ChangeRecord)
    lease_owner: Mapped[str | None]  # the worker advancing it
    lease_until: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]  # the holder's last
    attempts: Mapped[int]  # failed tries of this step
    retry_at: Mapped[datetime | None]  # backoff: not before
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    attachments: Mapped[list[AttachmentRow]] = relationship(
        back_populates="connector", cascade="all, delete-orphan", order_by="AttachmentRow.id"
    )


class AttachmentRow(Base):
    __table__ = tables.attachments
    id: Mapped[int]
    connector_id: Mapped[str]
    role: Mapped[str]
    router: Mapped[str]
    port: Mapped[str]
    vlan: Mapped[int]
    inner_vlan: Mapped[int | None]
    subnet: Mapped[str]
    local_address: Mapped[str]
    peer_address: Mapped[str]
    connector: Mapped[ConnectorRow] = relationship(back_populates="attachments")


class LinkRow(Base):
    __table__ = tables.links
    id: Mapped[str]
    tenant_id: Mapped[str]
    a_id: Mapped[str]
    b_id: Mapped[str]
    state: Mapped[str]
    bandwidth_mbps: Mapped[int]
    sla_class: Mapped[str]
    request: Mapped[dict[str, Any]]
    idempotency_key: Mapped[str | None]
    request_sha256: Mapped[str | None]  # what the key was sent with
    number: Mapped[int | None]  # route target <asn>:<number>
    reason: Mapped[str | None]
    change: Mapped[dict[str, Any] | None]  # last bandwidth change (ChangeRecord)
    lease_owner: Mapped[str | None]
    lease_until: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    attempts: Mapped[int]
    retry_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AllocationRow(Base):
    """A held resource. The primary key is the no-collision guarantee."""

    __table__ = tables.allocations
    scope: Mapped[str]  # "vlan:pe1-par:eth3", "vrf", ...
    value: Mapped[int]
    owner: Mapped[str]  # connector or link id


class ReleasedRow(Base):
    """Values given back, so the next allocation in the scope reuses them first."""

    __table__ = tables.released
    scope: Mapped[str]
    value: Mapped[int]


class PortUsageRow(Base):
    """Bandwidth and count committed per PE port, updated in the allocating transaction."""

    __table__ = tables.port_usage
    router: Mapped[str]
    port: Mapped[str]
    used_mbps: Mapped[int]
    attachments: Mapped[int]


class RouterStateRow(Base):
    """Engineers' and monitoring's view of a router beyond the inventory: drained, unhealthy."""

    __table__ = tables.router_state
    router: Mapped[str]
    state: Mapped[str]  # in-service | drained | unhealthy
    reason: Mapped[str]
    updated_at: Mapped[datetime]


class PlanRow(Base):
    """A reviewed change: per router the diff, the running config's hash it was made
    against, and the whole candidate (encrypted: it holds BGP keys). `apply` applies
    exactly these candidates, or refuses when a router's running config has moved."""

    __table__ = tables.plans
    id: Mapped[str]
    target_kind: Mapped[str]  # connector | link
    target_id: Mapped[str]
    action: Mapped[str]  # deploy | remove
    state: Mapped[str]  # planned | applied | refused | failed
    target: Mapped[PlanTarget]  # the view of what it changes, as it was
    devices: Mapped[dict[str, DeviceDiff]]  # diff (masked), running hash
    candidates: Mapped[bytes]  # Fernet(JSON router -> config)
    result: Mapped[PlanResult | None]
    created_at: Mapped[datetime]
    applied_at: Mapped[datetime | None]


class TicketRow(Base):
    """A request to a provider that takes tickets (csp.manual): the exact data it needs,
    rendered as text (BGP key masked; the key itself encrypted), and the engineer's
    record of the provider's answer. One row per attachment, keyed like every CSP call."""

    __table__ = tables.tickets
    id: Mapped[str]
    provider: Mapped[str]
    idempotency_key: Mapped[str]
    # open -> ready | rejected; ready -> removal_open -> deleted; open -> deleted (withdrawn)
    state: Mapped[str]
    request: Mapped[dict[str, Any]]  # no secrets
    md5_key: Mapped[bytes | None]  # Fernet ciphertext
    text: Mapped[str]  # what to send the provider, key masked
    answer: Mapped[TicketAnswerRecord | None]  # provider ref, note, by whom
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TransitionRow(Base):
    """Every state change of a Connector or Link, committed with the change itself: when,
    by whom (cli:<user>, worker:<host>:<pid>, api:<tenant>) and why."""

    __table__ = tables.transitions
    id: Mapped[int]
    kind: Mapped[str]  # connector | link
    target_id: Mapped[str]
    from_state: Mapped[str | None]
    to_state: Mapped[str]
    at: Mapped[datetime]
    actor: Mapped[str]
    reason: Mapped[str]


class RouterLockRow(Base):
    """A router held by one change (a Connector's or Link's plan and apply) so that two
    changes never plan and commit on the same router at once. Held by the work item, not
    the worker: whoever resumes the item holds it; a dead holder's lock runs out."""

    __table__ = tables.router_locks
    router: Mapped[str]
    owner: Mapped[str]  # "<kind>:<id>"
    until: Mapped[datetime]


class ApiKeyRow(Base):
    """An API key: only its SHA-256 is kept (the key is 32 random bytes: a fast hash is
    enough, and the key is shown once, when issued). No tenant: an engineers' admin key."""

    __table__ = tables.api_keys
    id: Mapped[str]  # the key's public part
    tenant_id: Mapped[str | None]
    sha256: Mapped[str]
    name: Mapped[str]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class DelegationRow(Base):
    """A tenant's credentials for onramp to act in its account at a provider (AWS: accept
    and create VIFs; Azure: create the circuit). `account` is public (the AWS account, the
    Azure subscription); every secret is in `sealed` (the vault's Fernet, JSON inside)."""

    __table__ = tables.delegations
    tenant_id: Mapped[str]
    provider: Mapped[str]
    account: Mapped[str]
    sealed: Mapped[bytes]
    created_at: Mapped[datetime]


class RateBucketRow(Base):
    """A token bucket of the API's rate limit (a key's requests, an address's failed keys),
    here so that every API process draws from the same one."""

    __table__ = tables.rate_buckets
    key: Mapped[str]  # "key:<id>", "addr:<ip>"
    tokens: Mapped[float]
    at: Mapped[float]  # when `tokens` was counted, Unix seconds


class KpiSampleRow(Base):
    """One measuring window of one Link (onramp.flow.monitor): probes sent and answered, round
    trips, and the SLA metrics it broke. Keyed by (link, time) and stored in that order
    (no rowid on SQLite), so a Link's last day is one contiguous range read."""

    __table__ = tables.kpi_samples
    link_id: Mapped[str]
    at: Mapped[datetime]
    sent: Mapped[int]
    received: Mapped[int]
    latency_avg_ms: Mapped[float | None]  # None: nothing came back
    latency_p95_ms: Mapped[float | None]
    jitter_ms: Mapped[float | None]  # mean |rtt[i] - rtt[i-1]| over the replies, in order
    breaches: Mapped[str]  # "loss,latency,jitter" broken


class TrafficSampleRow(Base):
    """A Connector attachment's interface counters at one poll; rates are the differences
    of successive samples (onramp.flow.monitor.traffic)."""

    __table__ = tables.traffic_samples
    connector_id: Mapped[str]
    at: Mapped[datetime]
    router: Mapped[str]
    interface: Mapped[str]
    rx_octets: Mapped[int]
    tx_octets: Mapped[int]


class BgpSessionRow(Base):
    """The last seen state of a Connector's BGP session (one per attachment)."""

    __table__ = tables.bgp_sessions
    router: Mapped[str]
    vrf: Mapped[str]
    neighbor: Mapped[str]
    connector_id: Mapped[str]
    state: Mapped[str]  # FRR's words: Established, Active, ...
    since: Mapped[datetime]  # when we first saw this state
    checked_at: Mapped[datetime]


class ConfigBackupRow(Base):
    """A router's running config at one time (onramp.flow.compliance.backup), encrypted (it
    holds BGP keys); only when it changed since the router's previous backup."""

    __table__ = tables.config_backups
    id: Mapped[int]
    router: Mapped[str]
    taken_at: Mapped[datetime]
    sha256: Mapped[str]  # of the canonical form
    config: Mapped[bytes]  # Fernet ciphertext


class ComplianceReportRow(Base):
    """One compliance run's report (secrets already masked), for the API and the Portal."""

    __table__ = tables.compliance_reports
    id: Mapped[int]
    at: Mapped[datetime]
    score: Mapped[float | None]
    compliant: Mapped[bool]
    report: Mapped[ComplianceRun]


class EventRow(Base):
    """Something monitoring saw that has a start and maybe an end: an SLA breach of a Link
    (kind "sla", what = the metric, worst = its worst value) or a BGP session's state change
    (kind "bgp", what = "<router> <vrf> <neighbor>", detail = from and to states)."""

    __table__ = tables.events
    id: Mapped[int]
    kind: Mapped[str]
    target_id: Mapped[str]  # a Link or a Connector
    what: Mapped[str]
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    worst: Mapped[float | None]
    detail: Mapped[dict[str, Any]]


class WebhookRow(Base):
    """A tenant's receiver of its Connectors' and Links' state changes. The signing secret
    is sealed (the vault's Fernet): it signs every delivery, so it must be read back."""

    __table__ = tables.webhooks
    id: Mapped[str]
    tenant_id: Mapped[str]
    url: Mapped[str]
    secret: Mapped[bytes]
    created_at: Mapped[datetime]


class WebhookDeliveryRow(Base):
    """The outbox: one event (a state change) for one webhook, written in the transaction of
    the change itself (`move`), so a change committed is a delivery owed, whatever dies
    after. `seq` orders them: a delivery is sent only when its object's earlier ones for the
    same webhook are done (in order per object)."""

    __table__ = tables.webhook_deliveries
    seq: Mapped[int]
    id: Mapped[str]  # the delivery id (a header)
    webhook_id: Mapped[str]
    event_id: Mapped[str]  # one per state change
    target_id: Mapped[str]
    event: Mapped[WebhookEvent]  # the body, less the delivery id
    status: Mapped[str]  # pending | delivered | failed (gave up)
    attempts: Mapped[int]
    last_error: Mapped[str | None]
    next_try_at: Mapped[datetime]
    lease_owner: Mapped[str | None]  # the worker sending it
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


# Which table holds each kind the state machine moves, and back.
ROWS: dict[Kind, type[ConnectorRow] | type[LinkRow]] = {
    Kind.CONNECTOR: ConnectorRow,
    Kind.LINK: LinkRow,
}
KIND_OF: dict[type[ConnectorRow] | type[LinkRow], Kind] = {t: k for k, t in ROWS.items()}


def move(
    s: Session,
    row: ConnectorRow | LinkRow,
    to: str | Sequence[str],
    actor: str,
    reason: str = "",
    holder: str | None = None,
    new: Sequence[Rows] | None = None,
) -> None:
    """The one way a Connector or Link changes state (a new row: its first state), with its
    transition row, in the caller's transaction; refused unless TRANSITIONS allows it.
    `to`: a state, or states passed through in turn (a create: requested, validated,
    allocated), their transition rows and webhook deliveries written by one INSERT each.
    `new`: the row is new, written here (Core: nothing read back) in its first state, with
    these rows that need it (its attachments): all in one statement where the store can.
    `holder`: the worker's lease; refused (ONR-STATE-002) unless it still holds the row, so
    a worker whose lease another took over cannot commit what it was doing (fencing). The
    caller reads the row FOR UPDATE then: no takeover between the check and the commit."""
    kind = KIND_OF[type(row)]
    path = [to] if isinstance(to, str) else list(to)
    if holder is not None and row.lease_owner != holder:
        raise OnrampError("ONR-STATE-002", f"{kind} {row.id}: {holder} no longer holds it "
                          f"(now {row.lease_owner or 'nobody'}); not moved to {path[-1]}")  # fmt: skip
    hooks = tenant_webhooks(s, row.tenant_id) or []
    steps: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    for state in path:
        was = row.state
        if not allowed(was, state):
            raise OnrampError("ONR-STATE-001", f"{kind} {row.id} cannot go from {was} to {state}")
        steps.append({"kind": kind.value, "target_id": row.id, "from_state": was,
                      "to_state": state, "actor": actor[:80], "reason": reason[:1000]})  # fmt: skip
        row.state = state
        deliveries += _outbox(row, kind, was, reason, hooks)
    # a new step begins: the last one's failed tries no longer count
    row.attempts, row.retry_at = 0, None
    # Core inserts on the session's connection: no autoflush of the caller's pending rows
    # (they flush when it commits, as before) and no ORM unit of work for append-only rows
    writes: list[Rows] = []
    if new is not None:
        writes += [(type(row).__table__, [values_of(row)]), *new]
    writes += [(TransitionRow.__table__, steps), (WebhookDeliveryRow.__table__, deliveries)]
    insert_all(s.connection(), writes)


Rows = tuple[Table, list[dict[str, Any]]]  # rows to insert into a table


def values_of(row: Base) -> dict[str, Any]:
    """A new row's columns as set (an id still None left out: the database numbers it)."""
    table = cast(Table, type(row).__table__)
    return {c.key: v for c in table.columns
            if (v := getattr(row, c.key)) is not None or not c.primary_key}  # fmt: skip


def insert_all(conn: Connection, writes: Sequence[Rows]) -> None:
    """Rows of several tables, parents first, nothing read back. PostgreSQL: one statement,
    the first tables' INSERTs as its CTEs (one round trip and one execution where a create
    made three: issue 23); their foreign keys are checked at the statement's end. SQLite
    (no INSERT in a WITH; it checks each key at once): one INSERT a table, in turn."""
    writes = [(table, _defaulted(table, rows)) for table, rows in writes if rows]
    if conn.dialect.name != "postgresql" or len(writes) < 2:
        for table, rows in writes:
            conn.execute(_insert(table), rows)
        return
    shape = tuple((table.name, len(rows), tuple(rows[0]), _repeats(rows)) for table, rows in writes)
    values = {f"w{t}_{n}_{key}": value
              for t, (_, rows) in enumerate(writes) for n, row in enumerate(rows)
              for key, value in row.items() if not (n and key in shape[t][3][n - 1])}  # fmt: skip
    conn.execute(_inserts(shape), values)


@lru_cache(maxsize=64)
def _insert(table: Table) -> Insert:
    """A table's INSERT, built once: SQLAlchemy then finds its compiled form by a key it
    keeps on the statement, instead of making and hashing a new one on every write."""
    return insert(table)


def _repeats(rows: list[dict[str, Any]]) -> tuple[frozenset[str], ...]:
    """For each row after the first, the keys whose value is the first row's (a create's
    transitions share their kind, target, actor and reason): bound once. Past 50 values
    psycopg converts the statement's text again on every run (85 us of a create: issue 23)."""
    first = rows[0]
    return tuple(frozenset(k for k, v in row.items()
                           if type(v) is type(first[k]) and v == first[k])
                 for row in rows[1:])  # fmt: skip


@lru_cache(maxsize=256)  # shapes differ by which values repeat: bounded all the same
def _inserts(
    shape: tuple[tuple[str, int, tuple[str, ...], tuple[frozenset[str], ...]], ...],
) -> TextClause:
    """`insert_all`'s statement for tables (name, rows, columns, each later row's keys bound
    to the first row's value), built once per shape as text with typed values
    (w<table>_<row>_<key>): SQLAlchemy caches no multi-row VALUES, and compiling one on each
    call cost more than the round trips it saves."""
    from sqlalchemy.dialects import postgresql  # only here: a store's writes on PostgreSQL

    inserts: list[Insert] = []
    typed: list[BindParameter[Any]] = []
    for t, (name, count, keys, repeats) in enumerate(shape):
        table = tables.metadata.tables[name]
        firsts = {key: bindparam(f"w{t}_0_{key}", type_=table.c[key].type) for key in keys}
        typed += firsts.values()
        rows = [firsts]
        for n in range(1, count):
            own = {key: bindparam(f"w{t}_{n}_{key}", type_=table.c[key].type)
                   for key in keys if key not in repeats[n - 1]}  # fmt: skip
            typed += own.values()
            rows.append({key: own.get(key, firsts[key]) for key in keys})
        inserts.append(insert(table).values(rows))
    *first, statement = inserts
    for t, parent in enumerate(first):
        statement = statement.add_cte(parent.cte(f"w{t}"))
    # written as text's :name, without the casts the driver's dialect adds to each (text
    # would not see a name followed by ::); the driver's dialect renders them when it runs
    plain = postgresql.dialect(paramstyle="named")  # type: ignore[no-untyped-call]
    plain.bind_typing = BindTyping.NONE
    return text(str(statement.compile(dialect=plain))).bindparams(*typed)


def _defaulted(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` with the columns' Python defaults (`default=now`) for the keys they lack:
    `_inserts` binds only the keys given, where SQLAlchemy would apply them."""
    defaults = [(c.key, c.default) for c in table.columns
                if isinstance(c.default, ColumnDefault) and c.key not in rows[0]]  # fmt: skip
    if not defaults:
        return rows
    return [row | {key: d.arg(None) if d.is_callable else d.arg for key, d in defaults}
            for row in rows]  # fmt: skip


def tenant_webhooks(s: Session, tenant: str) -> list[str] | None:
    """The ids of the tenant's webhooks, None when there is no such tenant: one query, read
    once per transaction (a create checks the tenant and moves its Connector three times)."""
    known = _webhooks(s)
    if tenant not in known:
        # on the session's connection: no autoflush of the caller's pending rows (they flush
        # when it commits, as before), and none of the ORM's work per statement
        rows = s.connection().execute(_TENANT_WEBHOOKS, {"tenant": tenant}).all()
        if not rows:
            return None
        known[tenant] = [hook for _, hook in rows if hook is not None]
    return known[tenant]


def keep_webhooks(s: Session, tenant: str, hooks: list[str]) -> None:
    """`tenant_webhooks`' answer for this transaction, read by the caller with more (a
    create's first statement: onramp.flow.allocate.tenant_and_usage)."""
    _webhooks(s)[tenant] = hooks


def _webhooks(s: Session) -> dict[str, list[str]]:
    """The transaction's tenants' webhooks read so far (a new transaction: none)."""
    tx = s.get_transaction()
    if s.info.get("webhooks", (None,))[0] is not tx:
        s.info["webhooks"] = (tx, {})
    known: dict[str, list[str]] = s.info["webhooks"][1]
    return known


def _tenant_webhooks() -> Select[str, str | None]:
    """Built once: building it cost more Python than running it."""
    tenants, hooks = TenantRow.__table__.c, WebhookRow.__table__.c
    return (select(tenants.id, hooks.id)
            .outerjoin(WebhookRow.__table__, hooks.tenant_id == tenants.id)
            .where(tenants.id == bindparam("tenant", type_=String)))  # fmt: skip


_TENANT_WEBHOOKS = _tenant_webhooks()


def _outbox(row: ConnectorRow | LinkRow, kind: Kind, was: str | None, reason: str,
            hooks: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    """A delivery owed to each of the tenant's webhooks, in the change's own transaction."""
    if not hooks:
        return []
    at = now()
    event: WebhookEvent = {
        "event_id": str(uuid.uuid4()), "type": f"{kind.value}.state_changed",
        "created_at": at.isoformat(), "old_state": was, "new_state": row.state,
        "object": _object(row, kind, reason)}  # fmt: skip
    return [{"id": str(uuid.uuid4()), "webhook_id": hook, "target_id": row.id,
             "event_id": event["event_id"], "event": event, "status": "pending",
             "attempts": 0, "next_try_at": at} for hook in hooks]  # fmt: skip


def _object(row: ConnectorRow | LinkRow, kind: Kind, reason: str) -> WebhookObject:
    """What a receiver learns of the object, as it was at the change: public fields only
    (never a key; the API's view has the rest)."""
    request = row.request or {}
    obj: WebhookObject = {"id": row.id, "kind": kind.value, "tenant": row.tenant_id,
                          "state": row.state, "bandwidth_mbps": row.bandwidth_mbps,
                          "description": str(request.get("description", "")),
                          "reason": reason}  # fmt: skip
    if isinstance(row, ConnectorRow):
        obj |= {"onramp": row.onramp, "connector_kind": row.kind}
    else:
        obj |= {"a": row.a_id, "b": row.b_id, "sla_class": row.sla_class}
    return obj


# What an id or its prefix can hold (ids are lowercase UUIDs): anything else matches nothing,
# so no LIKE wildcard or other text ever reaches the query.
_ID_PREFIX = re.compile(r"^[0-9a-f-]{4,36}$")


def by_prefix(
    s: Session, table: Any, ident: str, what: str, code: Code, tenant: str | None = None
) -> Any:
    """A row by its id or a unique prefix of it (4+ characters, as git does with commits).
    `tenant`: only that tenant's rows are looked at (a table with `tenant_id`), so another
    tenant's row is as absent as one that never was; None: every tenant's (engineers)."""
    rows = []
    if _ID_PREFIX.match(ident.lower()):
        q = select(table).where(table.id.startswith(ident.lower(), autoescape=True))
        if tenant is not None:
            q = q.where(table.tenant_id == tenant)
        rows = list(s.scalars(q.limit(2)))
    if len(rows) != 1:
        # names only what the caller sent: never a row it may not see
        why = "is ambiguous" if rows else "matches nothing"
        raise OnrampError(code, f"{what} '{ident}' {why}", field="id")
    return rows[0]
