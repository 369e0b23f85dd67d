"""The node's first schema: referrals, history, keys, outbox, inbox, sequences.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import MetaData

from crocevia_common.messaging.schema import create_v1, drop_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from crocevia_referrals.adapters import tables

    create_v1()
    schema = MetaData()
    for table in (tables.referrals, tables.history, tables.idempotency_keys):
        table.to_metadata(schema)
    schema.create_all(op.get_bind())
    op.create_table(
        "node_keys",
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("box_secret", sa.String(64), nullable=False),
        sa.Column("signing_seed", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for name in (
        "idempotency_keys",
        "node_keys",
        "referral_history",
        "referrals",
    ):
        op.drop_table(name)
    drop_v1()
