"""The store's schema as SQLAlchemy Core tables: one declaration of every table, no ORM.

onramp.core.store maps its row classes onto these same tables (for the code that writes,
or wants ORM rows); a read that returns plain shapes selects from them through Core and
never imports the ORM, whose import and mapping of 23 classes were ~0.1 s of CPU of every
read-only CLI command (issue 23 item 6). The migrations are checked against this metadata
(tests/csp/test_manual.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

metadata = MetaData()
# 64-bit on PostgreSQL (4-byte ASNs); SQLite's INTEGER is 64-bit and autoincrements
INT = BigInteger().with_variant(Integer(), "sqlite")


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


tenants = Table(
    "tenants",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, default=now),
)


def _worked() -> list[Column[Any]]:
    """The columns of what the workers take through its states (a Connector, a Link): the
    lease, its heartbeat and the tries, then when it was made and last changed. New ones for
    each table: a Core column belongs to one table."""
    return [
        Column("lease_owner", String(80)),
        Column("lease_until", UtcDateTime()),
        Column("heartbeat_at", UtcDateTime()),
        Column("attempts", Integer(), nullable=False, default=0, server_default="0"),
        Column("retry_at", UtcDateTime()),
        Column("created_at", UtcDateTime(), nullable=False, default=now),
        Column("updated_at", UtcDateTime(), nullable=False, default=now, onupdate=now),
    ]


connectors = Table(
    "connectors",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(32), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("onramp", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("state", String(24), nullable=False, index=True),
    Column("bandwidth_mbps", INT, nullable=False),
    Column("request", JSON(), nullable=False),
    Column("idempotency_key", String(128)),
    Column("request_sha256", String(64)),
    Column("number", INT),
    Column("local_asn", INT),
    Column("peer_asn", INT),
    Column("mtu", INT),
    Column("md5_key", LargeBinary()),
    Column("released", JSON()),
    Column("csp_resource", String(300)),
    Column("reason", String(1000)),
    Column("change", JSON()),
    *_worked(),
    Index("ix_connectors_page", "tenant_id", "created_at", "id"),
    Index("ix_connectors_tenant_onramp", "tenant_id", "onramp", "state"),
    UniqueConstraint("tenant_id", "idempotency_key"),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", INT, primary_key=True, autoincrement=True),
    Column("connector_id", String(36), ForeignKey("connectors.id"), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("router", String(64), nullable=False),
    Column("port", String(64), nullable=False),
    Column("vlan", INT, nullable=False),
    Column("inner_vlan", INT),
    Column("subnet", String(18), nullable=False),
    Column("local_address", String(18), nullable=False),
    Column("peer_address", String(18), nullable=False),
)

links = Table(
    "links",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(32), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("a_id", String(36), ForeignKey("connectors.id"), nullable=False),
    Column("b_id", String(36), ForeignKey("connectors.id"), nullable=False),
    Column("state", String(24), nullable=False, index=True),
    Column("bandwidth_mbps", INT, nullable=False),
    Column("sla_class", String(16), nullable=False),
    Column("request", JSON(), nullable=False),
    Column("idempotency_key", String(128)),
    Column("request_sha256", String(64)),
    Column("number", INT),
    Column("reason", String(1000)),
    Column("change", JSON()),
    *_worked(),
    Index("ix_links_page", "tenant_id", "created_at", "id"),
    UniqueConstraint("tenant_id", "idempotency_key"),
)

allocations = Table(
    "allocations",
    metadata,
    Column("scope", String(160), primary_key=True),
    Column("value", INT, primary_key=True),
    Column("owner", String(36), nullable=False, index=True),
)

released = Table(
    "released",
    metadata,
    Column("scope", String(160), primary_key=True),
    Column("value", INT, primary_key=True),
)

port_usage = Table(
    "port_usage",
    metadata,
    Column("router", String(64), primary_key=True),
    Column("port", String(64), primary_key=True),
    Column("used_mbps", INT, nullable=False, default=0),
    Column("attachments", INT, nullable=False, default=0),
)

router_state = Table(
    "router_state",
    metadata,
    Column("router", String(64), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("reason", String(200), nullable=False, default=""),
    Column("updated_at", UtcDateTime(), nullable=False, default=now, onupdate=now),
)

plans = Table(
    "plans",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("target_kind", String(16), nullable=False),
    Column("target_id", String(36), nullable=False, index=True),
    Column("action", String(16), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("target", JSON(), nullable=False),
    Column("devices", JSON(), nullable=False),
    Column("candidates", LargeBinary(), nullable=False),
    Column("result", JSON()),
    Column("created_at", UtcDateTime(), nullable=False, default=now),
    Column("applied_at", UtcDateTime()),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("provider", String(16), nullable=False),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("state", String(16), nullable=False, index=True),
    Column("request", JSON(), nullable=False),
    Column("md5_key", LargeBinary()),
    Column("text", Text(), nullable=False),
    Column("answer", JSON()),
    Column("created_at", UtcDateTime(), nullable=False, default=now),
    Column("updated_at", UtcDateTime(), nullable=False, default=now, onupdate=now),
)

transitions = Table(
    "transitions",
    metadata,
    Column("id", INT, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("target_id", String(36), nullable=False, index=True),
    Column("from_state", String(24)),
    Column("to_state", String(24), nullable=False),
    Column("at", UtcDateTime(), nullable=False, default=now),
    Column("actor", String(80), nullable=False),
    Column("reason", String(1000), nullable=False, default=""),
)

router_locks = Table(
    "router_locks",
    metadata,
    Column("router", String(64), primary_key=True),
    Column("owner", String(80), nullable=False),
    Column("until", UtcDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("tenant_id", String(32), ForeignKey("tenants.id"), index=True),
    Column("sha256", String(64), nullable=False),
    Column("name", String(80), nullable=False, default=""),
    Column("created_at", UtcDateTime(), nullable=False, default=now),
    Column("revoked_at", UtcDateTime()),
)

delegations = Table(
    "delegations",
    metadata,
    Column("tenant_id", String(32), ForeignKey("tenants.id"), primary_key=True),
    Column("provider", String(32), primary_key=True),
    Column("account", String(64), nullable=False),
    Column("sealed", LargeBinary(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, default=now),
    UniqueConstraint("provider", "account"),
)

rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("tokens", Float(), nullable=False),
    Column("at", Float(), nullable=False),
)

kpi_samples = Table(
    "kpi_samples",
    metadata,
    Column("link_id", String(36), primary_key=True),
    Column("at", UtcDateTime(), primary_key=True),
    Column("sent", INT, nullable=False),
    Column("received", INT, nullable=False),
    Column("latency_avg_ms", Float()),
    Column("latency_p95_ms", Float()),
    Column("jitter_ms", Float()),
    Column("breaches", String(40), nullable=False, default=""),
    sqlite_with_rowid=False,
)

traffic_samples = Table(
    "traffic_samples",
    metadata,
    Column("connector_id", String(36), primary_key=True),
    Column("at", UtcDateTime(), primary_key=True),
    Column("router", String(64), primary_key=True),
    Column("interface", String(64), primary_key=True),
    Column("rx_octets", INT, nullable=False),
    Column("tx_octets", INT, nullable=False),
    sqlite_with_rowid=False,
)

bgp_sessions = Table(
    "bgp_sessions",
    metadata,
    Column("router", String(64), primary_key=True),
    Column("vrf", String(32), primary_key=True),
    Column("neighbor", String(45), primary_key=True),
    Column("connector_id", String(36), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("since", UtcDateTime(), nullable=False),
    Column("checked_at", UtcDateTime(), nullable=False),
)

config_backups = Table(
    "config_backups",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("router", String(64), nullable=False),
    Column("taken_at", UtcDateTime(), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("config", LargeBinary(), nullable=False),
    Index("ix_config_backups_router", "router", "taken_at"),
)

compliance_reports = Table(
    "compliance_reports",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False, index=True),
    Column("score", Float()),
    Column("compliant", Boolean(), nullable=False),
    Column("report", JSON(), nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),
    Column("target_id", String(36), nullable=False),
    Column("what", String(120), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime()),
    Column("worst", Float()),
    Column("detail", JSON(), nullable=False, default=dict),
    Index("ix_events_target", "target_id", "started_at"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(32), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("secret", LargeBinary(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, default=now),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("seq", Integer(), primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("webhook_id", String(36), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", String(36), nullable=False, index=True),
    Column("target_id", String(36), nullable=False),
    Column("event", JSON(), nullable=False),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer(), nullable=False, default=0, server_default="0"),
    Column("last_error", String(300)),
    Column("next_try_at", UtcDateTime(), nullable=False, default=now),
    Column("lease_owner", String(80)),
    Column("lease_until", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False, default=now),
    Column("delivered_at", UtcDateTime()),
    Index("ix_webhook_deliveries_due", "status", "next_try_at"),
    Index("ix_webhook_deliveries_object", "webhook_id", "target_id", "seq"),
)
