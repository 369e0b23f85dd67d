"""Timers found by referral and state: every event cancels its referral's pending timers, and
SQLite searched them through the index of due timers, every pending timer of the service.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_timers_referral_state", "timers", ["referral_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_timers_referral_state", table_name="timers")
