"""Messages between the two agencies: their attachments and read state (their text is the
history's note).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_attachments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("referral_id", sa.String(64), sa.ForeignKey("referrals.id"), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_message_attachments_referral_id", "message_attachments", ["referral_id"])
    op.create_index("ix_message_attachments_message_id", "message_attachments", ["message_id"])
    op.create_table(
        "message_reads",
        sa.Column("message_id", sa.String(36), primary_key=True),
        sa.Column("referral_id", sa.String(64), sa.ForeignKey("referrals.id"), nullable=False),
        sa.Column("read_by", sa.String(200), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_message_reads_referral_id", "message_reads", ["referral_id"])


def downgrade() -> None:
    op.drop_table("message_reads")
    op.drop_table("message_attachments")
