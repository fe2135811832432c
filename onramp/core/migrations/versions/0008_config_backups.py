"""compliance: routers' running configs over time (stored when they change) and the
compliance runs' reports

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from onramp.core.store import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "config_backups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("router", sa.String(length=64), nullable=False),
        sa.Column("taken_at", UtcDateTime(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("config", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_config_backups_router", "config_backups", ["router", "taken_at"])
    op.create_table(
        "compliance_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("compliant", sa.Boolean(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_compliance_reports_at", "compliance_reports", ["at"])


def downgrade() -> None:
    op.drop_index("ix_compliance_reports_at", table_name="compliance_reports")
    op.drop_table("compliance_reports")
    op.drop_index("ix_config_backups_router", table_name="config_backups")
    op.drop_table("config_backups")
