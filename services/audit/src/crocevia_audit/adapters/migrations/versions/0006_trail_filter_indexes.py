"""Indexes that serve the trail's filtered listings in position order: a pair (sender,
receiver), one party and an event, a referral's. They replace the single-column indexes on
the sender and the receiver, which each is a prefix of.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_trail_entries_sender_agency", table_name="trail_entries")
    op.drop_index("ix_trail_entries_receiver_agency", table_name="trail_entries")
    op.create_index("ix_trail_entries_pair", "trail_entries", ["sender_agency", "receiver_agency", "position"])
    op.create_index("ix_trail_entries_sender_event", "trail_entries", ["sender_agency", "event", "position"])
    op.create_index("ix_trail_entries_receiver_event", "trail_entries", ["receiver_agency", "event", "position"])


def downgrade() -> None:
    op.drop_index("ix_trail_entries_receiver_event", table_name="trail_entries")
    op.drop_index("ix_trail_entries_sender_event", table_name="trail_entries")
    op.drop_index("ix_trail_entries_pair", table_name="trail_entries")
    op.create_index("ix_trail_entries_receiver_agency", "trail_entries", ["receiver_agency"])
    op.create_index("ix_trail_entries_sender_agency", "trail_entries", ["sender_agency"])
