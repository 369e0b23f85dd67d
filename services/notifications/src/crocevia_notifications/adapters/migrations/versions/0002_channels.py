"""Subscriptions, webhooks, deliveries and their attempts, reminder and escalation timers.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
from sqlalchemy import JSON, Boolean, Column, DateTime, MetaData, String, Table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NEW = ("subscriptions", "webhooks", "deliveries", "delivery_attempts", "timers")


def upgrade() -> None:
    from crocevia_notifications.adapters import tables

    schema = MetaData()
    for table in (tables.staff, *(tables.metadata.tables[name] for name in NEW if name != "webhooks")):
        table.to_metadata(schema)  # staff only so the foreign keys resolve; it exists already
    webhooks_as_first_made(schema)
    for name in NEW:
        schema.tables[name].create(op.get_bind())


def webhooks_as_first_made(schema: MetaData) -> Table:
    """The webhooks table as this revision made it (0003 added the rotation columns)."""
    return Table(
        "webhooks",
        schema,
        Column("id", String(36), primary_key=True),
        Column("agency", String(64), nullable=False, index=True),
        Column("url", String(2000), nullable=False),
        Column("topics", JSON, nullable=False),
        Column("secret", String(100), nullable=False),
        Column("active", Boolean, nullable=False),
        Column("disabled_at", DateTime(timezone=True), nullable=True),
        Column("disabled_reason", String(200), nullable=True),
        Column("created_by", String(200), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for name in reversed(NEW):
        op.drop_table(name)
