"""Notifications' first schema: staff, followed referrals, inbox items, outbox, inbox,
sequences.

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
    from crocevia_notifications.adapters import tables

    create_v1()
    schema = MetaData()
    for table in (tables.staff, tables.referrals, tables.inbox_items):
        table.to_metadata(schema)
    schema.create_all(op.get_bind())


def downgrade() -> None:
    for name in ("inbox_items", "referrals", "staff"):
        op.drop_table(name)
    drop_v1()
