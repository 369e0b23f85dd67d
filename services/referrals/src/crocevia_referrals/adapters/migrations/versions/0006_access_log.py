"""The access log (every read of a referral's personal part, hash-chained) and the heads of
it anchored in the trail, as frozen DDL.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("referral_id", sa.String(64), nullable=False),
        sa.Column("staff", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_sha256", sa.String(64), nullable=False),
        sa.Column("entry_sha256", sa.String(64), nullable=False),
    )
    op.create_index("ix_access_log_referral_id", "access_log", ["referral_id"])
    op.create_index("ix_access_log_staff", "access_log", ["staff"])
    op.create_table(
        "access_log_anchors",
        sa.Column("entries", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("head_sha256", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("anchored_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("access_log_anchors")
    op.drop_index("ix_access_log_staff", "access_log")
    op.drop_index("ix_access_log_referral_id", "access_log")
    op.drop_table("access_log")
