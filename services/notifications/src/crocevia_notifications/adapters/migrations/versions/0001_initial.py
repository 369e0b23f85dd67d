"""Notifications' first schema: staff, followed referrals, inbox items, outbox, inbox,
sequences.

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
    from crocevia_notifications.adapters import tables

    schema = MetaData()
    messaging_tables(schema)
    for table in (tables.staff, tables.referrals, tables.inbox_items):
        table.to_metadata(schema)
    schema.create_all(op.get_bind())


def downgrade() -> None:
    for name in ("inbox_items", "referrals", "staff", "event_sequences", "inbox", "outbox"):
        op.drop_table(name)
