"""change: the last bandwidth change of a Connector or Link (from, to, how it ended)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("connectors", "links"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("change", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in ("connectors", "links"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("change")
