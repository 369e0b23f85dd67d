"""Referrals indexed in the order the lists give them (newest first, then by id): a page of the
node's list read every referral and sorted them (about 30 ms a page at 100,000 referrals on
SQLite); it now walks the index and stops at the page's end.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_referrals_created_at_id", "referrals", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_referrals_created_at_id", table_name="referrals")
