"""tenant_onramps: an index on connectors (tenant_id, onramp, state) for the edge choice

The edge choice reads the on-ramps where a tenant has live Connectors (the far ends its
Links will join) at every plan; with the index the database answers from it alone instead
of scanning the tenant's rows (bench/allocation.py, 10,000 Connectors in one tenant).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_connectors_tenant_onramp", "connectors", ["tenant_id", "onramp", "state"])


def downgrade() -> None:
    op.drop_index("ix_connectors_tenant_onramp", table_name="connectors")
