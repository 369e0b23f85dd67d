"""Referrals indexed by the service they were sent to: before a referral is sent, the node looks
for an open one it already sent to the same service for the same person (a warning, not a
refusal), and that lookup read every open referral the agency had sent, whatever the service.
It now reads only those sent to that agency's service that are still open.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_referrals_receiver_service_status",
        "referrals",
        ["receiver_agency", "service_id", "direction", "status"],
    )


def downgrade() -> None:
    op.drop_index("ix_referrals_receiver_service_status", table_name="referrals")
