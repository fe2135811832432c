"""The durable truth: SQLAlchemy 2 tables, the engine, and transactions that never collide.

SQLite (the default, a file) and PostgreSQL run the same code and the same Alembic
migrations (`onramp/migrations`). Uniqueness is the database's job: every allocated
resource is a row of `allocations` whose primary key is (scope, value), so two
transactions can never hold the same VLAN on a port, the same subnet on a router or the
same number, whatever the code above does.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar, cast

from pydantic_core import from_json
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Select,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    bindparam,
    create_engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)

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

T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r'^(down_)?revision\s*=\s*(?:"([^"]*)"|None)', re.MULTILINE)


def head_revision() -> str:
    """The newest migration's revision, read from the files' `revision = "..."` and
    `down_revision = "..."` lines: the one no other file names as its parent. Alembic finds
    the same (tests/store/test_migrations.py checks it) but costs its import to do it."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text()):
            (parents if down else revisions).add(value)
    (head,) = revisions - parents
    return head


def now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, always aware and in UTC when read: SQLite keeps no offset and hands
    back naive datetimes, which the API would publish without a zone (not RFC 3339)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None and value.tzinfo else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    # 64-bit on PostgreSQL (4-byte ASNs); SQLite's INTEGER is 64-bit and autoincrements
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        int: BigInteger().with_variant(Integer(), "sqlite")
    }


class TenantRow(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)


class ConnectorRow(Base):
    __tablename__ = "connectors"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_connectors_page", "tenant_id", "created_at", "id"),  # keyset pages
        # the edge choice's far ends: a tenant's live on-ramps, read from the index alone
        Index("ix_connectors_tenant_onramp", "tenant_id", "onramp", "state"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    onramp: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(24), index=True)
    bandwidth_mbps: Mapped[int]
    request: Mapped[dict[str, Any]] = mapped_column(JSON)  # the validated request, no secrets
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    request_sha256: Mapped[str | None] = mapped_column(String(64))  # what the key was sent with
    number: Mapped[int | None]  # VRF number: vrf c<number>, RD <loopback>:<number>
    local_asn: Mapped[int | None]
    peer_asn: Mapped[int | None]
    mtu: Mapped[int | None]
    md5_key: Mapped[bytes | None] = mapped_column(LargeBinary)  # Fernet ciphertext
    released: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what it held, kept for audit
    csp_resource: Mapped[str | None] = mapped_column(String(300))  # the provider's id for it
    reason: Mapped[str | None] = mapped_column(String(1000))  # why it failed / is retrying
    change: Mapped[dict[str, Any] | None] = mapped_column(
        JSON
    )  # last bandwidth change (ChangeRecord)
    lease_owner: Mapped[str | None] = mapped_column(String(80))  # the worker advancing it
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the holder's last
    attempts: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0"
    )  # failed tries of this step
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # backoff: not before
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now, onupdate=now)
    attachments: Mapped[list[AttachmentRow]] = relationship(
        back_populates="connector", cascade="all, delete-orphan", order_by="AttachmentRow.id"
    )


class AttachmentRow(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    connector_id: Mapped[str] = mapped_column(ForeignKey("connectors.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    router: Mapped[str] = mapped_column(String(64))
    port: Mapped[str] = mapped_column(String(64))
    vlan: Mapped[int]
    inner_vlan: Mapped[int | None]
    subnet: Mapped[str] = mapped_column(String(18))
    local_address: Mapped[str] = mapped_column(String(18))
    peer_address: Mapped[str] = mapped_column(String(18))
    connector: Mapped[ConnectorRow] = relationship(back_populates="attachments")


class LinkRow(Base):
    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_links_page", "tenant_id", "created_at", "id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    a_id: Mapped[str] = mapped_column(ForeignKey("connectors.id"))
    b_id: Mapped[str] = mapped_column(ForeignKey("connectors.id"))
    state: Mapped[str] = mapped_column(String(24), index=True)
    bandwidth_mbps: Mapped[int]
    sla_class: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    request_sha256: Mapped[str | None] = mapped_column(String(64))  # what the key was sent with
    number: Mapped[int | None]  # route target <asn>:<number>
    reason: Mapped[str | None] = mapped_column(String(1000))
    change: Mapped[dict[str, Any] | None] = mapped_column(
        JSON
    )  # last bandwidth change (ChangeRecord)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now, onupdate=now)


class AllocationRow(Base):
    """A held resource. The primary key is the no-collision guarantee."""

    __tablename__ = "allocations"
    scope: Mapped[str] = mapped_column(
        String(160), primary_key=True
    )  # "vlan:pe1-par:eth3", "vrf", ...
    value: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(36), index=True)  # connector or link id


class ReleasedRow(Base):
    """Values given back, so the next allocation in the scope reuses them first."""

    __tablename__ = "released"
    scope: Mapped[str] = mapped_column(String(160), primary_key=True)
    value: Mapped[int] = mapped_column(primary_key=True)


class PortUsageRow(Base):
    """Bandwidth and count committed per PE port, updated in the allocating transaction."""

    __tablename__ = "port_usage"
    router: Mapped[str] = mapped_column(String(64), primary_key=True)
    port: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_mbps: Mapped[int] = mapped_column(default=0)
    attachments: Mapped[int] = mapped_column(default=0)


class RouterStateRow(Base):
    """Engineers' and monitoring's view of a router beyond the inventory: drained, unhealthy."""

    __tablename__ = "router_state"
    router: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # in-service | drained | unhealthy
    reason: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now, onupdate=now)


class PlanRow(Base):
    """A reviewed change: per router the diff, the running config's hash it was made
    against, and the whole candidate (encrypted: it holds BGP keys). `apply` applies
    exactly these candidates, or refuses when a router's running config has moved."""

    __tablename__ = "plans"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(16))  # connector | link
    target_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(16))  # deploy | remove
    state: Mapped[str] = mapped_column(
        String(16), index=True
    )  # planned | applied | refused | failed
    target: Mapped[PlanTarget] = mapped_column(JSON)  # the view of what it changes, as it was
    devices: Mapped[dict[str, DeviceDiff]] = mapped_column(JSON)  # diff (masked), running hash
    candidates: Mapped[bytes] = mapped_column(LargeBinary)  # Fernet(JSON router -> config)
    result: Mapped[PlanResult | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class TicketRow(Base):
    """A request to a provider that takes tickets (csp.manual): the exact data it needs,
    rendered as text (BGP key masked; the key itself encrypted), and the engineer's
    record of the provider's answer. One row per attachment, keyed like every CSP call."""

    __tablename__ = "tickets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    # open -> ready | rejected; ready -> removal_open -> deleted; open -> deleted (withdrawn)
    state: Mapped[str] = mapped_column(String(16), index=True)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)  # no secrets
    md5_key: Mapped[bytes | None] = mapped_column(LargeBinary)  # Fernet ciphertext
    text: Mapped[str] = mapped_column(Text)  # what to send the provider, key masked
    answer: Mapped[TicketAnswerRecord | None] = mapped_column(JSON)  # provider ref, note, by whom
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now, onupdate=now)


class TransitionRow(Base):
    """Every state change of a Connector or Link, committed with the change itself: when,
    by whom (cli:<user>, worker:<host>:<pid>, api:<tenant>) and why."""

    __tablename__ = "transitions"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # connector | link
    target_id: Mapped[str] = mapped_column(String(36), index=True)
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(1000), default="")


class RouterLockRow(Base):
    """A router held by one change (a Connector's or Link's plan and apply) so that two
    changes never plan and commit on the same router at once. Held by the work item, not
    the worker: whoever resumes the item holds it; a dead holder's lock runs out."""

    __tablename__ = "router_locks"
    router: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(80))  # "<kind>:<id>"
    until: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiKeyRow(Base):
    """An API key: only its SHA-256 is kept (the key is 32 random bytes: a fast hash is
    enough, and the key is shown once, when issued). No tenant: an engineers' admin key."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # the key's public part
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DelegationRow(Base):
    """A tenant's credentials for onramp to act in its account at a provider (AWS: accept
    and create VIFs; Azure: create the circuit). `account` is public (the AWS account, the
    Azure subscription); every secret is in `sealed` (the vault's Fernet, JSON inside)."""

    __tablename__ = "delegations"
    __table_args__ = (UniqueConstraint("provider", "account"),)  # one tenant per account
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    sealed: Mapped[bytes] = mapped_column(LargeBinary())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)


class RateBucketRow(Base):
    """A token bucket of the API's rate limit (a key's requests, an address's failed keys),
    here so that every API process draws from the same one."""

    __tablename__ = "rate_buckets"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)  # "key:<id>", "addr:<ip>"
    tokens: Mapped[float] = mapped_column(Float)
    at: Mapped[float] = mapped_column(Float)  # when `tokens` was counted, Unix seconds


class KpiSampleRow(Base):
    """One measuring window of one Link (onramp.flow.monitor): probes sent and answered, round
    trips, and the SLA metrics it broke. Keyed by (link, time) and stored in that order
    (no rowid on SQLite), so a Link's last day is one contiguous range read."""

    __tablename__ = "kpi_samples"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy's declaration)
    link_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    sent: Mapped[int]
    received: Mapped[int]
    latency_avg_ms: Mapped[float | None] = mapped_column(Float)  # None: nothing came back
    latency_p95_ms: Mapped[float | None] = mapped_column(Float)
    jitter_ms: Mapped[float | None] = mapped_column(
        Float
    )  # mean |rtt[i] - rtt[i-1]| over the replies, in order
    breaches: Mapped[str] = mapped_column(String(40), default="")  # "loss,latency,jitter" broken


class TrafficSampleRow(Base):
    """A Connector attachment's interface counters at one poll; rates are the differences
    of successive samples (onramp.flow.monitor.traffic)."""

    __tablename__ = "traffic_samples"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy's declaration)
    connector_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    router: Mapped[str] = mapped_column(String(64), primary_key=True)
    interface: Mapped[str] = mapped_column(String(64), primary_key=True)
    rx_octets: Mapped[int]
    tx_octets: Mapped[int]


class BgpSessionRow(Base):
    """The last seen state of a Connector's BGP session (one per attachment)."""

    __tablename__ = "bgp_sessions"
    router: Mapped[str] = mapped_column(String(64), primary_key=True)
    vrf: Mapped[str] = mapped_column(String(32), primary_key=True)
    neighbor: Mapped[str] = mapped_column(String(45), primary_key=True)
    connector_id: Mapped[str] = mapped_column(String(36), index=True)
    state: Mapped[str] = mapped_column(String(16))  # FRR's words: Established, Active, ...
    since: Mapped[datetime] = mapped_column(UtcDateTime())  # when we first saw this state
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ConfigBackupRow(Base):
    """A router's running config at one time (onramp.flow.compliance.backup), encrypted (it
    holds BGP keys); only when it changed since the router's previous backup."""

    __tablename__ = "config_backups"
    __table_args__ = (Index("ix_config_backups_router", "router", "taken_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    router: Mapped[str] = mapped_column(String(64))
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sha256: Mapped[str] = mapped_column(String(64))  # of the canonical form
    config: Mapped[bytes] = mapped_column(LargeBinary)  # Fernet ciphertext


class ComplianceReportRow(Base):
    """One compliance run's report (secrets already masked), for the API and the Portal."""

    __tablename__ = "compliance_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    compliant: Mapped[bool]
    report: Mapped[ComplianceRun] = mapped_column(JSON)


class EventRow(Base):
    """Something monitoring saw that has a start and maybe an end: an SLA breach of a Link
    (kind "sla", what = the metric, worst = its worst value) or a BGP session's state change
    (kind "bgp", what = "<router> <vrf> <neighbor>", detail = from and to states)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_target", "target_id", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    target_id: Mapped[str] = mapped_column(String(36))  # a Link or a Connector
    what: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    worst: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WebhookRow(Base):
    """A tenant's receiver of its Connectors' and Links' state changes. The signing secret
    is sealed (the vault's Fernet): it signs every delivery, so it must be read back."""

    __tablename__ = "webhooks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)


class WebhookDeliveryRow(Base):
    """The outbox: one event (a state change) for one webhook, written in the transaction of
    the change itself (`move`), so a change committed is a delivery owed, whatever dies
    after. `seq` orders them: a delivery is sent only when its object's earlier ones for the
    same webhook are done (in order per object)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_try_at"),
        Index("ix_webhook_deliveries_object", "webhook_id", "target_id", "seq"),
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)  # the delivery id (a header)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(36), index=True)  # one per state change
    target_id: Mapped[str] = mapped_column(String(36))
    event: Mapped[WebhookEvent] = mapped_column(JSON)  # the body, less the delivery id
    status: Mapped[str] = mapped_column(String(12))  # pending | delivered | failed (gave up)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(300))
    next_try_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    lease_owner: Mapped[str | None] = mapped_column(String(80))  # the worker sending it
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


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
) -> None:
    """The one way a Connector or Link changes state (a new row: its first state), with its
    transition row, in the caller's transaction; refused unless TRANSITIONS allows it.
    `to`: a state, or states passed through in turn (a create: requested, validated,
    allocated), their transition rows and webhook deliveries written by one INSERT each.
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
    conn = s.connection()
    conn.execute(insert(cast(Table, TransitionRow.__table__)), steps)
    if deliveries:
        conn.execute(insert(cast(Table, WebhookDeliveryRow.__table__)), deliveries)


def tenant_webhooks(s: Session, tenant: str) -> list[str] | None:
    """The ids of the tenant's webhooks, None when there is no such tenant: one query, read
    once per transaction (a create checks the tenant and moves its Connector three times)."""
    tx = s.get_transaction()
    if s.info.get("webhooks", (None,))[0] is not tx:
        s.info["webhooks"] = (tx, {})
    known: dict[str, list[str]] = s.info["webhooks"][1]
    if tenant not in known:
        # on the session's connection: no autoflush of the caller's pending rows (they flush
        # when it commits, as before), and none of the ORM's work per statement
        rows = s.connection().execute(_TENANT_WEBHOOKS, {"tenant": tenant}).all()
        if not rows:
            return None
        known[tenant] = [hook for _, hook in rows if hook is not None]
    return known[tenant]


def _tenant_webhooks() -> Select[str, str | None]:
    """Built once: building it cost more Python than running it."""
    tenants, hooks = cast(Table, TenantRow.__table__).c, cast(Table, WebhookRow.__table__).c
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


class Conflict(Exception):
    """Another transaction took a resource this one wanted: retry on fresh data."""


AUTOCOMMIT_SQLITE = "onramp_autocommit"  # an execution option: no BEGIN on SQLite


# how long a SQLite connection waits for another's write lock before "database is locked"
# (the store's and the embedded broker's: onramp.worker)
BUSY_TIMEOUT_S = 30


def make_engine(url: str) -> Engine:
    # JSON columns read by pydantic's parser (Rust): the standard library's cost a sixth of
    # an API page on PostgreSQL, two columns a row (issue 23); written as before
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
            json_deserializer=from_json,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            # 64 MiB page cache: indexes stay in memory as the store grows
            cur.execute("PRAGMA cache_size=-65536")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            if conn.get_execution_options().get(AUTOCOMMIT_SQLITE):
                return  # Store.read: each statement its own, no lock held between them
            # writers queue at BEGIN instead of failing later on a lock upgrade
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # every checkout pings the server (one round trip): a server restarted, or a
    # connection cut by a firewall, shows there before any work is sent. Pinging only
    # connections idle for a while (tried for issue 23's list p99) let a restart within
    # that while reach a worker's statement: tests/e2e/test_faults.py's PostgreSQL
    # restarted while verifying failed with AdminShutdown
    return create_engine(url, pool_pre_ping=True, json_deserializer=from_json)


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # the same pool, each statement its own transaction (Store.read): PostgreSQL's
        # driver set to autocommit; SQLite's connections always are, the "begin" listener
        # then adds no BEGIN (SQLAlchemy's AUTOCOMMIT there would turn the driver's own
        # transactions back on when the connection returns to the pool)
        sqlite = url.startswith("sqlite")
        option = {AUTOCOMMIT_SQLITE: True} if sqlite else {"isolation_level": "AUTOCOMMIT"}
        self.readers = sessionmaker(self.engine.execution_options(**option))

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent). A store already at
        the newest one is left without importing Alembic: that import alone cost each CLI
        command ~0.1 s of start-up (issue 23), and engineers run the CLI in loops."""
        if self.revision() == head_revision():
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection_url"] = self.url
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def revision(self) -> str | None:
        """The store's schema revision, None when it has none yet (a new database)."""
        with self.engine.connect() as conn:
            try:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except DBAPIError:  # no table yet: a new store
                return None

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as s, s.begin():
            yield s

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session whose every statement is its own transaction (autocommit): for reads,
        and writes that are one atomic statement. No BEGIN and COMMIT (two round trips on
        PostgreSQL, where READ COMMITTED gives each statement its own snapshot anyway); on
        SQLite no write lock held between statements, so a read does not queue behind
        writers. Anything that must commit together goes through `transact`."""
        try:
            with self.readers() as s:
                yield s
        except OperationalError as exc:  # as transact says it: the store is not there
            raise OnrampError("ONR-STORE-001", str(exc).splitlines()[0]) from exc

    def transact(self, fn: Callable[[Session], T], retries: int = 8) -> T:
        """Run `fn` in one transaction; on a unique-key race, retry on fresh data."""
        for attempt in range(retries):
            try:
                with self.session() as s:
                    return fn(s)
            except (Conflict, IntegrityError) as exc:
                if attempt == retries - 1:
                    raise OnrampError(
                        "ONR-ALLOC-004",
                        f"resources kept being taken by concurrent requests ({exc})",
                    ) from exc
            except OperationalError as exc:
                raise OnrampError("ONR-STORE-001", str(exc).splitlines()[0]) from exc
        raise AssertionError("unreachable")
