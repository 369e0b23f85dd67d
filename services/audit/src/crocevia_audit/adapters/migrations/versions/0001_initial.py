"""The audit's first schema: trail, tree nodes, checkpoints, key, gaps, anomalies, messaging.

Revision ID: 0001
Revises:
"""

from alembic import op
from sqlalchemy import MetaData

from crocevia_common.messaging.tables import messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from crocevia_audit.adapters import tables

    schema = MetaData()
    messaging_tables(schema)
    for table in tables.AUDIT_TABLES:
        table.to_metadata(schema)
    schema.create_all(op.get_bind())


def downgrade() -> None:
    from crocevia_audit.adapters import tables

    for table in reversed(tables.AUDIT_TABLES):
        op.drop_table(table.name)
    for name in ("event_sequences", "inbox", "outbox"):
        op.drop_table(name)
