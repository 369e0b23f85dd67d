"""Subscriptions, webhooks, deliveries and their attempts, reminder and escalation timers.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
from sqlalchemy import MetaData

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NEW = ("subscriptions", "webhooks", "deliveries", "delivery_attempts", "timers")


def upgrade() -> None:
    from crocevia_notifications.adapters import tables

    schema = MetaData()
    for table in (tables.staff, *(tables.metadata.tables[name] for name in NEW)):
        table.to_metadata(schema)  # staff only so the foreign keys resolve; it exists already
    for name in NEW:
        schema.tables[name].create(op.get_bind())


def downgrade() -> None:
    for name in reversed(NEW):
        op.drop_table(name)
