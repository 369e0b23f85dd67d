"""The node's first schema: referrals, history, keys, outbox, inbox, sequences.

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
    from crocevia_referrals.adapters import tables

    schema = MetaData()
    messaging_tables(schema)
    for table in (tables.referrals, tables.history, tables.node_keys, tables.idempotency_keys):
        table.to_metadata(schema)
    schema.create_all(op.get_bind())


def downgrade() -> None:
    for name in (
        "idempotency_keys",
        "node_keys",
        "referral_history",
        "referrals",
        "event_sequences",
        "inbox",
        "outbox",
    ):
        op.drop_table(name)
