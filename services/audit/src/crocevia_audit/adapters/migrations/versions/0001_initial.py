"""The audit's first schema: trail, tree nodes, checkpoints, key, gaps, anomalies, messaging.

Revision ID: 0001
Revises:
"""

from alembic import op
from sqlalchemy import MetaData

from crocevia_common.messaging.schema import create_v1, drop_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from crocevia_audit.adapters import tables

    create_v1()
    schema = MetaData()
    for table in tables.AUDIT_TABLES:
        table.to_metadata(schema)
    schema.create_all(op.get_bind())


def downgrade() -> None:
    from crocevia_audit.adapters import tables

    for table in reversed(tables.AUDIT_TABLES):
        op.drop_table(table.name)
    drop_v1()
