"""monitoring: KPI samples of Links (one row per Link and window), Connectors' traffic
counters, their BGP sessions' last state, and events (SLA breaches, BGP state changes)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from onramp.core.store import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COUNT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kpi_samples",
        sa.Column("link_id", sa.String(length=36), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("sent", COUNT, nullable=False),
        sa.Column("received", COUNT, nullable=False),
        sa.Column("latency_avg_ms", sa.Float(), nullable=True),
        sa.Column("latency_p95_ms", sa.Float(), nullable=True),
        sa.Column("jitter_ms", sa.Float(), nullable=True),
        sa.Column("breaches", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("link_id", "at"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "traffic_samples",
        sa.Column("connector_id", sa.String(length=36), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("router", sa.String(length=64), nullable=False),
        sa.Column("interface", sa.String(length=64), nullable=False),
        sa.Column("rx_octets", COUNT, nullable=False),
        sa.Column("tx_octets", COUNT, nullable=False),
        sa.PrimaryKeyConstraint("connector_id", "at", "router", "interface"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "bgp_sessions",
        sa.Column("router", sa.String(length=64), nullable=False),
        sa.Column("vrf", sa.String(length=32), nullable=False),
        sa.Column("neighbor", sa.String(length=45), nullable=False),
        sa.Column("connector_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.Column("checked_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("router", "vrf", "neighbor"),
    )
    op.create_index("ix_bgp_sessions_connector_id", "bgp_sessions", ["connector_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.String(length=36), nullable=False),
        sa.Column("what", sa.String(length=120), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("worst", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_events_target", "events", ["target_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_events_target", table_name="events")
    op.drop_table("events")
    op.drop_index("ix_bgp_sessions_connector_id", table_name="bgp_sessions")
    op.drop_table("bgp_sessions")
    op.drop_table("traffic_samples")
    op.drop_table("kpi_samples")
