"""The node's first schema: referrals, history, keys, outbox, inbox, sequences, as frozen DDL
(a later change to a table is a later revision).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from crocevia_common.messaging.schema import create_v1, drop_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_v1()
    op.create_table(
        "referrals",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("sender_agency", sa.String(64), nullable=False),
        sa.Column("receiver_agency", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("domain", sa.String(40), nullable=True),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("legal_basis", sa.JSON, nullable=False),
        sa.Column("personal", sa.JSON, nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erasure_reason", sa.String(40), nullable=True),
        sa.Column("consent_withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("previous_referral_id", sa.String(64), nullable=True),
        sa.Column("our_step", sa.Integer, nullable=False),
        sa.Column("their_step", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_referrals_direction_status", "referrals", ["direction", "status"])
    op.create_table(
        "referral_history",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("referral_id", sa.String(64), sa.ForeignKey("referrals.id"), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event", sa.String(24), nullable=False),
        sa.Column("by_agency", sa.String(64), nullable=False),
        sa.Column("by_user", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_referral_history_referral_id", "referral_history", ["referral_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("referral_id", sa.String(64), sa.ForeignKey("referrals.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
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
