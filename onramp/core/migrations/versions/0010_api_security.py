"""api security: the request an Idempotency-Key was first sent with (its SHA-256), and the
rate limit's buckets shared by every API process

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("connectors", "links"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("request_sha256", sa.String(length=64), nullable=True))
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("rate_buckets")
    for table in ("connectors", "links"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("request_sha256")
