"""dispatch: a step's attempts and when it may be retried (backoff), and the lease
holder's last heartbeat, on Connectors and Links

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from onramp.core.store import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("connectors", "links")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
            )
            batch_op.add_column(sa.Column("retry_at", UtcDateTime(), nullable=True))
            batch_op.add_column(sa.Column("heartbeat_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in ("heartbeat_at", "retry_at", "attempts"):
                batch_op.drop_column(column)
