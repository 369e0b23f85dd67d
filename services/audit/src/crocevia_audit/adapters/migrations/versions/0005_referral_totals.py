"""Each referral's running totals for the indicators (``referral_totals``); revision 0007
fills them from the trail already stored.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    instant = sa.DateTime(timezone=True)
    op.create_table(
        "referral_totals",
        sa.Column("referral_id", sa.String(64), primary_key=True),
        sa.Column("sender_agency", sa.String(64), nullable=False),
        sa.Column("receiver_agency", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("domain", sa.String(40), nullable=True),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("lifecycle", sa.Boolean, nullable=False),
        *(
            sa.Column(f"{step}_at", instant, nullable=True)
            for step in (
                "requested",
                "received",
                "accepted",
                "rejected",
                "completed",
                "failed",
                "cancelled",
                "consent_withdrawn",
                "personal_data_erased",
            )
        ),
        sa.Column("reason_code", sa.String(40), nullable=True),
        sa.Column("outcome", sa.String(40), nullable=True),
        sa.Column("reminders", sa.Integer, nullable=False),
        sa.Column("escalations", sa.Integer, nullable=False),
    )
    for column in ("sender_agency", "receiver_agency", "requested_at"):
        op.create_index(f"ix_referral_totals_{column}", "referral_totals", [column])


def downgrade() -> None:
    op.drop_table("referral_totals")
